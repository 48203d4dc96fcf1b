"""Compare role prompts side by side: one input, every pane answers at the same time."""

from __future__ import annotations

import streamlit as st

from chatlab.compare import create_comparison, panes_from_store
from chatlab_ui.compare.cost import next_message_cost
from chatlab_ui.compare.noise import noise_floor_section
from chatlab_ui.compare.panes import draw_panes
from chatlab_ui.compare.per_turn import per_turn_table
from chatlab_ui.compare.sending import follow_send, on_endpoint, running_send, start_send
from chatlab_ui.compare.setup import MISSING_PANE, complete_panes, open_comparison, pane_setup
from chatlab_ui.compare.sidebar import compare_sidebar
from chatlab_ui.compare.statistics_view import statistics_section
from chatlab_ui.endpoint_panel import wait_for_offline
from chatlab_ui.navigation import require_frame
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.pending import PendingTurn
from chatlab_ui.request_preview import pane_previews
from chatlab_ui.resources import get_roles, get_store

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
        st.query_params.pop("noise", None)  # a noise floor belongs to the turn it measured


def retry(pane: int, turn: int) -> None:
    queue(PendingTurn(retry_turn=turn, only=(pane,)))


pending: PendingTurn | None = st.session_state.pop(P("pending"), None)
comparison_id = open_comparison(store)
# A send runs on its own (chatlab.live): this run may be a reload, or another tab, that finds it arriving.
live = running_send(comparison_id)
busy = pending is not None or live is not None

with st.sidebar:
    side = compare_sidebar(P, store, busy=busy)

st.title("Compare role prompts")

if comparison_id is None:
    st.caption(
        "Pick 2–8 roles (or write ad-hoc system prompts), adjust any pane's model or parameters in the "
        "table, then send a message: every pane answers at the same time, each keeping its own thread."
    )
    panes, problems = pane_setup(
        P, roles, model=side.model, shared=side.shared.params, depth=side.depth, disabled=busy
    )
    problems = [*side.shared.problems, *problems]
else:
    panes = panes_from_store(store, comparison_id, roles)
    problems = [] if complete_panes(store, comparison_id) else [MISSING_PANE]  # not the sidebar's settings
    st.caption("Every pane keeps its own conversation; the next message goes to all of them.")
panes = on_endpoint(store, side.endpoint, panes)

if pending and problems:  # e.g. Retry clicked while a parameter is not valid: nothing is sent
    pending, busy = None, live is not None
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
with st.empty():  # always drawn, so a send's run keeps every element below where it was
    if not busy and not problems:
        next_message_cost(store, comparison_id, panes, side.sampling)

if pending:
    if comparison_id is None:
        comparison_id = create_comparison(store, panes)
        st.query_params["cmp"] = comparison_id
    wait_for_offline(side.endpoint)
    try:
        live = start_send(store, side.client, comparison_id, panes, pending, side.sampling)
    except RuntimeError as exc:  # another tab's send of this comparison is still arriving: follow it
        st.warning(str(exc), icon=":material/hourglass_top:")
        live = running_send(comparison_id)

status = st.container()  # a running send's Stop (or Cancel) and progress, above the panes
columns = draw_panes(
    store,
    comparison_id,
    panes,
    P,
    capabilities=[pane.settings.capabilities for pane in panes],
    send=live.what if live is not None else None,
    on_retry=retry,
    busy=busy,
    client=side.client,
)
if live is not None:
    follow_send(store, comparison_id, live, columns, status, P)
    st.rerun()

if comparison_id:
    per_turn_table(store, comparison_id, P)
    measured = statistics_section(store, comparison_id, P)  # (turn, baseline) once there are samples
    if measured:
        noise_floor_section(store, side.client, comparison_id, panes, *measured, side.sampling, P)
conversations = store.comparison_panes(comparison_id) if comparison_id else []
pane_previews(
    store,
    [pane.label for pane in panes],
    [c.id for c in conversations] or [None] * len(panes),
    [pane.settings for pane in panes],
    side.endpoint,
    P,
)
