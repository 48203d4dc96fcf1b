"""The capability probe: which parameters an endpoint and model accept, reject, ignore or rename.

A name-pattern table (chatlab.capabilities) breaks at every model release and says nothing about a server
that silently ignores a parameter. The probe asks: a handful of tiny requests, each parameter classified
from what actually came back —

- accepted: the server took it (and, where it can be seen, it had its effect);
- rejected: the server answered 400 naming it (the server's own message is kept);
- ignored: taken without effect (n gave one choice, equal seeds did not repeat, stop did not stop, a
  token cap did not cap, logprobs did not come back);
- renamed: refused under this name, taken under another (max_tokens → max_completion_tokens).

Findings are stored per endpoint and model with their date; the request builder follows them (falling
back to the model-family table), and a 400 met in a normal chat is recorded the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from chatlab.capabilities import Capabilities, capabilities_for
from chatlab.endpoint import Endpoint
from chatlab.events import ParamDropped, StreamDone, StreamError, TextDelta, TokenLogprobs
from chatlab.params import ACCEPTED, IGNORED, PARAMS, REJECTED, RENAMED, GenerationParams, Support
from chatlab.prices import cost_usd
from chatlab.request import CHAT, RESPONSES, build_request
from chatlab.tokens import count_tokens

UNTESTED = "untested"

COUNT_PROMPT = "Count from 1 to 30, numbers only, separated by spaces."
SHORT_PROMPT = "Reply with the single word OK."
VARIED_PROMPT = "Write one short, unusual sentence about any animal."
COUNT_CAP = 5  # the token cap the probe asks for
STOP_AT = "7"
LATER_CAP = 40


@dataclass(frozen=True)
class Finding:
    """What the probe (or a refused request) found out about one parameter."""

    status: str  # accepted | rejected | ignored | renamed | untested
    detail: str = ""  # in words: the server's message, or what was seen
    renamed_to: str | None = None

    def support(self) -> Support | None:
        """How the request builder should treat the parameter; None when nothing is known."""
        if self.status == REJECTED:
            return Support(REJECTED)
        if self.status == RENAMED and self.renamed_to:
            return Support(RENAMED, self.renamed_to)
        if self.status == IGNORED:
            return Support(IGNORED)
        if self.status == ACCEPTED:
            return Support(ACCEPTED)
        return None


@dataclass(frozen=True)
class ProbeReport:
    """Every parameter's finding for one endpoint, model and protocol, and what the probe cost."""

    model: str
    protocol: str
    probed_at: str
    findings: dict[str, Finding]
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    failure: str | None = None  # the model did not answer at all (e.g. 404 not a chat model)

    def to_record(self) -> dict:
        """As stored: JSON-able."""
        return {
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
            "failure": self.failure,
            "findings": {name: asdict(f) for name, f in self.findings.items()},
        }

    @classmethod
    def from_record(cls, model: str, protocol: str, probed_at: str, record: dict) -> ProbeReport:
        findings = {
            name: Finding(**value) for name, value in (record.get("findings") or {}).items() if name in PARAMS
        }
        return cls(
            model=model,
            protocol=protocol,
            probed_at=probed_at,
            findings=findings,
            requests=record.get("requests", 0),
            prompt_tokens=record.get("prompt_tokens", 0),
            completion_tokens=record.get("completion_tokens", 0),
            cost_usd=record.get("cost_usd"),
            failure=record.get("failure"),
        )

    def capabilities(self) -> Capabilities:
        """The model-family table's view, with what the probe found in its place."""
        return capabilities_with(self.model, self.findings, self.probed_at)


def capabilities_with(model: str, findings: dict[str, Finding], probed_at: str) -> Capabilities:
    base = capabilities_for(model)
    overrides = {}
    reasons = {}
    day = probed_at[:10]
    for name, finding in findings.items():
        support = finding.support()
        if support is None:
            continue
        overrides[name] = support
        if finding.detail:
            reasons[name] = f"found on {day}: {finding.detail.rstrip('. ')}"  # it sits inside parentheses
    return Capabilities(
        model=model,
        family=base.family,
        why=base.why,
        source=f"the capability probe of {day}",
        overrides=overrides,
        reasons=reasons,
    )


