"""History's sidebar: every conversation as one zip, and transcripts imported as new conversations."""

from __future__ import annotations

import streamlit as st

from chatlab.store import Store
from chatlab.transcript import FORMATS, TranscriptError, export_archive, import_transcript
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.transcript_downloads import FORMAT_NAMES


def export_all(store: Store, kind: str | None, keys: PageKeys) -> None:
    ids = [s.id for s in store.conversation_summaries(limit=100_000, kind=kind)]
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
            st.error(f"{upload.name} was not imported (nothing was written): {exc}")
            continue
        st.session_state[marker] = (
            f"Imported {upload.name} as a new conversation ({store.count_messages(new_id)} messages)."
        )
        st.success(st.session_state[marker])
