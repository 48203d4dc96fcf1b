"""A batch run's statistics on the page: per pane the pass rate and every metric with its 95% interval,
then each pane against a baseline pane in words — the figures of chatlab.batch.statistics (chatlab.stats),
written with chatlab.stats' own formatting, so they read as on Compare and Sweep."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from chatlab.batch.statistics import PASS_RATE, batch_verdicts, metrics_of
from chatlab.csvfile import to_csv_bytes
from chatlab.stats import format_value, method_note
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.tables import csv_download, table


def _present(value) -> float | None:
    return None if pd.isna(value) else float(value)


def pass_rate_sentences(stats: pd.DataFrame, passed: dict[str, int]) -> list[str]:
    """ "Terse passed 58 of 60 samples: 97% (95% interval 89% to 99%)." for each pane."""
    out = []
    for row in stats[stats.metric == PASS_RATE.name].itertuples():
        n = int(row.n)
        low, high = _present(row.ci_low), _present(row.ci_high)
        figure = format_value(PASS_RATE, _present(row.mean))
        interval = (
            f" (95% interval {format_value(PASS_RATE, low)} to {format_value(PASS_RATE, high)})"
            if low is not None and high is not None
            else " (too few samples for an interval)"
        )
        out.append(
            f"**{row.group}** passed {passed.get(row.group, 0):,} of {n:,} samples: {figure}{interval}."
        )
    return out


def figures_table(stats: pd.DataFrame) -> pd.DataFrame:
    """Metrics × panes: each cell the mean with its interval, as chatlab.stats writes it."""
    rows: dict[str, dict[str, str]] = {}
    metrics = {m.name: m for m in metrics_of(stats)}
    for row in stats.itertuples():
        metric = metrics[row.metric]
        cell = format_value(metric, _present(row.mean), _present(row.ci_low), _present(row.ci_high))
        rows.setdefault(metric.label, {"Metric": metric.label})[row.group] = cell
    return pd.DataFrame(list(rows.values()))


def verdicts_table(stats: pd.DataFrame) -> pd.DataFrame:
    """One row per pane (but the baseline) and metric: the verdict against the baseline, in words."""
    metrics = {m.name: m for m in metrics_of(stats)}
    rows = [
        {"Pane": row["group"], "Metric": metrics[row["metric"]].label, "Against the baseline": verdict}
        for (_, row), verdict in zip(stats.iterrows(), batch_verdicts(stats), strict=True)
        if not bool(row["baseline"])
    ]
    return pd.DataFrame(rows, columns=["Pane", "Metric", "Against the baseline"]).sort_values(
        "Pane", kind="stable"
    )


def statistics_view(groups: list[str], statistics: Callable[[int], pd.DataFrame], keys: PageKeys) -> None:
    """Every metric with intervals, the differences from a baseline pane, the method, and their CSV."""
    st.subheader("Every metric, with 95% intervals")
    baseline = 0
    if len(groups) > 1:
        baseline = st.selectbox(
            "Compare every pane with",
            range(len(groups)),
            format_func=lambda i: groups[i],
            key=keys("baseline"),
            help="Differences, p-values and verdicts are against this pane.",
        )
    stats = statistics(baseline)
    table(
        figures_table(stats),
        key=keys("figures"),
        column_config={"Metric": st.column_config.TextColumn(pinned=True)},
    )
    if len(groups) > 1:
        st.markdown(f"**Every pane against {groups[baseline]}**")
        table(
            verdicts_table(stats),
            key=keys("verdicts"),
            column_config={"Against the baseline": st.column_config.TextColumn(width="large")},
        )
    st.caption(method_note() + " Distinct-n and similarity are over each pane's replies to every case.")
    csv_download(
        "Download statistics CSV (every figure, interval and p-value)",
        lambda: to_csv_bytes(stats),
        "batch-statistics.csv",
        key=keys("csv"),
    )
