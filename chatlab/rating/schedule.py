"""Which two replies a blind vote shows, and on which side: balanced, shuffled, reproducible from a seed.

Every pair of panes meets on every case once per round. Cases come in a shuffled order and, within a
case, the pairs too, so after any whole number of cases every pair has been shown equally often. Sides:
for each pair, a shuffled half of the cases show the lower-numbered pane on the left and the other half
on the right; each later round swaps them, and uses the next sample of each reply when the run has more
than one. The same seed gives the same schedule.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chatlab.store.batches import BatchRunRecord, BatchSample


@dataclass(frozen=True)
class Matchup:
    """One blind vote to cast: case `case`, pane `left` on the left, pane `right` on the right, both
    showing their `sample`-th reply."""

    index: int
    case: int
    left: int
    right: int
    sample: int = 0


def schedule(panes: int, cases: int, *, rounds: int = 1, samples: int = 1, seed: int = 0) -> list[Matchup]:
    """The votes to cast, in order (see the module docstring)."""
    if panes < 2:
        raise ValueError("Pick at least two panes to compare.")
    if cases < 1 or rounds < 1 or samples < 1:
        raise ValueError("A rating needs at least one case, one round and one sample.")
    rng = random.Random(seed)
    pairs = list(itertools.combinations(range(panes), 2))
    flipped: dict[tuple[int, int], set[int]] = {}
    for pair in pairs:
        order = list(range(cases))
        rng.shuffle(order)
        flipped[pair] = {case for position, case in enumerate(order) if position % 2}
    out: list[Matchup] = []
    for round_number in range(rounds):
        case_order = list(range(cases))
        rng.shuffle(case_order)
        for case in case_order:
            pair_order = list(pairs)
            rng.shuffle(pair_order)
            for a, b in pair_order:
                swap = (case in flipped[(a, b)]) != bool(round_number % 2)
                left, right = (b, a) if swap else (a, b)
                out.append(Matchup(len(out), case, left, right, round_number % samples))
    return out


def next_matchup(matchups: Sequence[Matchup], voted: Iterable[int]) -> Matchup | None:
    """The first matchup not voted on yet (by matchup index), or None when all are done."""
    done = set(voted)
    return next((m for m in matchups if m.index not in done), None)


def shown(matchup: Matchup, run: BatchRunRecord, samples: Sequence[BatchSample]) -> tuple[str, str, str]:
    """(the case's message, the left reply, the right reply) for a matchup of a batch run's samples; a
    pane without that sample shows its first one. KeyError when a pane has no reply for the case."""
    replies = {(s.pane, s.case_index, s.sample): s.reply for s in samples if not s.error}

    def reply(pane: int) -> str:
        key = (pane, matchup.case, matchup.sample)
        return replies[key] if key in replies else replies[(pane, matchup.case, 0)]

    return run.test_set.cases[matchup.case].message, reply(matchup.left), reply(matchup.right)
