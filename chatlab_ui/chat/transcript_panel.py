"""The chat's transcript: downloads beside the conversation, and an import (in the sidebar) that opens as
a new conversation."""

from __future__ import annotations

import streamlit as st

from chatlab.safe_markdown import escape_markdown
from chatlab.store import Store
from chatlab.transcript import TranscriptError, import_transcript
from chatlab_ui.notice import keep
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.transcript_downloads import download_buttons


def downloads(store: Store, conversation_id: str, keys: PageKeys) -> None:
    """The conversation as CSV, JSON or Markdown: under its last message, in sight of the chat."""
    download_buttons(store, conversation_id, keys.child("transcript"), lead="The whole conversation:")


def _import(store: Store, keys: PageKeys) -> None:
    upload = st.session_state.get(keys("transcript", "upload"))
    if upload is None:
        return
    try:
        new_id = import_transcript(store, upload.getvalue(), upload.name)
    except TranscriptError as exc:
        st.session_state[keys("transcript", "error")] = f"{upload.name} was not imported: {exc}"
        return
    st.query_params["c"] = new_id
    st.session_state.pop(keys("restored"), None)
    keep(keys("notice"), "success", f"Imported {escape_markdown(upload.name)} as a new conversation.")


def import_panel(store: Store, keys: PageKeys) -> None:
    """`keys`: the chat page's; an import opens there (its 'restored' and 'notice' keys are set)."""
    with st.expander("Import a transcript", expanded=False, icon=":material/upload_file:"):
        st.file_uploader(
            "A CSV or JSON transcript",
            type=["csv", "json"],
            key=keys("transcript", "upload"),
            on_change=_import,
            args=(store, keys),
            help="A file downloaded from Chat Lab. It opens as a new conversation.",
        )
        if error := st.session_state.pop(keys("transcript", "error"), None):
            st.error(error)
