"""Which request parameters each model family accepts.

Reasoning models reject temperature/top_p/penalties and want `max_completion_tokens` instead of
`max_tokens`; sending them anyway gets a 400. Unknown models get whatever the user set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelCapabilities:
    family: str
    sampling: bool = True  # temperature, top_p, presence/frequency penalty
    max_completion_tokens: bool = False  # max_tokens must be sent under its newer name
    stop: bool = True
    why: str = ""


_REASONING_WHY = (
    "{family} is a reasoning model; the API rejects sampling parameters and wants max_completion_tokens"
)

# First match wins; patterns are matched against the model id without any "provider/" prefix.
_TABLE: tuple[tuple[str, ModelCapabilities], ...] = (
    (
        r"^o1(-|$)",
        ModelCapabilities(
            "o1",
            sampling=False,
            max_completion_tokens=True,
            stop=False,
            why=_REASONING_WHY.format(family="o1"),
        ),
    ),
    (
        r"^o3(-|$)",
        ModelCapabilities(
            "o3",
            sampling=False,
            max_completion_tokens=True,
            stop=False,
            why=_REASONING_WHY.format(family="o3"),
        ),
    ),
    (
        r"^o4-mini",
        ModelCapabilities(
            "o4-mini",
            sampling=False,
            max_completion_tokens=True,
            stop=False,
            why=_REASONING_WHY.format(family="o4-mini"),
        ),
    ),
    (
        r"^gpt-5(?!.*chat)",
        ModelCapabilities(
            "gpt-5",
            sampling=False,
            max_completion_tokens=True,
            stop=False,
            why=_REASONING_WHY.format(family="gpt-5"),
        ),
    ),
    (
        r"^deepseek-reasoner",
        ModelCapabilities(
            "deepseek-reasoner",
            sampling=False,
            why="deepseek-reasoner ignores sampling parameters (DeepSeek docs)",
        ),
    ),
)

GENERAL = ModelCapabilities("general")


def capabilities_for(model: str) -> ModelCapabilities:
    """Look the model up in the table; anything unknown is treated as a general chat model."""
    name = (model or "").strip().lower().rsplit("/", 1)[-1]
    for pattern, caps in _TABLE:
        if re.search(pattern, name):
            return caps
    return GENERAL
