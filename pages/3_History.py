"""Every stored conversation: full-text search, reopen, rename, export, import, delete."""

from __future__ import annotations

import streamlit as st

from chatlab_ui.access import require_access
from chatlab_ui.history_view import (
    KINDS,
    conversation_actions,
    conversation_table,
    export_all,
    import_files,
    search_results,
)
from chatlab_ui.nav import page_nav
from chatlab_ui.resources import get_store

st.set_page_config(page_title="History · Chat Lab", page_icon="🧪", layout="wide")
require_access()
store = get_store()
page_nav()

st.title("History")
search, kind_column = st.columns([4, 1], vertical_alignment="bottom")
query = search.text_input(
    "Search every message", key="history.query", placeholder="a word or phrase, 中文也可以"
)
kind = KINDS[kind_column.selectbox("Show", list(KINDS), key="history.kind")]

if query.strip():
    search_results(store, query.strip(), kind)
else:
    selected = conversation_table(store, kind)
    if selected:
        conversation_actions(store, selected)

with st.sidebar:
    with st.expander("Export all", icon=":material/download:"):
        export_all(store, kind)
    with st.expander("Import", icon=":material/upload:"):
        import_files(store)
