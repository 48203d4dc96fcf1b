"""The Wilson interval of a share, for the rating leaderboard's position bias.

The batch tables take every interval from chatlab.stats (batch/statistics.py) — the percentile bootstrap
that stood here is gone, so a batch run's intervals are made as Compare's and Sweep's are. This one stays
for the leaderboard because it gives an interval from any number of votes (chatlab.stats asks for at
least MIN_SAMPLES), by the same method (Wilson score) at the same confidence.
"""

from __future__ import annotations

from scipy import stats

from chatlab.stats import CONFIDENCE

NAN = float("nan")


def proportion_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval for a share (left-side votes); (nan, nan) with no trials."""
    if n <= 0:
        return NAN, NAN
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)
