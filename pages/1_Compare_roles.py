"""Compare role prompts side by side: one input, every pane answers at the same time."""

from __future__ import annotations

import streamlit as st

from chatlab.compare import create_comparison, panes_from_store, send_to_panes
from chatlab_ui.compare.panes import pane_columns, pane_header, pane_history, stream_panes
from chatlab_ui.compare.per_turn import per_turn_table
from chatlab_ui.compare.setup import MISSING_PANE, complete_panes, pane_setup
from chatlab_ui.endpoint_panel import key_table, select_endpoint, wait_for_offline
from chatlab_ui.navigation import require_frame
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.params_panel import depth_control, parameter_controls
from chatlab_ui.pending import PendingTurn
from chatlab_ui.pickers import model_picker
from chatlab_ui.request_preview import pane_previews
from chatlab_ui.resources import get_client, get_roles, get_store
from chatlab_ui.stream_guard import streaming, wait_for_previous_stream

require_frame()  # first: nothing of this page runs outside app.py's frame

P = PageKeys("compare")  # every widget and session key of this page
store = get_store()
roles, _ = get_roles()


def queue(pending: PendingTurn) -> None:
    st.session_state[P("pending")] = pending


def queue_message() -> None:
    text = (st.session_state.get(P("input")) or "").strip()
    if text:
        queue(PendingTurn(text=text))


def new_comparison() -> None:
    st.query_params.pop("cmp", None)


wait_for_previous_stream(P("stream"))
pending: PendingTurn | None = st.session_state.pop(P("pending"), None)
busy = pending is not None
comparison_id = st.query_params.get("cmp")
if comparison_id and store.get_comparison(comparison_id) is None:
    st.warning(f"Comparison {comparison_id} was not found; starting a new one.")
    st.query_params.pop("cmp", None)
    comparison_id = None

with st.sidebar:
    st.button(
        "New comparison",
        key=P("new"),
        icon=":material/add:",
        on_click=new_comparison,
        disabled=busy,
        width="stretch",
    )
    endpoint = select_endpoint(disabled=busy)
    client = get_client(endpoint)
    model = model_picker(P, client, endpoint, disabled=busy)
    depth = depth_control(P, disabled=busy)
    with st.expander("Shared parameters", expanded=False):
        shared = parameter_controls(P, disabled=busy)
    problems = list(shared.problems)
    key_table(client)

st.title("Compare role prompts")

if comparison_id is None:
    st.caption(
        "Pick 2–8 roles (or write ad-hoc system prompts), adjust any pane's model or parameters in the "
        "table, then send a message: every pane answers at the same time, each keeping its own thread."
    )
    panes, pane_problems = pane_setup(P, roles, model=model, shared=shared.params, depth=depth, disabled=busy)
    problems += pane_problems
else:
    panes = panes_from_store(store, comparison_id, roles)
    problems = [] if complete_panes(store, comparison_id) else [MISSING_PANE]  # not the sidebar's settings
    st.caption("Every pane keeps its own conversation; the next message goes to all of them.")

if pending and problems:  # e.g. Retry clicked while a parameter is not valid: nothing is sent
    pending, busy = None, False
st.chat_input(
    "Send to every pane…" if not problems else "Nothing can be sent: see above…",
    key=P("input"),
    on_submit=queue_message,
    disabled=busy or bool(problems),
)
if problems:
    st.error("Nothing is sent: " + "; ".join(problems) + ".", icon=":material/block:")
if len(panes) < 2 and not comparison_id:
    st.info("Choose at least two panes to compare.")
    st.stop()

columns = pane_columns(len(panes))
conversations = store.comparison_panes(comparison_id) if comparison_id else []
for index, pane in enumerate(panes):
    params = pane.settings.params.describe()
    depth_text = "all" if pane.settings.context_depth is None else pane.settings.context_depth
    pane_header(columns[index], pane.label, f"{pane.settings.model} · {params} · depth {depth_text}")
    if conversations:
        pane_history(
            columns[index],
            store.messages(conversations[index].id),
            P.child("pane", index),
            on_retry=None if busy else lambda turn, i=index: queue(PendingTurn(retry_turn=turn, only=(i,))),
        )

if pending:
    if comparison_id is None:
        comparison_id = create_comparison(store, panes)
        st.query_params["cmp"] = comparison_id
    wait_for_offline(endpoint)
    st.button(
        "Stop",
        key=P("stop_reply"),
        icon=":material/stop_circle:",
        help="Stops every pane; what arrived so far is kept.",
    )
    events = send_to_panes(
        store,
        [client] * len(panes),
        comparison_id,
        panes,
        pending.text,
        only=pending.only,
        retry_turn=pending.retry_turn,
    )
    with streaming(P("stream")):
        try:
            stream_panes(columns, pending.only or range(len(panes)), pending.text, events)
        finally:
            events.close()
    st.rerun()

if comparison_id:
    per_turn_table(store, comparison_id, P)
pane_previews(
    store,
    [pane.label for pane in panes],
    [c.id for c in conversations] or [None] * len(panes),
    [pane.settings for pane in panes],
    endpoint,
    P,
)
