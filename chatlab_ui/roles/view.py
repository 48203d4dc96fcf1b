"""The Roles page's parts, in the order the page uses them: its tabs, what failed to load, and one view a tab.

Each tab's view is a module of its own — library (browse, duplicate, delete), editor (create and edit),
import_view, export_view — and state holds what they share. This module gathers them so that
pages/4_Roles.py imports one name.
"""

from __future__ import annotations

import streamlit as st

from chatlab.roles import Role
from chatlab_ui.roles.editor import apply_pending, editor
from chatlab_ui.roles.export_view import exporter
from chatlab_ui.roles.import_view import importer
from chatlab_ui.roles.library import library
from chatlab_ui.roles.state import TAB_KEY, TABS, show_notice

__all__ = [
    "TABS",
    "TAB_KEY",
    "apply_pending",
    "editor",
    "exporter",
    "importer",
    "library",
    "problems",
    "show_notice",
]


def problems(
    builtin_error: str | None, custom_error: str | None, builtin: list[Role], custom: list[Role]
) -> None:
    """Say what could not be loaded, and which custom roles a built-in name hides elsewhere."""
    if builtin_error:
        st.warning(
            f"roles.yaml could not be loaded, so only the default assistant is built in. {builtin_error}"
        )
    if custom_error:
        st.error(f"{custom_error}  \nFix the file (or move it away) to see and save custom roles again.")
    builtin_names = {r.name.casefold() for r in builtin}
    hidden = [r.name for r in custom if r.name.casefold() in builtin_names]
    if hidden:
        st.warning(
            "These custom roles have the same name as a built-in role, so the other pages offer only the "
            f"built-in one; rename them: {', '.join(hidden)}"
        )
