"""Generation parameters, each declared once in PARAMS; everything else is generated from the table.

A Param says what a parameter is (type, range, step, default), how people see it (label, help, widget),
how it sweeps, whether a role may preset it, and which model families refuse it or want it renamed. The
sidebar controls, the Compare overrides table, the sweep axes, role defaults and their validation, the
transcript/CSV columns and the CLI flags all read PARAMS; chatlab.request turns GenerationParams into the
body a request sends. Adding a parameter is one entry here plus its tests.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# Kinds of value.
FLOAT, INT, STOPS, TEXT, CHOICE = "float", "int", "stops", "text", "choice"
# Widgets the pages draw for a kind (chatlab_ui.params_panel maps each to a Streamlit control).
SLIDER, SELECT_SLIDER, NUMBER_TEXT, STOPS_TEXT, TEXT_INPUT, SELECT = (
    "slider",
    "select_slider",
    "number_text",
    "stops_text",
    "text_input",
    "select",
)
# What a model family does with a parameter (chatlab.capabilities names the families).
ACCEPTED, REJECTED, IGNORED, RENAMED = "accepted", "rejected", "ignored", "renamed"

MAX_STOP_STRINGS = 4


class ParamError(ValueError):
    """A parameter value the API would not accept; the message names the parameter and the range."""


@dataclass(frozen=True)
class Support:
    """How a model family treats a parameter: sent as is, refused (400), accepted without effect, or
    accepted under another name. `unless` names another parameter's value that lifts a refusal
    (GPT-5.1 and later take sampling parameters only with reasoning_effort "none")."""

    status: str = ACCEPTED
    renamed_to: str | None = None
    unless: tuple[str, Any] | None = None


def renamed(to: str) -> Support:
    return Support(RENAMED, to)


# Model families (chatlab.capabilities says which model ids belong to which).
O_SERIES, GPT5, GPT5_1, OPENAI_CHAT, DEEPSEEK_REASONER = (
    "o-series",
    "gpt-5",
    "gpt-5.1+",
    "openai-chat",
    "deepseek-reasoner",
)
REASONING_FAMILIES = (O_SERIES, GPT5, GPT5_1)


@dataclass(frozen=True)
class Wire:
    """A parameter whose request fields differ from its table value (token probabilities: the table holds
    a top-k, the body gets `logprobs: true, top_logprobs: k`). `send` gives the fields for a value; `read`
    gives the value back from a stored body (None when the body does not carry it)."""

    fields: tuple[str, ...]
    send: Callable[[Any], dict]
    read: Callable[[Mapping], Any]


def number_text(value: float | int) -> str:
    """A number written out for a person: 1,000,000 and -9,223,372,036,854,775,808, never 1e+06."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    return f"{value:,.6g}" if abs(value) >= 1000 else f"{value:g}"


