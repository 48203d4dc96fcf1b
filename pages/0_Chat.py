"""The chat playground: a role, a model, the parameters to send, and a conversation that streams and stays."""

from __future__ import annotations

from functools import partial

import streamlit as st

from chatlab.turn import send_turn
from chatlab_ui.chat import transcript_panel
from chatlab_ui.chat.conversation import (
    new_conversation,
    open_conversation,
    start_conversation,
    visible_messages,
)
from chatlab_ui.chat.queue import large_message_prompt, queue_message, retry_turn
from chatlab_ui.chat.sidebar import chat_sidebar
from chatlab_ui.chat_view import display_text, render_history, stream_reply
from chatlab_ui.endpoint_panel import key_table, select_endpoint, wait_for_offline
from chatlab_ui.navigation import require_frame
from chatlab_ui.notice import show as show_notice
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.pending import PendingTurn
from chatlab_ui.reproduce_view import reply_actions
from chatlab_ui.request_preview import preview_panel
from chatlab_ui.resources import get_client, get_roles, get_store
from chatlab_ui.stream_guard import streaming, wait_for_previous_stream
from chatlab_ui.usage_view import usage_panel

require_frame()  # first: nothing of this page runs outside app.py's frame

P = PageKeys("chat")  # every widget and session key of this page
store = get_store()
roles, roles_error = get_roles()
wait_for_previous_stream(P("stream"))
pending: PendingTurn | None = st.session_state.pop(P("pending"), None)
busy = pending is not None
conversation_id = open_conversation(store, P, roles)

with st.sidebar:
    st.button(
        "New conversation",
        key=P("new"),
        icon=":material/add:",
        on_click=new_conversation,
        args=(P,),
        disabled=busy,
        width="stretch",
    )
    endpoint = select_endpoint(disabled=busy)
    client = get_client(endpoint)
    settings, choice = chat_sidebar(P, roles, endpoint, client, disabled=busy)

if pending and not choice.ok:  # e.g. Retry clicked while a parameter is not valid: nothing is sent
    pending, busy = None, False
st.chat_input(
    "Message the model…" if choice.ok else "Fix the parameters marked in the sidebar to send…",
    key=P("input"),
    on_submit=queue_message,
    args=(P,),
    disabled=busy or not choice.ok,
)

st.title("🧪 Chat Lab")
if roles_error:
    st.warning(f"Some roles could not be loaded, so they are not offered: {roles_error}")
show_notice(P("notice"))
if not conversation_id and not pending:
    st.markdown(
        "Pick a **role** and a **model** in the sidebar, tick the parameters you want to send, and type below. "
        "Every reply shows its tokens, cost, time to first token and speed; *What the next request will send* "
        "shows the exact request."
    )

messages = visible_messages(store, conversation_id, P)
render_history(
    messages,
    keys=P,
    on_retry=None if busy else partial(retry_turn, P),
    actions=None if busy else reply_actions(client, endpoint, P),
)
if messages and not busy:
    transcript_panel.downloads(store, conversation_id, P)
large_message_prompt(P)

if pending:
    if conversation_id is None:
        conversation_id = start_conversation(store, P, endpoint.name)
    if pending.text:
        with st.chat_message("user"):
            st.markdown(display_text(pending.text))
    with st.chat_message("assistant"):
        wait_for_offline(endpoint)
        # Clicking Stop reruns the script; the stream's generator is closed and keeps what arrived.
        st.button("Stop", key=P("stop_reply"), icon=":material/stop_circle:")
        events = send_turn(
            store, client, conversation_id, settings, pending.text, retry_turn=pending.retry_turn
        )
        with streaming(P("stream")):
            try:
                stream_reply(events)
            finally:
                events.close()
    st.rerun()

if conversation_id and messages:
    usage_panel(store, conversation_id, P)
preview_panel(store, conversation_id, settings, endpoint, P)
if not choice.ok:
    # Next to the chat input, so it is seen where the user is about to type.
    st.error(
        "Nothing is sent while a ticked parameter is not valid: " + "; ".join(choice.problems),
        icon=":material/block:",
    )
with st.sidebar:
    key_table(client)
    transcript_panel.import_panel(store, P)
