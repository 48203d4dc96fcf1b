"""One conversation as a file: CSV (for Excel: UTF-8 with BOM), JSON or Markdown; the chat and History use it."""

from __future__ import annotations

import streamlit as st

from chatlab.store import Store
from chatlab.transcript import FORMATS, export_conversation
from chatlab_ui.page_keys import PageKeys

FORMAT_NAMES = {"csv": "CSV", "json": "JSON", "md": "Markdown"}


def download_buttons(store: Store, conversation_id: str, keys: PageKeys, lead: str = "") -> None:
    """A Download button per format, side by side after `lead`; each file is built only when clicked."""
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        if lead:
            st.caption(lead, width="content")
        for fmt, mime in FORMATS.items():
            st.download_button(
                f"Download {FORMAT_NAMES[fmt]}",
                data=lambda fmt=fmt: export_conversation(store, conversation_id, fmt),
                file_name=f"chatlab-{conversation_id}.{fmt}",
                mime=mime,
                on_click="ignore",
                icon=":material/download:",
                key=keys("download", fmt),
                help="CSV opens in Excel with Chinese intact (UTF-8 with BOM)." if fmt == "csv" else None,
            )