@dataclass(frozen=True)
class Param:
    """One generation parameter, as the Chat Completions API names it."""

    name: str
    kind: str
    label: str
    help: str
    default: Any  # where a control starts; nothing is sent until the user ticks it
    widget: str
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    presets: tuple[int, ...] = ()  # the positions of a select slider
    choices: tuple[str, ...] = ()
    short: str = ""  # a heading for narrow tables (Compare overrides); the label by default
    sweep_values: str = ""  # sweepable when set: the values the sweep form suggests
    role_default: bool = True  # a role may preset it; False for what belongs to one request (n, user)
    override: bool = True  # a column of Compare's per-pane overrides table
    # Families (chatlab.capabilities) that do not take the parameter as is; every other family does.
    families: Mapping[str, Support] = field(default_factory=dict)
    # The Responses API's name for it ("reasoning.effort" is nested); None: it is not sent there, and
    # `responses_missing` says why.
    responses: str | None = None
    responses_missing: str = "the Responses API has no such parameter"
    # How it is written into a request body when that is not `name: value` (chatlab.request reads it).
    wire: Wire | None = None
    # It only observes the reply (never changes the text): a server that refuses it (400 naming it) gets
    # the request again without it, and the reply goes on (chatlab.client).
    droppable: bool = False

    @property
    def heading(self) -> str:
        return self.short or self.label

    @property
    def cli_flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def sweepable(self) -> bool:
        return bool(self.sweep_values)

    @property
    def whole(self) -> bool:
        return self.kind == INT

    def support(self, family: str) -> Support:
        return self.families.get(family, Support())

    @property
    def fields(self) -> tuple[str, ...]:
        """The request-body fields this parameter sets."""
        return self.wire.fields if self.wire else (self.name,)

    def body_fields(self, value: Any) -> dict:
        """The request-body fields for a (checked) value."""
        if self.wire:
            return self.wire.send(value)
        return {self.name: list(value) if isinstance(value, tuple) else value}

    def range_text(self) -> str:
        return f"between {number_text(self.low)} and {number_text(self.high)}"

    def check(self, value: Any) -> Any:
        """The value as it is stored and sent (e.g. 7.0 → 7 for whole numbers); ParamError if invalid."""
        name = self.name
        if self.kind in (FLOAT, INT):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ParamError(f"{name} must be a number, got {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ParamError(f"{name} must be a finite number, got {value!r}")
            if self.kind == INT:
                if int(value) != value:
                    raise ParamError(f"{name} must be a whole number, got {value!r}")
                value = int(value)
            else:
                value = float(value)
            if not self.low <= value <= self.high:
                raise ParamError(f"{name} must be {self.range_text()}, got {number_text(value)}")
            return value
        if self.kind == STOPS:
            stops = [value] if isinstance(value, str) else value
            if not isinstance(stops, list | tuple) or not all(isinstance(s, str) for s in stops):
                raise ParamError(f"{name} must be a string or a list of strings, got {value!r}")
            stops = tuple(s for s in stops if s)
            if len(stops) > MAX_STOP_STRINGS:
                raise ParamError(f"{name} takes at most {MAX_STOP_STRINGS} strings, got {len(stops)}")
            return stops
        if self.kind == CHOICE:
            if value not in self.choices:
                raise ParamError(f"{name} must be one of {', '.join(self.choices)}, got {value!r}")
            return value
        if not isinstance(value, str):
            raise ParamError(f"{name} must be text, got {value!r}")
        return value.strip()

    def parse(self, text: str) -> Any:
        """A value typed as text (a text field, a CSV cell, a sweep's value list); ParamError if invalid."""
        text = text.strip()
        if self.kind in (FLOAT, INT):
            try:
                number = float(text.replace(",", "")) if self.kind == FLOAT else int(text.replace(",", ""))
            except ValueError:
                what = "a whole number" if self.kind == INT else "a number"
                raise ParamError(f"{self.name} must be {what}, not {text!r}") from None
            return self.check(number)
        return self.check(text)

    def display(self, value: Any) -> str:
        """A value as a person reads it in a caption or a heading."""
        if self.kind == STOPS:
            return json.dumps(list(value), ensure_ascii=False)
        if self.kind == INT:
            return number_text(value)
        if self.kind == FLOAT:
            return f"{value:g}"
        return str(value)


# Sampling parameters (FACTS): reasoning models answer 400; GPT-5.1+ only with reasoning_effort "none";
# deepseek-reasoner accepts them without effect.
_TOKEN_PRESETS = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)

_SAMPLING_REFUSED = {
    O_SERIES: Support(REJECTED),
    GPT5: Support(REJECTED),
    GPT5_1: Support(REJECTED, unless=("reasoning_effort", "none")),
    DEEPSEEK_REASONER: Support(IGNORED),
}
_REASONING_ONLY = {OPENAI_CHAT: Support(REJECTED)}  # OpenAI's non-reasoning chat models refuse these

MAX_TOP_LOGPROBS = 20  # Chat Completions takes top_logprobs 0–20 (FACTS)


def _read_logprobs(body: Mapping) -> int | None:
    top = body.get("top_logprobs")
    if body.get("logprobs") is True and isinstance(top, int) and not isinstance(top, bool) and top > 0:
        return top
    return None


_LOGPROBS_WIRE = Wire(
    fields=("logprobs", "top_logprobs"),
    send=lambda k: {"logprobs": True, "top_logprobs": k},
    read=_read_logprobs,
)

