"""Which conversation the chat page shows: the one the URL names (?c=), and how much of it is drawn.

The id lives in the URL so a browser refresh reopens it (session state does not survive a refresh).
"""

from __future__ import annotations

import streamlit as st

from chatlab.roles import Role
from chatlab.store import Message, Store
from chatlab_ui.chat.sidebar import restore_from
from chatlab_ui.page_keys import PageKeys

VISIBLE_MESSAGES = 60  # older messages are drawn on request, so a long history does not slow every rerun


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
    visible = st.session_state.get(keys("visible"), VISIBLE_MESSAGES)
    total = store.count_messages(conversation_id)
    messages = store.messages(conversation_id, last=visible)
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
