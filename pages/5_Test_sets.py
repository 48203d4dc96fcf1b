"""Test sets: named tables of cases (a message, variable values, checks), typed in or imported, stored."""

from __future__ import annotations

import streamlit as st

from chatlab.store.testsets import TestSets
from chatlab_ui.navigation import require_frame
from chatlab_ui.resources import get_roles, get_store
from chatlab_ui.testsets.editor import editor
from chatlab_ui.testsets.import_view import importer
from chatlab_ui.testsets.sets_view import sets_list
from chatlab_ui.testsets.state import TAB_KEY, TABS, show_notice

require_frame()  # first: nothing of this page runs outside app.py's frame

sets = TestSets(get_store())
roles, _ = get_roles()

st.title("Test sets")
st.caption(
    "A test set is a table of cases: the user's message, values for the roles' variables ({{topic}}), and "
    "checks the reply must pass. Batch runs send every case to several roles and measure how often each passes."
)
show_notice()

listing, editing, importing = st.tabs(TABS, key=TAB_KEY, on_change="rerun")
if listing.open:
    with listing:
        sets_list(sets)
if editing.open:
    with editing:
        editor(sets, [r.name for r in roles])
if importing.open:
    with importing:
        importer(sets)
