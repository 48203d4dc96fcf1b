"""The what-if: the recorded probabilities re-weighted for another temperature and top_p, per position.

At every position the known candidates (the listed alternatives and the chosen token) get
softmax(logprob / temperature) — temperature 0 is greedy: all weight on the likeliest — then the
nucleus cut keeps the likeliest candidates until their probabilities add up to top_p (at least one),
and what is kept is renormalised. Per position that gives the chosen token's probability under the new
setting, how many candidates are left, and whether another token is now more likely than not.

Approximate by construction: only the top-k is known, so the probability of the rest of the vocabulary
is left out of the softmax. The recorded log-probabilities are taken as the model's own distribution
(temperature 1), which is what OpenAI and llama.cpp report. Each position is judged given the reply's
own text before it: after the first change, a real run would have gone on from a different text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chatlab.tokenprobs.record import ReplyTokens

LIKELY = 0.5  # a position counts as changed when the chosen token's new probability is below this


@dataclass(frozen=True)
class WhatIf:
    """The reply's tokens under another temperature and top_p, position by position."""

    temperature: float
    top_p: float
    probability: np.ndarray  # the chosen token's probability under the new setting (0 when cut)
    nucleus: np.ndarray  # how many candidates are left after the top_p cut
    changed: np.ndarray  # another token is more likely than not under the new setting
    instead: tuple[str | None, ...]  # the likeliest other candidate (None when there is none)
    instead_probability: np.ndarray  # its probability under the new setting

    @property
    def positions(self) -> list[int]:
        """The positions marked as changed, in order."""
        return np.flatnonzero(self.changed).tolist()

    @property
    def first_change(self) -> int | None:
        found = np.flatnonzero(self.changed)
        return int(found[0]) if found.size else None


def weights(logprobs: np.ndarray, temperature: float) -> np.ndarray:
    """Row-wise softmax(logprobs / temperature) over the known candidates; temperature 0 is greedy
    (ties share the weight). -inf entries (padding) get 0."""
    top = logprobs.max(axis=1, keepdims=True)
    if temperature <= 0:
        w = (logprobs == top).astype(np.float64)
    else:
        w = np.exp((logprobs - top) / temperature)
    return w / w.sum(axis=1, keepdims=True)


def nucleus_mask(w: np.ndarray, top_p: float) -> np.ndarray:
    """Row-wise: the likeliest candidates whose probabilities first add up to top_p (at least one)."""
    order = np.argsort(-w, axis=1, kind="stable")
    ranked = np.take_along_axis(w, order, axis=1)
    before = np.cumsum(ranked, axis=1) - ranked
    keep_ranked = before < top_p
    keep_ranked[:, 0] = True
    keep = np.zeros_like(keep_ranked)
    np.put_along_axis(keep, order, keep_ranked, axis=1)
    return keep & (w > 0)


def reweigh(reply: ReplyTokens, temperature: float, top_p: float = 1.0) -> WhatIf:
    """The what-if for one setting (see the module docstring for how and how far to trust it)."""
    n = len(reply)
    if n == 0:
        empty = np.zeros(0)
        return WhatIf(temperature, top_p, empty, empty.astype(int), empty.astype(bool), (), empty)
    grid = reply.grid
    w = weights(grid.logprobs, temperature)
    keep = nucleus_mask(w, top_p)
    q = np.where(keep, w, 0.0)
    q /= q.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    chosen = q[rows, grid.chosen]
    others = q.copy()
    others[rows, grid.chosen] = -1.0
    other_col = others.argmax(axis=1)
    other_p = np.maximum(others[rows, other_col], 0.0)
    has_other = (grid.logprobs.shape[1] > 1) & np.isfinite(grid.logprobs[rows, other_col])
    has_other &= other_col != grid.chosen
    instead = tuple(grid.tokens[i][other_col[i]] if has_other[i] else None for i in range(n))
    return WhatIf(
        temperature=temperature,
        top_p=top_p,
        probability=chosen,
        nucleus=keep.sum(axis=1),
        changed=chosen < LIKELY,
        instead=instead,
        instead_probability=np.where(has_other, other_p, 0.0),
    )


def approximation_note(top_k: int) -> str:
    """The plain statement every what-if shows."""
    return (
        f"Only the top {top_k} alternatives at each position are known, so this re-weighting is "
        "approximate: the rest of the vocabulary is left out. A position is marked when another token "
        "would be more likely than the one written, given the text before it."
    )
