"""A sweep's results as tables: the per-setting summary and its chart data, the tidy samples, CSV.

Columns have nullable pandas dtypes, so a missing value is NA rather than a float NaN or None.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence

import pandas as pd

from chatlab.csvfile import to_csv_bytes
from chatlab.params import FLOAT, INT, PARAM_NAMES, PARAMS
from chatlab.stats import STAT_COLUMNS, compare_groups
from chatlab.stats.metrics import SET, Metric, metrics_for
from chatlab.sweep.plan import SweepPoint, SweepSpec, Values, grid, request_batches
from chatlab.sweep.run import Sample
from chatlab.textstats import describe, distinct_n_of_size, pairwise_similarity


def typed_frame(rows: list[dict], dtypes: dict[str, str]) -> pd.DataFrame:
    """A DataFrame with these columns and nullable dtypes (missing values are NA)."""
    return pd.DataFrame(
        {name: pd.Series([row.get(name) for row in rows], dtype=dtype) for name, dtype in dtypes.items()},
        columns=list(dtypes),
    )


def _param_dtype(name: str) -> str:
    return {INT: "Int64", FLOAT: "Float64"}.get(PARAMS[name].kind, "str")


SUMMARY_METRICS: dict[str, str] = {
    "samples": "Int64",
    "errors": "Int64",
    "completion_tokens_mean": "Float64",
    "completion_tokens_median": "Float64",
    "completion_tokens_stdev": "Float64",
    "reasoning_tokens_mean": "Float64",
    "distinct_1": "Float64",
    "distinct_2": "Float64",
    "similarity": "Float64",
    "duration_mean_s": "Float64",
    "ttft_mean_s": "Float64",
    "refusals": "Int64",
    "truncated": "Int64",  # finish_reason "length": cut by max_tokens
    "tokens_estimated": "boolean",
    "cost_usd": "Float64",
}


def summarize(samples: Sequence[Sample], spec: SweepSpec) -> pd.DataFrame:
    """One row per setting that has samples, in grid order: the axis values, then SUMMARY_METRICS.

    Text and token statistics use the replies that succeeded; `samples` and `errors` count all.
    distinct-n and similarity are in chatlab.textstats; stdev is the sample stdev (None below 2 values).
    distinct-n is computed on the same number of replies for every setting (equal_size), so a setting
    with fewer samples does not look more diverse.
    `cost_usd` sums the known costs, None when none is known (e.g. a model without a price).
    """
    groups: dict[Values, list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[sample.values].append(sample)
    size = equal_size(samples)
    rows = []
    for point in grid(spec):
        group = groups.get(point.values)
        if not group:
            continue
        ok = [s for s in group if s.ok]
        texts = [s.text for s in ok]
        tokens = describe(s.completion_tokens for s in ok)
        costs = [s.cost_usd for s in group if s.cost_usd is not None]
        rows.append(
            {
                **dict(point.values),
                "samples": len(group),
                "errors": len(group) - len(ok),
                "completion_tokens_mean": tokens.mean,
                "completion_tokens_median": tokens.median,
                "completion_tokens_stdev": tokens.stdev,
                "reasoning_tokens_mean": describe(
                    s.reasoning_tokens for s in ok if s.reasoning_tokens is not None
                ).mean,
                "distinct_1": distinct_n_of_size(texts, 1, size),
                "distinct_2": distinct_n_of_size(texts, 2, size),
                "similarity": pairwise_similarity(texts),
                "duration_mean_s": describe(s.duration_s for s in ok).mean,
                "ttft_mean_s": describe(s.ttft_s for s in ok).mean,
                "refusals": sum(s.refusal for s in ok),
                "truncated": sum(s.finish_reason == "length" for s in ok),
                "tokens_estimated": any(s.usage_estimated for s in ok),
                "cost_usd": math.fsum(costs) if costs else None,
            }
        )
    return typed_frame(rows, {**{n: _param_dtype(n) for n in spec.axis_names}, **SUMMARY_METRICS})


def equal_size(samples: Sequence[Sample]) -> int:
    """The fewest successful replies any setting has: what distinct-n is computed on for every setting."""
    counts: dict[Values, int] = defaultdict(int)
    for sample in samples:
        counts[sample.values] += sample.ok
    return min((c for c in counts.values() if c), default=0)


def sample_count_note(samples: Sequence[Sample]) -> str | None:
    """A sentence for the page when settings have different numbers of successful replies, else None."""
    counts: dict[Values, int] = defaultdict(int)
    for sample in samples:
        counts[sample.values] += sample.ok
    present = [c for c in counts.values() if c]
    if len(set(present)) <= 1:
        return None
    low, high = min(present), max(present)
    return (
        f"Settings have different numbers of successful replies ({low} to {high}). Distinct-n is computed on "
        f"{low} replies of each setting (averaged over subsets), so the settings compare fairly; means and "
        "similarity use every reply."
    )


def chart_data(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary in long format for altair: the axis columns, then `metric` and `value` (Float64)."""
    axes = [c for c in summary.columns if c in PARAM_NAMES]
    metrics = [c for c in summary.columns if c in SUMMARY_METRICS and c != "tokens_estimated"]
    wide = summary[axes + metrics].astype({m: "Float64" for m in metrics})
    long = wide.melt(id_vars=axes, value_vars=metrics, var_name="metric", value_name="value")
    return long.astype({"metric": "str", "value": "Float64"})


