"""How many samples a difference needs, and how large a difference appears by chance (the noise floor).

Samples needed: the smallest n per side for which a two-sided two-sample t-test at α = 0.05 has 80%
power to show a difference Δ when replies spread with standard deviation σ — power from the noncentral
t distribution (scipy.stats.nct), df = 2n − 2, noncentrality Δ / (σ √(2/n)). The permutation test used
for the p-values has about the power of the t-test at these sizes.

The spread σ is read from the 95% intervals a compare_groups table already holds, which works alike for
every kind of metric: a group's interval of half-width h on n replies says σ ≈ h / 1.96 × √n; groups are
pooled by the mean of σ². The noise floor of an A-vs-A run (the same settings twice, fresh samples) is the
half-width of the interval of their difference: the size of difference that chance alone produces 1
time in 20.
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from chatlab.stats.metrics import PERCENT, format_difference, format_p, format_value, metric_named
from chatlab.stats.resampling import ALPHA, CONFIDENCE, MIN_SAMPLES, NO_SPREAD, RESAMPLES, SEED

POWER = 0.8
MOST_SAMPLES = 10_000  # beyond this the answer is "more than 10,000"
_Z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))


def _power(n: int, effect: float, alpha: float) -> float:
    df = 2 * n - 2
    critical = stats.t.ppf(1 - alpha / 2, df)
    shift = effect / math.sqrt(2 / n)
    return float(stats.nct.sf(critical, df, shift) + stats.nct.cdf(-critical, df, shift))


def samples_needed(sd: float, difference: float, *, power: float = POWER, alpha: float = ALPHA) -> int | None:
    """Samples per side to show `difference` with this power (see the module docstring); None when the
    difference is 0 or more than MOST_SAMPLES would be needed. Never below MIN_SAMPLES."""
    if difference == 0 or not math.isfinite(difference) or not math.isfinite(sd):
        return None
    if sd <= 0:
        return MIN_SAMPLES  # no spread at all: any difference shows with the fewest samples a test takes
    effect = abs(difference) / sd
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    guess = math.ceil(2 * (z / effect) ** 2)  # the normal approximation, a little low for small n
    if guess > MOST_SAMPLES:
        return None
    n = max(2, guess - 1)
    while _power(n, effect, alpha) < power:
        n += 1
        if n > MOST_SAMPLES:
            return None
    while n > 2 and _power(n - 1, effect, alpha) >= power:
        n -= 1
    return max(n, MIN_SAMPLES)


def _value(row: pd.Series, name: str) -> float | None:
    value = row[name]
    return None if pd.isna(value) else float(value)


def spread(stats_table: pd.DataFrame, metric: str) -> float | None:
    """σ of the metric per reply, pooled over the groups that have an interval (module docstring)."""
    squares = []
    for _, row in stats_table[stats_table["metric"] == metric].iterrows():
        low, high, n = _value(row, "ci_low"), _value(row, "ci_high"), int(row["n"])
        if low is None or high is None or n < 2:
            continue
        squares.append(0.0 if row["ci_method"] == NO_SPREAD else ((high - low) / (2 * _Z)) ** 2 * n)
    return math.sqrt(sum(squares) / len(squares)) if squares else None


def samples_needed_for(stats_table: pd.DataFrame, metric: str, relative: float = 0.10) -> int | None:
    """Samples per side to show a difference of `relative` × the baseline's mean for this metric, with 80%
    power at α = 0.05, from the spread seen; None when unknown (no interval, a zero mean) or over 10,000."""
    rows = stats_table[(stats_table["metric"] == metric) & stats_table["baseline"].fillna(False)]
    sd = spread(stats_table, metric)
    if rows.empty or sd is None:
        return None
    mean = _value(rows.iloc[0], "mean")
    return samples_needed(sd, relative * mean) if mean else None


NOISE_COLUMNS: dict[str, str] = {
    "metric": "str",
    "n_a": "Int64",
    "n_b": "Int64",
    "mean": "Float64",
    "diff": "Float64",
    "diff_ci_low": "Float64",
    "diff_ci_high": "Float64",
    "floor": "Float64",
    "floor_relative": "Float64",
    "p_value": "Float64",
    "samples_needed": "Int64",
    "summary": "str",
}


def noise_floor(stats_table: pd.DataFrame, relative: float = 0.10) -> pd.DataFrame:
    """From an A-vs-A run's compare_groups table (the baseline and one copy of it): per metric, the
    difference chance produced, the noise floor (± the half-width of its interval), and the samples per
    side a `relative` difference would need; NOISE_COLUMNS, one row per metric, with a sentence."""
    rows = []
    for metric_name in pd.unique(stats_table["metric"]):
        part = stats_table[stats_table["metric"] == metric_name]
        base = part[part["baseline"].fillna(False)]
        other = part[~part["baseline"].fillna(False)]
        if base.empty or other.empty:
            continue
        a, b = base.iloc[0], other.iloc[0]
        low, high = _value(b, "diff_ci_low"), _value(b, "diff_ci_high")
        floor = (high - low) / 2 if low is not None and high is not None else None
        mean = _value(a, "mean")
        row = {
            "metric": metric_name,
            "n_a": int(a["n"]),
            "n_b": int(b["n"]),
            "mean": mean,
            "diff": _value(b, "diff"),
            "diff_ci_low": low,
            "diff_ci_high": high,
            "floor": floor,
            "floor_relative": floor / abs(mean) if floor is not None and mean else None,
            "p_value": _value(b, "p_value"),
            "samples_needed": samples_needed_for(stats_table, metric_name, relative),
        }
        row["summary"] = _noise_sentence(row, relative)
        rows.append(row)
    return pd.DataFrame(
        {name: pd.Series([r[name] for r in rows], dtype=dtype) for name, dtype in NOISE_COLUMNS.items()},
        columns=list(NOISE_COLUMNS),
    )


def _noise_sentence(row: dict, relative: float) -> str:
    metric = metric_named(row["metric"])
    n_a, n_b = row["n_a"], row["n_b"]
    each = f"{n_a} samples each" if n_a == n_b else f"{n_a} and {n_b} samples"
    if row["floor"] is None:
        return f"{metric.label}: too few samples to measure the noise ({each})."
    floor = format_difference(metric, row["floor"]).lstrip("+")
    of_mean = ""
    if row["floor_relative"] is not None and metric.style != PERCENT:
        of_mean = f" ({row['floor_relative']:.0%} of {format_value(metric, row['mean'])})"
    text = (
        f"{metric.label}: by chance alone, the same settings differ by up to ±{floor}{of_mean} with {each}."
    )
    needed = row["samples_needed"]
    share = f"{relative:.0%}"
    if needed is not None:
        text += f" Showing a {share} difference takes about {needed:,} samples per side (80% power)."
    elif row["mean"]:
        text += f" Showing a {share} difference would take more than {10_000:,} samples per side."
    if row["p_value"] is not None and row["p_value"] < ALPHA:
        text += f" This run itself shows a chance difference ({format_p(row['p_value'])}): it happens 1 time in 20."
    return text


def method_note() -> str:
    """How every figure was made, with the seed, for showing next to the intervals."""
    return (
        f"95% intervals: means and their differences by BCa bootstrap (SciPy, {RESAMPLES:,} resamples, "
        f"seed {SEED}); shares by the Wilson score interval; distinct-n by the jackknife; similarity by a "
        f"bootstrap over pairs of different replies. p-values: two-sided permutation tests ({RESAMPLES:,} "
        f"resamples, seed {SEED}; exact when there are fewer arrangements), Holm-corrected across the "
        f"groups compared with the baseline. At least {MIN_SAMPLES} samples per side."
    )
