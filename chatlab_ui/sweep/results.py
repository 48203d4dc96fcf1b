"""The parameter sweep's results: is each difference from the baseline real (in sentences, with error
bars), the statistics per setting, how much is chance, and every sample — with their CSV files."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from chatlab.safe_markdown import escape_markdown
from chatlab.stats import method_note
from chatlab.sweep.table import csv_bytes, sample_count_note, samples_frame, summarize
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.sweep.noise import label, noise_section
from chatlab_ui.sweep.progress import run_status
from chatlab_ui.sweep.state import NoiseRun, SweepResults
from chatlab_ui.sweep.statistics import (
    baseline_picker,
    differences_table,
    headline,
    interval_charts,
    means_table,
    sweep_statistics,
)
from chatlab_ui.tables import table, table_with_csv

SUMMARY_HEADINGS = {
    "completion_tokens_mean": "Tokens (mean)",
    "completion_tokens_median": "Tokens (median)",
    "completion_tokens_stdev": "Tokens (stdev)",
    "reasoning_tokens_mean": "Reasoning tokens (mean)",
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
    "reasoning_tokens": "Reasoning tokens",
    "duration_s": "Duration (s)",
    "cost_usd": "Cost ($)",
    "finish_reason": "Finish",
    "refusal": "Refusal-like",
    "error": "Error",
}
ALWAYS_SHOWN = {"samples", "errors", "sample", "text", "error"}


def _known(frame: pd.DataFrame, headings: dict[str, str]) -> list[str]:
    """The columns worth a column on the page: those with some value (no model reasons? no reasoning column)."""
    return [c for c in headings if c in ALWAYS_SHOWN or frame[c].notna().any()]


def cached(results: SweepResults, name: str, make: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """A table of the results, made once per number of samples (a rerun that changes nothing reuses it)."""
    key = (name, len(results.samples))
    if key not in results.cache:
        results.cache[key] = make()
    return results.cache[key]


def _failures(results: SweepResults) -> None:
    failed = [s for s in results.samples if not s.ok]
    if not failed:
        return
    first = " ".join(failed[0].error.split())[:200]
    st.warning(
        f"{len(failed)} of {len(results.samples)} samples failed and are left out of the statistics (they are "
        f"in the tables below, with their errors). The first: {escape_markdown(first)}",
        icon=":material/error:",
    )


def sweep_results(
    results: SweepResults, keys: PageKeys, *, queue: Callable[[NoiseRun], None], busy: bool
) -> None:
    spec, samples = results.spec, results.samples
    run_status(results.progress, "samples")
    if not samples:
        return
    prompt = " ".join(spec.prompt.split())
    about = (
        f"“{escape_markdown(prompt[:120])}” to {escape_markdown(spec.model)}, {spec.samples} samples per setting, "
        f"fixed: {escape_markdown(spec.base_params.describe())}."
    )
    if results.sweep_id:
        about += f" Stored as “{escape_markdown(results.title)}”: History lists it; this page's address reopens it."
    st.caption(about)
    _failures(results)
    if note := sample_count_note(samples):
        st.info(note, icon=":material/balance:")

    st.subheader("Is the difference real?")
    baseline = baseline_picker(results, keys)
    stats = sweep_statistics(results, baseline)
    headline(stats, label(spec, baseline))
    interval_charts(stats, results)
    st.caption("Points are means; bars their 95% intervals. " + method_note())

    means, differences, summary_tab, every = st.tabs(
        ["Means and intervals", "Differences from the baseline", "Summary per setting", "Every sample"]
    )
    stats_csv = stats.drop(columns="verdict")
    with means:
        means_table(stats, spec.axis_names, keys)
    with differences:
        differences_table(stats, keys)
    with summary_tab:
        summary = cached(results, "summary", lambda: summarize(samples, spec))
        shown = [*spec.axis_names, *_known(summary, SUMMARY_HEADINGS)]
        table(summary[shown].rename(columns=SUMMARY_HEADINGS), key=keys("summary"))
    with every:
        frame = cached(results, "samples", lambda: samples_frame(samples, spec))
        table_with_csv(
            frame[[*spec.axis_names, *_known(frame, SAMPLE_HEADINGS)]].rename(columns=SAMPLE_HEADINGS),
            lambda: csv_bytes(frame),
            keys.child("samples"),
            label="Download samples CSV (one row per sample, every parameter)",
            file_name=f"sweep-{results.sweep_id or 'run'}-samples.csv",
        )
    st.download_button(
        "Download statistics CSV (one row per setting × metric)",
        data=lambda: csv_bytes(stats_csv),
        file_name=f"sweep-{results.sweep_id or 'run'}-statistics.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key=keys("statistics", "download"),
    )

    st.subheader("How much is chance?")
    noise_section(results, baseline, stats, keys, queue=queue, busy=busy)
    with st.expander("How these are computed"):
        st.markdown(
            "- **Distinct-n**: unique n-grams ÷ all n-grams across the samples of a setting (Chinese characters "
            "count as words). Higher = more varied wording.\n"
            "- **Similarity**: mean Jaccard overlap of word-pair sets between every two samples. Higher = the "
            "samples say the same thing the same way.\n"
            '- **Refusal-like**: the reply opens with a refusal phrase ("I can\'t help with", "抱歉，我无法"…); a '
            "heuristic that misses refusals after a preamble.\n"
            "- Failed calls are counted under *errors* and left out of the other statistics.\n"
            f"- {method_note()}"
        )
