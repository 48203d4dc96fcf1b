"""A batch comparison's plan: panes (role prompts and/or parameter presets) × a test set's cases × k samples.

Each request is planned on the one message path (chatlab.turn: the pane's settings with the case's
variable values, the rendered prompt, the request builder), so the preview, the request sent and the
stored sample agree. Before anything is sent, `problems` lists what would block the run and
`estimate_cost` says what it may cost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chatlab.checks import Check, Judge
from chatlab.events import Usage
from chatlab.params import GenerationParams
from chatlab.prices import usage_cost
from chatlab.request import Request
from chatlab.roles.role import Role
from chatlab.roles.variables import MissingValues
from chatlab.testsets.model import TestCase, TestSet
from chatlab.tokens import count_message_tokens
from chatlab.turn import TurnSettings, plan_context, plan_request, role_settings

MAX_SAMPLES = 50
# A reply's length when max_tokens is not set, for the cost estimate only (said so in its note).
ASSUMED_REPLY_TOKENS = 300
ASSUMED_JUDGE_REPLY_TOKENS = 150


@dataclass(frozen=True)
class BatchPane:
    """One column of the results: the settings its requests use (a role's prompt, a model, parameters,
    default variable values) and the name it is shown under."""

    settings: TurnSettings
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.settings.role_name or self.settings.model)

    def record(self) -> dict:
        """The pane as a batch run stores it."""
        s = self.settings
        return {
            "label": self.label,
            "model": s.model,
            "role_name": s.role_name,
            "system_prompt": s.system_prompt,
            "few_shot": list(s.few_shot),
            "params": s.params.as_dict(),
            "values": dict(s.values),
            "endpoint_name": s.endpoint_name,
        }


def panes_for(
    roles: Sequence[Role],
    *,
    model: str,
    presets: Mapping[str, GenerationParams] | None = None,
    values: Mapping[str, str] | None = None,
    endpoint_name: str = "",
) -> list[BatchPane]:
    """Every role with every parameter preset (each role's own defaults when there are no presets)."""
    panes = []
    for role in roles:
        for preset, params in (presets or {"": None}).items():
            settings = role_settings(
                role, model=model, values=values, params=params, endpoint_name=endpoint_name
            )
            panes.append(BatchPane(settings, f"{role.name} · {preset}" if preset else role.name))
    return panes


@dataclass(frozen=True)
class BatchSpec:
    """What a batch run sends: every pane answers every case `samples` times."""

    panes: tuple[BatchPane, ...]
    test_set: TestSet
    samples: int = 1
    title: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "panes", tuple(self.panes))

    @property
    def total(self) -> int:
        return len(self.panes) * len(self.test_set.cases) * self.samples


@dataclass(frozen=True)
class Job:
    """One request: pane `pane` answers case `case` for the `sample`-th time."""

    pane: int
    case: int
    sample: int


def jobs(spec: BatchSpec) -> list[Job]:
    """Sample by sample, case by case, pane by pane: a cancelled run has about as many samples for every
    pane and case."""
    return [
        Job(p, c, k)
        for k in range(spec.samples)
        for c in range(len(spec.test_set.cases))
        for p in range(len(spec.panes))
    ]


def settings_for(pane: BatchPane, case: TestCase) -> TurnSettings:
    """The pane's settings for a case: the case's values over the pane's; one reply per request (n)."""
    params = pane.settings.params
    if params.n is not None:
        params = params.replace(n=None)  # samples are separate requests, never choices of one
    values = {**dict(pane.settings.values), **case.value_map()}
    return dataclasses.replace(pane.settings, params=params, values=values)


def plan_job(spec: BatchSpec, job: Job) -> Request:
    """The exact request a job sends; MissingValues when a variable has neither value nor default."""
    settings = settings_for(spec.panes[job.pane], spec.test_set.cases[job.case])
    return plan_request(settings, plan_context([], settings, spec.test_set.cases[job.case].message))


