"""Test sets in the history database: save (create or replace by name), list, read, delete."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace

from chatlab.checks import Check
from chatlab.store.store import Store, now_iso
from chatlab.testsets.model import TestCase, TestSet, TestSetError


@dataclass(frozen=True)
class TestSetSummary:
    """One line of the list of test sets (without loading their cases)."""

    __test__ = False

    id: str
    name: str
    description: str
    case_count: int
    created_at: str
    updated_at: str


def _dump(items) -> str:
    return json.dumps([i.to_dict() for i in items], ensure_ascii=False)


def snapshot(test_set: TestSet) -> dict:
    """The whole set as JSON-able data (what a batch run keeps of the set it ran)."""
    return {
        "id": test_set.id,
        "name": test_set.name,
        "description": test_set.description,
        "cases": [c.to_dict() for c in test_set.cases],
        "checks": [c.to_dict() for c in test_set.checks],
        "created_at": test_set.created_at,
        "updated_at": test_set.updated_at,
    }


def from_snapshot(data: dict) -> TestSet:
    """The set `snapshot` wrote."""
    return TestSet(
        name=data["name"],
        description=data.get("description") or "",
        cases=tuple(TestCase.from_dict(c) for c in data["cases"]),
        checks=tuple(Check.from_dict(c) for c in data.get("checks") or ()),
        id=data.get("id"),
        created_at=data.get("created_at") or "",
        updated_at=data.get("updated_at") or "",
    )


def _from_row(row: dict) -> TestSet:
    return from_snapshot(
        {**row, "cases": json.loads(row["cases_json"]), "checks": json.loads(row["checks_json"])}
    )


class TestSets:
    """The stored test sets of a Store. Names are unique, ignoring case."""

    __test__ = False

    def __init__(self, store: Store):
        self.store = store

    def save(self, test_set: TestSet, *, replace_existing: bool = False) -> TestSet:
        """Store a new set, or rewrite the one with its id; returns it with its id. A name another set
        already uses is refused (TestSetError) unless `replace_existing`, which overwrites that set."""
        existing = self.find(test_set.name)
        if existing is not None and existing.id != test_set.id:
            if not replace_existing:
                raise TestSetError(f"A test set named '{existing.name}' already exists; choose another name.")
            test_set = replace(test_set, id=existing.id)
        stamp = now_iso()
        values = {
            "name": test_set.name,
            "description": test_set.description,
            "cases": _dump(test_set.cases),
            "checks": _dump(test_set.checks),
            "count": len(test_set.cases),
            "now": stamp,
        }
        if test_set.id is not None and self.store._row(
            "SELECT 1 AS x FROM test_sets WHERE id = :id", {"id": test_set.id}
        ):
            self.store._write(
                "UPDATE test_sets SET name = :name, description = :description, cases_json = :cases,"
                " checks_json = :checks, case_count = :count, updated_at = :now WHERE id = :id",
                {**values, "id": test_set.id},
            )
            return self.get(test_set.id)
        new_id = test_set.id or uuid.uuid4().hex[:16]
        self.store._write(
            "INSERT INTO test_sets (id, name, description, cases_json, checks_json, case_count, created_at,"
            " updated_at) VALUES (:id, :name, :description, :cases, :checks, :count, :now, :now)",
            {**values, "id": new_id},
        )
        return self.get(new_id)

    def get(self, test_set_id: str) -> TestSet | None:
        row = self.store._row("SELECT * FROM test_sets WHERE id = :id", {"id": test_set_id})
        return _from_row(row) if row else None

    def find(self, name: str) -> TestSet | None:
        """The set with this name, ignoring case and surrounding spaces."""
        wanted = " ".join(name.split()).casefold()
        for summary in self.list():
            if summary.name.casefold() == wanted:
                return self.get(summary.id)
        return None

    def list(self) -> list[TestSetSummary]:
        """Most recently changed first."""
        rows = self.store._rows(
            "SELECT id, name, description, case_count, created_at, updated_at FROM test_sets"
            " ORDER BY updated_at DESC"
        )
        return [TestSetSummary(**r) for r in rows]

    def delete(self, test_set_id: str) -> None:
        """Delete the set; batch runs made with it keep their own copy of its cases."""
        self.store._write("DELETE FROM test_sets WHERE id = :id", {"id": test_set_id})
