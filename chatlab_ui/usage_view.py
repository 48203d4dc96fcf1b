"""The per-turn usage table with session totals, and a comparison's per-turn metrics."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from chatlab.prices import format_usd
from chatlab.store import ERROR, ReplyMetrics, Store
from chatlab.usage import totals, turn_usage
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.tables import table

METRIC_COLUMNS = {
    "First token (s)": st.column_config.NumberColumn(format="%.2f"),
    "Duration (s)": st.column_config.NumberColumn(format="%.2f"),
    "Tokens/s": st.column_config.NumberColumn(format="%.1f"),
}
# comparison_frame column -> heading shown on the page
_PER_TURN = {
    "turn": "Turn",
    "label": "Pane",
    "model": "Model",
    "prompt_tokens": "Prompt tokens",
    "completion_tokens": "Completion tokens",
    "reasoning_tokens": "Reasoning tokens",
    "cached_tokens": "Cached tokens",
    "usage_estimated": "Estimated",
    "ttft_s": "First token (s)",
    "duration_s": "Duration (s)",
    "tokens_per_s": "Tokens/s",
    "cost_usd": "Cost",
    "finish_reason": "Finish",
    "status": "Status",
}


def per_turn_view(frame: pd.DataFrame) -> pd.DataFrame:
    """A comparison's rows with readable headings; unknown costs shown as '—', estimates as 'yes'."""
    view = frame[[c for c in _PER_TURN if c in frame.columns]].rename(columns=_PER_TURN)
    view["Cost"] = [format_usd(None if pd.isna(v) else float(v)) for v in view["Cost"]]
    # The column holds numpy/pandas booleans, never the `True` singleton: test the value, not identity.
    view["Estimated"] = ["yes" if pd.notna(v) and bool(v) else "" for v in view["Estimated"]]
    return view


def usage_table(replies: Sequence[ReplyMetrics], keys: PageKeys) -> None:
    rows = turn_usage(replies)
    if not rows:
        return
    frame = pd.DataFrame(
        {
            "Turn": [r.turn for r in rows],
            "Model": [r.model for r in rows],
            "Prompt tokens": [r.prompt_tokens for r in rows],
            "Completion tokens": [r.completion_tokens for r in rows],
            "Estimated": ["yes" if r.estimated else "" for r in rows],
            "First token (s)": [r.ttft_s for r in rows],
            "Duration (s)": [r.duration_s for r in rows],
            "Tokens/s": [r.tokens_per_s for r in rows],
            "Cost": [format_usd(r.cost_usd) for r in rows],
            "Finish": [r.finish_reason for r in rows],
            "Choices": [r.choices for r in rows],
        }
    )
    # A request refused before any token costs nothing: say so rather than leave its cells blank. The column
    # is there only when some turn was not billed (blank for every billed turn, it would read as "unknown").
    unbilled = [r.prompt_tokens is None and r.status == ERROR for r in rows]
    if any(unbilled):
        frame.insert(4, "Billed", ["no (failed before any token)" if u else "yes" for u in unbilled])
    # Reasoning models think in tokens billed as completion tokens; prompt caches make some prompts cheaper.
    if any(r.reasoning_tokens for r in rows):
        frame.insert(4, "Reasoning tokens", [r.reasoning_tokens for r in rows])
    if any(r.cached_tokens for r in rows):
        frame.insert(3, "Cached prompt tokens", [r.cached_tokens for r in rows])
    sums = totals(rows)
    a, b, c, d = st.columns(4)
    a.metric("Turns", sums.turns)
    b.metric("Prompt tokens", f"{sums.prompt_tokens:,}" + (" *" if sums.estimated else ""))
    c.metric(
        "Completion tokens",
        f"{sums.completion_tokens:,}" + (" *" if sums.estimated else ""),
        help=f"{sums.reasoning_tokens:,} of them reasoning" if sums.reasoning_tokens else None,
    )
    if sums.cost_usd is None:
        cost, cost_help = "—", "No model in this conversation has a known price (see chatlab/prices.yaml)."
    elif sums.cost_complete:
        cost, cost_help = format_usd(sums.cost_usd), "From the price table in chatlab/prices.yaml."
    else:
        cost, cost_help = f"≥ {format_usd(sums.cost_usd)}", "Some turns used a model with no known price."
    d.metric("Cost", cost, help=cost_help)
    table(frame, key=keys("usage"), column_config=METRIC_COLUMNS)
    if sums.estimated:
        st.caption(
            "\\* includes estimates: the server sent no usage for some replies, so tokens were "
            "counted locally (o200k_base)."
        )


def usage_panel(store: Store, conversation_id: str, keys: PageKeys, *, expanded: bool = True) -> None:
    """'Usage per turn' as an expander that reads the replies' metrics only while it is open."""
    panel = st.expander("Usage per turn", expanded=expanded, key=keys("usage", "panel"), on_change="rerun")
    if panel.open:
        with panel:
            usage_table(store.reply_metrics(conversation_id), keys)
