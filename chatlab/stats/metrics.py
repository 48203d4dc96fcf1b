"""What is measured on replies: each metric declared once — its unit, how it is estimated, how a
difference reads in words — and numbers written for people.

Three kinds of metric:
  MEAN   a number per reply (tokens, seconds, dollars, a judge's score): the mean over replies.
  SHARE  a yes/no per reply (refused, cut off): the share of replies where it holds.
  SET    a figure of the whole set of replies (distinct-n, pairwise similarity): computed from the texts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MEAN, SHARE, SET = "mean", "share", "set"

# How values are written (see format_number): counts, seconds, rates, dollars, shares, 0–1 ratios.
COUNT, SECONDS, RATE, USD, PERCENT, RATIO, SCORE = (
    "count",
    "seconds",
    "rate",
    "usd",
    "percent",
    "ratio",
    "score",
)

SCORE_PREFIX = "score_"  # a per-sample column named score_<name> is a check's or a judge's score (MEAN)


@dataclass(frozen=True)
class Metric:
    """One measured quantity; `name` is its column in a per-sample table (SET metrics: computed from text)."""

    name: str
    label: str
    kind: str
    style: str
    unit: str  # written after a difference: "+42 tokens"; "" for none
    more: str  # how a group whose value is higher reads: "longer"
    less: str  # … and lower: "shorter"


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("completion_tokens", "Completion tokens", MEAN, COUNT, "tokens", "longer", "shorter"),
        Metric("reply_chars", "Reply characters", MEAN, COUNT, "characters", "longer", "shorter"),
        Metric(
            "reasoning_tokens", "Reasoning tokens", MEAN, COUNT, "tokens", "more reasoning", "less reasoning"
        ),
        Metric("duration_s", "Latency", MEAN, SECONDS, "", "slower", "faster"),
        Metric("ttft_s", "First token", MEAN, SECONDS, "", "slower to start", "quicker to start"),
        Metric("tokens_per_s", "Tokens/s", MEAN, RATE, "tokens/s", "faster generation", "slower generation"),
        Metric("cost_usd", "Cost", MEAN, USD, "", "costlier", "cheaper"),
        Metric("distinct_1", "Distinct-1", SET, RATIO, "", "more varied words", "less varied words"),
        Metric("distinct_2", "Distinct-2", SET, RATIO, "", "more varied phrasing", "less varied phrasing"),
        Metric(
            "similarity", "Pairwise similarity", SET, RATIO, "", "replies more alike", "replies less alike"
        ),
        Metric(
            "refusal",
            "Refusal-like",
            SHARE,
            PERCENT,
            "percentage points",
            "refuses more often",
            "refuses less often",
        ),
        Metric(
            "truncated",
            "Truncated",
            SHARE,
            PERCENT,
            "percentage points",
            "cut off more often",
            "cut off less often",
        ),
    )
}
# SET metrics and the n of their n-grams.
DISTINCT_N = {"distinct_1": 1, "distinct_2": 2}


def score_metric(column: str, label: str = "") -> Metric:
    """A check's or judge's numeric score per reply (a `score_…` column), compared by its mean."""
    name = column.removeprefix(SCORE_PREFIX)
    return Metric(column, label or name.replace("_", " ").capitalize(), MEAN, SCORE, "", "higher", "lower")


def metric_named(name: str) -> Metric:
    """The built-in metric of that name, or a score metric for any other column."""
    return METRICS.get(name) or score_metric(name)


def metrics_for(columns) -> list[Metric]:
    """The metrics a per-sample table can give: the built-in ones whose column it has (SET metrics need
    `text`), then every score_… column."""
    columns = list(columns)
    found = [m for m in METRICS.values() if (m.kind == SET and "text" in columns) or m.name in columns]
    return found + [score_metric(c) for c in columns if c.startswith(SCORE_PREFIX)]


# Numbers for people ---------------------------------------------------------------------------------


def _decimals_for(magnitude: float, significant: int) -> int:
    """Decimals that show `significant` digits of a number this large (never negative)."""
    if magnitude == 0 or not math.isfinite(magnitude):
        return 0
    return max(0, significant - 1 - math.floor(math.log10(abs(magnitude))))


def _fixed(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    return "0" if text.strip("-0.,") == "" else text  # never "-0"


def _scale(metric: Metric, values: list[float]) -> tuple[float, int, str]:
    """(multiplier, decimals, suffix) shared by a number and its interval, so they read alike."""
    biggest = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
    style = metric.style
    if style == SECONDS:
        if biggest < 1:
            return 1000.0, 0 if biggest * 1000 >= 10 else 1, " ms"
        return 1.0, 2 if biggest < 10 else 1, " s"
    if style == PERCENT:
        return 100.0, 0 if biggest * 100 >= 10 or biggest == 0 else 1, ""
    if style in (COUNT, RATE):
        return 1.0, 0 if biggest >= 10 else 1, ""
    if style == USD:
        return 1.0, _decimals_for(biggest, 2), ""
    if style == RATIO:
        return 1.0, 2 if biggest >= 0.1 or biggest == 0 else _decimals_for(biggest, 2), ""
    return 1.0, _decimals_for(biggest, 2) if biggest < 100 else 0, ""


def format_value(
    metric: Metric, value: float | None, low: float | None = None, high: float | None = None
) -> str:
    """A value with its unit, and its interval when given: "42 tokens [18, 66]", "350 ms [300, 410]", "15%"."""
    if value is None:
        return "—"
    times, decimals, suffix = _scale(metric, [value, low, high])
    number = _fixed(value * times, decimals)
    if metric.style == PERCENT:
        text = number + "%"
    else:
        text = _with_unit(metric, number, suffix)
    return text + _bracket(low, high, times, decimals)


def format_difference(
    metric: Metric, diff: float, low: float | None = None, high: float | None = None
) -> str:
    """A signed difference with its unit: "+42 tokens [18, 66]", "-120 ms [-200, -40]", "+15 percentage
    points [5, 25]"."""
    times, decimals, suffix = _scale(metric, [diff, low, high])
    number = _fixed(diff * times, decimals)
    signed = number if number.startswith("-") else "+" + number
    return _with_unit(metric, signed, suffix) + _bracket(low, high, times, decimals)


def _with_unit(metric: Metric, number: str, suffix: str) -> str:
    if metric.style == USD:
        sign = number[0] if number[0] in "+-" else ""
        return f"{sign}${number[len(sign) :]}"
    if suffix:
        return number + suffix
    return f"{number} {metric.unit}" if metric.unit else number


def _bracket(low: float | None, high: float | None, times: float, decimals: int) -> str:
    if low is None or high is None:
        return ""
    return f" [{_fixed(low * times, decimals)}, {_fixed(high * times, decimals)}]"


def format_p(p: float) -> str:
    """ "p < 0.001", "p = 0.003", "p = 0.04", "p = 0.0497", "p = 0.41", "p = 1".

    Near 0.05 a third digit shows which side of the line p falls on: 0.0497 read as "p = 0.05" would
    look like no difference while the verdict says there is one."""
    if p < 0.001:
        return "p < 0.001"
    if p >= 0.995:
        return "p = 1"
    if 0.045 <= p < 0.055:
        return f"p = {p:.3g}"
    return f"p = {p:.2g}" if p < 0.01 else f"p = {p:.2f}".rstrip("0").rstrip(".")
