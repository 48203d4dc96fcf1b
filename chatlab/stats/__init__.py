"""Is the difference real? Means with 95% intervals, differences from a baseline, p-values, the noise floor.

- metrics.py     what is measured (unit, kind, words for more/less) and numbers written for people
- resampling.py  the SciPy calls: BCa bootstrap intervals, permutation tests, Wilson intervals, Holm;
                 the fixed seed and number of resamples (SEED, RESAMPLES) that make every figure reproducible
- sets.py        distinct-n (jackknife) and pairwise similarity (pair bootstrap) of a set of replies
- table.py       compare_groups(): one tidy row per group × metric; verdict sentences
- power.py       samples needed to show a difference; the noise floor of an A-vs-A run
"""

from chatlab.stats.metrics import (
    METRICS,
    Metric,
    format_difference,
    format_p,
    format_value,
    metric_named,
    score_metric,
)
from chatlab.stats.power import NOISE_COLUMNS, method_note, noise_floor, samples_needed, samples_needed_for
from chatlab.stats.resampling import ALPHA, CONFIDENCE, MIN_SAMPLES, RESAMPLES, SEED
from chatlab.stats.table import STAT_COLUMNS, compare_groups, verdict, verdicts

__all__ = [
    "ALPHA",
    "CONFIDENCE",
    "METRICS",
    "MIN_SAMPLES",
    "NOISE_COLUMNS",
    "RESAMPLES",
    "SEED",
    "STAT_COLUMNS",
    "Metric",
    "compare_groups",
    "format_difference",
    "format_p",
    "format_value",
    "method_note",
    "metric_named",
    "noise_floor",
    "samples_needed",
    "samples_needed_for",
    "score_metric",
    "verdict",
    "verdicts",
]