PARAMS: dict[str, Param] = {
    p.name: p
    for p in (
        Param(
            "temperature",
            FLOAT,
            "Temperature",
            "Randomness of sampling. 0 ≈ always the most likely token; above 1 gets wild.",
            default=1.0,
            widget=SLIDER,
            low=0.0,
            high=2.0,
            step=0.05,
            sweep_values="0, 0.4, 0.8, 1.2",
            families=_SAMPLING_REFUSED,
            responses="temperature",
        ),
        Param(
            "top_p",
            FLOAT,
            "Top P",
            "Nucleus sampling: only tokens within this cumulative probability are considered. "
            "Change this or temperature, rarely both.",
            default=1.0,
            widget=SLIDER,
            low=0.0,
            high=1.0,
            step=0.05,
            sweep_values="0.5, 1.0",
            families=_SAMPLING_REFUSED,
            responses="top_p",
        ),
        Param(
            "presence_penalty",
            FLOAT,
            "Presence penalty",
            "Positive values push the model toward new topics (penalise tokens that already appeared).",
            default=0.0,
            widget=SLIDER,
            low=-2.0,
            high=2.0,
            step=0.1,
            short="Presence",
            sweep_values="-1, 0, 1",
            families=_SAMPLING_REFUSED,
        ),
        Param(
            "frequency_penalty",
            FLOAT,
            "Frequency penalty",
            "Positive values penalise tokens by how often they appeared: less verbatim repetition.",
            default=0.0,
            widget=SLIDER,
            low=-2.0,
            high=2.0,
            step=0.1,
            short="Frequency",
            sweep_values="-1, 0, 1",
            families=_SAMPLING_REFUSED,
        ),
        Param(
            "max_tokens",
            INT,
            "Max tokens",
            "Upper bound on the reply's length in tokens (reasoning models: max_completion_tokens).",
            default=512,
            widget=SELECT_SLIDER,
            low=1,
            high=1_000_000,
            step=1,
            presets=_TOKEN_PRESETS,
            sweep_values="32, 128, 512",
            families={family: renamed("max_completion_tokens") for family in REASONING_FAMILIES},
            responses="max_output_tokens",
        ),
        Param(
            "max_completion_tokens",
            INT,
            "Max completion tokens",
            "Upper bound on everything the model generates, reasoning tokens included (the newer name "
            "of max_tokens; reasoning models take only this one).",
            default=4096,
            widget=SELECT_SLIDER,
            low=1,
            high=1_000_000,
            step=1,
            presets=_TOKEN_PRESETS,
            short="Max completion",
            sweep_values="256, 1024, 4096",
            responses="max_output_tokens",
        ),
        Param(
            "reasoning_effort",
            CHOICE,
            "Reasoning effort",
            "How much a reasoning model thinks before answering. Support differs per model: some take "
            "none or minimal, some xhigh or max.",
            default="medium",
            widget=SELECT,
            choices=("none", "minimal", "low", "medium", "high", "xhigh", "max"),
            short="Effort",
            sweep_values="low, medium, high",
            families={**_REASONING_ONLY, DEEPSEEK_REASONER: Support(IGNORED)},
            responses="reasoning.effort",
        ),
        Param(
            "verbosity",
            CHOICE,
            "Verbosity",
            "How long and detailed the answer is (GPT-5 family): low, medium or high.",
            default="medium",
            widget=SELECT,
            choices=("low", "medium", "high"),
            sweep_values="low, medium, high",
            families={**_REASONING_ONLY, O_SERIES: Support(REJECTED)},
            responses="text.verbosity",
        ),
        Param(
            "n",
            INT,
            "Choices (n)",
            "How many alternative replies to sample for the same request; all are shown.",
            default=1,
            widget=SLIDER,
            low=1,
            high=8,
            step=1,
            role_default=False,
            override=False,
        ),
        Param(
            "seed",
            INT,
            "Seed",
            "Best-effort determinism: same seed + same parameters should give the same reply.",
            default=42,
            widget=NUMBER_TEXT,
            low=-(2**63),
            high=2**63 - 1,
            step=1,
            sweep_values="1, 2, 3",
        ),
        Param(
            "stop",
            STOPS,
            "Stop sequences",
            f"One per line, up to {MAX_STOP_STRINGS}. Generation ends before any of them. "
            "Write \\n for a newline.",
            default=(),
            widget=STOPS_TEXT,
            override=False,
            families={family: Support(REJECTED) for family in REASONING_FAMILIES},
        ),
        Param(
            "user",
            TEXT,
            "User id",
            "An end-user identifier passed to the API (for abuse monitoring); not your name in the chat.",
            default="",
            widget=TEXT_INPUT,
            role_default=False,
            override=False,
            responses="user",
        ),
        Param(
            "logprobs",
            INT,
            "Token probabilities (top-k)",
            "Ask for each token's probability and its k most likely alternatives: the reply gets a token "
            "view. It does not change the reply. Reasoning models refuse it.",
            default=5,
            widget=SLIDER,
            low=1,
            high=MAX_TOP_LOGPROBS,
            step=1,
            short="Top-k",
            role_default=False,  # it observes a request; it says nothing about how a role answers
            override=False,
            # DeepSeek's docs: "Setting logprobs, top_logprobs will trigger an error" on deepseek-reasoner.
            families={family: Support(REJECTED) for family in (*REASONING_FAMILIES, DEEPSEEK_REASONER)},
            wire=_LOGPROBS_WIRE,
            responses_missing="Chat Lab reads token probabilities from Chat Completions only",
            droppable=True,
        ),
    )
}
PARAM_NAMES: tuple[str, ...] = tuple(PARAMS)
ROLE_PARAMS: tuple[str, ...] = tuple(n for n, p in PARAMS.items() if p.role_default)
SWEEPABLE: tuple[str, ...] = tuple(n for n, p in PARAMS.items() if p.sweepable)
OVERRIDES: tuple[str, ...] = tuple(n for n, p in PARAMS.items() if p.override)


