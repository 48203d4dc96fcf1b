"""What a run of many requests will cost, said before it starts (Compare samples, a sweep).

Prompt tokens are counted offline (chatlab.tokens, o200k_base) from the exact messages each request will
send. Reply lengths are not known in advance: each part of a run says what it expects (the mean of
replies already seen with those settings, else a stated default, never more than max_tokens) and, when
max_tokens is set, the most it can cost. Prices come from chatlab.prices; a model without a price makes
the cost unknown (None), never $0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from chatlab.prices import cost_usd, format_usd

DEFAULT_REPLY_TOKENS = 400  # the reply length assumed when nothing better is known


@dataclass(frozen=True)
class RunPart:
    """Requests that share a model and a prompt (a pane, a sweep setting)."""

    model: str
    prompt_tokens: int  # per request
    requests: int
    replies: int  # with `n`, one request returns several replies
    max_tokens: int | None = None  # per reply; None when the server decides
    expected_reply_tokens: float | None = None  # None: DEFAULT_REPLY_TOKENS, capped by max_tokens


@dataclass(frozen=True)
class CostEstimate:
    """The whole run: requests, tokens and dollars (expected, and at most when every reply is capped)."""

    requests: int
    replies: int
    prompt_tokens: int
    completion_tokens: int  # expected
    usd: float | None  # expected; None when some model has no known price
    usd_at_most: float | None  # every reply at max_tokens; None when a reply is uncapped or unpriced
    unpriced: tuple[str, ...]  # models without a price
    assumed_default: bool  # some reply length is the DEFAULT_REPLY_TOKENS guess

    def describe(self) -> str:
        """'12 requests, 20 replies: about 4,100 prompt + 8,000 reply tokens, about $0.0054 (at most $0.012).'"""
        replies = "reply" if self.replies == 1 else "replies"
        requests = "request" if self.requests == 1 else "requests"
        text = (
            f"{self.requests:,} {requests}, {self.replies:,} {replies}: about {self.prompt_tokens:,} prompt + "
            f"{self.completion_tokens:,} reply tokens"
        )
        if self.usd is None:
            text += f", cost unknown (no price for {', '.join(self.unpriced)})"
        else:
            text += f", about {format_usd(self.usd)}"
            if self.usd_at_most is not None:
                text += f" (at most {format_usd(self.usd_at_most)})"
        if self.assumed_default:
            text += f"; replies assumed {DEFAULT_REPLY_TOKENS:,} tokens long where none were seen yet"
        return text + "."


def expected_reply(part: RunPart) -> tuple[float, bool]:
    """(tokens a reply of this part is expected to have, whether that is the default guess)."""
    guessed = part.expected_reply_tokens is None
    expected = DEFAULT_REPLY_TOKENS if guessed else part.expected_reply_tokens
    if part.max_tokens is not None:
        expected = min(expected, part.max_tokens)
    return expected, guessed and (part.max_tokens is None or part.max_tokens > DEFAULT_REPLY_TOKENS)


def estimate_run(parts: Sequence[RunPart]) -> CostEstimate:
    """The cost of running every part."""
    prompt = completion = 0.0
    usd: float | None = 0.0
    most: float | None = 0.0
    unpriced: list[str] = []
    assumed = False
    for part in parts:
        expected, guessed = expected_reply(part)
        assumed = assumed or guessed
        part_prompt = part.prompt_tokens * part.requests
        part_completion = expected * part.replies
        prompt += part_prompt
        completion += part_completion
        cost = cost_usd(part.model, part_prompt, round(part_completion))
        if cost is None:
            unpriced.append(part.model)
            usd = most = None
            continue
        usd = None if usd is None else usd + cost
        if most is not None and part.max_tokens is not None:
            most += cost_usd(part.model, part_prompt, part.max_tokens * part.replies) or 0.0
        else:
            most = None
    return CostEstimate(
        requests=sum(p.requests for p in parts),
        replies=sum(p.replies for p in parts),
        prompt_tokens=round(prompt),
        completion_tokens=round(completion),
        usd=usd,
        usd_at_most=most,
        unpriced=tuple(dict.fromkeys(unpriced)),
        assumed_default=assumed,
    )


def mean_or_none(values: Sequence[float | int | None]) -> float | None:
    """The mean of the known values (replies seen so far), None when there are none."""
    known = [float(v) for v in values if v is not None]
    return math.fsum(known) / len(known) if known else None
