"""Which parameters a model takes: its family (from the model id) and, per parameter, what the family
does with it (chatlab.params declares that on each parameter).

Reasoning models reject temperature/top_p/penalties/stop and want `max_completion_tokens` instead of
`max_tokens`; sending them anyway gets a 400. deepseek-reasoner accepts sampling parameters without
effect. Unknown models get whatever the user set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from chatlab.params import (
    DEEPSEEK_REASONER,
    GPT5,
    GPT5_1,
    IGNORED,
    O_SERIES,
    OPENAI_CHAT,
    PARAMS,
    REJECTED,
    RENAMED,
    Support,
)

GENERAL = "general"


@dataclass(frozen=True)
class Capabilities:
    """What one model does with each parameter, and why (a sentence for the request preview's notes)."""

    model: str
    family: str = GENERAL
    why: str = ""
    source: str = "the model-family table"
    overrides: Mapping[str, Support] = field(default_factory=dict)  # what a probe found, per parameter
    reasons: Mapping[str, str] = field(default_factory=dict)  # why, per overridden parameter

    def support(self, name: str) -> Support:
        return self.overrides.get(name) or PARAMS[name].support(self.family)

    def reason(self, name: str) -> str:
        """Why a parameter is treated as it is: the probe's finding, else the family's reason."""
        return self.reasons.get(name) or (self.why if name not in self.overrides else "")

    def control_note(self, name: str) -> str | None:
        """What a parameter's control should say when this model does not take it as is (None: it does)."""
        support = self.support(name)
        reason = self.reason(name)
        why = f" ({reason})" if reason else ""
        if support.status == REJECTED:
            return f"{self.model} does not accept {name}{why}: it is left out of the request."
        if support.status == IGNORED:
            return f"{self.model} ignores {name}{why}: it is sent but has no effect."
        if support.status == RENAMED:
            return f"Sent to {self.model} as {support.renamed_to}{why}."
        return None


_REASONING_WHY = (
    "{model} is a reasoning model: the API rejects sampling parameters and stop, and wants "
    "max_completion_tokens"
)

# First match wins; patterns are matched against the model id without any "provider/" prefix.
_FAMILIES: tuple[tuple[str, str, str], ...] = (
    (r"^(o1|o3|o4-mini)(-|$)", O_SERIES, _REASONING_WHY),
    (r"^gpt-5.*chat", OPENAI_CHAT, "{model} is a non-reasoning chat model"),
    (
        r"^gpt-5\.\d",
        GPT5_1,
        '{model} is a reasoning model: it takes sampling parameters only with reasoning_effort "none", '
        "and wants max_completion_tokens",
    ),
    (r"^gpt-5", GPT5, _REASONING_WHY),
    (
        r"^(gpt-4o|gpt-4\.1|gpt-4-|gpt-4$|gpt-3\.5|chatgpt-4o)",
        OPENAI_CHAT,
        "{model} is a non-reasoning chat model: it has no reasoning controls",
    ),
    (r"^deepseek-reasoner", DEEPSEEK_REASONER, "{model} ignores sampling parameters (DeepSeek docs)"),
)


def model_family(model: str) -> tuple[str, str]:
    """(family, why) for a model id; unknown models are general chat models."""
    name = (model or "").strip().lower().rsplit("/", 1)[-1]
    for pattern, family, why in _FAMILIES:
        if re.search(pattern, name):
            return family, why.format(model=model)
    return GENERAL, ""


def capabilities_for(model: str) -> Capabilities:
    """The model-family table's view of a model (a probe's findings replace it where one exists)."""
    family, why = model_family(model)
    return Capabilities(model=model, family=family, why=why)
