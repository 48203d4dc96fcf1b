"""Generation parameters: a typed, validated object holding only what the user chose to send."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from chatlab.capabilities import capabilities_for

# (low, high) bounds as documented by the Chat Completions API.
RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
    "max_tokens": (1, 1_000_000),
    "n": (1, 8),
    "seed": (-(2**63), 2**63 - 1),
}
SAMPLING_PARAMS = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
MAX_STOP_STRINGS = 4


class ParamError(ValueError):
    """A parameter outside the range the API accepts."""


@dataclass(frozen=True)
class GenerationParams:
    """What the user set; a field left at None is not sent, so the server's default applies."""

    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    max_tokens: int | None = None
    n: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    user: str | None = None

    def __post_init__(self) -> None:
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ParamError(f"{name} must be a number, got {value!r}")
            if name in ("max_tokens", "n", "seed") and int(value) != value:
                raise ParamError(f"{name} must be a whole number, got {value!r}")
            if not low <= value <= high:
                raise ParamError(f"{name} must be between {low:g} and {high:g}, got {value:g}")
        stop = tuple(s for s in (self.stop or ()) if s)
        if len(stop) > MAX_STOP_STRINGS:
            raise ParamError(f"stop takes at most {MAX_STOP_STRINGS} strings, got {len(stop)}")
        object.__setattr__(self, "stop", stop)
        if self.user is not None and not self.user.strip():
            object.__setattr__(self, "user", None)

    def as_dict(self) -> dict:
        """Only the parameters that were set, as plain JSON-able values."""
        out = {}
        for key, value in asdict(self).items():
            if value is None or value == ():
                continue
            out[key] = list(value) if key == "stop" else value
        return out

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict | None) -> GenerationParams:
        """Build from a stored or imported dict; unknown keys are ignored, bad values raise ParamError."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known and v is not None and v != ""}
        if isinstance(kwargs.get("stop"), str):
            kwargs["stop"] = (kwargs["stop"],)
        if "stop" in kwargs:
            kwargs["stop"] = tuple(kwargs["stop"])
        for key in ("max_tokens", "n", "seed"):
            if key in kwargs and isinstance(kwargs[key], float) and kwargs[key].is_integer():
                kwargs[key] = int(kwargs[key])
        return cls(**kwargs)

    def replace(self, **changes) -> GenerationParams:
        return GenerationParams.from_dict({**self.as_dict(), **changes})


PARAM_NAMES: tuple[str, ...] = tuple(f.name for f in fields(GenerationParams))


@dataclass(frozen=True)
class RequestPlan:
    """The keyword arguments for `chat.completions.create` plus notes on what was left out and why."""

    kwargs: dict
    notes: tuple[str, ...] = ()


def request_kwargs(model: str, params: GenerationParams) -> RequestPlan:
    """Translate params into API arguments for this model, following the capability table."""
    caps = capabilities_for(model)
    chosen = params.as_dict()
    kwargs: dict = {}
    notes: list[str] = []
    for key, value in chosen.items():
        if key in SAMPLING_PARAMS and not caps.sampling:
            notes.append(f"{key} not sent: {caps.why}")
            continue
        if key == "max_tokens" and caps.max_completion_tokens:
            kwargs["max_completion_tokens"] = value
            notes.append(f"max_tokens sent as max_completion_tokens: {caps.why}")
            continue
        if key == "stop" and not caps.stop:
            notes.append(f"stop not sent: {caps.why}")
            continue
        kwargs[key] = value
    return RequestPlan(kwargs=kwargs, notes=tuple(notes))
