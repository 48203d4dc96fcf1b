"""Is the difference real? A turn's samples per pane: every metric's mean with its 95% interval, each pane's
difference from a baseline pane with its interval and Holm-corrected p-value, in sentences and numbers,
charts with error bars, the samples a 10% difference needs, and the CSVs.

The statistics take ~80 ms for a page of samples: they are cached on what the turn's replies are (their
metrics, read without text), so a rerun that changes nothing costs a query, not a recomputation.
"""

from __future__ import annotations

from dataclasses import astuple

import pandas as pd
import streamlit as st

from chatlab.safe_markdown import escape_markdown
from chatlab.samples import export_files, group_labels, latest_turn, statistics
from chatlab.stats import (
    ALPHA,
    MIN_SAMPLES,
    format_difference,
    format_p,
    format_value,
    method_note,
    metric_named,
    samples_needed_for,
    verdicts,
)
from chatlab.store import Store
from chatlab_ui.compare.charts import interval_charts
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.tables import table

RELATIVE = 0.10  # the difference "samples needed" is worked out for: 10% of the baseline's mean


def turn_stamp(store: Store, comparison_id: str, turn: int) -> tuple:
    """What the turn's replies are, pane by pane (their metrics, no text): the statistics' cache key."""
    return tuple(
        tuple(astuple(m) for m in store.reply_metrics(c.id) if m.turn == turn)
        for c in store.comparison_panes(comparison_id)
    )


@st.cache_data(max_entries=32, show_spinner=False)
def cached_statistics(
    _store: Store, store_url: str, comparison_id: str, turn: int, baseline: int, stamp: tuple
) -> pd.DataFrame:
    return statistics(_store, comparison_id, turn, baseline)


@st.cache_data(max_entries=8, show_spinner=False)
def _files(
    _store: Store, store_url: str, comparison_id: str, turn: int, baseline: int, stamp: tuple
) -> dict[str, bytes]:
    return export_files(_store, comparison_id, turn, baseline=baseline)


