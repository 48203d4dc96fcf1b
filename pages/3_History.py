"""Every stored conversation: full-text search, reopen, rename, export, import, delete."""

from __future__ import annotations

import streamlit as st

from chatlab_ui.history.actions import conversation_actions
from chatlab_ui.history.search import search_results
from chatlab_ui.history.table import KINDS, conversation_table
from chatlab_ui.history.transfer import export_all, import_files
from chatlab_ui.navigation import require_frame
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.resources import get_store

require_frame()  # first: nothing of this page runs outside app.py's frame

P = PageKeys("history")  # every widget and session key of this page
store = get_store()

st.title("History")
search, kind_column = st.columns([4, 1], vertical_alignment="bottom")
query = search.text_input("Search every message", key=P("query"), placeholder="a word or phrase, 中文也可以")
kind = KINDS[kind_column.selectbox("Show", list(KINDS), key=P("kind"))]

if query.strip():
    search_results(store, query.strip(), kind)
else:
    selected = conversation_table(store, kind, P)
    if selected:
        conversation_actions(store, selected, P)

with st.sidebar:
    with st.expander("Export all", icon=":material/download:"):
        export_all(store, kind, P)
    with st.expander("Import", icon=":material/upload:"):
        import_files(store, P)
