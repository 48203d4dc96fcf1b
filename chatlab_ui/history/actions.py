"""One conversation's actions on the History page: open, rename, export, delete with confirmation."""

from __future__ import annotations

import streamlit as st

from chatlab.safe_markdown import escape_markdown
from chatlab.store import Conversation, Store
from chatlab_ui.history.confirm import delete_with_confirmation
from chatlab_ui.history.links import open_link
from chatlab_ui.history.table import forget_selection, shown_title
from chatlab_ui.notice import keep
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.transcript_downloads import download_buttons


def _shown_title(store: Store, conversation: Conversation | None) -> str:
    """The conversation's name as the table shows it, as Markdown that draws it verbatim (an imported
    file may carry any title, links included)."""
    if conversation is None:
        return "(untitled)"
    comparison = store.get_comparison(conversation.comparison_id) if conversation.comparison_id else None
    return escape_markdown(shown_title(conversation.title, comparison.title if comparison else None))


def _delete(store: Store, conversation_id: str, keys: PageKeys) -> None:
    """Delete for good, say what went, and select nothing (the same row would now be another one)."""
    conversation = store.get_conversation(conversation_id)
    count = store.count_messages(conversation_id)
    store.delete_conversation(conversation_id)
    st.session_state.pop(keys("confirm_delete", conversation_id), None)
    forget_selection(keys)
    title = _shown_title(store, conversation)
    keep(keys("notice"), "success", f"Deleted “{title}” and its {count} message{'s' if count != 1 else ''}.")


def _question(store: Store, conversation: Conversation) -> str:
    count = store.count_messages(conversation.id)
    pane = (
        " It is one pane of a comparison, which then goes on without it."
        if conversation.comparison_id
        else ""
    )
    return (
        f"Delete “{_shown_title(store, conversation)}” and its {count} messages? This cannot be undone."
        + pane
    )


def conversation_actions(store: Store, conversation_id: str, keys: PageKeys) -> None:
    conversation = store.get_conversation(conversation_id)
    if conversation is None:
        return
    with st.container(border=True):
        st.subheader(_shown_title(store, conversation))
        open_link(conversation.id, conversation.kind, conversation.comparison_id, label="Open and continue")
        title = st.text_input("Title", value=conversation.title, key=keys("title", conversation_id))
        if title.strip() and title != conversation.title:
            st.button(
                "Rename",
                key=keys("rename"),
                icon=":material/edit:",
                on_click=lambda: store.rename_conversation(conversation_id, title.strip()),
            )
        download_buttons(store, conversation_id, keys.child("export"))
        delete_with_confirmation(
            keys,
            conversation_id,
            lambda: _question(store, conversation),
            _delete,
            (store, conversation_id, keys),
        )
