"""Running a parameter sweep: several sampled replies per setting of one or two parameters.

The plan (SweepSpec, the grid) is in chatlab.sweep.plan, the tables and statistics of the results in
chatlab.sweep.table, the context-depth ablation — which shares the same pool — in chatlab.sweep.ablation.
Calls run on a small thread pool (chatlab.sweep.pool) and come back as they finish. Nothing is cached:
measuring the spread of fresh samples is the point, so every run sends its requests.

Cancelling (or closing the iterator) stops launching calls and closes the running ones: each worker
checks between stream events and closes its stream, which drops the connection. The iterator ends at
once rather than waiting for them — a worker blocked on a silent server only notices at its next event
(or the endpoint's timeout) — and replies cut short are not reported, so statistics only ever see
whole replies. Everything that finished before was already yielded.
"""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from chatlab.events import StreamDone, TextDelta
from chatlab.prices import usage_cost
from chatlab.request import build_request
from chatlab.sweep.plan import SweepPoint, SweepSpec, Values, grid, messages_for, request_batches
from chatlab.sweep.pool import run_jobs
from chatlab.textstats import looks_like_refusal
from chatlab.tokens import count_tokens


@dataclass(frozen=True)
class Sample:
    """One sampled reply of one setting.

    With `use_n` one request returns several samples: the request's prompt tokens, cost and throughput
    are recorded on its first sample only (so sums stay right), and each sample's completion tokens are
    counted offline from its text (`usage_estimated` True) because servers report usage per request,
    not per choice.
    """

    values: Values
    index: int
    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    usage_estimated: bool
    ttft_s: float | None
    duration_s: float | None
    tokens_per_s: float | None
    cost_usd: float | None  # None: unknown price, or a request that failed before generating anything
    error: str | None
    refusal: bool
    reasoning_tokens: int | None = None  # part of completion_tokens, as the server reported it

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class _Call:
    point: SweepPoint
    first: int
    count: int


def run_sweep(
    client,
    spec: SweepSpec,
    *,
    max_workers: int = 4,
    cancel: threading.Event | None = None,
    on_sample: Callable[[Sample], None] | None = None,
) -> Iterator[Sample]:
    """Send every call of the sweep, at most `max_workers` at once, and yield Samples as they finish.

    Calls go out sample by sample across the grid (sample 0 of every setting, then sample 1, …), so a
    cancelled sweep has about as many samples for each setting. A failed call yields samples with
    `error` set and the sweep goes on. `on_sample` is called in the iterating thread just before each
    yield. Cancelling and closing: see the module docstring. A bad `max_workers` raises ValueError here,
    before anything is sent.
    """
    messages = messages_for(spec)
    points = grid(spec)
    calls = [_Call(point, first, count) for first, count in request_batches(spec) for point in points]

    def work(call: _Call, stop: threading.Event) -> list[Sample] | None:
        return _sample_call(client, spec, messages, call, stop)

    results = run_jobs(calls, work, max_workers=max_workers, cancel=cancel)
    return _flatten(results, on_sample)


def _flatten(results, on_sample: Callable[[Sample], None] | None) -> Iterator[Sample]:
    # Closing this generator must close `results` (its pool) at once: a for loop never closes its iterator.
    with contextlib.closing(results):
        for call, result in results:
            samples = _failed_call(call, result) if isinstance(result, BaseException) else result
            for sample in samples:
                if on_sample is not None:
                    on_sample(sample)
                yield sample


def _sample_call(
    client, spec: SweepSpec, messages: list[dict], call: _Call, stop: threading.Event
) -> list[Sample] | None:
    """One request; its samples, or None when the sweep was cancelled before it finished."""
    params = call.point.params.replace(n=call.count) if call.count > 1 else call.point.params
    texts: dict[int, list[str]] = defaultdict(list)
    done: StreamDone | None = None
    stream = client.stream(build_request(spec.model, messages, params))
    try:
        for event in stream:
            if stop.is_set():
                return None
            if isinstance(event, TextDelta):
                texts[event.choice].append(event.text)
            elif isinstance(event, StreamDone):
                done = event
    finally:
        stream.close()  # drops the connection when cut short
    if done is None:
        return _failed_call(call, RuntimeError("the stream ended without a summary"))

    usage, timings = done.usage, done.timings  # usage None: refused before any token, not billed
    error = done.error.message if done.error is not None else None
    cost = usage_cost(done.model or spec.model, usage)
    shared = call.count > 1
    samples = []
    for k in range(call.count):
        text = "".join(texts.get(k, ()))
        sample_error = error
        if sample_error is None and k not in texts and k not in done.finish_reasons:
            sample_error = f"The endpoint returned no choice {k} — it may not support n; turn off 'use n'."
        first = k == 0
        samples.append(
            Sample(
                values=call.point.values,
                index=call.first + k,
                text=text,
                finish_reason=done.finish_reasons.get(k),
                prompt_tokens=usage.prompt_tokens if first and usage else None,
                completion_tokens=(count_tokens(text) if shared else usage.completion_tokens)
                if usage
                else None,
                usage_estimated=(shared or usage.estimated) if usage else False,
                ttft_s=timings.ttft_s,
                duration_s=timings.duration_s,
                tokens_per_s=timings.tokens_per_s if first else None,
                cost_usd=cost if first else None,
                error=sample_error,
                refusal=looks_like_refusal(text),
                reasoning_tokens=(usage.reasoning_tokens or None) if first and usage else None,
            )
        )
    return samples


def _failed_call(call: _Call, exc: BaseException) -> list[Sample]:
    """Samples for a call that raised (a bug, not a server error: those come as StreamError)."""
    message = f"Unexpected error: {type(exc).__name__}: {exc}"
    return [
        Sample(
            values=call.point.values,
            index=call.first + k,
            text="",
            finish_reason=None,
            prompt_tokens=None,
            completion_tokens=None,
            usage_estimated=False,
            ttft_s=None,
            duration_s=None,
            tokens_per_s=None,
            cost_usd=None,
            error=message,
            refusal=False,
        )
        for k in range(call.count)
    ]
