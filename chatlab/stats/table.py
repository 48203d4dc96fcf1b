"""Groups of sampled replies compared with a baseline group: one tidy row per group × metric.

The input is a per-sample table (one row per reply: a group column, the metric columns, `text`, and
optionally `sample` and `counted`); the output has STAT_COLUMNS, with nullable dtypes, so a missing value
is NA and never NaN. Every number in it can be recomputed from the per-sample table with SciPy (see
chatlab.stats.resampling for how, and tests/test_stats.py, which does it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from chatlab.stats.metrics import (
    DISTINCT_N,
    MEAN,
    SET,
    SHARE,
    Metric,
    format_difference,
    format_p,
    metric_named,
    metrics_for,
)
from chatlab.stats.resampling import (
    ALPHA,
    MIN_SAMPLES,
    RESAMPLES,
    SEED,
    Interval,
    difference_intervals,
    holm,
    mean_intervals,
    mean_pvalues,
    share_interval,
)
from chatlab.stats.sets import SetDifference, SetFigure, TextSets, distinct_statistics, similarity_statistics

STAT_COLUMNS: dict[str, str] = {
    "group": "str",
    "metric": "str",
    "baseline": "boolean",
    "n": "Int64",
    "mean": "Float64",
    "ci_low": "Float64",
    "ci_high": "Float64",
    "diff": "Float64",
    "diff_ci_low": "Float64",
    "diff_ci_high": "Float64",
    "p_value": "Float64",
    "p_holm": "Float64",
    "ci_method": "str",
    "diff_method": "str",
    "resamples": "Int64",
    "seed": "Int64",
}
COUNTED = "counted"  # a per-sample boolean column: False leaves the row out (an error, a cut reply)


def _metric(m: Metric | str) -> Metric:
    return m if isinstance(m, Metric) else metric_named(m)


def _column(rows: pd.DataFrame, metric: Metric) -> np.ndarray:
    """The metric's column as floats, NaN where missing (a share's yes/no as 1/0); all NaN when absent."""
    if metric.name not in rows:
        return np.full(len(rows), np.nan)
    column = rows[metric.name]
    if column.dtype == "boolean" or column.dtype == bool:
        column = column.astype("Float64")
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def compare_groups(
    samples: pd.DataFrame,
    group: str,
    *,
    groups: Sequence[str] | None = None,
    baseline: str | None = None,
    metrics: Sequence[Metric | str] | None = None,
) -> pd.DataFrame:
    """Per group and metric: n, mean and its 95% interval; for every group but the baseline, the difference
    from the baseline with its interval and a permutation p-value, Holm-corrected across the groups.

    `groups` fixes the order (default: order of appearance) and may name groups without samples; the
    baseline defaults to the first. Rows whose `counted` is False are left out. Metrics default to those
    the table has columns for (chatlab.stats.metrics.metrics_for). Rows come metric by metric, groups
    in order. Never raises on degenerate data: too few samples give NA intervals (see verdicts()).
    """
    rows = samples[samples[COUNTED].fillna(False).astype(bool)] if COUNTED in samples else samples
    order = [str(g) for g in (groups if groups is not None else pd.unique(samples[group].astype(str)))]
    if not order:
        return _frame([])
    base = order.index(str(baseline)) if baseline is not None else 0
    if "sample" in rows:
        rows = rows.sort_values("sample", kind="stable")
    codes = pd.Categorical(rows[group].astype(str), categories=order).codes
    members = [np.flatnonzero(codes == g) for g in range(len(order))]
    chosen = [_metric(m) for m in (metrics if metrics is not None else metrics_for(samples.columns))]

    # Every figure, keyed by (metric name, group index).
    figures: dict[tuple[str, int], tuple[float | None, int, Interval]] = {}
    differences: dict[tuple[str, int], tuple[float | None, Interval, float | None]] = {}

    numeric = [m for m in chosen if m.kind in (MEAN, SHARE)]
    values = {}
    for m in numeric:
        column = _column(rows, m)
        for g in range(len(order)):
            x = column[members[g]]
            values[m.name, g] = x[np.isfinite(x)]
    means = [(m, g) for m in numeric if m.kind == MEAN for g in range(len(order))]
    for (m, g), interval in zip(means, mean_intervals([values[m.name, g] for m, g in means]), strict=True):
        x = values[m.name, g]
        figures[m.name, g] = (float(x.mean()) if len(x) else None, len(x), interval)
    for m in numeric:
        if m.kind == SHARE:
            for g in range(len(order)):
                x = values[m.name, g]
                figures[m.name, g] = (float(x.mean()) if len(x) else None, len(x), share_interval(x))
    pairs = [(m, g) for m in numeric for g in range(len(order)) if g != base]
    data = [(values[m.name, g], values[m.name, base]) for m, g in pairs]
    for (m, g), (x, y), interval, p in zip(
        pairs, data, difference_intervals(data), mean_pvalues(data), strict=True
    ):
        diff = float(x.mean() - y.mean()) if len(x) and len(y) else None
        differences[m.name, g] = (diff, interval, p)

    set_metrics = [m for m in chosen if m.kind == SET]
    if set_metrics:
        all_texts = rows["text"].fillna("").astype(str).tolist() if "text" in rows else []
        sets = TextSets([[all_texts[i] for i in m] if all_texts else [] for m in members])
        distinct = [m for m in set_metrics if m.name in DISTINCT_N]
        found = distinct_statistics(sets, [DISTINCT_N[m.name] for m in distinct], base)
        for m, (group_figures, group_differences) in zip(distinct, found, strict=True):
            _add_set(m, group_figures, group_differences, figures, differences)
        for m in set_metrics:
            if m.name not in DISTINCT_N:
                _add_set(m, *similarity_statistics(sets, base), figures, differences)

    out = []
    for m in chosen:
        adjusted = holm([differences[m.name, g][2] if g != base else None for g in range(len(order))])
        for g, label in enumerate(order):
            value, n, interval = figures[m.name, g]
            row = {
                "group": label,
                "metric": m.name,
                "baseline": g == base,
                "n": n,
                "mean": value,
                "ci_low": interval.low,
                "ci_high": interval.high,
                "ci_method": interval.method or None,
                "resamples": RESAMPLES,
                "seed": SEED,
            }
            if g != base:
                diff, d_interval, p = differences[m.name, g]
                row.update(
                    diff=diff,
                    diff_ci_low=d_interval.low,
                    diff_ci_high=d_interval.high,
                    diff_method=d_interval.method or None,
                    p_value=p,
                    p_holm=adjusted[g],
                )
            out.append(row)
    return _frame(out)


def _add_set(
    metric: Metric,
    group_figures: list[SetFigure],
    group_differences: list[SetDifference | None],
    figures: dict,
    differences: dict,
) -> None:
    for g, (figure, difference) in enumerate(zip(group_figures, group_differences, strict=True)):
        figures[metric.name, g] = (figure.value, figure.n, figure.interval)
        if difference is not None:
            differences[metric.name, g] = (difference.diff, difference.interval, difference.p_value)


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        {name: pd.Series([r.get(name) for r in rows], dtype=dtype) for name, dtype in STAT_COLUMNS.items()},
        columns=list(STAT_COLUMNS),
    )


# Verdicts ---------------------------------------------------------------------------------------------


def _present(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def verdict(metric: Metric | str, row: pd.Series | dict, baseline_row: pd.Series | dict) -> str:
    """A plain sentence for a group's row against the baseline's row of the same metric:

    "longer: +42 tokens [18, 66], p = 0.003 (Holm)", "no detectable difference with 5 samples each
    (+3 tokens [-5, 11], p = 0.41 (Holm))", "too few samples to tell (2 and 3)", "baseline".
    """
    metric = _metric(metric)
    if bool(row["baseline"]):
        return "baseline"
    n, n_base = int(row["n"]), int(baseline_row["n"])
    diff = _present(row["diff"])
    if diff is None or n == 0 or n_base == 0:
        return "no replies to compare"
    p = _present(row["p_holm"])
    low, high = _present(row["diff_ci_low"]), _present(row["diff_ci_high"])
    if p is None or min(n, n_base) < MIN_SAMPLES:
        return f"too few samples to tell ({n_base} and {n})"
    figure = format_difference(metric, diff, low, high)
    if p < ALPHA and diff != 0:
        return f"{metric.more if diff > 0 else metric.less}: {figure}, {format_p(p)} (Holm)"
    each = f"{n} samples each" if n == n_base else f"{n_base} and {n} samples"
    return f"no detectable difference with {each} ({figure}, {format_p(p)} (Holm))"


def verdicts(stats: pd.DataFrame, metrics: Sequence[Metric] = ()) -> pd.Series:
    """verdict() of every row of a compare_groups table, aligned with it. Metrics that are neither built in
    nor scores (a custom Metric given to compare_groups) are passed in `metrics`, to read in their words."""
    out = []
    custom = {m.name: m for m in metrics}
    baselines = {r["metric"]: r for _, r in stats[stats["baseline"].fillna(False)].iterrows()}
    for _, row in stats.iterrows():
        name = row["metric"]
        metric = custom.get(name) or metric_named(name)
        base = baselines.get(name)
        out.append("no baseline" if base is None else verdict(metric, row, base))
    return pd.Series(out, index=stats.index, dtype="str")