def _present(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def beyond_chance(stats: pd.DataFrame) -> pd.Series:
    """Per row, whether its difference from the baseline is beyond chance — the rule the verdict
    sentences use: Holm-corrected p < α, a non-zero difference, enough samples on both sides."""
    base_n = {r["metric"]: int(r["n"]) for _, r in stats[stats["baseline"].fillna(False)].iterrows()}
    out = []
    for _, row in stats.iterrows():
        p, diff = _present(row["p_holm"]), _present(row["diff"])
        enough = min(int(row["n"]), base_n.get(row["metric"], 0)) >= MIN_SAMPLES
        out.append(enough and p is not None and p < ALPHA and diff is not None and diff != 0)
    return pd.Series(out, index=stats.index, dtype=bool)


def _sentences(stats: pd.DataFrame, said: pd.Series, real: pd.Series, labels: list[str], baseline: int):
    """Per pane, what differs from the baseline beyond chance, and what does not, in sentences."""
    base_rows = stats[stats["baseline"].fillna(False)]
    base_n = int(base_rows["n"].max()) if len(base_rows) else 0
    for pane, label in enumerate(labels):
        if pane == baseline:
            continue
        rows = stats[stats["group"] == label]
        head = f"**{escape_markdown(label)}** against **{escape_markdown(labels[baseline])}**"
        n = int(rows["n"].max()) if len(rows) else 0
        if min(n, base_n) < MIN_SAMPLES:
            st.markdown(
                f"{head}: too few complete samples to tell ({base_n} and {n}; at least {MIN_SAMPLES} per pane "
                "are needed)."
            )
            continue
        found = [i for i in rows.index if real[i]]
        rest = [metric_named(rows.loc[i, "metric"]).label.lower() for i in rows.index if not real[i]]
        if not found:
            st.markdown(f"{head}: no difference beyond chance in any of the {len(rows)} metrics.")
        else:
            lines = [
                f"- {metric_named(rows.loc[i, 'metric']).label} — {escape_markdown(said[i])}" for i in found
            ]
            st.markdown(
                f"{head} differs beyond chance in {len(found)} of {len(rows)} metrics:\n" + "\n".join(lines)
            )
        if rest:
            st.caption("No detectable difference in " + ", ".join(rest) + ".")


def _table(stats: pd.DataFrame, said: pd.Series) -> pd.DataFrame:
    rows = []
    for index, r in stats.iterrows():
        metric = metric_named(r["metric"])
        mean = _present(r["mean"])
        low, high = _present(r["ci_low"]), _present(r["ci_high"])
        diff = _present(r["diff"])
        rows.append(
            {
                "Pane": r["group"],
                "Metric": metric.label,
                "n": int(r["n"]),
                "Mean [95% interval]": format_value(metric, mean, low, high),
                "Difference [95% interval]": "baseline"
                if bool(r["baseline"])
                else format_difference(metric, diff, _present(r["diff_ci_low"]), _present(r["diff_ci_high"]))
                if diff is not None
                else None,
                "p (Holm)": format_p(p) if (p := _present(r["p_holm"])) is not None else None,
                "Verdict": said[index],
            }
        )
    return pd.DataFrame(rows)


def _needed(stats: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for name in pd.unique(stats["metric"]):
        metric = metric_named(name)
        base = stats[(stats["metric"] == name) & stats["baseline"].fillna(False)]
        mean = _present(base.iloc[0]["mean"]) if len(base) else None
        needed = samples_needed_for(stats, name, RELATIVE)
        rows.append(
            {
                "Metric": metric.label,
                "Baseline mean": format_value(metric, mean),
                f"A {RELATIVE:.0%} difference": format_difference(metric, RELATIVE * mean).lstrip("+")
                if mean
                else None,
                "Samples per pane": f"about {needed:,}" if needed else "more than 10,000" if mean else None,
            }
        )
    return pd.DataFrame(rows)


def statistics_section(store: Store, comparison_id: str, keys: PageKeys) -> tuple[int, int] | None:
    """The latest turn's statistics, once some pane has several samples of it; returns (turn, baseline)."""
    turn = latest_turn(store, comparison_id)
    if turn is None:
        return None
    stamp = turn_stamp(store, comparison_id, turn)
    if max((len(pane) for pane in stamp), default=0) < 2:
        st.caption(
            ":material/query_stats: One reply per pane shows what each role wrote, not whether the "
            "difference is real: set **Samples per pane** in the sidebar (10–20 is a good start) and send "
            "again for means, intervals and p-values."
        )
        return None
    labels = group_labels([c.title for c in store.comparison_panes(comparison_id)])
    st.subheader(f"Is the difference real? (turn {turn})")
    baseline = st.selectbox(
        "Baseline",
        range(len(labels)),
        format_func=lambda i: labels[i],
        key=keys("baseline"),
        help="Every other pane is compared with this one.",
    )
    stats = cached_statistics(store, store.url, comparison_id, turn, baseline, stamp)
    said, real = verdicts(stats), beyond_chance(stats)
    _sentences(stats, said, real, labels, baseline)
    st.caption(
        f"p-values are Holm-corrected across the panes compared, not across the {len(pd.unique(stats['metric']))} "
        "metrics: now and then one metric crosses the line by chance alone. The noise floor below shows how "
        "large such chance differences are."
    )
    enough = int(stats.groupby("group")["n"].max().min()) >= MIN_SAMPLES
    names = list(pd.unique(stats["metric"]))
    st.session_state.setdefault(keys("chart_metric"), "completion_tokens")
    chosen = st.selectbox(
        "Chart a metric", names, format_func=lambda n: metric_named(n).label, key=keys("chart_metric")
    )
    if enough:
        interval_charts(stats, real, chosen, labels, baseline)
    else:
        st.caption(
            f"Charts, the samples needed and the noise floor need at least {MIN_SAMPLES} complete samples in "
            "every pane: raise **Samples per pane** and send again."
        )
    table(_table(stats, said), key=keys("statistics"))
    st.caption(f":material/function: {method_note()}")
    needed = samples_needed_for(stats, chosen, RELATIVE) if enough else None
    metric = metric_named(chosen)
    if needed:
        st.markdown(
            f"To show a {RELATIVE:.0%} difference in {metric.label.lower()} between two panes takes about "
            f"**{needed:,} samples per pane** (80% power, α = 0.05, from the spread seen here)."
        )
    if enough:
        with st.expander(f"Samples needed for a {RELATIVE:.0%} difference, every metric"):
            table(_needed(stats), key=keys("needed"))
    files = _files(store, store.url, comparison_id, turn, baseline, stamp)
    with st.container(horizontal=True):
        for name, data in sorted(files.items()):
            what = "samples" if name.endswith("-samples.csv") else "statistics"
            st.download_button(
                f"Download {what} (CSV)",
                data=data,
                file_name=name,
                mime="text/csv",
                on_click="ignore",
                icon=":material/download:",
                key=keys("download", what),
            )
    return (turn, baseline) if enough else None
