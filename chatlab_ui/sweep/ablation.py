"""The context-depth ablation's results: what each extra past turn costs and changes."""

from __future__ import annotations

import streamlit as st

from chatlab.safe_markdown import escape_markdown
from chatlab.sweep.ablation import ablation_frame
from chatlab.sweep.table import csv_bytes
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.sweep.charts import small_multiples
from chatlab_ui.sweep.progress import run_status
from chatlab_ui.sweep.state import Progress
from chatlab_ui.tables import table_with_csv

CHARTED = {
    "prompt_tokens": "Prompt tokens",
    "cost_usd": "Cost ($)",
    "reply_chars": "Reply length (characters)",
}
# ablation_frame column -> heading shown on the page (the CSV keeps the column names)
HEADINGS = {
    "turns": "Past turns",
    "depth": "Past messages",
    "messages_sent": "Messages sent",
    "prompt_tokens": "Prompt tokens",
    "completion_tokens": "Completion tokens",
    "usage_estimated": "Estimated",
    "reply_chars": "Reply characters",
    "text": "Reply",
    "finish_reason": "Finish",
    "ttft_s": "First token (s)",
    "duration_s": "Duration (s)",
    "cost_usd": "Cost ($)",
    "error": "Error",
}


def ablation_results(progress: Progress, keys: PageKeys) -> None:
    """Prompt tokens, cost and reply length charted against the depth, and the table of every depth."""
    results = progress.items
    run_status(progress, "depths")
    if not results:
        return
    if progress.about:
        st.caption(escape_markdown(progress.about))
    frame = ablation_frame(results)
    long = frame.melt(
        id_vars=["turns"], value_vars=list(CHARTED), var_name="metric", value_name="value"
    ).dropna()
    long["metric"] = long["metric"].map(CHARTED)
    small_multiples(long, "turns", "past turns sent", list(CHARTED.values()), whole_x=True)
    table_with_csv(
        frame.rename(columns=HEADINGS),
        lambda: csv_bytes(frame),
        keys,
        label="Download CSV",
        file_name="depth-ablation.csv",
    )
