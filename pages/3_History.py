"""Every stored conversation, sweep and determinism run: full-text search, reopen, rename, export,
import, delete."""

from __future__ import annotations

import streamlit as st

from chatlab.store import RunSummary
from chatlab_ui.history.actions import conversation_actions
from chatlab_ui.history.runs import run_actions
from chatlab_ui.history.search import search_results
from chatlab_ui.history.table import KINDS, conversation_table, listing, run_listing
from chatlab_ui.history.transfer import export_all, import_files
from chatlab_ui.navigation import require_frame
from chatlab_ui.notice import show as show_notice
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.resources import get_store

require_frame()  # first: nothing of this page runs outside app.py's frame

P = PageKeys("history")  # every widget and session key of this page
store = get_store()

st.title("History")
show_notice(P("notice"))
search, kind_column = st.columns([4, 1], vertical_alignment="bottom")
query = search.text_input("Search every message", key=P("query"), placeholder="a word or phrase, 中文也可以")
kind_name = kind_column.selectbox("Show", list(KINDS), key=P("kind"))
summaries = listing(store, KINDS[kind_name])  # once per run: the table, the hits' links, Export all

if query.strip():
    search_results(store, query.strip(), KINDS[kind_name], summaries)
else:
    runs = run_listing(store, KINDS[kind_name])  # sweeps and determinism runs, listed beside them
    selected = conversation_table(store, summaries, runs, kind_name, P)
    if isinstance(selected, RunSummary):
        run_actions(store, selected, P)
    elif selected is not None:
        conversation_actions(store, selected.id, P)

with st.sidebar:
    export_all(store, summaries, P)
    with st.expander("Import", icon=":material/upload:"):
        import_files(store, P)
