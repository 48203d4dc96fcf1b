"""A sweep's statistics on the page: whether a difference is real, in sentences, tables and error bars.

Every figure comes from chatlab.sweep.table.statistics (means with 95% intervals, differences from the
baseline with their intervals and Holm-corrected permutation p-values) and chatlab.stats (verdicts,
samples needed). They take ~80 ms, so they are worked out once per sweep, baseline and sample count and
kept with the results (SweepResults.cache): a rerun that changes nothing else costs nothing here.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from chatlab.params import CHOICE, PARAMS
from chatlab.safe_markdown import escape_markdown
from chatlab.stats import (
    ALPHA,
    MIN_SAMPLES,
    format_p,
    format_value,
    metric_named,
    samples_needed_for,
    verdicts,
)
from chatlab.stats.metrics import PERCENT
from chatlab.sweep.plan import Values, grid
from chatlab.sweep.table import statistics
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.sweep.charts import NUMBER, PERCENT_AXIS, chart_grid, interval_chart
from chatlab_ui.sweep.state import SweepResults
from chatlab_ui.tables import table

# Metrics charted with their intervals, in this order (those the statistics have); titles name the unit.
CHARTED = {
    "completion_tokens": "Completion tokens",
    "reasoning_tokens": "Reasoning tokens",
    "duration_s": "Latency (s)",
    "cost_usd": "Cost per request ($)",
    "distinct_1": "Distinct-1 (unique words)",
    "distinct_2": "Distinct-2 (unique word pairs)",
    "similarity": "Pairwise similarity",
    "refusal": "Refusal-like replies",
}
RELATIVE = 0.10  # the difference "samples needed" is worked out for: 10% of the baseline's mean
NEEDED = f"Samples per setting to show a {RELATIVE:.0%} difference"


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def baseline_picker(results: SweepResults, keys: PageKeys) -> Values:
    """The setting every other is compared with (the first by default); returns its values."""
    present = {s.values for s in results.samples}
    labels = {p.label: p.values for p in grid(results.spec) if p.values in present}
    key = keys("baseline")
    if st.session_state.get(key) not in labels:
        st.session_state.pop(key, None)  # another sweep: its first setting
    label = st.selectbox(
        "Compare every setting with",
        list(labels),
        key=key,
        help="The baseline: every other setting's difference from it is shown with its 95% interval and a "
        "Holm-corrected p-value.",
    )
    return labels[label]


def sweep_statistics(results: SweepResults, baseline: Values) -> pd.DataFrame:
    """statistics() of the results against `baseline`, with a `verdict` sentence per row (cached)."""
    key = ("statistics", baseline, len(results.samples))
    if key not in results.cache:
        found = statistics(results.samples, results.spec, baseline)
        found["verdict"] = verdicts(found)
        results.cache[key] = found
    return results.cache[key]


def samples_needed(results: SweepResults, baseline: Values, stats: pd.DataFrame) -> pd.DataFrame:
    """Per metric: the baseline's mean and the samples per setting a 10% difference needs (cached)."""
    key = ("needed", baseline, len(results.samples))
    if key not in results.cache:
        rows = []
        for name in pd.unique(stats["metric"]):
            metric = metric_named(name)
            base = stats[(stats["metric"] == name) & stats["baseline"].fillna(False)]
            mean = _number(base["mean"].iloc[0]) if len(base) else None
            rows.append(
                {
                    "Metric": metric.label,
                    "Baseline": format_value(metric, mean) if mean is not None else None,
                    NEEDED: samples_needed_for(stats, name, RELATIVE),
                }
            )
        frame = pd.DataFrame(rows, columns=["Metric", "Baseline", NEEDED])
        results.cache[key] = frame.astype({NEEDED: "Int64"})
    return results.cache[key]


def _shows_difference(row: pd.Series, base: pd.Series) -> bool:
    """What verdict() calls a difference: enough samples, Holm p < α, not zero."""
    p, diff = _number(row["p_holm"]), _number(row["diff"])
    enough = min(int(row["n"]), int(base["n"])) >= MIN_SAMPLES
    return enough and p is not None and p < ALPHA and bool(diff)


def _replies(rows: pd.DataFrame) -> int:
    """The whole replies a setting's statistics were computed from (its largest n over the metrics)."""
    n = rows["n"].max() if len(rows) else None
    return 0 if n is None or pd.isna(n) else int(n)


