"""History's sidebar: every conversation as one zip, and transcripts imported as new conversations."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from chatlab.safe_markdown import escape_markdown
from chatlab.store import ConversationSummary, Store
from chatlab.transcript import FORMATS, TranscriptError, export_archive, import_transcript
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.transcript_downloads import FORMAT_NAMES


def export_all(store: Store, summaries: Sequence[ConversationSummary], keys: PageKeys) -> None:
    """Every listed conversation as one zip; a closed expander builds nothing."""
    panel = st.expander(
        "Export all", icon=":material/download:", key=keys("export_all", "panel"), on_change="rerun"
    )
    if not panel.open:
        return
    ids = [s.id for s in summaries]
    with panel:
        fmt = st.selectbox(
            "Format",
            list(FORMATS),
            key=keys("export_all", "format"),
            format_func=FORMAT_NAMES.get,
        )
        st.download_button(
            f"Download all {len(ids)} as a zip",
            data=lambda: export_archive(store, ids, fmt),
            file_name=f"chatlab-history-{fmt}.zip",
            mime="application/zip",
            on_click="ignore",
            icon=":material/folder_zip:",
            key=keys("export_all"),
            disabled=not ids,
        )


def import_files(store: Store, keys: PageKeys) -> None:
    uploads = st.file_uploader(
        "Import transcripts (CSV or JSON exported by Chat Lab)",
        type=["csv", "json"],
        accept_multiple_files=True,
        key=keys("import"),
    )
    for upload in uploads or []:
        marker = keys("imported", upload.file_id)
        if marker in st.session_state:
            st.success(st.session_state[marker])
            continue
        try:
            new_id = import_transcript(store, upload.getvalue(), upload.name)
        except TranscriptError as exc:
            st.error(f"{escape_markdown(upload.name)} was not imported (nothing was written): {exc}")
            continue
        st.session_state[marker] = (
            f"Imported {escape_markdown(upload.name)} as a new conversation "
            f"({store.count_messages(new_id)} messages)."
        )
        st.success(st.session_state[marker])
