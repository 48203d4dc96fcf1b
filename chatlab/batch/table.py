"""The tables of a batch run: one row per sample (and its CSV), pass rates and metrics with intervals per
pane (from batch.statistics), the cases × panes grid, and every failed check with its reason."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd

from chatlab.batch.statistics import PASS_RATE, pane_groups, statistics
from chatlab.csvfile import to_csv_bytes
from chatlab.params import PARAM_NAMES
from chatlab.store.batches import BatchRunRecord, BatchSample

SAMPLE_DTYPES: dict[str, str] = {
    "run_id": "str",
    "pane": "Int64",
    "label": "str",
    "role_name": "str",
    "model": "str",
    "case": "Int64",
    "case_description": "str",
    "message": "str",
    "values": "str",
    "sample": "Int64",
    "reply": "str",
    "passed": "boolean",
    "checks_passed": "Int64",
    "checks_total": "Int64",
    "failed_checks": "str",
    "error": "str",
    "finish_reason": "str",
    "prompt_tokens": "Int64",
    "completion_tokens": "Int64",
    "usage_estimated": "boolean",
    "cost_usd": "Float64",
    "ttft_s": "Float64",
    "duration_s": "Float64",
    "reply_chars": "Int64",
    "checks": "str",
    **{name: "str" for name in PARAM_NAMES},
    "system_prompt": "str",
}
SAMPLE_COLUMNS = list(SAMPLE_DTYPES)

# Metrics summarised per pane (mean with a bootstrap interval): column -> heading.
METRICS = {
    "completion_tokens": "reply tokens",
    "reply_chars": "reply characters",
    "duration_s": "duration (s)",
    "ttft_s": "first token (s)",
    "cost_usd": "cost (USD)",
}


def failure_text(sample: BatchSample) -> str:
    """Why a sample did not pass: the request's error, or each failed check with its reason."""
    if sample.error:
        return f"request failed: {sample.error}"
    return "\n".join(f"{r.label}: {r.explanation}" for r in sample.failed_checks)


def samples_frame(run: BatchRunRecord, samples: Sequence[BatchSample]) -> pd.DataFrame:
    """One row per sample: pane, case, the reply, pass/fail with reasons, usage, timings, parameters."""
    rows = []
    for s in samples:
        pane = run.panes[s.pane] if s.pane < len(run.panes) else {}
        case = run.test_set.cases[s.case_index]
        request = s.request or {}
        system = next((m["content"] for m in request.get("messages", []) if m.get("role") == "system"), "")
        params = pane.get("params") or {}
        row = {
            "run_id": run.id,
            "pane": s.pane,
            "label": pane.get("label", ""),
            "role_name": pane.get("role_name", ""),
            "model": pane.get("model", ""),
            "case": s.case_index + 1,
            "case_description": case.description,
            "message": case.message,
            "values": json.dumps(case.value_map(), ensure_ascii=False) if case.values else "",
            "sample": s.sample + 1,
            "reply": s.reply,
            "passed": s.passed,
            "checks_passed": sum(r.passed for r in s.checks),
            "checks_total": len(s.checks),
            "failed_checks": failure_text(s),
            "error": s.error,
            "finish_reason": s.finish_reason,
            "prompt_tokens": s.prompt_tokens,
            "completion_tokens": s.completion_tokens,
            "usage_estimated": s.usage_estimated,
            "cost_usd": s.cost_usd,
            "ttft_s": s.ttft_s,
            "duration_s": s.duration_s,
            "reply_chars": len(s.reply),
            "checks": json.dumps([r.to_dict() for r in s.checks], ensure_ascii=False),
            **{name: _param_text(params.get(name)) for name in PARAM_NAMES},
            "system_prompt": system,
        }
        rows.append(row)
    return pd.DataFrame(
        {name: pd.Series([r[name] for r in rows], dtype=dtype) for name, dtype in SAMPLE_DTYPES.items()},
        columns=SAMPLE_COLUMNS,
    )


def _param_text(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | tuple) else str(value)


def samples_csv(frame: pd.DataFrame) -> bytes:
    """The per-sample table as CSV (one row per sample; BOM, formula cells neutralised)."""
    return to_csv_bytes(frame)


def pane_summary(run: BatchRunRecord, samples: Sequence[BatchSample]) -> pd.DataFrame:
    """Per pane: samples, passes, the pass rate with its Wilson interval, failed requests, check errors,
    and the mean of every METRICS column with its interval — the figures of batch.statistics (chatlab.stats:
    BCa bootstrap, fixed seed), so they match the page's statistics; NaN where a pane has too few samples."""
    figures = statistics(run, samples).set_index(["group", "metric"])

    def figure(group: str, metric: str, column: str) -> float:
        value = figures.at[(group, metric), column]
        return float("nan") if pd.isna(value) else float(value)

    rows = []
    for pane, (label, group) in enumerate(zip(run.labels, pane_groups(run), strict=True)):
        mine = [s for s in samples if s.pane == pane]
        passed = sum(s.passed for s in mine)
        row = {
            "pane": pane,
            "label": label,
            "samples": len(mine),
            "passed": passed,
            "pass_rate": passed / len(mine) if mine else float("nan"),
            "pass_rate_low": figure(group, PASS_RATE.name, "ci_low"),
            "pass_rate_high": figure(group, PASS_RATE.name, "ci_high"),
            "failed_requests": sum(1 for s in mine if s.error),
            "check_errors": sum(1 for s in mine for r in s.checks if r.error),
        }
        for column in METRICS:
            row.update(
                {
                    column: figure(group, column, "mean"),
                    f"{column}_low": figure(group, column, "ci_low"),
                    f"{column}_high": figure(group, column, "ci_high"),
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)


def results_grid(run: BatchRunRecord, samples: Sequence[BatchSample]) -> pd.DataFrame:
    """Cases × panes: 'passed/samples' in each cell (a page opens a cell with cell_samples)."""
    counts: dict[tuple[int, int], list[int]] = {}
    for s in samples:
        cell = counts.setdefault((s.case_index, s.pane), [0, 0])
        cell[0] += s.passed
        cell[1] += 1
    data = {
        label: [
            f"{counts[(c, p)][0]}/{counts[(c, p)][1]}" if (c, p) in counts else ""
            for c in range(len(run.test_set.cases))
        ]
        for p, label in enumerate(run.labels)
    }
    index = pd.Index(
        [f"{i + 1}. {_short(case.message)}" for i, case in enumerate(run.test_set.cases)], name="case"
    )
    return pd.DataFrame(data, index=index, dtype="str")


def _short(text: str, width: int = 50) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def cell_samples(samples: Sequence[BatchSample], pane: int, case_index: int) -> list[BatchSample]:
    """The samples behind one grid cell, by sample number."""
    return sorted(
        (s for s in samples if s.pane == pane and s.case_index == case_index), key=lambda s: s.sample
    )


def failures_frame(run: BatchRunRecord, samples: Sequence[BatchSample]) -> pd.DataFrame:
    """Every failed check (and failed request) with its reason: pane, case, sample, check, why."""
    rows = []
    for s in samples:
        base = {"label": run.labels[s.pane], "case": s.case_index + 1, "sample": s.sample + 1}
        if s.error:
            rows.append({**base, "check": "request", "why": s.error, "check_error": True})
        for r in s.failed_checks:
            rows.append({**base, "check": r.label, "why": r.explanation, "check_error": r.error})
    columns = ["label", "case", "sample", "check", "why", "check_error"]
    return pd.DataFrame(rows, columns=columns)