def headline(stats: pd.DataFrame, baseline_label: str) -> None:
    """Per setting, in sentences: the differences from the baseline that are real, or that none is."""
    is_base = stats["baseline"].fillna(False)
    bases = {r["metric"]: r for _, r in stats[is_base].iterrows()}
    base_n = _replies(stats[is_base])
    lines = []
    too_few = False
    for group in pd.unique(stats.loc[~is_base, "group"]):
        rows = stats[stats["group"] == group]
        n = _replies(rows)
        if min(n, base_n) < MIN_SAMPLES:
            too_few = True
            said = f"too few replies to tell ({base_n} and {n})"
        else:
            found = [
                f"    - {escape_markdown(metric_named(r['metric']).label)} — {escape_markdown(r['verdict'])}"
                for _, r in rows.iterrows()
                if r["metric"] in bases and _shows_difference(r, bases[r["metric"]])
            ]
            if found:
                lines += [f"- **{escape_markdown(group)}**:", *found]
                continue
            said = f"no detectable difference in any measure ({base_n} and {n} replies)"
        lines.append(f"- **{escape_markdown(group)}**: {escape_markdown(said)}")
    if not lines:
        return
    st.markdown(f"Compared with **{escape_markdown(baseline_label)}** (the baseline):\n" + "\n".join(lines))
    if too_few:
        st.caption(f"A difference can be shown only with at least {MIN_SAMPLES} whole replies per setting.")


def means_table(stats: pd.DataFrame, axes: tuple[str, ...], keys: PageKeys) -> None:
    """One row per setting: each metric's mean and its 95% interval, in words ("42 tokens [18, 66]")."""
    rows: dict[str, dict] = {}
    for _, r in stats.iterrows():
        row = rows.setdefault(r["group"], {name: r[name] for name in axes})
        if bool(r["baseline"]):
            row["Baseline"] = "baseline"
        metric = metric_named(r["metric"])
        mean = _number(r["mean"])
        row[metric.label] = (
            None if mean is None else format_value(metric, mean, _number(r["ci_low"]), _number(r["ci_high"]))
        )
    frame = pd.DataFrame(list(rows.values()))
    first = [*axes, "Baseline"] if "Baseline" in frame else list(axes)
    table(frame[first + [c for c in frame.columns if c not in first]], key=keys("means"))


def differences_table(stats: pd.DataFrame, keys: PageKeys) -> None:
    """Every setting but the baseline, metric by metric: the verdict in words, p and Holm's p."""
    others = stats[~stats["baseline"].fillna(False)]
    frame = pd.DataFrame(
        {
            "Setting": others["group"].tolist(),
            "Metric": [metric_named(m).label for m in others["metric"]],
            "Verdict": others["verdict"].tolist(),
            "p": [None if pd.isna(p) else format_p(float(p)) for p in others["p_value"]],
            "p (Holm)": [None if pd.isna(p) else format_p(float(p)) for p in others["p_holm"]],
        }
    )
    table(frame, key=keys("differences"))


def interval_charts(stats: pd.DataFrame, results: SweepResults) -> None:
    """Each charted metric's mean and 95% interval against the first swept parameter (colour: the second)."""
    spec = results.spec
    x, color = spec.axis_names[0], (spec.axis_names[1] if len(spec.axes) > 1 else None)
    values = dict(spec.axes)[x]
    categorical = PARAMS[x].kind == CHOICE or any(v is None for v in values)
    shown = (lambda v: "default" if v is None else PARAMS[x].display(v)) if categorical else float
    charts = []
    for name, title in CHARTED.items():
        part = stats[stats["metric"] == name]
        if part.empty or part["mean"].isna().all():
            continue
        metric = metric_named(name)
        data = pd.DataFrame(
            {
                x: [shown(v) for v in part[x]],
                "mean": [_number(v) for v in part["mean"]],
                "ci_low": [_number(v) for v in part["ci_low"]],
                "ci_high": [_number(v) for v in part["ci_high"]],
                "shown": [
                    format_value(metric, _number(m), _number(lo), _number(hi))
                    for m, lo, hi in zip(part["mean"], part["ci_low"], part["ci_high"], strict=True)
                ],
            }
        )
        if color:
            data[color] = [str(v) for v in part[color]]
        charts.append(
            interval_chart(
                data,
                x,
                title=title,
                categories=[shown(v) for v in values] if categorical else None,
                color=color,
                y_format=PERCENT_AXIS if metric.style == PERCENT else NUMBER,
            )
        )
    chart_grid(charts)
