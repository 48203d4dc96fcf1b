"""What the Roles page's parts share in session state: widget keys, the open tab, the one-shot notice."""

from __future__ import annotations

import streamlit as st

P = "roles"
TAB_KEY = f"{P}.tab"
TAB_LIBRARY, TAB_EDITOR, TAB_IMPORT, TAB_EXPORT = "Library", "Create or edit", "Import", "Export"
TABS = (TAB_LIBRARY, TAB_EDITOR, TAB_IMPORT, TAB_EXPORT)
LANGUAGE_NAMES = {"en": "English", "zh": "中文 Chinese"}
S = st.session_state


def roles_key(name: str) -> str:
    """The page-unique session key of a widget or value: 'roles.<name>'."""
    return f"{P}.{name}"


def notice(kind: str, text: str) -> None:
    """Keep the outcome of an action ('success' or 'error') for show_notice on the next run."""
    S[roles_key("notice")] = (kind, text)


def show_notice() -> None:
    """The outcome of the last action (saved, deleted, copied), once."""
    kept = S.pop(roles_key("notice"), None)
    if kept:
        kind, text = kept
        (st.success if kind == "success" else st.error)(text)
