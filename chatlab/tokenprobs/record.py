"""A reply's token probabilities as the server reported them: each token, its log-probability, and the
top alternatives at its position; in the OpenAI wire shape (`choices[].logprobs.content[]`) and back.

Servers differ in small ways that would otherwise leak into every calculation: llama.cpp may list the
chosen token among the alternatives although it is outside the top-k, may list an empty-string token,
and OpenAI writes -9999 for a probability too small to say. Here the alternatives are deduplicated and
sorted, most likely first, and a log-probability that is not a finite number ≤ 0 is brought into range.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import numpy as np

# The most alternatives kept at one position: top_logprobs is at most 20, llama.cpp may add the chosen
# token; more than this only comes from a hand-made file.
MAX_ALTERNATIVES = 32
# Below this a probability is zero for every purpose here (e^-65 ≈ 6e-29); storage keeps no finer.
LOGPROB_FLOOR = -65.0


class TokenProb(NamedTuple):
    """One generated token: its text, its natural-log probability, and the alternatives listed at its
    position as (token, logprob), most likely first."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


def clean_logprob(value: Any) -> float:
    """A log-probability brought into [LOGPROB_FLOOR, 0]; ValueError when it is not a number at all."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"a log-probability must be a number, got {value!r}")
    value = float(value)
    if math.isnan(value):
        raise ValueError("a log-probability must be a number, got NaN")
    return min(0.0, max(LOGPROB_FLOOR, value))


def token_prob(token: str, logprob: float, top: Iterable[tuple[str, float]] = ()) -> TokenProb:
    """A TokenProb with its alternatives deduplicated (the likelier copy kept), sorted and capped."""
    best: dict[str, float] = {}
    for alt, alt_logprob in top:
        alt_logprob = clean_logprob(alt_logprob)
        if alt not in best or alt_logprob > best[alt]:
            best[alt] = alt_logprob
    ranked = sorted(best.items(), key=lambda item: -item[1])[:MAX_ALTERNATIVES]
    return TokenProb(token, clean_logprob(logprob), tuple(ranked))


def from_wire(content: Iterable[Mapping]) -> list[TokenProb]:
    """`logprobs.content` as JSON (a non-streamed reply, an imported file): ValueError when malformed."""
    tokens = []
    for position, item in enumerate(content):
        if not isinstance(item, Mapping):
            raise ValueError(f"token {position}: expected an object, got {type(item).__name__}")
        token, top = item.get("token"), item.get("top_logprobs") or []
        if not isinstance(token, str) or not isinstance(top, list):
            raise ValueError(f"token {position}: needs a text 'token' and a list 'top_logprobs'")
        pairs = []
        for alt in top:
            if not isinstance(alt, Mapping) or not isinstance(alt.get("token"), str):
                raise ValueError(f"token {position}: each alternative needs a text 'token'")
            pairs.append((alt["token"], alt.get("logprob")))
        try:
            tokens.append(token_prob(token, item.get("logprob"), pairs))
        except ValueError as exc:
            raise ValueError(f"token {position}: {exc}") from None
    return tokens


def to_wire(tokens: Iterable[TokenProb]) -> list[dict]:
    """The OpenAI wire shape of `logprobs.content` (without `bytes`)."""
    return [
        {
            "token": t.token,
            "logprob": t.logprob,
            "top_logprobs": [{"token": alt, "logprob": lp} for alt, lp in t.top],
        }
        for t in tokens
    ]


@dataclass(frozen=True)
class Grid:
    """Every position's known candidates as one matrix: the alternatives plus the chosen token when the
    server did not list it. Rows are padded with -inf (probability 0)."""

    logprobs: np.ndarray  # (positions, candidates), natural log, -inf where a row has fewer candidates
    tokens: tuple[tuple[str, ...], ...]  # each row's candidate texts, in the matrix's column order
    chosen: np.ndarray  # (positions,) the chosen token's column in its row


@dataclass(frozen=True, eq=False)
class ReplyTokens:
    """The token probabilities of one reply (one choice), in the order the tokens were generated."""

    tokens: tuple[TokenProb, ...]

    @classmethod
    def of(cls, tokens: Iterable[TokenProb]) -> ReplyTokens:
        return cls(tuple(tokens))

    def __len__(self) -> int:
        return len(self.tokens)

    def __bool__(self) -> bool:
        return bool(self.tokens)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReplyTokens) and self.tokens == other.tokens

    def __hash__(self) -> int:
        return hash(self.tokens)

    @property
    def text(self) -> str:
        return "".join(t.token for t in self.tokens)

    @property
    def top_k(self) -> int:
        """How many alternatives the server listed at most positions: the request's top_logprobs (llama.cpp
        lists one more where the written token is outside them; the end of a reply may list fewer)."""
        counts = Counter(len(t.top) for t in self.tokens if t.top)
        return counts.most_common(1)[0][0] if counts else 0

    # NumPy is imported where the maths starts: the streaming client imports this module for TokenProb.
    @cached_property
    def chosen_logprobs(self) -> np.ndarray:
        import numpy as np

        return np.fromiter((t.logprob for t in self.tokens), dtype=np.float64, count=len(self.tokens))

    @cached_property
    def grid(self) -> Grid:
        import numpy as np

        rows: list[tuple[str, ...]] = []
        chosen: list[int] = []
        width = 1
        for t in self.tokens:
            names = [alt for alt, _ in t.top]
            if t.token in names:
                chosen.append(names.index(t.token))
            else:
                chosen.append(len(names))
                names.append(t.token)
            rows.append(tuple(names))
            width = max(width, len(names))
        matrix = np.full((len(self.tokens), width), -np.inf)
        for i, t in enumerate(self.tokens):
            values = [lp for _, lp in t.top]
            if chosen[i] == len(values):
                values.append(t.logprob)
            matrix[i, : len(values)] = values
        return Grid(logprobs=matrix, tokens=tuple(rows), chosen=np.asarray(chosen, dtype=np.intp))
