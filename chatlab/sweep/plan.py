"""Planning a parameter sweep: the grid of settings, the requests it takes, and the values people type.

A sweep is a grid — the cartesian product of one or two parameter axes — with `samples` replies per
point. SweepSpec checks a plan before anything is sent; chatlab.sweep runs it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chatlab.capabilities import capabilities_for
from chatlab.context import build_context
from chatlab.estimate import CostEstimate, RunPart, estimate_run
from chatlab.params import PARAM_NAMES, PARAMS, REJECTED, SWEEPABLE, GenerationParams, ParamError
from chatlab.roles.variables import Variable, render_prompt
from chatlab.tokens import count_message_tokens

MAX_AXES = 2
MAX_SAMPLES = 20
MAX_REPLIES = 400  # settings × samples: what a sweep may ask the model to generate in one run
# `n` is not an axis (samples and use_n decide it); the table says which parameters are (SWEEPABLE).
MAX_N = int(PARAMS["n"].high)  # the most choices one request asks for; more samples take more requests

Values = tuple[tuple[str, object], ...]


@dataclass(frozen=True, kw_only=True)
class SweepSpec:
    """What to sweep: one prompt (after an optional system prompt, few-shot and history) over a grid.

    `axes`: one or two (parameter name, values) pairs; a value None means "not sent" (server default).
    `base_params`: the fixed parameters; its `n` is ignored, because the sweep sets n itself (nothing on
    repeated calls; `n=samples`, at most MAX_N per request, with `use_n`). Invalid specs raise
    ValueError with a message for the user.
    """

    model: str
    system_prompt: str = ""
    few_shot: tuple[dict, ...] = ()
    history: tuple[dict, ...] = ()
    prompt: str
    base_params: GenerationParams = GenerationParams()
    axes: tuple[tuple[str, tuple], ...]
    samples: int = 3
    use_n: bool = False
    # Values for the placeholders of system_prompt and few_shot (see chatlab.roles.variables); `variables`
    # carries a role's declared defaults. A variable with neither raises MissingValues (a ValueError).
    variables: tuple[Variable, ...] = ()
    values: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.values, Mapping):
            object.__setattr__(self, "values", tuple((str(k), str(v)) for k, v in self.values.items()))
        if not self.model or not self.model.strip():
            raise ValueError("Choose a model for the sweep.")
        if not self.prompt or not self.prompt.strip():
            raise ValueError("The prompt is empty.")
        if isinstance(self.samples, bool) or not isinstance(self.samples, int):
            raise ValueError(f"samples must be a whole number, got {self.samples!r}")
        if not 1 <= self.samples <= MAX_SAMPLES:
            raise ValueError(f"samples must be between 1 and {MAX_SAMPLES}, got {self.samples}")
        object.__setattr__(self, "few_shot", tuple(dict(m) for m in self.few_shot))
        object.__setattr__(self, "history", tuple(dict(m) for m in self.history))
        render_prompt(self.system_prompt, self.few_shot, dict(self.values), self.variables)  # missing values
        base = self.base_params.replace(n=None)
        object.__setattr__(self, "base_params", base)
        object.__setattr__(self, "axes", _check_axes(self.model, base, self.axes))
        replies = self.points * self.samples
        if replies > MAX_REPLIES:
            sizes = " × ".join(str(len(values)) for _, values in self.axes)
            each = "sample" if self.samples == 1 else "samples"
            raise ValueError(
                f"This sweep asks for {replies} replies ({sizes} settings × {self.samples} {each}); "
                f"the limit is {MAX_REPLIES}. Use fewer values or fewer samples."
            )

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.axes)

    @property
    def points(self) -> int:
        """How many settings the grid has."""
        return math.prod(len(values) for _, values in self.axes)

    @property
    def total_samples(self) -> int:
        return self.points * self.samples

    @property
    def calls(self) -> int:
        """How many requests the sweep sends."""
        return self.points * len(request_batches(self))


def _check_axes(model: str, base: GenerationParams, axes) -> tuple[tuple[str, tuple], ...]:
    """The axes with values normalised as GenerationParams stores them; ValueError naming what is wrong."""
    axes = tuple(axes or ())
    if not 1 <= len(axes) <= MAX_AXES:
        raise ValueError(f"A sweep varies one or two parameters; got {len(axes)}.")
    caps = capabilities_for(model)
    out = []
    for axis in axes:
        try:
            name, values = axis
        except (TypeError, ValueError):
            raise ValueError(f"Each axis is a (parameter name, values) pair; got {axis!r}.") from None
        if name not in PARAM_NAMES:
            raise ValueError(f"Unknown parameter {name!r}; a sweep can vary {', '.join(SWEEPABLE)}.")
        if name not in SWEEPABLE:
            why = "use samples (and 'use n') instead" if name == "n" else "it has no list of values to try"
            raise ValueError(f"{name} cannot be swept: {why}. Sweepable: {', '.join(SWEEPABLE)}.")
        if name in (n for n, _ in out):
            raise ValueError(f"{name} appears twice; give each parameter one axis.")
        if caps.support(name).status == REJECTED:
            raise ValueError(f"Sweeping {name} is pointless: {model} does not accept it ({caps.why}).")
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise ValueError(f"{name}: the values must be a list, got {values!r}.")
        values = tuple(values)
        if not values:
            raise ValueError(f"{name}: give at least one value.")
        normalised = []
        for value in values:
            try:
                params = base.replace(**{name: value})
            except (ParamError, TypeError) as exc:
                raise ValueError(f"{name}: the value {value!r} is not valid — {exc}.") from None
            value = getattr(params, name)
            if value in normalised:
                raise ValueError(f"{name}: the value {value!r} is listed twice.")
            normalised.append(value)
        out.append((name, tuple(normalised)))
    return tuple(out)


def request_batches(spec: SweepSpec) -> list[tuple[int, int]]:
    """(first sample index, number of samples) per request of one setting."""
    if not spec.use_n:
        return [(i, 1) for i in range(spec.samples)]
    return [(i, min(MAX_N, spec.samples - i)) for i in range(0, spec.samples, MAX_N)]


@dataclass(frozen=True)
class SweepPoint:
    """One setting of the grid: the swept values in axis order, and the full parameters sent."""

    values: Values
    params: GenerationParams

    @property
    def label(self) -> str:
        """ "temperature=0.4, top_p=1" ("default" for a value left to the server)."""
        return ", ".join(f"{name}={_format_value(v)}" for name, v in self.values)


def _format_value(value: object) -> str:
    if value is None:
        return "default"
    return f"{value:g}" if isinstance(value, float) else str(value)


def grid(spec: SweepSpec) -> list[SweepPoint]:
    """The cartesian product of the axes, the first axis varying slowest."""
    names = spec.axis_names
    points = []
    for combo in itertools.product(*(values for _, values in spec.axes)):
        values = tuple(zip(names, combo, strict=True))
        points.append(SweepPoint(values=values, params=spec.base_params.replace(**dict(values))))
    return points


def messages_for(spec: SweepSpec) -> list[dict]:
    """The messages every call of the sweep sends: system prompt, few-shot (both rendered), history, prompt."""
    system_prompt, few_shot = render_prompt(
        spec.system_prompt, spec.few_shot, dict(spec.values), spec.variables
    )
    return build_context(
        system_prompt=system_prompt,
        history=spec.history,
        user_text=spec.prompt,
        depth=None,
        few_shot=few_shot,
    ).messages


def parse_values(name: str, text: str) -> tuple:
    """Values typed as '0, 0.4, 0.8' (commas or spaces) for parameter `name`; ValueError says what is wrong."""
    if name not in SWEEPABLE:
        raise ValueError(f"{name} cannot be swept; choose one of {', '.join(SWEEPABLE)}")
    param = PARAMS[name]
    values = []
    for piece in text.replace(",", " ").split():
        try:
            values.append(param.parse(piece))
        except ParamError as exc:
            raise ValueError(str(exc)) from None
    if not values:
        raise ValueError(f"{name}: type at least one value, e.g. {param.sweep_values}")
    return tuple(values)


def estimate_cost(spec: SweepSpec, expected_reply_tokens: float | None = None) -> CostEstimate:
    """What running the sweep will cost (chatlab.estimate): its exact prompt on every request, replies of
    `expected_reply_tokens` (a stated default when None), capped by each setting's max_tokens."""
    prompt_tokens = count_message_tokens(messages_for(spec))
    requests = len(request_batches(spec))
    return estimate_run(
        [
            RunPart(
                model=spec.model,
                prompt_tokens=prompt_tokens,
                requests=requests,
                replies=spec.samples,
                max_tokens=point.params.max_tokens,
                expected_reply_tokens=expected_reply_tokens,
            )
            for point in grid(spec)
        ]
    )