def endpoint_key(endpoint: Endpoint) -> str:
    """How findings are filed: the endpoint's name and URL (never a key)."""
    return f"{endpoint.name} {endpoint.display_url}"


def refused_param(error: StreamError | None, body: dict) -> str | None:
    """The body field a 400 refuses, when it names one the body holds (error.param or 'name' in its text)."""
    if error is None or error.status != 400:
        return None
    if error.param and error.param in body:
        return error.param
    for name in re.findall(r"'([a-z_]+)'", error.message):
        if name in body and name not in ("model", "messages", "input", "stream"):
            return name
    return None


def table_name(field_name: str) -> str | None:
    """The parameter-table name of a body field (max_completion_tokens may stand for max_tokens)."""
    if field_name in PARAMS:
        return field_name
    return next((n for n, p in PARAMS.items() if field_name in p.fields), None)


# Running the probe ---------------------------------------------------------------------------------


@dataclass
class _Reply:
    body: dict
    texts: dict[int, str] = field(default_factory=dict)
    done: StreamDone | None = None
    dropped: ParamDropped | None = None  # the client sent it again without a parameter it refused
    token_probabilities: bool = False

    @property
    def error(self) -> StreamError | None:
        return self.done.error if self.done else None

    @property
    def text(self) -> str:
        return self.texts.get(0, "")

    def completion_tokens(self) -> int:
        usage = self.done.usage if self.done else None
        if usage is not None and not usage.estimated:
            return usage.completion_tokens - usage.reasoning_tokens
        return count_tokens(self.text)


@dataclass(frozen=True)
class ProbeStep:
    """One request of the probe, in words for the progress line."""

    key: str
    what: str
    prompt: str
    params: GenerationParams


def planned_steps(protocol: str = CHAT) -> list[ProbeStep]:
    """The requests a probe sends, in order (more only when a server refuses several parameters at once)."""
    steps = [
        ProbeStep("baseline", "a plain request", COUNT_PROMPT, GenerationParams()),
        ProbeStep(
            "max_tokens",
            f"a cap of {COUNT_CAP} tokens (max_tokens)",
            COUNT_PROMPT,
            GenerationParams(max_tokens=COUNT_CAP),
        ),
        ProbeStep(
            "max_completion_tokens",
            f"a cap of {COUNT_CAP} tokens (max_completion_tokens)",
            COUNT_PROMPT,
            GenerationParams(max_completion_tokens=COUNT_CAP),
        ),
        ProbeStep("simple", "the simple parameters together", SHORT_PROMPT, GenerationParams(**_SIMPLE)),
    ]
    if protocol == CHAT:
        steps += [
            ProbeStep("stop", f'stop at "{STOP_AT}"', COUNT_PROMPT, GenerationParams(stop=(STOP_AT,))),
            ProbeStep("n", "two choices (n=2)", SHORT_PROMPT, GenerationParams(n=2)),
            ProbeStep(
                "logprobs", "token probabilities (logprobs)", SHORT_PROMPT, GenerationParams(logprobs=3)
            ),
            *[
                ProbeStep(f"seed{i}", f"seed 4242, reply {i}", VARIED_PROMPT, GenerationParams(seed=4242))
                for i in (1, 2)
            ],
            *[
                ProbeStep(f"unseeded{i}", f"no seed, reply {i}", VARIED_PROMPT, GenerationParams())
                for i in (1, 2)
            ],
        ]
    return steps


# Parameters whose effect the probe does not try to see: accepted or rejected is what it learns.
_SIMPLE = {
    "temperature": 0.7,
    "top_p": 0.9,
    "presence_penalty": 0.5,
    "frequency_penalty": 0.5,
    "user": "chatlab-probe",
    "reasoning_effort": "low",
    "verbosity": "low",
}


def estimate(model: str, protocol: str = CHAT) -> tuple[int, int, float | None]:
    """(requests, tokens, cost) the probe will roughly spend, to show before it runs."""
    steps = planned_steps(protocol)
    prompt = sum(count_tokens(s.prompt) + 12 for s in steps)
    completion = 60 * len(steps)
    return len(steps), prompt + completion, cost_usd(model, prompt, completion)


