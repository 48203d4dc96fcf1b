"""The chat playground: a role, a model, the parameters to send, and a conversation that streams and stays."""

from __future__ import annotations

from functools import partial

import streamlit as st

from chatlab.live import LIVE
from chatlab.store import STREAMING
from chatlab_ui.chat import transcript_panel
from chatlab_ui.chat.conversation import (
    new_conversation,
    open_conversation,
    start_conversation,
    visible_messages,
)
from chatlab_ui.chat.live_reply import arriving_elsewhere, follow_reply, live_key, start_reply
from chatlab_ui.chat.queue import large_message_prompt, queue_message, retry_turn
from chatlab_ui.chat.sidebar import chat_sidebar
from chatlab_ui.chat_view import TokenLens, render_history
from chatlab_ui.endpoint_panel import key_table, select_endpoint, wait_for_offline
from chatlab_ui.failure_hints import failure_hint
from chatlab_ui.navigation import require_frame
from chatlab_ui.notice import show as show_notice
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.pending import PendingTurn
from chatlab_ui.reproduce_view import reply_actions
from chatlab_ui.request_preview import preview_panel
from chatlab_ui.resources import get_client, get_roles, get_store
from chatlab_ui.usage_view import usage_panel

require_frame()  # first: nothing of this page runs outside app.py's frame

P = PageKeys("chat")  # every widget and session key of this page
store = get_store()
roles, roles_error = get_roles()
pending: PendingTurn | None = st.session_state.pop(P("pending"), None)
conversation_id = open_conversation(store, P, roles)
# A reply this process is streaming for this conversation (maybe started before a reload, or in another
# tab): the page follows it instead of starting another.
live = LIVE.get(live_key(conversation_id)) if conversation_id else None
following = live is not None and live.running  # read once: the inputs and the drawing agree on it
busy = pending is not None or following

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
    settings, choice = chat_sidebar(P, store, roles, endpoint, client, disabled=busy)

if pending and not choice.ok:  # e.g. Retry clicked while a parameter is not valid: nothing is sent
    pending, busy = None, False
st.chat_input(
    "Message the model…" if choice.ok else "Fix what is marked in the sidebar to send…",
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

if pending:
    if conversation_id is None:
        conversation_id = start_conversation(store, P, endpoint.name)
    wait_for_offline(endpoint)
    live = start_reply(store, client, conversation_id, settings, pending, P)
    following = live is not None  # the question and the reply's row are stored: drawn below, followed

messages = visible_messages(store, conversation_id, P)
render_history(
    [m for m in messages if m.status != STREAMING],  # a reply still arriving is drawn live, below
    keys=P,
    on_retry=None if busy else partial(retry_turn, P),
    actions=None if busy else reply_actions(client, endpoint, P),
    tokens=TokenLens.of(store, conversation_id),
)
if following:
    follow_reply(live, P)  # until it ends; a reload or a click only stops the watching, not the reply
    st.rerun()
arriving_elsewhere(store, messages)
failure_hint(messages, client)
if messages and not busy:
    transcript_panel.downloads(store, conversation_id, P)
large_message_prompt(P)

if conversation_id and messages:
    usage_panel(store, conversation_id, P)
preview_panel(store, conversation_id, settings, endpoint, P)
if not choice.ok:
    # Next to the chat input, so it is seen where the user is about to type.
    st.error("Nothing is sent until this is fixed: " + "; ".join(choice.problems), icon=":material/block:")
with st.sidebar:
    key_table(client)
    transcript_panel.import_panel(store, P)
