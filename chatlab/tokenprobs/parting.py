"""Where samples part: the tokens several replies to the same request share from the start, and the
first position where they differ, with each branch's token and probability there."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from chatlab.tokenprobs.record import ReplyTokens


@dataclass(frozen=True)
class Branch:
    """The samples that wrote the same token at the parting position."""

    token: str | None  # None: these samples ended there
    probability: float | None  # the token's recorded probability
    samples: tuple[int, ...]  # indices into the samples given


@dataclass(frozen=True)
class Parting:
    shared: int  # tokens every sample has in common from the start
    prefix: str  # their text
    branches: tuple[Branch, ...]  # likeliest first; empty when every sample is the same
    # What the model offered at the parting position (the first sample with a token there), likeliest
    # first, as probabilities: the same context, so the same distribution for every branch.
    offered: tuple[tuple[str, float], ...] = ()

    @property
    def identical(self) -> bool:
        return not self.branches

    @property
    def position(self) -> int | None:
        """The first position where the samples differ (0-based), None when they never do."""
        return None if self.identical else self.shared


def parting(samples: Sequence[ReplyTokens]) -> Parting:
    """The shared prefix and the first split of two or more samples (fewer: nothing parts)."""
    sequences = [[t.token for t in s.tokens] for s in samples]
    if len(sequences) < 2:
        only = sequences[0] if sequences else []
        return Parting(shared=len(only), prefix="".join(only), branches=())
    shortest = min(len(s) for s in sequences)
    shared = 0
    while shared < shortest and all(s[shared] == sequences[0][shared] for s in sequences):
        shared += 1
    prefix = "".join(sequences[0][:shared])
    if all(len(s) == shared for s in sequences):
        return Parting(shared=shared, prefix=prefix, branches=())
    groups: dict[str | None, list[int]] = {}
    for index, s in enumerate(sequences):
        groups.setdefault(s[shared] if shared < len(s) else None, []).append(index)
    branches = []
    for token, members in groups.items():
        probability = None
        if token is not None:
            probability = math.exp(samples[members[0]].tokens[shared].logprob)
        branches.append(Branch(token=token, probability=probability, samples=tuple(members)))
    branches.sort(key=lambda b: (b.probability is None, -(b.probability or 0.0)))
    first = next(s for s in samples if len(s) > shared)
    offered = tuple((alt, math.exp(lp)) for alt, lp in first.tokens[shared].top)
    return Parting(shared=shared, prefix=prefix, branches=tuple(branches), offered=offered)
