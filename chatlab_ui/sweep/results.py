"""The parameter sweep's results: statistics per setting, charts against the swept values, every sample."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from chatlab.sweep.table import chart_data, csv_bytes, sample_count_note, samples_frame, summarize
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.sweep.charts import small_multiples
from chatlab_ui.sweep.progress import run_status
from chatlab_ui.sweep.state import SweepResults
from chatlab_ui.tables import table, table_with_csv

CHARTED = {
    "completion_tokens_mean": "Mean completion tokens",
    "distinct_1": "Distinct-1 (unique words)",
    "distinct_2": "Distinct-2 (unique word pairs)",
    "similarity": "Mean pairwise similarity",
    "duration_mean_s": "Mean latency (s)",
    "refusals": "Refusal-like replies",
}
SUMMARY_HEADINGS = {
    "completion_tokens_mean": "Tokens (mean)",
    "completion_tokens_median": "Tokens (median)",
    "completion_tokens_stdev": "Tokens (stdev)",
    "distinct_1": "Distinct-1",
    "distinct_2": "Distinct-2",
    "similarity": "Similarity",
    "duration_mean_s": "Latency (s)",
    "ttft_mean_s": "First token (s)",
    "refusals": "Refusal-like",
    "truncated": "Cut by max_tokens",
    "tokens_estimated": "Tokens estimated",
    "cost_usd": "Cost ($)",
    "samples": "Samples",
    "errors": "Errors",
}
# samples_frame column -> heading, in the order shown
SAMPLE_HEADINGS = {
    "sample": "Sample",
    "text": "Reply",
    "completion_tokens": "Tokens",
    "duration_s": "Duration (s)",
    "finish_reason": "Finish",
    "refusal": "Refusal-like",
    "error": "Error",
}


def metric_charts(summary: pd.DataFrame, axes: list[str]) -> None:
    """One small chart per statistic against the first swept parameter (colour: the second)."""
    long = chart_data(summary)
    long = long[long["metric"].isin(CHARTED)].assign(metric=lambda d: d["metric"].map(CHARTED))
    small_multiples(long, axes[0], axes[0], list(CHARTED.values()), color=axes[1] if len(axes) > 1 else None)


def sweep_results(results: SweepResults, keys: PageKeys) -> None:
    spec, samples = results.spec, results.samples
    run_status(results.progress, "samples")
    if not samples:
        return
    summary = summarize(samples, spec)
    st.subheader("Per setting")
    if note := sample_count_note(samples):
        st.info(note, icon=":material/balance:")
    table(summary.rename(columns=SUMMARY_HEADINGS), key=keys("summary"))
    metric_charts(summary, list(spec.axis_names))
    st.subheader("Every sample")
    frame = samples_frame(samples, spec)
    table_with_csv(
        frame[[*spec.axis_names, *SAMPLE_HEADINGS]].rename(columns=SAMPLE_HEADINGS),
        lambda: csv_bytes(frame),
        keys.child("samples"),
        label="Download samples CSV (one row per sample, every parameter)",
        file_name="sweep-samples.csv",
    )
    with st.expander("How these are computed"):
        st.markdown(
            "- **Distinct-n**: unique n-grams ÷ all n-grams across the samples of a setting (Chinese characters "
            "count as words). Higher = more varied wording.\n"
            "- **Similarity**: mean Jaccard overlap of word-pair sets between every two samples. Higher = the "
            "samples say the same thing the same way.\n"
            '- **Refusal-like**: the reply opens with a refusal phrase ("I can\'t help with", "抱歉，我无法"…); a '
            "heuristic that misses refusals after a preamble.\n"
            "- Failed calls are counted under *errors* and left out of the other statistics."
        )