SAMPLE_COLUMNS: dict[str, str] = {
    **{name: _param_dtype(name) for name in PARAM_NAMES},
    "model": "str",
    "system_prompt": "str",
    "prompt": "str",
    "history_messages": "Int64",
    "sample": "Int64",
    "text": "str",
    "prompt_tokens": "Int64",
    "completion_tokens": "Int64",
    "reasoning_tokens": "Int64",
    "usage_estimated": "boolean",
    "ttft_s": "Float64",
    "duration_s": "Float64",
    "tokens_per_s": "Float64",
    "cost_usd": "Float64",
    "finish_reason": "str",
    "refusal": "boolean",
    "error": "str",
    "setting": "str",  # the setting's label, e.g. "temperature=0.4, top_p=1"
    "reply_chars": "Int64",
    "truncated": "boolean",  # finish_reason "length"
    "counted": "boolean",  # a whole reply that counts in the statistics (no error)
}


def samples_frame(samples: Sequence[Sample], spec: SweepSpec) -> pd.DataFrame:
    """Tidy: one row per sample in grid order, every parameter in its own column (SAMPLE_COLUMNS).

    `n` is what the sample's request asked for (empty when it was not sent); `stop` is a JSON list.
    The statistics (`statistics`) are computed from exactly this table.
    """
    points = grid(spec)
    position = {p.values: i for i, p in enumerate(points)}
    params_of = {p.values: p.params for p in points}
    labels = {p.values: p.label for p in points}
    request_n = {first + k: count for first, count in request_batches(spec) for k in range(count)}
    rows = []
    for s in sorted(samples, key=lambda s: (position.get(s.values, len(points)), s.index)):
        params = params_of.get(s.values) or spec.base_params.replace(**dict(s.values))
        row = {name: getattr(params, name) for name in PARAM_NAMES}
        row["stop"] = json.dumps(list(params.stop), ensure_ascii=False) if params.stop else None
        n = request_n.get(s.index, 1)
        row["n"] = n if n > 1 else None
        row.update(
            model=spec.model,
            system_prompt=spec.system_prompt,
            prompt=spec.prompt,
            history_messages=len(spec.history),
            sample=s.index,
            text=s.text,
            prompt_tokens=s.prompt_tokens,
            completion_tokens=s.completion_tokens,
            reasoning_tokens=s.reasoning_tokens,
            usage_estimated=s.usage_estimated,
            ttft_s=s.ttft_s,
            duration_s=s.duration_s,
            tokens_per_s=s.tokens_per_s,
            cost_usd=s.cost_usd,
            finish_reason=s.finish_reason,
            refusal=s.refusal,
            error=s.error,
            setting=labels.get(s.values) or SweepPoint(s.values, params).label,
            reply_chars=len(s.text),
            truncated=s.finish_reason == "length",
            counted=s.ok,
        )
        rows.append(row)
    return typed_frame(rows, SAMPLE_COLUMNS)


def statistics(samples: Sequence[Sample], spec: SweepSpec, baseline: Values | None = None) -> pd.DataFrame:
    """Per setting and metric: mean and 95% interval, and the difference from the baseline setting (the
    first of the grid unless given) with its interval and Holm-corrected p-value (chatlab.stats).

    The axis columns come first, then chatlab.stats.STAT_COLUMNS (`group` is the setting's label). Only
    settings with samples appear, in grid order. Distinct-n uses the same number of replies for every
    setting, as `summarize` does: here the first ones of each (by sample index), as many as the setting
    with the fewest has (`summarize` averages over subsets of that size; with equal counts both agree).
    A per-reply metric that no counted reply reported is left out (reasoning tokens of a model that does
    not reason, the cost of a model without a price): it has nothing to estimate.
    Recomputable with SciPy from samples_frame's CSV: see chatlab.stats.resampling.
    """
    frame = samples_frame(samples, spec)
    present = set(frame["setting"])
    points = [p for p in grid(spec) if p.label in present]
    if not points:
        return typed_frame([], {**{n: _param_dtype(n) for n in spec.axis_names}, **STAT_COLUMNS})
    base = next((p.label for p in points if p.values == baseline), points[0].label)
    counted = frame[frame["counted"].fillna(False).astype(bool)]
    metrics = [m for m in metrics_for(frame.columns) if m.kind == SET or counted[m.name].notna().any()]
    table = compare_groups(frame, "setting", groups=[p.label for p in points], baseline=base, metrics=metrics)
    values = {p.label: dict(p.values) for p in points}
    for name in reversed(spec.axis_names):
        column = [values[label][name] for label in table["group"]]
        table.insert(0, name, pd.Series(column, dtype=_param_dtype(name)))
    return table


def a_versus_a(samples: Sequence[Sample], spec: SweepSpec, baseline: Values | None = None) -> pd.DataFrame:
    """The noise floor's statistics from one setting's fresh samples (the baseline, or the first): its
    even-numbered samples as "A" against its odd-numbered ones as "A again" — the same settings twice.
    Give the result to chatlab.stats.noise_floor. Run the setting with twice the samples for it."""
    points = grid(spec)
    values = baseline if baseline is not None else points[0].values
    frame = samples_frame([s for s in samples if s.values == values], spec)
    frame["setting"] = pd.Series(["A" if k % 2 == 0 else "A again" for k in frame["sample"]], dtype="str")
    return compare_groups(frame, "setting", groups=["A", "A again"], metrics=reported_metrics(frame))


def reported_metrics(frame: pd.DataFrame) -> list[Metric]:
    """The metrics of a samples_frame that some counted reply reported (text-set metrics always)."""
    counted = frame[frame["counted"].fillna(False).astype(bool)]
    return [m for m in metrics_for(frame.columns) if m.kind == SET or counted[m.name].notna().any()]


def csv_bytes(df: pd.DataFrame) -> bytes:
    """A sweep table as CSV the way transcripts are written: UTF-8 with a BOM, formula cells neutralised."""
    return to_csv_bytes(df)
