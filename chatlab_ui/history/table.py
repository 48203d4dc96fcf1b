"""The history list: every conversation, sweep and determinism run, newest first, with its totals; a row is
selected to act on it."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from chatlab.prices import format_usd
from chatlab.store import CANCELLED, METER, RUNNING, SWEEP, ConversationSummary, RunSummary, Store
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.tables import table

KINDS = {
    "All": None,
    "Chats": "chat",
    "Comparisons": "compare",
    "Sweeps": SWEEP,
    "Determinism runs": METER,
}
RUN_KINDS = (SWEEP, METER)
RUN_NAMES = {SWEEP: "sweep", METER: "determinism run"}
RUN_ITEMS = {SWEEP: ("sample", "samples"), METER: ("reply", "replies")}
RUN_STATUS = {CANCELLED: "cancelled", RUNNING: "unfinished"}  # a complete run says nothing more
LISTED = 100_000  # what "Export all" and the search's links reach; the table shows the newest TABLE_ROWS
TABLE_ROWS = 500


def listing(store: Store, kind: str | None) -> list[ConversationSummary]:
    """Every conversation of this kind with its totals, newest first: read once per run, shared by the
    table, the search hits' links and Export all (none when the filter shows runs only)."""
    if kind in RUN_KINDS:
        return []
    return store.conversation_summaries(limit=LISTED, kind=kind)


def run_listing(store: Store, kind: str | None) -> list[RunSummary]:
    """The sweeps and determinism runs the filter shows, newest first."""
    if kind is not None and kind not in RUN_KINDS:
        return []
    return store.list_runs(kind, limit=TABLE_ROWS)


def run_contents(run: RunSummary) -> str:
    """ "20 samples, 1 failed" """
    one, many = RUN_ITEMS[run.kind]
    return f"{run.stored:,} {one if run.stored == 1 else many}" + (
        f", {run.errors:,} failed" if run.errors else ""
    )


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


def _conversation_row(s: ConversationSummary, comparisons: dict[str, str]) -> dict:
    return {
        "Title": _title(s, comparisons),
        "Kind": f"{s.kind} · imported" if s.imported_at else s.kind,
        "Updated": s.updated_at[:16].replace("T", " "),
        "Model": s.model,
        "Role": s.role_name or None,
        "Contents": f"{s.message_count:,} message{'' if s.message_count == 1 else 's'}",
        "Tokens": (s.prompt_tokens or 0) + (s.completion_tokens or 0),
        "Cost": format_usd(s.cost_usd),
    }


def _run_row(run: RunSummary) -> dict:
    status = RUN_STATUS.get(run.status)
    return {
        "Title": run.title or "(untitled)",
        "Kind": RUN_NAMES[run.kind] + (f" · {status}" if status else ""),
        "Updated": run.updated_at[:16].replace("T", " "),
        "Model": run.model,
        "Role": None,
        "Contents": run_contents(run),
        "Tokens": None,
        "Cost": format_usd(run.cost_usd),
    }


def conversation_table(
    store: Store,
    summaries: Sequence[ConversationSummary],
    runs: Sequence[RunSummary],
    kind: str,
    keys: PageKeys,
) -> ConversationSummary | RunSummary | None:
    """The newest conversations and runs of the listing, newest first; returns the row the user selected."""
    if not summaries and not runs:
        st.info(
            "Nothing here yet. Chat, compare, run a sweep or the determinism meter, or import a transcript, "
            "and it appears here."
        )
        return None
    items = sorted([*summaries[:TABLE_ROWS], *runs], key=lambda item: item.updated_at, reverse=True)
    shown = items[:TABLE_ROWS]
    has_panes = any(getattr(s, "kind", None) == "compare" for s in shown)
    comparisons = {c.id: c.title for c in store.list_comparisons(limit=1000)} if has_panes else {}
    frame = pd.DataFrame(
        [_run_row(s) if isinstance(s, RunSummary) else _conversation_row(s, comparisons) for s in shown],
        columns=["Title", "Kind", "Updated", "Model", "Role", "Contents", "Tokens", "Cost"],
    ).astype({"Tokens": "Int64"})
    # The key names the filter and a generation: another list, or a delete, starts with no selection.
    generation = st.session_state.get(keys("table", "generation"), 0)
    event = table(
        frame,
        key=keys("table", kind, generation),
        on_select="rerun",
        selection_mode="single-row",
        column_config={"Title": st.column_config.TextColumn(width="large")},  # long titles: the rest shows
    )
    rows = event.selection.rows
    listed = len(summaries) + len(runs)
    more = (
        f" (the newest {len(shown)} are listed; search finds any conversation)" if listed > len(shown) else ""
    )
    counts = [f"{len(summaries):,} conversation{'' if len(summaries) == 1 else 's'}"] if summaries else []
    counts += [f"{len(runs):,} run{'' if len(runs) == 1 else 's'}"] if runs else []
    st.caption(f"{' and '.join(counts)}{more}. Select a row to open, rename, export or delete it.")
    return shown[rows[0]] if rows else None
