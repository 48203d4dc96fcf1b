"""Download the conversation (CSV for Excel, JSON, Markdown) and import a transcript back."""

from __future__ import annotations

import streamlit as st

from chatlab.safe_markdown import escape_markdown
from chatlab.store import Store
from chatlab.transcript import TranscriptError, export_conversation, import_transcript
from chatlab_ui.notice import keep
from chatlab_ui.page_keys import PageKeys


def _exporter(store: Store, conversation_id: str, fmt: str):
    """Builds the file only when the button is clicked (deferred data), not on every rerun."""
    return lambda: export_conversation(store, conversation_id, fmt)


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


def render(store: Store, conversation_id: str | None, keys: PageKeys) -> None:
    """`keys`: the chat page's; an import opens there (its 'restored' and 'notice' keys are set)."""
    with st.expander("Transcript", expanded=False, icon=":material/description:"):
        if conversation_id:
            st.caption("CSV opens in Excel with Chinese intact (UTF-8 with BOM).")
            for kind, label, mime in (
                ("csv", "CSV", "text/csv"),
                ("json", "JSON", "application/json"),
                ("md", "Markdown", "text/markdown"),
            ):
                st.download_button(
                    f"Download {label}",
                    data=_exporter(store, conversation_id, kind),
                    file_name=f"chatlab-{conversation_id}.{kind}",
                    mime=mime,
                    on_click="ignore",
                    key=keys("transcript", "download", kind),
                    width="stretch",
                    icon=":material/download:",
                )
        else:
            st.caption("Nothing to download yet: send a message first.")
        st.file_uploader(
            "Import a transcript (CSV or JSON)",
            type=["csv", "json"],
            key=keys("transcript", "upload"),
            on_change=_import,
            args=(store, keys),
            help="A file downloaded from Chat Lab. It opens as a new conversation.",
        )
        if error := st.session_state.pop(keys("transcript", "error"), None):
            st.error(error)
