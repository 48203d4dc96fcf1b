"""Blind pairwise votes: the four outcomes, a vote as stored, and the votes as CSV (written and read back)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from chatlab.csvfile import CsvFileError, read_rows, to_csv_bytes, unneutralise
from chatlab.textfile import TextFileError, decode_upload

LEFT, RIGHT, TIE, BOTH_BAD = "left", "right", "tie", "both_bad"
OUTCOMES = (LEFT, RIGHT, TIE, BOTH_BAD)
OUTCOME_LABELS = {LEFT: "Left is better", RIGHT: "Right is better", TIE: "Tie", BOTH_BAD: "Both are bad"}
MAX_VOTES_FILE_BYTES = 50 * 1024 * 1024


class VoteError(ValueError):
    """A vote or a votes file that cannot be used; the message names the line."""


@dataclass(frozen=True)
class Vote:
    """One blind vote: which panes were shown on which side for which case, and what the person chose."""

    matchup: int
    case_index: int
    left: int  # pane shown on the left
    right: int
    outcome: str
    input: str = ""
    left_reply: str = ""
    right_reply: str = ""
    created_at: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise VoteError(f"a vote is one of {', '.join(OUTCOMES)}, not {self.outcome!r}")
        if self.left == self.right:
            raise VoteError("a vote compares two different panes")

    @property
    def winner(self) -> int | None:
        """The pane that won, or None for a tie or both bad."""
        return self.left if self.outcome == LEFT else self.right if self.outcome == RIGHT else None

    @property
    def decisive(self) -> bool:
        return self.outcome in (LEFT, RIGHT)


VOTE_COLUMNS = {
    "vote": "Int64",
    "matchup": "Int64",
    "case": "Int64",
    "input": "str",
    "left_pane": "Int64",
    "left_label": "str",
    "right_pane": "Int64",
    "right_label": "str",
    "outcome": "str",
    "winner": "str",
    "left_reply": "str",
    "right_reply": "str",
    "created_at": "str",
}


def votes_frame(votes: Sequence[Vote], labels: Sequence[str]) -> pd.DataFrame:
    """One row per vote, with the panes' names (panes are numbered from 0, cases from 1)."""
    rows = []
    for number, v in enumerate(votes, start=1):
        winner = labels[v.winner] if v.winner is not None else ("tie" if v.outcome == TIE else "both bad")
        rows.append(
            {
                "vote": number,
                "matchup": v.matchup,
                "case": v.case_index + 1,
                "input": v.input,
                "left_pane": v.left,
                "left_label": labels[v.left],
                "right_pane": v.right,
                "right_label": labels[v.right],
                "outcome": v.outcome,
                "winner": winner,
                "left_reply": v.left_reply,
                "right_reply": v.right_reply,
                "created_at": v.created_at,
            }
        )
    return pd.DataFrame(
        {name: pd.Series([r[name] for r in rows], dtype=dtype) for name, dtype in VOTE_COLUMNS.items()},
        columns=list(VOTE_COLUMNS),
    )


def votes_csv(votes: Sequence[Vote], labels: Sequence[str]) -> bytes:
    """The votes as CSV (BOM, formula cells neutralised); read_votes_csv reads it back."""
    return to_csv_bytes(votes_frame(votes, labels))


def read_votes_csv(data: bytes, filename: str = "votes.csv") -> tuple[list[Vote], list[str]]:
    """Votes and pane labels (by pane number) from a votes CSV; VoteError names the line."""
    try:
        text = decode_upload(data, max_bytes=MAX_VOTES_FILE_BYTES, expected="a votes CSV")
        rows = read_rows(text)
    except (TextFileError, CsvFileError) as exc:
        raise VoteError(f"{filename}: {exc}") from None
    if not rows:
        raise VoteError(f"{filename} is empty")
    header = [h.strip() for h in rows[0][1]]
    needed = ["matchup", "case", "left_pane", "left_label", "right_pane", "right_label", "outcome"]
    missing = [c for c in needed if c not in header]
    if missing:
        raise VoteError(f"{filename} line {rows[0][0]}: no {', '.join(missing)} column")
    votes: list[Vote] = []
    labels: dict[int, str] = {}
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise VoteError(f"{filename} line {line}: expected {len(header)} fields, found {len(row)}")
        cell = {h: unneutralise(v) for h, v in zip(header, row, strict=True)}
        try:
            left, right = int(cell["left_pane"]), int(cell["right_pane"])
            vote = Vote(
                matchup=int(cell["matchup"]),
                case_index=int(cell["case"]) - 1,
                left=left,
                right=right,
                outcome=cell["outcome"].strip(),
                input=cell.get("input", ""),
                left_reply=cell.get("left_reply", ""),
                right_reply=cell.get("right_reply", ""),
                created_at=cell.get("created_at", ""),
            )
        except (ValueError, VoteError) as exc:
            raise VoteError(f"{filename} line {line}: {exc}") from None
        labels.setdefault(left, cell["left_label"])
        labels.setdefault(right, cell["right_label"])
        votes.append(vote)
    count = max(labels, default=-1) + 1
    return votes, [labels.get(i, f"pane {i}") for i in range(count)]
