"""Confidence intervals for the batch tables and the rating leaderboard, in one place.

Kept small on purpose: chatlab/stats.py (bootstrap intervals and permutation tests) is being written
separately, and these two functions are the seam where the tables switch to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
NAN = float("nan")


def proportion_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval for a share (pass rate, left-side votes); (nan, nan) with no trials."""
    if n <= 0:
        return NAN, NAN
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def mean_interval(
    values: Sequence[float], confidence: float = CONFIDENCE, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, low, high): a percentile bootstrap of the mean (seeded, so a table never changes between
    reruns); None and NaN values are left out; low/high are NaN with fewer than two values."""
    data = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if data.size == 0:
        return NAN, NAN, NAN
    mean = float(data.mean())
    if data.size < 2:
        return mean, NAN, NAN
    if np.all(data == data[0]):
        return mean, mean, mean
    result = stats.bootstrap(
        (data,),
        np.mean,
        confidence_level=confidence,
        n_resamples=BOOTSTRAP_RESAMPLES,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return mean, float(result.confidence_interval.low), float(result.confidence_interval.high)
