"""Sweeps and determinism-meter runs in the history database: a header row holding the run's spec as JSON,
and one row per sample (sweep) or reply (meter), written as each arrives.

Both kinds share one small API on Store (create_run, add_run_row, finish_run, get_run, run_rows,
list_runs, rename_run, delete_run); chatlab.sweep.saved and chatlab.determinism turn the rows back into
their own records.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text

SWEEP, METER = "sweep", "meter"
RUNNING, FINISHED, CANCELLED = "running", "complete", "cancelled"

# kind → (header table, row table, the row table's column naming its header)
_TABLES = {SWEEP: ("sweeps", "sweep_samples", "sweep_id"), METER: ("meter_runs", "meter_replies", "run_id")}
# The columns a row may set, per kind; booleans are stored as 0/1, `values` as JSON.
ROW_FIELDS = {
    SWEEP: (
        "setting",
        "sample",
        "values",
        "text",
        "finish_reason",
        "prompt_tokens",
        "completion_tokens",
        "usage_estimated",
        "ttft_s",
        "duration_s",
        "tokens_per_s",
        "cost_usd",
        "refusal",
        "error",
        "reasoning_tokens",
    ),
    METER: ("seeded", "sample", "text", "finish_reason", "system_fingerprint", "duration_s", "error"),
}
_BOOLEANS = {"usage_estimated", "refusal", "seeded"}


@dataclass(frozen=True)
class RunRecord:
    """A stored sweep or meter run: its spec (as saved) and whether it finished."""

    id: str
    kind: str
    title: str
    model: str | None
    spec: dict
    status: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class RunSummary:
    """One line of History for a sweep or meter run."""

    id: str
    kind: str
    title: str
    model: str | None
    status: str
    created_at: str
    updated_at: str
    stored: int  # samples or replies stored
    errors: int
    cost_usd: float | None  # sweeps: the known costs summed; meter runs record none


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _tables(kind: str) -> tuple[str, str, str]:
    if kind not in _TABLES:
        raise ValueError(f"unknown run kind {kind!r}; expected {SWEEP!r} or {METER!r}")
    return _TABLES[kind]


class RunTables:
    """Store methods for sweeps and meter runs (Store inherits them; they use its connections)."""

    def create_run(self, kind: str, spec: dict, *, title: str = "", model: str | None = None) -> str:
        """A new run (status running) with its spec; returns its id."""
        header, _, _ = _tables(kind)
        run_id = uuid.uuid4().hex[:16]
        stamp = _now()
        self._write(
            f"INSERT INTO {header} (id, title, model, spec_json, status, created_at, updated_at)"
            " VALUES (:id, :title, :model, :spec, :status, :stamp, :stamp)",
            {
                "id": run_id,
                "title": title or "",
                "model": model,
                "spec": json.dumps(spec, ensure_ascii=False),
                "status": RUNNING,
                "stamp": stamp,
            },
        )
        return run_id

    def add_run_row(self, kind: str, run_id: str, row: dict) -> None:
        """Store one sample or reply of a run (the kind's fields, see ROW_FIELDS), and touch the run."""
        header, rows, key = _tables(kind)
        unknown = set(row) - set(ROW_FIELDS[kind])
        if unknown:
            raise TypeError(f"unknown {kind} row fields: {sorted(unknown)}")
        values = {
            ("values_json" if name == "values" else name): (
                json.dumps(value, ensure_ascii=False)
                if name == "values"
                else int(bool(value))
                if name in _BOOLEANS
                else value
            )
            for name, value in row.items()
        }
        stamp = _now()
        values.update({key: run_id, "created_at": stamp})
        columns = ", ".join(values)
        binds = ", ".join(f":{c}" for c in values)
        with self._writer.begin() as db:
            db.execute(text(f"INSERT INTO {rows} ({columns}) VALUES ({binds})"), values)
            db.execute(
                text(f"UPDATE {header} SET updated_at = :stamp WHERE id = :id"),
                {"stamp": stamp, "id": run_id},
            )

    def finish_run(self, kind: str, run_id: str, status: str = FINISHED) -> None:
        """Mark a run complete (or cancelled)."""
        header, _, _ = _tables(kind)
        self._write(
            f"UPDATE {header} SET status = :status, updated_at = :stamp WHERE id = :id",
            {"status": status, "stamp": _now(), "id": run_id},
        )

    def rename_run(self, kind: str, run_id: str, title: str) -> None:
        header, _, _ = _tables(kind)
        self._write(f"UPDATE {header} SET title = :title WHERE id = :id", {"title": title, "id": run_id})

    def get_run(self, kind: str, run_id: str) -> RunRecord | None:
        header, _, _ = _tables(kind)
        row = self._row(f"SELECT * FROM {header} WHERE id = :id", {"id": run_id})
        if row is None:
            return None
        spec = json.loads(row.pop("spec_json"))
        return RunRecord(kind=kind, spec=spec, **row)

    def run_rows(self, kind: str, run_id: str) -> list[dict]:
        """The run's samples or replies in the order they were stored, as dicts of ROW_FIELDS."""
        _, rows, key = _tables(kind)
        out = []
        for row in self._rows(f"SELECT * FROM {rows} WHERE {key} = :id ORDER BY id", {"id": run_id}):
            if "values_json" in row:
                row["values"] = json.loads(row.pop("values_json"))
            for name in _BOOLEANS & row.keys():
                row[name] = bool(row[name])
            out.append({name: row[name] for name in ROW_FIELDS[kind]})
        return out

    def list_runs(self, kind: str | None = None, limit: int = 200) -> list[RunSummary]:
        """Sweeps and meter runs (or one kind), most recently updated first, with their row counts."""
        summaries = []
        for each in (kind,) if kind else (SWEEP, METER):
            header, rows, key = _tables(each)
            cost = "SUM(r.cost_usd)" if each == SWEEP else "NULL"
            found = self._rows(
                f"""
                SELECT h.id, h.title, h.model, h.status, h.created_at, h.updated_at,
                       COUNT(r.id) AS stored, COUNT(r.error) AS errors, {cost} AS cost_usd
                FROM (SELECT * FROM {header} ORDER BY updated_at DESC LIMIT :limit) AS h
                LEFT JOIN {rows} r ON r.{key} = h.id
                GROUP BY h.id, h.title, h.model, h.status, h.created_at, h.updated_at
                """,
                {"limit": limit},
            )
            summaries += [RunSummary(kind=each, **r) for r in found]
        summaries.sort(key=lambda s: s.updated_at, reverse=True)
        return summaries[:limit]

    def delete_run(self, kind: str, run_id: str) -> None:
        """The run and all its rows."""
        header, _, _ = _tables(kind)
        self._write(f"DELETE FROM {header} WHERE id = :id", {"id": run_id})
