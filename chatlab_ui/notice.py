"""One line about what an action did, kept for the next run (a callback cannot draw it), shown once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import streamlit as st


@dataclass(frozen=True)
class Notice:
    kind: Literal["success", "info", "warning", "error"]
    text: str  # Markdown: escape anything a user or a file wrote (chatlab.safe_markdown.escape_markdown)


def keep(key: str, kind: Literal["success", "info", "warning", "error"], text: str) -> None:
    st.session_state[key] = Notice(kind, text)


def show(key: str) -> None:
    """Draw the kept notice, if any, and forget it."""
    notice: Notice | None = st.session_state.pop(key, None)
    if notice is not None:
        getattr(st, notice.kind)(notice.text)
