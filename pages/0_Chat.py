"""The chat playground: a role, a model, the parameters to send, and a conversation that streams and stays."""

from __future__ import annotations

import streamlit as st

from chatlab.context import estimate_text_tokens, rows_needed
from chatlab.turn import plan_context, plan_request, send_turn
from chatlab_ui.chat import transcript_panel
from chatlab_ui.chat.sidebar import chat_sidebar, restore_from
from chatlab_ui.chat_view import display_text, render_history, stream_reply
from chatlab_ui.endpoint_panel import key_table, select_endpoint, wait_for_offline
from chatlab_ui.navigation import require_frame
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.reproduce_view import code_popover, reply_actions
from chatlab_ui.resources import get_client, get_roles, get_store
from chatlab_ui.stream_guard import streaming, wait_for_previous_stream
from chatlab_ui.usage_view import request_preview, usage_table

require_frame()  # first: nothing of this page runs outside app.py's frame

P = PageKeys("chat")  # every widget and session key of this page
VISIBLE_MESSAGES = 60  # older messages are drawn on request, so a long history does not slow every rerun
LARGE_MESSAGE_TOKENS = 32_000  # above this, ask before sending

store = get_store()
roles, roles_error = get_roles()


# Callbacks run before the next script run, so that run already knows it will stream and can draw
# every input disabled (a widget touched mid-stream would stop the run: streamlit#10578).
def queue_message() -> None:
    text = st.session_state.get(P("input")) or ""
    if not text.strip():
        st.session_state[P("notice")] = "Empty message: nothing was sent."
    elif (tokens := estimate_text_tokens(text)) > LARGE_MESSAGE_TOKENS:
        st.session_state[P("confirm")] = (text, tokens)
    else:
        st.session_state[P("pending")] = {"text": text}


def confirm_large(send: bool) -> None:
    text, _ = st.session_state.pop(P("confirm"))
    if send:
        st.session_state[P("pending")] = {"text": text}


def retry_turn(turn: int) -> None:
    st.session_state[P("pending")] = {"retry_turn": turn}


def new_conversation() -> None:
    st.query_params.pop("c", None)
    for key in (P("visible"), P("restored")):
        st.session_state.pop(key, None)


def show_older() -> None:
    st.session_state[P("visible")] = st.session_state.get(P("visible"), VISIBLE_MESSAGES) + 200


wait_for_previous_stream(P("stream"))
pending = st.session_state.pop(P("pending"), None)
busy = pending is not None

# The conversation id lives in the URL so a browser refresh reopens it (session state does not survive).
conversation_id = st.query_params.get("c")
conversation = store.get_conversation(conversation_id) if conversation_id else None
if conversation_id and conversation is None:
    st.warning(f"Conversation {conversation_id} was not found; starting a new one.")
    st.query_params.pop("c", None)
    conversation_id = None
if conversation is not None and st.session_state.get(P("restored")) != conversation.id:
    last_reply = next(
        (m for m in reversed(store.messages(conversation.id, last=20)) if m.role == "assistant"), None
    )
    restore_from(P, last_reply, roles)
    st.session_state[P("restored")] = conversation.id

with st.sidebar:
    st.button(
        "New conversation",
        key=P("new"),
        icon=":material/add:",
        on_click=new_conversation,
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
    disabled=busy or not choice.ok,
)

st.title("🧪 Chat Lab")
if roles_error:
    st.warning(f"Some roles could not be loaded, so they are not offered: {roles_error}")
if notice := st.session_state.pop(P("notice"), None):
    st.info(notice)
if not conversation_id and not pending:
    st.markdown(
        "Pick a **role** and a **model** in the sidebar, tick the parameters you want to send, and type below. "
        "Every reply shows its tokens, cost, time to first token and speed; *What the next request will send* "
        "shows the exact request."
    )

visible = st.session_state.get(P("visible"), VISIBLE_MESSAGES)
total = store.count_messages(conversation_id) if conversation_id else 0
messages = store.messages(conversation_id, last=visible) if conversation_id else []
if total > len(messages):
    st.button(f"Show older messages ({total - len(messages):,} hidden)", key=P("older"), on_click=show_older)
if messages and messages[0].role != "user":  # the window cut a turn in half: drop its tail
    messages = [m for m in messages if m.turn != messages[0].turn]
render_history(
    messages,
    keys=P,
    on_retry=None if busy else retry_turn,
    actions=None if busy else reply_actions(client, endpoint, P),
)

if confirm := st.session_state.get(P("confirm")):
    text, tokens = confirm
    st.warning(
        f"This message is {len(text):,} characters, about {tokens:,} tokens (estimated) — more than many "
        "models accept, and it may cost real money. Send it anyway?"
    )
    yes, no = st.columns(2)
    yes.button("Send anyway", key=P("confirm", "yes"), on_click=confirm_large, args=(True,), type="primary")
    no.button("Discard", key=P("confirm", "no"), on_click=confirm_large, args=(False,))

if pending:
    if conversation_id is None:
        conversation_id = store.create_conversation(endpoint_name=endpoint.name)
        st.query_params["c"] = conversation_id
        st.session_state[P("restored")] = conversation_id
    if text := pending.get("text"):
        with st.chat_message("user"):
            st.markdown(display_text(text))
    with st.chat_message("assistant"):
        wait_for_offline(endpoint)
        # Clicking Stop reruns the script; the stream's generator is closed and keeps what arrived.
        st.button("Stop", key=P("stop_reply"), icon=":material/stop_circle:")
        events = send_turn(
            store, client, conversation_id, settings, text, retry_turn=pending.get("retry_turn")
        )
        with streaming(P("stream")):
            try:
                stream_reply(events)
            finally:
                events.close()
    st.rerun()

if conversation_id and messages:
    with st.expander("Usage per turn", expanded=True):
        usage_table(store.reply_metrics(conversation_id), P)
with st.expander("What the next request will send"):
    recent = (
        store.messages(conversation_id, last=rows_needed(settings.context_depth)) if conversation_id else []
    )
    window = plan_context(recent, settings, "<your next message>")
    request = plan_request(settings, window)
    request_preview(request, window)
    code_popover(request.body, endpoint, key=P("next_code"), label="View code for this request")
if not choice.ok:
    # Next to the chat input, so it is seen where the user is about to type.
    st.error(
        "Nothing is sent while a ticked parameter is not valid: " + "; ".join(choice.problems),
        icon=":material/block:",
    )
with st.sidebar:
    key_table(client)
    transcript_panel.render(store, conversation_id, P)
