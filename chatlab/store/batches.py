"""Batch runs in the history database: a run (a snapshot of its test set and panes) and its samples, each
stored as soon as it finishes, with its check results."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import text

from chatlab.checks import CheckResult
from chatlab.store.store import Store, now_iso
from chatlab.store.testsets import from_snapshot, snapshot
from chatlab.testsets.model import TestSet

RUNNING, FINISHED, CANCELLED = "running", "finished", "cancelled"


@dataclass(frozen=True)
class BatchSample:
    """One reply of one pane to one case (sample k of several), with its checks."""

    pane: int
    case_index: int
    sample: int
    reply: str
    passed: bool  # every check passed, and the request did not fail
    checks: tuple[CheckResult, ...] = ()
    request: dict | None = None  # the body sent (rendered prompt, parameters)
    finish_reason: str | None = None
    error: str | None = None  # the request failed (no checks ran)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    usage_estimated: bool = False
    cost_usd: float | None = None
    ttft_s: float | None = None
    duration_s: float | None = None
    created_at: str = field(default="", compare=False)

    @property
    def failed_checks(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.checks if not r.passed)


@dataclass(frozen=True)
class BatchRunRecord:
    """A stored run: what it ran (the test set as it was, each pane's settings) and how it ended."""

    id: str
    title: str
    test_set: TestSet
    panes: list[dict]  # label, model, role_name, system_prompt, params, values, endpoint_name
    samples_per_case: int
    status: str
    created_at: str
    updated_at: str
    test_set_id: str | None = None
    judge: dict | None = None  # the judge's model and endpoint, when the run had one

    @property
    def labels(self) -> list[str]:
        return [p.get("label", f"pane {i + 1}") for i, p in enumerate(self.panes)]

    @property
    def total_samples(self) -> int:
        return len(self.panes) * len(self.test_set.cases) * self.samples_per_case


_SAMPLE_COLUMNS = (
    "pane",
    "case_index",
    "sample",
    "reply",
    "finish_reason",
    "error",
    "prompt_tokens",
    "completion_tokens",
    "usage_estimated",
    "cost_usd",
    "ttft_s",
    "duration_s",
)


def _sample_from_row(row: dict) -> BatchSample:
    data = {k: row[k] for k in _SAMPLE_COLUMNS}
    data["usage_estimated"] = bool(data["usage_estimated"])
    return BatchSample(
        **data,
        passed=bool(row["passed"]),
        checks=tuple(CheckResult.from_dict(c) for c in json.loads(row["checks_json"])),
        request=json.loads(row["request_json"]) if row["request_json"] else None,
        created_at=row["created_at"],
    )


def _run_from_row(row: dict) -> BatchRunRecord:
    return BatchRunRecord(
        id=row["id"],
        title=row["title"],
        test_set=from_snapshot(json.loads(row["test_set_json"])),
        panes=json.loads(row["panes_json"]),
        samples_per_case=row["samples_per_case"],
        status=row["status"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        test_set_id=row["test_set_id"],
        judge=json.loads(row["judge_json"]) if row["judge_json"] else None,
    )


class BatchRuns:
    """The stored batch runs of a Store."""

    def __init__(self, store: Store):
        self.store = store

    def create(
        self,
        test_set: TestSet,
        panes: Sequence[dict],
        samples_per_case: int,
        *,
        title: str = "",
        judge: dict | None = None,
    ) -> str:
        """A new run (status 'running') with a copy of the test set and the panes' settings; its id."""
        run_id = uuid.uuid4().hex[:16]
        linked = (
            test_set.id
            if test_set.id
            and self.store._row("SELECT 1 AS x FROM test_sets WHERE id = :id", {"id": test_set.id})
            else None
        )
        stamp = now_iso()
        self.store._write(
            "INSERT INTO batch_runs (id, title, test_set_id, test_set_json, panes_json, samples_per_case,"
            " judge_json, status, created_at, updated_at) VALUES (:id, :title, :set_id, :snapshot, :panes,"
            " :k, :judge, :status, :now, :now)",
            {
                "id": run_id,
                "title": title or test_set.name,
                "set_id": linked,
                "snapshot": json.dumps(snapshot(test_set), ensure_ascii=False),
                "panes": json.dumps(list(panes), ensure_ascii=False),
                "k": samples_per_case,
                "judge": json.dumps(judge, ensure_ascii=False) if judge else None,
                "status": RUNNING,
                "now": stamp,
            },
        )
        return run_id

    def add_sample(self, run_id: str, sample: BatchSample) -> None:
        """Store one finished sample (a sample run again replaces the old one)."""
        values = {k: getattr(sample, k) for k in _SAMPLE_COLUMNS}
        values.update(
            run_id=run_id,
            usage_estimated=int(sample.usage_estimated),
            passed=int(sample.passed),
            checks_json=json.dumps([r.to_dict() for r in sample.checks], ensure_ascii=False),
            request_json=json.dumps(sample.request, ensure_ascii=False)
            if sample.request is not None
            else None,
            created_at=sample.created_at or now_iso(),
        )
        columns = list(values)
        with self.store._writer.begin() as db:
            db.execute(
                text(
                    "DELETE FROM batch_samples WHERE run_id = :run_id AND pane = :pane"
                    " AND case_index = :case_index AND sample = :sample"
                ),
                values,
            )
            db.execute(
                text(
                    f"INSERT INTO batch_samples ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
                ),
                values,
            )
            db.execute(
                text("UPDATE batch_runs SET updated_at = :now WHERE id = :id"),
                {"now": now_iso(), "id": run_id},
            )

    def finish(self, run_id: str, status: str) -> None:
        """Mark the run finished or cancelled."""
        self.store._write(
            "UPDATE batch_runs SET status = :status, updated_at = :now WHERE id = :id",
            {"status": status, "now": now_iso(), "id": run_id},
        )

    def get(self, run_id: str) -> BatchRunRecord | None:
        row = self.store._row("SELECT * FROM batch_runs WHERE id = :id", {"id": run_id})
        return _run_from_row(row) if row else None

    def list(self, limit: int = 200) -> list[BatchRunRecord]:
        """Most recently changed first."""
        rows = self.store._rows(
            "SELECT * FROM batch_runs ORDER BY updated_at DESC LIMIT :limit", {"limit": limit}
        )
        return [_run_from_row(r) for r in rows]

    def samples(self, run_id: str) -> list[BatchSample]:
        """The run's samples by pane, case and sample number."""
        rows = self.store._rows(
            "SELECT * FROM batch_samples WHERE run_id = :id ORDER BY pane, case_index, sample", {"id": run_id}
        )
        return [_sample_from_row(r) for r in rows]

    def delete(self, run_id: str) -> None:
        """The run and its samples (and ratings made from it lose the link, not their votes)."""
        self.store._write("DELETE FROM batch_runs WHERE id = :id", {"id": run_id})
