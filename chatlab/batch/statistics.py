"""A batch run's statistics, read the way Compare and Sweep read theirs (chatlab.stats).

Per pane: the pass rate (Wilson interval) and every metric a reply has — reply tokens and characters,
latency, first token, cost, refusal-like and cut-off shares, distinct-n and pairwise similarity of its
replies, and each 1–5 judge check's score — with 95% intervals; every pane but the baseline also gets
its difference from the baseline pane with an interval and a Holm-corrected permutation p-value, and a
verdict in words. A failed request counts as a failed sample in the pass rate and is left out of every
other metric (it has no reply to measure).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from chatlab.samples import group_labels
from chatlab.stats import compare_groups, verdicts
from chatlab.stats.metrics import (
    PERCENT,
    SCORE_PREFIX,
    SHARE,
    Metric,
    metric_named,
    metrics_for,
    score_metric,
)
from chatlab.store.batches import BatchRunRecord, BatchSample
from chatlab.textstats import looks_like_refusal

PASS_RATE = Metric(
    "passed", "Pass rate", SHARE, PERCENT, "percentage points", "passes more often", "passes less often"
)
JUDGE_SCORE = f"{SCORE_PREFIX}judge"  # a 1–5 judge check's score; score_judge_2… when a set has several

STATS_DTYPES: dict[str, str] = {
    "group": "str",
    "pane": "Int64",
    "case": "Int64",
    "sample": "Int64",
    "passed": "boolean",
    "counted": "boolean",  # the request succeeded: its reply is measured
    "text": "str",
    "completion_tokens": "Int64",
    "reply_chars": "Int64",
    "duration_s": "Float64",
    "ttft_s": "Float64",
    "cost_usd": "Float64",
    "refusal": "boolean",
    "truncated": "boolean",
}


def pane_groups(run: BatchRunRecord) -> list[str]:
    """The panes' names as the statistics name them (a repeated label gets its pane number)."""
    return group_labels(run.labels)


def judge_columns(samples: Sequence[BatchSample]) -> dict[str, str]:
    """Each scored judge check's label -> its score column, in order of first appearance."""
    labels = list(dict.fromkeys(r.label for s in samples for r in s.checks if r.score is not None))
    if len(labels) == 1:
        return {labels[0]: JUDGE_SCORE}
    return {label: f"{JUDGE_SCORE}_{i}" for i, label in enumerate(labels, start=1)}


def stats_frame(run: BatchRunRecord, samples: Sequence[BatchSample]) -> pd.DataFrame:
    """One row per sample in the shape chatlab.stats.compare_groups reads (group = the pane's name)."""
    groups = pane_groups(run)
    scores = judge_columns(samples)
    rows = []
    for s in sorted(samples, key=lambda s: (s.pane, s.sample, s.case_index)):
        ok = not s.error
        row = {
            "group": groups[s.pane],
            "pane": s.pane,
            "case": s.case_index + 1,
            "sample": s.sample,
            "passed": s.passed,
            "counted": ok,
            "text": s.reply,
            "completion_tokens": s.completion_tokens if ok else None,
            "reply_chars": len(s.reply) if ok else None,
            "duration_s": s.duration_s if ok else None,
            "ttft_s": s.ttft_s if ok else None,
            "cost_usd": s.cost_usd,
            "refusal": looks_like_refusal(s.reply) if ok else None,
            "truncated": s.finish_reason == "length" if ok else None,
        }
        for result in s.checks:
            if result.score is not None:
                row[scores[result.label]] = result.score
        rows.append(row)
    dtypes = STATS_DTYPES | {column: "Float64" for column in scores.values()}
    return pd.DataFrame(
        {name: pd.Series([r.get(name) for r in rows], dtype=dtype) for name, dtype in dtypes.items()},
        columns=list(dtypes),
    )


def statistics(run: BatchRunRecord, samples: Sequence[BatchSample], baseline: int = 0) -> pd.DataFrame:
    """chatlab.stats.STAT_COLUMNS for every pane × metric, the pass rate first: mean and 95% interval, and
    for every pane but `baseline` (a pane number) the difference from it with its interval and p-value."""
    groups = pane_groups(run)
    if not 0 <= baseline < len(groups):
        raise ValueError(f"The baseline must be a pane from 1 to {len(groups)}.")
    frame = stats_frame(run, samples)
    options = {"groups": groups, "baseline": groups[baseline]}
    # Every sample counts in the pass rate (a failed request is a failed sample); only replies elsewhere.
    passing = compare_groups(frame.drop(columns="counted"), "group", metrics=[PASS_RATE], **options)
    replies = compare_groups(frame, "group", metrics=_measured(frame), **options)
    return pd.concat([passing, replies], ignore_index=True)


def _measured(frame: pd.DataFrame) -> list[Metric]:
    judged = {m.name: m for m in judge_metrics(frame.columns)}
    return [judged.get(m.name, m) for m in metrics_for(frame.columns)]


def judge_metrics(columns) -> list[Metric]:
    """The judge-score metrics among these columns, labelled so that a table tells them apart."""
    scored = [c for c in columns if c.startswith(JUDGE_SCORE)]
    return [
        score_metric(c, "Judge score" if len(scored) == 1 else f"Judge score {i}")
        for i, c in enumerate(scored, start=1)
    ]


def metrics_of(stats: pd.DataFrame) -> list[Metric]:
    """The metrics of a statistics() table, in its order, each in its own words."""
    names = list(dict.fromkeys(stats["metric"]))
    judged = {m.name: m for m in judge_metrics(names)}
    return [PASS_RATE if n == PASS_RATE.name else judged.get(n) or metric_named(n) for n in names]


def batch_verdicts(stats: pd.DataFrame) -> pd.Series:
    """The verdict sentence of every row of a statistics() table (the pass rate in percentage points)."""
    return verdicts(stats, metrics_of(stats))
