"""The history list: every conversation, newest first, with its totals; a row is selected to act on it."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from chatlab.prices import format_usd
from chatlab.store import ConversationSummary, Store
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.tables import table

KINDS = {"All": None, "Chats": "chat", "Comparisons": "compare"}
LISTED = 100_000  # what "Export all" and the search's links reach; the table shows the newest TABLE_ROWS
TABLE_ROWS = 500


def listing(store: Store, kind: str | None) -> list[ConversationSummary]:
    """Every conversation of this kind with its totals, newest first: read once per run, shared by the
    table, the search hits' links and Export all."""
    return store.conversation_summaries(limit=LISTED, kind=kind)


def shown_title(title: str, comparison_title: str | None = None) -> str:
    """How History names a conversation; a comparison's pane by its comparison and its pane, so the rows
    of one comparison read as one set (plain text: escape it before drawing it as Markdown)."""
    title = title or "(untitled)"
    if comparison_title is not None:
        return f"{comparison_title or 'Comparison'} — pane: {title}"
    return title


def _title(summary: ConversationSummary, comparisons: dict[str, str]) -> str:
    if summary.kind == "compare" and summary.comparison_id:
        return shown_title(summary.title, comparisons.get(summary.comparison_id, ""))
    return shown_title(summary.title)


def forget_selection(keys: PageKeys) -> None:
    """The next table starts with no row selected (after a delete the same row would be another one)."""
    st.session_state[keys("table", "generation")] = st.session_state.get(keys("table", "generation"), 0) + 1


def conversation_table(
    store: Store, summaries: Sequence[ConversationSummary], kind: str, keys: PageKeys
) -> str | None:
    """The newest conversations of the listing; returns the id of the row the user selected."""
    if not summaries:
        st.info("No conversations yet. Chat, compare or import a transcript and it appears here.")
        return None
    shown = summaries[:TABLE_ROWS]
    has_panes = any(s.kind == "compare" for s in shown)
    comparisons = {c.id: c.title for c in store.list_comparisons(limit=1000)} if has_panes else {}
    frame = pd.DataFrame(
        {
            "Title": [_title(s, comparisons) for s in shown],
            "Kind": [f"{s.kind} · imported" if s.imported_at else s.kind for s in shown],
            "Updated": [s.updated_at[:16].replace("T", " ") for s in shown],
            "Model": [s.model for s in shown],
            "Role": [s.role_name or None for s in shown],
            "Messages": [s.message_count for s in shown],
            "Tokens": [(s.prompt_tokens or 0) + (s.completion_tokens or 0) for s in shown],
            "Cost": [format_usd(s.cost_usd) for s in shown],
        }
    )
    # The key names the filter and a generation: another list, or a delete, starts with no selection.
    generation = st.session_state.get(keys("table", "generation"), 0)
    event = table(frame, key=keys("table", kind, generation), on_select="rerun", selection_mode="single-row")
    rows = event.selection.rows
    more = f" (the newest {len(shown)} are listed; search finds any)" if len(summaries) > len(shown) else ""
    st.caption(f"{len(summaries)} conversations{more}. Select a row to open, rename, export or delete it.")
    return shown[rows[0]].id if rows else None
