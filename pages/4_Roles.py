"""The role library: browse and search every role, create and edit custom ones, import and export."""

from __future__ import annotations

import streamlit as st

from chatlab_ui.navigation import require_frame
from chatlab_ui.resources import get_builtin_roles, get_custom_role_list, get_custom_roles
from chatlab_ui.roles import view

require_frame()  # first: nothing of this page runs outside app.py's frame

view.apply_pending()
custom = get_custom_roles()
builtin, builtin_error = get_builtin_roles()
custom_roles, custom_error = get_custom_role_list()

st.title("Roles")
st.caption(
    "A role is a system prompt with optional few-shot examples and default parameters. Built-in roles come "
    "from roles.yaml and are read-only; custom roles are yours to create, edit, import and export."
)
view.problems(builtin_error, custom_error, builtin, custom_roles)
view.show_notice()

library, editor, importer, exporter = st.tabs(view.TABS, key=view.TAB_KEY, on_change="rerun")
if library.open:
    with library:
        view.library(builtin, custom_roles, custom)
if editor.open:
    with editor:
        view.editor(custom, [*builtin, *custom_roles])
if importer.open:
    with importer:
        view.importer(custom, [*builtin, *custom_roles])
if exporter.open:
    with exporter:
        view.exporter(builtin, custom_roles)
