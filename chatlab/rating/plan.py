"""A blind rating of some of a batch run's panes: which cases it uses, its schedule, the votes it casts.

A rating names its panes by label (Ratings stores the labels, the seed and the run); the plan maps them
back to the run's panes, keeps the cases every rated pane answered without an error, and schedules
ROUNDS rounds over them (chatlab.rating.schedule: every pair on every case once a round, sides swapped in
the next, later samples when the run has them). Everything follows from the stored run and the seed, so
a reopened rating — after a reload, in another tab — continues where its votes stop.

Votes number panes as the rating does (0 … len(labels) − 1) and cases as the run does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from chatlab.rating.schedule import Matchup, schedule, shown
from chatlab.rating.votes import Vote
from chatlab.samples import group_labels
from chatlab.store.batches import BatchRunRecord, BatchSample

ROUNDS = 2  # each pair meets on each case twice, once with each pane on the left


def pane_labels(run: BatchRunRecord) -> list[str]:
    """The names a rating can pick a run's panes by (a repeated label gets its pane number)."""
    return group_labels(run.labels)


@dataclass(frozen=True)
class RatingPlan:
    """The rated panes (their labels and pane numbers in the run), the cases used, and the schedule."""

    labels: tuple[str, ...]
    panes: tuple[int, ...]
    cases: tuple[int, ...]
    matchups: tuple[Matchup, ...]
    skipped_cases: int = 0  # cases left out because a rated pane has no reply to them

    @property
    def total(self) -> int:
        return len(self.matchups)

    def next(self, votes: Sequence[Vote]) -> Matchup | None:
        """The first matchup not voted on yet (in the rating's numbering), or None when all are done."""
        done = {v.matchup for v in votes}
        return next((m for m in self.matchups if m.index not in done), None)

    def in_run(self, matchup: Matchup) -> Matchup:
        """The matchup with the run's pane and case numbers (what schedule.shown reads)."""
        return dataclasses.replace(
            matchup,
            case=self.cases[matchup.case],
            left=self.panes[matchup.left],
            right=self.panes[matchup.right],
        )

    def shown(
        self, matchup: Matchup, run: BatchRunRecord, samples: Sequence[BatchSample]
    ) -> tuple[str, str, str]:
        """(the input, the left reply, the right reply) of a matchup."""
        return shown(self.in_run(matchup), run, samples)

    def vote(
        self, matchup: Matchup, outcome: str, run: BatchRunRecord, samples: Sequence[BatchSample]
    ) -> Vote:
        """The vote to store for this matchup: the rating's pane numbers, the run's case, what was shown."""
        text, left, right = self.shown(matchup, run, samples)
        return Vote(
            matchup.index, self.cases[matchup.case], matchup.left, matchup.right, outcome, text, left, right
        )


def plan_rating(
    run: BatchRunRecord,
    samples: Sequence[BatchSample],
    labels: Sequence[str],
    *,
    seed: int,
    rounds: int = ROUNDS,
) -> RatingPlan:
    """The plan for rating these panes of the run (labels as pane_labels gives them); ValueError when
    fewer than two are named, a label is unknown, or no case has a reply from every one of them."""
    names = pane_labels(run)
    unknown = [label for label in labels if label not in names]
    if unknown:
        raise ValueError(f"The run has no pane named {', '.join(repr(u) for u in unknown)}.")
    panes = tuple(names.index(label) for label in labels)
    if len(set(panes)) < 2:
        raise ValueError("Pick at least two panes to compare.")
    answered = {(s.pane, s.case_index) for s in samples if not s.error and s.sample == 0}
    cases = tuple(c for c in range(len(run.test_set.cases)) if all((p, c) in answered for p in panes))
    if not cases:
        raise ValueError("No case has a reply from every chosen pane: nothing to compare.")
    matchups = schedule(
        len(panes), len(cases), rounds=rounds, samples=max(1, run.samples_per_case), seed=seed
    )
    return RatingPlan(tuple(labels), panes, cases, tuple(matchups), len(run.test_set.cases) - len(cases))
