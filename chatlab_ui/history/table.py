"""The history list: every conversation, newest first, with its totals; a row is selected to act on it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from chatlab.prices import format_usd
from chatlab.store import Store
from chatlab_ui.page_keys import PageKeys

KINDS = {"All": None, "Chats": "chat", "Comparisons": "compare"}


def _title(summary, comparisons: dict[str, str]) -> str:
    """A comparison's pane is named by its comparison and its pane, so the rows read as one set."""
    title = summary.title or "(untitled)"
    if summary.kind == "compare" and summary.comparison_id:
        return f"{comparisons.get(summary.comparison_id) or 'Comparison'} — pane: {title}"
    return title


def conversation_table(store: Store, kind: str | None, keys: PageKeys) -> str | None:
    """Every conversation, newest first; returns the id of the row the user selected."""
    summaries = store.conversation_summaries(limit=500, kind=kind)
    if not summaries:
        st.info("No conversations yet. Chat, compare or import a transcript and it appears here.")
        return None
    comparisons = {c.id: c.title for c in store.list_comparisons(limit=1000)}
    frame = pd.DataFrame(
        {
            "Title": [_title(s, comparisons) for s in summaries],
            "Kind": [s.kind for s in summaries],
            "Updated": [s.updated_at[:16].replace("T", " ") for s in summaries],
            "Model": [s.model or "" for s in summaries],
            "Role": [s.role_name or "" for s in summaries],
            "Messages": [s.message_count for s in summaries],
            "Tokens": [(s.prompt_tokens or 0) + (s.completion_tokens or 0) for s in summaries],
            "Cost": [format_usd(s.cost_usd) for s in summaries],
        }
    )
    event = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key=keys("table"),
    )
    rows = event.selection.rows
    st.caption(f"{len(summaries)} conversations. Select a row to open, rename, export or delete it.")
    return summaries[rows[0]].id if rows else None
