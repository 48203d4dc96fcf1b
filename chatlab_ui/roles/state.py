"""What the Roles page's parts share in session state: widget keys, the open tab, the one-shot notice."""

from __future__ import annotations

from typing import Literal

import streamlit as st

from chatlab_ui.notice import keep, show
from chatlab_ui.page_keys import PageKeys

P = PageKeys("roles")  # every widget and session key of the Roles page
TAB_KEY = P("tab")
TAB_LIBRARY, TAB_EDITOR, TAB_IMPORT, TAB_EXPORT = "Library", "Create or edit", "Import", "Export"
TABS = (TAB_LIBRARY, TAB_EDITOR, TAB_IMPORT, TAB_EXPORT)
LANGUAGE_NAMES = {"en": "English", "zh": "中文 Chinese"}
S = st.session_state


def notice(kind: Literal["success", "error"], text: str) -> None:
    """Keep the outcome of an action for show_notice on the next run (escape names in `text`)."""
    keep(P("notice"), kind, text)


def show_notice() -> None:
    """The outcome of the last action (saved, deleted, copied), once."""
    show(P("notice"))
