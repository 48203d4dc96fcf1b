"""The context-depth ablation's results: what each extra past message costs and changes."""

from __future__ import annotations

import altair as alt
import streamlit as st

from chatlab.sweep.ablation import ablation_frame
from chatlab.sweep.table import csv_bytes
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.sweep.progress import run_status
from chatlab_ui.sweep.state import Progress


def ablation_results(progress: Progress, keys: PageKeys) -> None:
    """Prompt tokens, cost and reply length charted against the depth, and the table of every depth."""
    results = progress.items
    run_status(progress, "depths")
    if not results:
        return
    frame = ablation_frame(results)
    long = frame.melt(
        id_vars=["depth"],
        value_vars=["prompt_tokens", "cost_usd", "reply_chars"],
        var_name="metric",
        value_name="value",
    ).dropna()
    if not long.empty:
        chart = (
            alt.Chart(long)
            .mark_line(point=True)
            .encode(
                x=alt.X("depth:Q", title="context depth (past messages sent)"),
                y=alt.Y("value:Q", title=None),
            )
            .properties(width=230, height=150)
            .facet(facet=alt.Facet("metric:N", title=None), columns=3)
        )
        st.altair_chart(chart.resolve_scale(y="independent"))
    st.dataframe(frame, hide_index=True, width="stretch", key=keys("table"))
    st.download_button(
        "Download CSV",
        data=lambda: csv_bytes(frame),
        file_name="depth-ablation.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key=keys("download"),
    )