def run_probe(
    client,
    model: str,
    *,
    protocol: str = CHAT,
    on_step: Callable[[int, int, str], None] | None = None,
) -> ProbeReport:
    """Send the probe's requests to `model` through `client` and classify every parameter."""
    findings: dict[str, Finding] = {}
    cap: dict[str, int] = {}  # the token cap later requests carry, once one is known to work
    spent = [0, 0, 0.0, 0]  # prompt tokens, completion tokens, cost, requests
    priced = [True]
    planned = planned_steps(protocol)
    steps = {step.key: step for step in planned}
    total = len(planned)

    def ask(step: ProbeStep, params: GenerationParams | None = None) -> _Reply:
        params = params if params is not None else step.params
        if not set(params.as_dict()) & {"max_tokens", "max_completion_tokens"}:
            params = params.replace(**dict(list(cap.items())[:1]))
        spent[3] += 1
        if on_step is not None:
            on_step(spent[3], total, step.what)
        request = build_request(
            model,
            [{"role": "user", "content": step.prompt}],
            params,
            capabilities=Capabilities(model=model),  # nothing left out: the probe asks the server
            protocol=protocol,
        )
        reply = _Reply(body=request.body)
        for event in client.stream(request):
            if isinstance(event, TextDelta):
                reply.texts[event.choice] = reply.texts.get(event.choice, "") + event.text
            elif isinstance(event, TokenLogprobs):
                reply.token_probabilities = True
            elif isinstance(event, ParamDropped):
                reply.dropped = event
            elif isinstance(event, StreamDone):
                reply.done = event
        usage = reply.done.usage if reply.done else None
        if usage is not None:
            spent[0] += usage.prompt_tokens
            spent[1] += usage.completion_tokens
            cost = cost_usd(model, usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens)
            if cost is None:
                priced[0] = False
            else:
                spent[2] += cost
        return reply

    def report(failure: str | None = None) -> ProbeReport:
        for name in PARAMS:
            findings.setdefault(name, Finding(UNTESTED, "not tried"))
        return ProbeReport(
            model=model,
            protocol=protocol,
            probed_at=datetime.now(UTC).isoformat(timespec="seconds"),
            findings=findings,
            requests=spent[3],
            prompt_tokens=spent[0],
            completion_tokens=spent[1],
            cost_usd=spent[2] if priced[0] else None,
            failure=failure,
        )

    baseline = ask(steps["baseline"])
    if baseline.error is not None:
        return report(f"The model did not answer a plain request: {baseline.error.message}")

    for name in ("max_tokens", "max_completion_tokens"):
        capped = ask(steps[name])
        if capped.error is not None:
            other = "max_completion_tokens" if name == "max_tokens" else "max_tokens"
            if other in capped.error.message:
                findings[name] = Finding(RENAMED, capped.error.message, renamed_to=other)
            else:
                findings[name] = Finding(REJECTED, capped.error.message)
            continue
        got = capped.completion_tokens()
        finish = capped.done.finish_reasons.get(0)
        if finish == "length" or got <= COUNT_CAP + 1:
            findings[name] = Finding(ACCEPTED, f"a cap of {COUNT_CAP} tokens gave {got}")
            # Later steps need no long replies: they are capped with what works (a slow local model
            # would otherwise spend minutes on them).
            cap.setdefault(name, LATER_CAP)
        else:
            findings[name] = Finding(IGNORED, f"a cap of {COUNT_CAP} tokens gave {got} tokens")
    if findings["max_tokens"].status == RENAMED and findings["max_completion_tokens"].status not in (
        ACCEPTED,
        IGNORED,
    ):
        findings["max_tokens"] = Finding(REJECTED, findings["max_tokens"].detail)

    if protocol == RESPONSES:
        for name, param in PARAMS.items():
            if param.responses is None:
                findings[name] = Finding(REJECTED, "the Responses API has no such parameter")

    # The simple parameters together; each one a 400 names is taken out and the rest sent again.
    step = steps["simple"]
    remaining = {name: value for name, value in _SIMPLE.items() if name not in findings}
    for _ in range(len(_SIMPLE) + 1):
        reply = ask(step, GenerationParams(**remaining))
        refused = refused_param(reply.error, reply.body)
        if reply.error is None:
            for name in remaining:
                findings[name] = Finding(ACCEPTED, "the server took it")
            break
        if refused is None or table_name(refused) not in remaining:
            # A failure that names nothing: try each alone, so one refusal does not hide the others.
            for name, value in remaining.items():
                alone = ask(step, GenerationParams(**{name: value}))
                findings[name] = (
                    Finding(ACCEPTED, "the server took it")
                    if alone.error is None
                    else Finding(REJECTED, alone.error.message)
                )
            break
        findings[table_name(refused)] = Finding(REJECTED, reply.error.message)
        remaining.pop(table_name(refused))
        if not remaining:
            break

    if protocol == RESPONSES:
        return report()

    findings["stop"] = _stop_finding(ask(steps["stop"]))
    two = ask(steps["n"])
    if two.error is not None:
        findings["n"] = Finding(REJECTED, two.error.message)
    elif len(two.texts) >= 2:
        findings["n"] = Finding(ACCEPTED, "n=2 gave two choices")
    else:
        findings["n"] = Finding(IGNORED, "n=2 gave one choice")
    probabilities = ask(steps["logprobs"])
    if probabilities.dropped is not None or probabilities.error is not None:
        why = probabilities.dropped.reason if probabilities.dropped else probabilities.error.message
        findings["logprobs"] = Finding(REJECTED, why)
    elif probabilities.token_probabilities:
        findings["logprobs"] = Finding(ACCEPTED, "token probabilities came back")
    else:
        findings["logprobs"] = Finding(IGNORED, "no token probabilities came back")
    seeded = [ask(steps["seed1"]), ask(steps["seed2"])]
    unseeded = [ask(steps["unseeded1"]), ask(steps["unseeded2"])]
    findings["seed"] = _seed_finding(seeded, unseeded)
    return report()