def problems(spec: BatchSpec, judge: Judge | None = None) -> list[str]:
    """What stops the run from starting, in plain words (empty: it may start)."""
    out = []
    if not spec.panes:
        out.append("Choose at least one role or parameter preset to run.")
    if not 1 <= spec.samples <= MAX_SAMPLES:
        out.append(f"Samples per case must be between 1 and {MAX_SAMPLES}.")
    for pane in spec.panes:
        missing: dict[tuple[str, ...], list[int]] = {}
        for i, case in enumerate(spec.test_set.cases, start=1):
            names = settings_for(pane, case).missing_values()
            if names:
                missing.setdefault(names, []).append(i)
        for names, cases in missing.items():
            which = f"case {cases[0]}" if len(cases) == 1 else f"{len(cases)} cases ({_ranges(cases)})"
            out.append(f"{pane.label}, {which}: {MissingValues(names)}")
    judged = any(
        c.kind == "judge" for i in range(len(spec.test_set.cases)) for c in spec.test_set.checks_for(i)
    )
    if judged and judge is None:
        out.append("The test set has judge checks: choose a judge model.")
    return out


def _ranges(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:8])
    return shown + (", …" if len(numbers) > 8 else "")


@dataclass(frozen=True)
class CostEstimate:
    """What a run may cost before it starts. Tokens are counted offline; replies are assumed to use all
    of max_tokens (or ASSUMED_REPLY_TOKENS when it is not set), so the cost is an upper-end estimate."""

    requests: int
    judge_requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # None when a model has no known price
    unpriced_models: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        text = (
            f"{self.requests:,} requests"
            + (f" and {self.judge_requests:,} judge requests" if self.judge_requests else "")
            + f", about {self.prompt_tokens:,} prompt and up to {self.completion_tokens:,} reply tokens"
        )
        if self.cost_usd is not None:
            text += f": up to about ${self.cost_usd:,.4f}"
        if self.unpriced_models:
            text += f" (no price known for {', '.join(self.unpriced_models)})"
        return text + "."


def _reply_tokens(params: GenerationParams) -> int:
    return params.max_tokens or ASSUMED_REPLY_TOKENS


def estimate_cost(spec: BatchSpec, judge: Judge | None = None) -> CostEstimate:
    """Tokens and dollars for every request of the run (planned cases only: missing values are skipped)."""
    requests = judge_requests = prompt = completion = 0
    cost = 0.0
    unpriced: list[str] = []

    def add(model: str, tokens_in: int, tokens_out: int, times: int) -> None:
        nonlocal prompt, completion, cost
        prompt += tokens_in * times
        completion += tokens_out * times
        dollars = usage_cost(model, Usage(tokens_in, tokens_out))
        if dollars is None:
            if model not in unpriced:
                unpriced.append(model)
        else:
            cost += dollars * times

    for p, pane in enumerate(spec.panes):
        for c, case in enumerate(spec.test_set.cases):
            try:
                request = plan_job(spec, Job(p, c, 0))
            except MissingValues:
                continue
            reply_tokens = _reply_tokens(settings_for(pane, case).params)
            requests += spec.samples
            add(pane.settings.model, count_message_tokens(request.messages), reply_tokens, spec.samples)
            for check in spec.test_set.checks_for(c):
                if check.kind == "judge" and judge is not None:
                    assumed = "x " * reply_tokens
                    grading = count_message_tokens(judge.messages(_ungraded(check), case.message, assumed))
                    judge_requests += spec.samples
                    add(judge.model, grading, ASSUMED_JUDGE_REPLY_TOKENS, spec.samples)
    return CostEstimate(
        requests=requests,
        judge_requests=judge_requests,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_usd=None if unpriced else cost,
        unpriced_models=tuple(unpriced),
    )


def _ungraded(check: Check) -> Check:
    # The estimate must not fail on a grader role the judge does not know: it only counts tokens.
    return dataclasses.replace(check, grader="") if check.grader else check
