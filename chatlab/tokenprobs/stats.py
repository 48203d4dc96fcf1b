"""What the recorded probabilities say about a reply: each token's probability and entropy, and the
reply's total log-probability, mean per token and perplexity.

Entropy is over the known candidates only (the listed alternatives and the chosen token). The rest of
the vocabulary can only add to it, so it is a lower bound of the model's true entropy at that position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from chatlab.tokenprobs.record import ReplyTokens


def probabilities(reply: ReplyTokens) -> np.ndarray:
    """Each chosen token's probability."""
    return np.exp(reply.chosen_logprobs)


def entropies(reply: ReplyTokens) -> np.ndarray:
    """Each position's entropy in bits over the known candidates (a lower bound of the true one)."""
    logprobs = reply.grid.logprobs
    with np.errstate(invalid="ignore"):
        terms = np.where(np.isfinite(logprobs), np.exp(logprobs) * logprobs, 0.0)
    return -terms.sum(axis=1) / math.log(2)


@dataclass(frozen=True)
class ReplyStats:
    """How likely the model found its own reply."""

    tokens: int
    total_logprob: float  # natural log of the probability of the whole reply, token after token
    mean_logprob: float  # per token
    perplexity: float  # exp(-mean): 1 is certain; k is as unsure as a fair choice among k tokens

    def describe(self) -> str:
        """'log-prob −42.1 · −0.351/token · perplexity 1.42' for a reply's usage line."""
        return (
            f"log-prob {_signed(self.total_logprob, 1)} · {_signed(self.mean_logprob, 3)}/token · "
            f"perplexity {self.perplexity:,.2f}"
        )


def _signed(value: float, digits: int) -> str:
    text = f"{value:,.{digits}f}"
    return text.replace("-", "−", 1)


def reply_stats(reply: ReplyTokens) -> ReplyStats | None:
    """Total and mean log-probability and perplexity; None for a reply without tokens."""
    if not reply:
        return None
    total = float(reply.chosen_logprobs.sum())
    mean = total / len(reply)
    return ReplyStats(tokens=len(reply), total_logprob=total, mean_logprob=mean, perplexity=math.exp(-mean))
