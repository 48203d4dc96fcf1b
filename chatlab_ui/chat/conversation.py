"""Which conversation the chat page shows: the one the URL names (?c=), and how much of it is drawn.

The id lives in the URL so a browser refresh reopens it (session state does not survive a refresh).
"""

from __future__ import annotations

import streamlit as st

from chatlab.roles import Role
from chatlab.store import STREAMING, Message, Store
from chatlab_ui.chat.sidebar import restore_from
from chatlab_ui.page_keys import PageKeys

VISIBLE_MESSAGES = 40  # the newest 20 turns; older ones are drawn on request (bench/rerun_cost.py)


def _settled(window: tuple[Message, ...]) -> bool:
    return not any(m.status == STREAMING for m in window)


# Every rerun draws the newest messages, and each stored reply carries its whole request record: at
# context depth "all" that is the entire history again, per reply (~10 MB for the last 30 replies of a
# 1,000-message chat). A finished message never changes — a retry deletes the reply and adds a new one,
# which touches the conversation — so the window is read again only when the conversation's message
# count or last write changes, or while one of its replies is still streaming (validate).
@st.cache_resource(max_entries=8, ttl=600, show_spinner=False, validate=_settled)
def _window(_store: Store, conversation_id: str, last: int, count: int, touched: str) -> tuple[Message, ...]:
    return tuple(_store.messages(conversation_id, last=last))


def open_conversation(store: Store, keys: PageKeys, roles: list[Role]) -> str | None:
    """The URL's conversation id (None for a new chat); a reopened one puts its settings back first."""
    conversation_id = st.query_params.get("c")
    if not conversation_id:
        return None
    conversation = store.get_conversation(conversation_id)
    if conversation is None:
        st.warning(f"Conversation {conversation_id} was not found; starting a new one.")
        st.query_params.pop("c", None)
        return None
    if st.session_state.get(keys("restored")) != conversation.id:
        last_reply = next(
            (m for m in reversed(store.messages(conversation.id, last=20)) if m.role == "assistant"), None
        )
        restore_from(keys, last_reply, roles)
        st.session_state[keys("restored")] = conversation.id
    return conversation_id


def start_conversation(store: Store, keys: PageKeys, endpoint_name: str) -> str:
    """A new stored conversation, named in the URL (before the first message is sent)."""
    conversation_id = store.create_conversation(endpoint_name=endpoint_name)
    st.query_params["c"] = conversation_id
    st.session_state[keys("restored")] = conversation_id
    return conversation_id


def new_conversation(keys: PageKeys) -> None:
    """The New conversation button: an empty chat; the old one stays stored (History reopens it)."""
    st.query_params.pop("c", None)
    for key in (keys("visible"), keys("restored")):
        st.session_state.pop(key, None)


def _show_older(keys: PageKeys) -> None:
    st.session_state[keys("visible")] = st.session_state.get(keys("visible"), VISIBLE_MESSAGES) + 200


def visible_messages(store: Store, conversation_id: str | None, keys: PageKeys) -> list[Message]:
    """The newest messages (VISIBLE_MESSAGES, more on request) and a button for the hidden older ones."""
    if not conversation_id:
        return []
    conversation = store.get_conversation(conversation_id)
    if conversation is None:
        return []
    store.interrupt_abandoned_replies(conversation_id)  # a reply a dead app process left 'streaming'
    visible = st.session_state.get(keys("visible"), VISIBLE_MESSAGES)
    total = store.count_messages(conversation_id)
    messages = list(_window(store, conversation_id, visible, total, conversation.updated_at))
    if total > len(messages):
        st.button(
            f"Show older messages ({total - len(messages):,} hidden)",
            key=keys("older"),
            on_click=_show_older,
            args=(keys,),
        )
    if messages and messages[0].role != "user":  # the window cut a turn in half: drop its tail
        messages = [m for m in messages if m.turn != messages[0].turn]
    return messages
