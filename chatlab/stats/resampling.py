"""The SciPy calls behind every interval and p-value, batched so a page of samples costs milliseconds.

Intervals of a mean and of a difference of means: scipy.stats.bootstrap, BCa. Why BCa rather than the
percentile interval: token counts, latencies and costs are skewed (a few long replies), and BCa corrects
the percentile interval for the bias and skew of the bootstrap distribution (Efron & Tibshirani 1993,
ch. 14), so its coverage is closer to 95% at the 5–20 samples a page has. Where BCa is undefined for a
slice (SciPy returns NaN, e.g. when the observed value lies outside every resample) that slice falls back
to the percentile interval, and the row says so.

p-values: scipy.stats.permutation_test, two-sided, on the difference of means, resampling the group
labels (exact — every arrangement — when there are no more arrangements than RESAMPLES).

Reproducible: every call starts from numpy.random.default_rng(SEED). SciPy draws one matrix of resample
indices per call and applies it to every slice of a batch, and the statistics here sum each slice in the
order a single call would (_row_means), so a slice's result depends only on its own values and the seed: `bootstrap((x,), np.mean, method="BCa", n_resamples=RESAMPLES,
rng=np.random.default_rng(SEED))` on one group's values gives the interval the table shows. Slices are
batched only with slices of the same sizes, which is what makes that true.

Shares (yes/no per reply) get the Wilson score interval (scipy.stats.binomtest(...).proportion_ci), which
stays honest at 0 of 20 (a bootstrap would say [0, 0]); their differences use the bootstrap above.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

SEED = 2026
# 999 resamples and permutations: p-values resolve to 1/1,000, and the Monte Carlo error of a 95% bound is
# about 2% of the interval's width (the 2.5% quantile of 999 draws: SE ≈ 0.085 σ, the width ≈ 3.9 σ) —
# enough for what a page shows, and a page of 160 samples × 12 metrics stays well under 100 ms.
RESAMPLES = 999
CONFIDENCE = 0.95
ALPHA = 0.05
# Fewer than 4 replies on a side: a permutation test cannot reach p < 0.05 (3 and 3 have only 20
# arrangements, so the smallest two-sided p is 0.1), and a bootstrap of 3 values has 10 distinct means.
MIN_SAMPLES = 4

# How an interval was made (the `ci_method` / `diff_method` columns).
BCA, PERCENTILE, WILSON, JACKKNIFE, NO_SPREAD = (
    "bootstrap-bca",
    "bootstrap-percentile",
    "wilson",
    "jackknife-t",
    "no-spread",
)


@dataclass(frozen=True)
class Interval:
    """A 95% interval, or low/high None with the reason in `method` ("" when there were too few samples)."""

    low: float | None
    high: float | None
    method: str


TOO_FEW = Interval(None, None, "")


def _row_means(x: np.ndarray) -> np.ndarray:
    """Means over the last axis, taken on the array seen as 2-D (rows, n).

    NumPy sums every row of a 2-D array in the same order, however many rows there are — the order of a
    single SciPy call on one group's values — while a 3-D array may be summed in another order. BCa counts
    resampled means equal to the observed one, so with tied values (costs, token counts) a last-bit
    difference would move an interval: this keeps the batched table exactly reproducible.
    """
    return np.mean(x.reshape(-1, x.shape[-1]), axis=-1).reshape(x.shape[:-1])


def mean_of(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return _row_means(x)


def difference_of_means(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return _row_means(x) - _row_means(y)


def _permuted_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    # No need for _row_means here (it would copy SciPy's strided permutation arrays): permutation_test
    # counts null values within 100 ulps of the observed one as equal, so the order of a sum cannot
    # change a p-value.
    return np.mean(x, axis=-1) - np.mean(y, axis=-1)


def _constant(x: np.ndarray) -> bool:
    return bool(np.all(x == x[0]))


def _rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


def _quietly(call: Callable):
    # SciPy warns (DegenerateDataWarning) when BCa is undefined for some slice; that slice is redone with
    # the percentile interval, so the warning says nothing the table does not.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return call()


def _buckets(keys: Sequence) -> dict:
    """Positions grouped by key (the sizes of their samples), in first-seen order."""
    out: dict = defaultdict(list)
    for position, key in enumerate(keys):
        if key is not None:
            out[key].append(position)
    return out


Statistic = Callable[..., np.ndarray]
# Given the positions batched together, the statistic for that batch (for statistics that carry data of
# their own per slice, such as a similarity matrix).
BatchStatistic = Callable[[list[int]], Statistic]


def _for_batch(
    statistic: Statistic | None, per_batch: BatchStatistic | None, positions: list[int]
) -> Statistic:
    return per_batch(positions) if per_batch is not None else statistic


def bootstrap_intervals(
    samples: Sequence[tuple[np.ndarray, ...] | None],
    statistic: Statistic | None = None,
    *,
    per_batch: BatchStatistic | None = None,
) -> list[Interval | None]:
    """The BCa interval of the statistic for each tuple of samples (one sample: a mean; two: a difference).

    Tuples are batched by their sizes, one bootstrap call per batch. The statistic must be vectorised
    (take `axis`) and treat the leading axis as the batch. None in, None out (left to the caller).
    """
    out: list[Interval | None] = [None] * len(samples)
    keys = [tuple(len(s) for s in group) if group else None for group in samples]
    for _, positions in _buckets(keys).items():
        undefined = []
        for position, interval in zip(
            positions, _bootstrap(samples, positions, statistic, per_batch, BCA), strict=True
        ):
            out[position] = interval
            if interval is TOO_FEW:
                undefined.append(position)
        if undefined:
            redone = _bootstrap(samples, undefined, statistic, per_batch, PERCENTILE)
            for position, interval in zip(undefined, redone, strict=True):
                out[position] = interval
    return out


def _bootstrap(
    samples: Sequence[tuple[np.ndarray, ...]],
    positions: list[int],
    statistic: Statistic | None,
    per_batch: BatchStatistic | None,
    method: str,
) -> list[Interval]:
    """One scipy.stats.bootstrap call for the samples at these positions (all of the same sizes); an
    interval SciPy could not make (NaN) comes back as TOO_FEW."""
    data = tuple(np.stack([samples[p][i] for p in positions]) for i in range(len(samples[positions[0]])))
    result = _quietly(
        lambda: stats.bootstrap(
            data,
            _for_batch(statistic, per_batch, positions),
            n_resamples=RESAMPLES,
            method="BCa" if method == BCA else "percentile",
            confidence_level=CONFIDENCE,
            rng=_rng(),
            axis=-1,
            vectorized=True,
        )
    )
    lows = np.atleast_1d(result.confidence_interval.low)
    highs = np.atleast_1d(result.confidence_interval.high)
    return [
        Interval(float(lo), float(hi), method) if math.isfinite(lo) and math.isfinite(hi) else TOO_FEW
        for lo, hi in zip(lows, highs, strict=True)
    ]


def permutation_pvalues(
    pairs: Sequence[tuple[np.ndarray, np.ndarray] | None],
    statistic: Statistic | None = None,
    *,
    per_batch: BatchStatistic | None = None,
) -> list[float | None]:
    """Two-sided permutation p-values of the statistic for each pair (x, y), batched by sizes; None for None.

    SciPy hands the statistic arrays whose batch axis is second to last (…, batch, observations).
    """
    out: list[float | None] = [None] * len(pairs)
    keys = [(len(p[0]), len(p[1])) if p is not None else None for p in pairs]
    for _, positions in _buckets(keys).items():
        x = np.stack([pairs[p][0] for p in positions])
        y = np.stack([pairs[p][1] for p in positions])
        batch_statistic = _for_batch(statistic, per_batch, positions)
        result = _quietly(
            lambda x=x, y=y, batch_statistic=batch_statistic: stats.permutation_test(
                (x, y),
                batch_statistic,
                permutation_type="independent",
                alternative="two-sided",
                n_resamples=RESAMPLES,
                rng=_rng(),
                axis=-1,
                vectorized=True,
            )
        )
        for j, position in enumerate(positions):
            p = float(np.atleast_1d(result.pvalue)[j])
            out[position] = p if math.isfinite(p) else None
    return out


def mean_intervals(values: Sequence[np.ndarray]) -> list[Interval]:
    """A 95% interval of the mean of each array: BCa bootstrap; the value itself when all are equal."""
    chosen: list[tuple[np.ndarray, ...] | None] = []
    out: list[Interval] = []
    for x in values:
        if len(x) < MIN_SAMPLES:
            out.append(TOO_FEW)
            chosen.append(None)
        elif _constant(x):
            out.append(Interval(float(x[0]), float(x[0]), NO_SPREAD))
            chosen.append(None)
        else:
            out.append(TOO_FEW)  # replaced below
            chosen.append((x,))
    for position, interval in enumerate(bootstrap_intervals(chosen, mean_of)):
        if interval is not None:
            out[position] = interval
    return out


def share_interval(x: np.ndarray) -> Interval:
    """The Wilson score interval of the share of 1s in a 0/1 array."""
    if len(x) < MIN_SAMPLES:
        return TOO_FEW
    return _wilson(int(x.sum()), len(x))


@functools.lru_cache(maxsize=1024)
def _wilson(successes: int, trials: int) -> Interval:
    # Cached: a page asks for the same few (k, n) over and over (0 of 20 refusals in every group).
    ci = stats.binomtest(successes, trials).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return Interval(float(ci.low), float(ci.high), WILSON)


def difference_intervals(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[Interval]:
    """A 95% interval of mean(x) − mean(y) for each pair: two-sample BCa bootstrap (each side resampled on
    its own); the difference itself when both sides have no spread at all."""
    chosen: list[tuple[np.ndarray, ...] | None] = []
    out: list[Interval] = []
    for x, y in pairs:
        if min(len(x), len(y)) < MIN_SAMPLES:
            out.append(TOO_FEW)
            chosen.append(None)
        elif _constant(x) and _constant(y):
            d = float(x[0] - y[0])
            out.append(Interval(d, d, NO_SPREAD))
            chosen.append(None)
        else:
            out.append(TOO_FEW)
            chosen.append((x, y))
    for position, interval in enumerate(bootstrap_intervals(chosen, difference_of_means)):
        if interval is not None:
            out[position] = interval
    return out


def mean_pvalues(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[float | None]:
    """Permutation p-values for mean(x) ≠ mean(y); None where a side has fewer than MIN_SAMPLES."""
    chosen = [(x, y) if min(len(x), len(y)) >= MIN_SAMPLES else None for x, y in pairs]
    return permutation_pvalues(chosen, _permuted_difference)


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of a family of p-values (None stays None and does not count).

    SciPy offers only false-discovery-rate control (false_discovery_control); statsmodels has Holm but is
    a large dependency for these few lines. Holm controls the chance of any false "difference" among the
    settings compared with the baseline, without assuming the tests are independent.
    """
    present = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    out: list[float | None] = [None] * len(pvalues)
    running, m = 0.0, len(present)
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out