class GenerationParams:
    """What the user chose to send: a parameter left unset is not sent, so the server's default applies.

    Immutable and hashable. Reading an unset parameter gives None (stop gives ()). Invalid values raise
    ParamError, unknown names TypeError.
    """

    __slots__ = ("_values",)

    def __init__(self, **values: Any) -> None:
        checked: dict[str, Any] = {}
        for name, value in values.items():
            param = PARAMS.get(name)
            if param is None:
                raise TypeError(f"unknown generation parameter {name!r}")
            if value is None or (isinstance(value, str | tuple | list) and not value):
                continue
            value = param.check(value)
            if value in ("", ()):
                continue
            checked[name] = value
        object.__setattr__(self, "_values", {n: checked[n] for n in PARAM_NAMES if n in checked})

    def __getattr__(self, name: str) -> Any:
        param = PARAMS.get(name)
        if param is None:
            raise AttributeError(name)
        return self._values.get(name, () if param.kind == STOPS else None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("GenerationParams is immutable; use replace()")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GenerationParams) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(self._values.items()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"GenerationParams({inner})"

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        """(name, value) of every parameter that is set, in table order."""
        return iter(self._values.items())

    def __bool__(self) -> bool:
        return bool(self._values)

    def as_dict(self) -> dict[str, Any]:
        """Only the parameters that were set, as plain JSON-able values (stop as a list)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self._values.items()}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, sort_keys=True)

    def describe(self) -> str:
        """'temperature=0.7, max_tokens=512' for captions; 'server defaults' when nothing is set."""
        return ", ".join(f"{k}={PARAMS[k].display(v)}" for k, v in self._values.items()) or "server defaults"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> GenerationParams:
        """From a stored, imported or typed dict: unknown keys and empty values are ignored, whole floats
        become ints where the parameter is whole; bad values raise ParamError."""
        kwargs = {}
        for name, value in (data or {}).items():
            param = PARAMS.get(name)
            if param is None or value is None or value == "":
                continue
            if param.kind == INT and isinstance(value, float) and value.is_integer():
                value = int(value)
            kwargs[name] = value
        return cls(**kwargs)

    def replace(self, **changes: Any) -> GenerationParams:
        """A copy with some parameters changed; a change to None unsets one."""
        return GenerationParams.from_dict({**self.as_dict(), **changes})

    def without(self, *names: str) -> GenerationParams:
        return GenerationParams.from_dict({k: v for k, v in self.as_dict().items() if k not in names})