def _stop_finding(reply: _Reply) -> Finding:
    if reply.error is not None:
        return Finding(REJECTED, reply.error.message)
    words = reply.text.split()
    if STOP_AT in words:
        return Finding(IGNORED, f'stop "{STOP_AT}" did not stop the count: “{reply.text.strip()[:60]}”')
    if words and words[-1].isdigit() and int(words[-1]) < int(STOP_AT):
        return Finding(ACCEPTED, f'the count stopped before "{STOP_AT}"')
    return Finding(
        ACCEPTED, f'the server took it; the reply never reached "{STOP_AT}", so its effect was not seen'
    )


def _seed_finding(seeded: list[_Reply], unseeded: list[_Reply]) -> Finding:
    errors = [r.error for r in seeded if r.error is not None]
    if errors:
        return Finding(REJECTED, errors[0].message)
    same_seeded = seeded[0].text == seeded[1].text
    same_unseeded = len(unseeded) == 2 and unseeded[0].text == unseeded[1].text
    if not same_seeded:
        return Finding(IGNORED, "two requests with the same seed gave different replies")
    if same_unseeded:
        return Finding(
            ACCEPTED, "equal seeds repeated, but so did requests without a seed: its effect was not seen"
        )
    return Finding(ACCEPTED, "equal seeds repeated the reply; without a seed the replies differed")


# Findings in the store ------------------------------------------------------------------------------


def stored_report(store, endpoint: str, model: str, protocol: str) -> ProbeReport | None:
    """The latest findings for this endpoint and model (a probe, or refusals met in chats)."""
    found = store.probe(endpoint, model, protocol)
    if found is None:
        return None
    probed_at, record = found
    return ProbeReport.from_record(model, protocol, probed_at, record)


def stored_capabilities(store, endpoint: str, model: str, protocol: str) -> Capabilities | None:
    """What the request builder should follow for this model, when anything was found out about it."""
    report = stored_report(store, endpoint, model, protocol)
    return report.capabilities() if report is not None and report.findings else None


def record_refusal(store, endpoint: str, model: str, protocol: str, param: str, message: str) -> None:
    """Add one parameter a server refused during a normal chat to the stored findings (kept with any
    earlier probe's), so the next request leaves it out up front."""
    report = stored_report(store, endpoint, model, protocol)
    record = report.to_record() if report is not None else {"requests": 0, "findings": {}}
    record["findings"][param] = asdict(Finding(REJECTED, message))
    now = datetime.now(UTC).isoformat(timespec="seconds")
    store.save_probe(endpoint, model, protocol, report.probed_at if report else now, record)
