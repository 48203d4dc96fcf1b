"""Delete with a confirmation, as History does it for a conversation and for a run."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from chatlab_ui.page_keys import PageKeys


def delete_with_confirmation(
    keys: PageKeys, item_id: str, question: Callable[[], str], on_delete: Callable, args: tuple
) -> None:
    """Delete…, then `question()` with Delete for good and Keep it: `on_delete(*args)` runs only after the
    confirmation (the question is worked out only then: it may count what would go)."""
    confirm_key = keys("confirm_delete", item_id)
    if not st.session_state.get(confirm_key):
        st.button(
            "Delete…",
            key=keys("delete"),
            icon=":material/delete:",
            on_click=lambda: st.session_state.update({confirm_key: True}),
        )
        return
    st.warning(question())
    yes, no = st.columns(2)
    yes.button("Delete for good", type="primary", key=keys("delete", "yes"), on_click=on_delete, args=args)
    no.button("Keep it", key=keys("delete", "no"), on_click=lambda: st.session_state.pop(confirm_key))
