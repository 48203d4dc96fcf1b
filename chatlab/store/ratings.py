"""Blind pairwise ratings in the history database: a rating (its panes' names, its seed, the batch run its
replies come from) and its votes, each stored with the two replies as they were shown."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text

from chatlab.rating.votes import Vote
from chatlab.store.store import Store, now_iso


@dataclass(frozen=True)
class RatingRecord:
    id: str
    title: str
    labels: list[str]  # the panes' names, by pane number
    seed: int  # the schedule's and the bootstrap's seed
    created_at: str
    updated_at: str
    run_id: str | None = None
    vote_count: int | None = None  # filled by list(), which counts in the same query


_VOTE_FIELDS = ("matchup", "case_index", "input", "left_reply", "right_reply", "outcome", "created_at")


class Ratings:
    """The stored ratings of a Store."""

    def __init__(self, store: Store):
        self.store = store

    def create(self, labels: Sequence[str], *, seed: int, run_id: str | None = None, title: str = "") -> str:
        """A new rating between these panes; returns its id."""
        if len(labels) < 2:
            raise ValueError("Pick at least two panes to compare.")
        rating_id = uuid.uuid4().hex[:16]
        self.store._write(
            "INSERT INTO ratings (id, title, run_id, labels_json, seed, created_at, updated_at)"
            " VALUES (:id, :title, :run_id, :labels, :seed, :now, :now)",
            {
                "id": rating_id,
                "title": title,
                "run_id": run_id,
                "labels": json.dumps(list(labels), ensure_ascii=False),
                "seed": int(seed),
                "now": now_iso(),
            },
        )
        return rating_id

    def get(self, rating_id: str) -> RatingRecord | None:
        row = self.store._row("SELECT * FROM ratings WHERE id = :id", {"id": rating_id})
        return _rating(row) if row else None

    def list(self) -> list[RatingRecord]:
        """Most recently voted in first."""
        rows = self.store._rows(
            "SELECT r.*, (SELECT COUNT(*) FROM votes v WHERE v.rating_id = r.id) AS vote_count"
            " FROM ratings r ORDER BY r.updated_at DESC"
        )
        return [_rating(r) for r in rows]

    def add_vote(self, rating_id: str, vote: Vote) -> None:
        stamp = vote.created_at or now_iso()
        values = {f: getattr(vote, f) for f in _VOTE_FIELDS} | {
            "rating_id": rating_id,
            "left_pane": vote.left,
            "right_pane": vote.right,
            "created_at": stamp,
        }
        columns = list(values)
        with self.store._writer.begin() as db:
            db.execute(
                text(
                    f"INSERT INTO votes ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
                ),
                values,
            )
            db.execute(
                text("UPDATE ratings SET updated_at = :now WHERE id = :id"), {"now": stamp, "id": rating_id}
            )

    def votes(self, rating_id: str) -> list[Vote]:
        """The rating's votes in the order they were cast."""
        rows = self.store._rows("SELECT * FROM votes WHERE rating_id = :id ORDER BY id", {"id": rating_id})
        return [
            Vote(left=r["left_pane"], right=r["right_pane"], **{f: r[f] for f in _VOTE_FIELDS}) for r in rows
        ]

    def undo_last_vote(self, rating_id: str) -> None:
        """Remove the latest vote (a mistaken key press)."""
        self.store._write(
            "DELETE FROM votes WHERE id = (SELECT MAX(id) FROM votes WHERE rating_id = :id)",
            {"id": rating_id},
        )

    def delete(self, rating_id: str) -> None:
        self.store._write("DELETE FROM ratings WHERE id = :id", {"id": rating_id})


def _rating(row: dict) -> RatingRecord:
    return RatingRecord(
        id=row["id"],
        title=row["title"],
        labels=json.loads(row["labels_json"]),
        seed=row["seed"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        run_id=row["run_id"],
        vote_count=row.get("vote_count"),
    )
