"""A link that reopens a stored conversation where it was made: the chat, or its comparison."""

from __future__ import annotations

import streamlit as st

from chatlab_ui.navigation import CHAT, COMPARE


def open_link(conversation_id: str, kind: str, comparison_id: str | None, label: str = "Open") -> None:
    """A link that reopens the conversation where it was made (the chat, or its comparison)."""
    if kind == "compare" and comparison_id:
        page, query = COMPARE, {"cmp": comparison_id}
    else:
        page, query = CHAT, {"c": conversation_id}
    st.page_link(page, label=label, icon=":material/open_in_new:", query_params=query)
