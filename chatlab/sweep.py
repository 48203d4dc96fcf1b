"""Parameter sweeps: several sampled replies per setting of one or two parameters, and what they show.

A sweep is a grid — the cartesian product of one or two parameter axes — with `samples` replies per
point. Calls run on a small thread pool and come back as they finish. Nothing is cached: measuring the
spread of fresh samples is the point, so every run sends its requests. The context-depth ablation
(replaying one question with 0…N messages of history) shares the same runner.

Cancelling (or closing the iterator) stops launching calls and closes the running ones: each worker
checks between stream events and closes its stream, which drops the connection. The iterator ends at
once rather than waiting for them — a worker blocked on a silent server only notices at its next event
(or the endpoint's timeout) — and replies cut short are not reported, so statistics only ever see
whole replies. Everything that finished before was already yielded.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar

import pandas as pd

from chatlab.capabilities import capabilities_for
from chatlab.context import build_context
from chatlab.events import StreamDone, TextDelta
from chatlab.params import PARAM_NAMES, RANGES, SAMPLING_PARAMS, GenerationParams, ParamError
from chatlab.prices import cost_usd
from chatlab.textstats import describe, distinct_n, looks_like_refusal, pairwise_similarity
from chatlab.tokens import count_tokens
from chatlab.transcript import to_csv_bytes

MAX_AXES = 2
MAX_SAMPLES = 20
MAX_REPLIES = 400  # settings × samples: what a sweep may ask the model to generate in one run
MAX_WORKERS = 32
# The numeric parameters. `n` is not an axis: `samples` and `use_n` decide it.
SWEEPABLE: tuple[str, ...] = tuple(name for name in RANGES if name != "n")
MAX_N = int(RANGES["n"][1])  # the most choices one request asks for; more samples take more requests
_INT_PARAMS = frozenset({"max_tokens", "n", "seed"})
POLL_S = 0.05  # how often a waiting iterator looks at `cancel`; results are taken as soon as they arrive

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

    def __post_init__(self) -> None:
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
        return self.points * len(_batches(self))


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
            why = "use samples (and 'use n') instead" if name == "n" else "it is not a number"
            raise ValueError(f"{name} cannot be swept: {why}. Sweepable: {', '.join(SWEEPABLE)}.")
        if name in (n for n, _ in out):
            raise ValueError(f"{name} appears twice; give each parameter one axis.")
        if name in SAMPLING_PARAMS and not caps.sampling:
            raise ValueError(f"Sweeping {name} is pointless for {model}: {caps.why}.")
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


def _batches(spec: SweepSpec) -> list[tuple[int, int]]:
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
    """The messages every call of the sweep sends: system prompt, few-shot, history, prompt."""
    return build_context(
        system_prompt=spec.system_prompt,
        history=spec.history,
        user_text=spec.prompt,
        depth=None,
        few_shot=spec.few_shot,
    ).messages


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
    calls = [_Call(point, first, count) for first, count in _batches(spec) for point in points]

    def work(call: _Call, stop: threading.Event) -> list[Sample] | None:
        return _sample_call(client, spec, messages, call, stop)

    results = _run_jobs(calls, work, max_workers=max_workers, cancel=cancel)
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
    stream = client.stream(spec.model, messages, params)
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

    usage, timings = done.usage, done.timings
    error = done.error.message if done.error is not None else None
    generated = any(texts.values())
    # A request refused before any text is normally not billed; one cut mid-reply is.
    cost = (
        cost_usd(done.model or spec.model, usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens)
        if error is None or generated
        else None
    )
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
                prompt_tokens=usage.prompt_tokens if first else None,
                completion_tokens=count_tokens(text) if shared else usage.completion_tokens,
                usage_estimated=True if shared else usage.estimated,
                ttft_s=timings.ttft_s,
                duration_s=timings.duration_s,
                tokens_per_s=timings.tokens_per_s if first else None,
                cost_usd=cost if first else None,
                error=sample_error,
                refusal=looks_like_refusal(text),
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


Job = TypeVar("Job")
Result = TypeVar("Result")


def _run_jobs(
    jobs: Sequence[Job],
    work: Callable[[Job, threading.Event], Result | None],
    *,
    max_workers: int,
    cancel: threading.Event | None,
) -> Iterator[tuple[Job, Result | BaseException]]:
    """Run `work(job, stop)` on a pool, at most `max_workers` at once; yield (job, result) as each ends.

    `work` returns None when it saw `stop` and gave up; nothing is yielded for it. An exception is
    yielded as the result. A finished job's replacement is launched only after its result was consumed,
    so when `cancel` is set during the k-th result at most k − 1 + max_workers jobs were ever started.
    """
    if (
        isinstance(max_workers, bool)
        or not isinstance(max_workers, int)
        or not 1 <= max_workers <= MAX_WORKERS
    ):
        raise ValueError(f"max_workers must be between 1 and {MAX_WORKERS}, got {max_workers!r}")
    return _jobs(deque(jobs), work, max_workers, cancel)


def _jobs(
    pending: deque[Job],
    work: Callable[[Job, threading.Event], Result | None],
    max_workers: int,
    cancel: threading.Event | None,
) -> Iterator[tuple[Job, Result | BaseException]]:
    if not pending:
        return
    stop = threading.Event()
    running: dict[Future, Job] = {}
    pool = ThreadPoolExecutor(max_workers=min(max_workers, len(pending)), thread_name_prefix="chatlab-sweep")

    def cancelled() -> bool:
        return cancel is not None and cancel.is_set()

    def launch() -> None:
        while pending and len(running) < max_workers and not cancelled():
            job = pending.popleft()
            running[pool.submit(work, job, stop)] = job

    def outcome(future: Future) -> Result | BaseException | None:
        try:
            return future.result()
        except Exception as exc:  # one failed job must not end the run; it is reported as its result
            return exc

    try:
        launch()
        while running and not cancelled():
            done, _ = wait(list(running), timeout=POLL_S, return_when=FIRST_COMPLETED)
            for future in done:
                result = outcome(future)
                if result is not None:
                    yield running[future], result
                del running[future]
                launch()
        if running:
            # Cancelled: cut the running jobs, but keep any that had already finished.
            stop.set()
            for future, job in list(running.items()):
                if future.done():
                    result = outcome(future)
                    if result is not None:
                        yield job, result
    finally:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)


def _frame(rows: list[dict], dtypes: dict[str, str]) -> pd.DataFrame:
    """A DataFrame with these columns and nullable dtypes (missing values are NA)."""
    return pd.DataFrame(
        {name: pd.Series([row.get(name) for row in rows], dtype=dtype) for name, dtype in dtypes.items()},
        columns=list(dtypes),
    )


def _param_dtype(name: str) -> str:
    if name in _INT_PARAMS:
        return "Int64"
    return "Float64" if name in RANGES else "str"


SUMMARY_METRICS: dict[str, str] = {
    "samples": "Int64",
    "errors": "Int64",
    "completion_tokens_mean": "Float64",
    "completion_tokens_median": "Float64",
    "completion_tokens_stdev": "Float64",
    "distinct_1": "Float64",
    "distinct_2": "Float64",
    "similarity": "Float64",
    "duration_mean_s": "Float64",
    "ttft_mean_s": "Float64",
    "refusals": "Int64",
    "truncated": "Int64",  # finish_reason "length": cut by max_tokens
    "tokens_estimated": "boolean",
    "cost_usd": "Float64",
}


def summarize(samples: Sequence[Sample], spec: SweepSpec) -> pd.DataFrame:
    """One row per setting that has samples, in grid order: the axis values, then SUMMARY_METRICS.

    Text and token statistics use the replies that succeeded; `samples` and `errors` count all.
    distinct-n and similarity are in chatlab.textstats; stdev is the sample stdev (None below 2 values).
    `cost_usd` sums the known costs, None when none is known (e.g. a model without a price).
    """
    groups: dict[Values, list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[sample.values].append(sample)
    rows = []
    for point in grid(spec):
        group = groups.get(point.values)
        if not group:
            continue
        ok = [s for s in group if s.ok]
        texts = [s.text for s in ok]
        tokens = describe(s.completion_tokens for s in ok)
        costs = [s.cost_usd for s in group if s.cost_usd is not None]
        rows.append(
            {
                **dict(point.values),
                "samples": len(group),
                "errors": len(group) - len(ok),
                "completion_tokens_mean": tokens.mean,
                "completion_tokens_median": tokens.median,
                "completion_tokens_stdev": tokens.stdev,
                "distinct_1": distinct_n(texts, 1),
                "distinct_2": distinct_n(texts, 2),
                "similarity": pairwise_similarity(texts),
                "duration_mean_s": describe(s.duration_s for s in ok).mean,
                "ttft_mean_s": describe(s.ttft_s for s in ok).mean,
                "refusals": sum(s.refusal for s in ok),
                "truncated": sum(s.finish_reason == "length" for s in ok),
                "tokens_estimated": any(s.usage_estimated for s in ok),
                "cost_usd": math.fsum(costs) if costs else None,
            }
        )
    return _frame(rows, {**{n: _param_dtype(n) for n in spec.axis_names}, **SUMMARY_METRICS})


def chart_data(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary in long format for altair: the axis columns, then `metric` and `value` (Float64)."""
    axes = [c for c in summary.columns if c in PARAM_NAMES]
    metrics = [c for c in summary.columns if c in SUMMARY_METRICS and c != "tokens_estimated"]
    wide = summary[axes + metrics].astype({m: "Float64" for m in metrics})
    long = wide.melt(id_vars=axes, value_vars=metrics, var_name="metric", value_name="value")
    return long.astype({"metric": "str", "value": "Float64"})


SAMPLE_COLUMNS: dict[str, str] = {
    **{name: _param_dtype(name) for name in PARAM_NAMES},
    "model": "str",
    "system_prompt": "str",
    "prompt": "str",
    "history_messages": "Int64",
    "sample": "Int64",
    "text": "str",
    "prompt_tokens": "Int64",
    "completion_tokens": "Int64",
    "usage_estimated": "boolean",
    "ttft_s": "Float64",
    "duration_s": "Float64",
    "tokens_per_s": "Float64",
    "cost_usd": "Float64",
    "finish_reason": "str",
    "refusal": "boolean",
    "error": "str",
}


def samples_frame(samples: Sequence[Sample], spec: SweepSpec) -> pd.DataFrame:
    """Tidy: one row per sample in grid order, every parameter in its own column (SAMPLE_COLUMNS).

    `n` is what the sample's request asked for (empty when it was not sent); `stop` is a JSON list.
    """
    points = grid(spec)
    position = {p.values: i for i, p in enumerate(points)}
    params_of = {p.values: p.params for p in points}
    request_n = {first + k: count for first, count in _batches(spec) for k in range(count)}
    rows = []
    for s in sorted(samples, key=lambda s: (position.get(s.values, len(points)), s.index)):
        params = params_of.get(s.values) or spec.base_params.replace(**dict(s.values))
        row = {name: getattr(params, name) for name in PARAM_NAMES}
        row["stop"] = json.dumps(list(params.stop), ensure_ascii=False) if params.stop else None
        n = request_n.get(s.index, 1)
        row["n"] = n if n > 1 else None
        row.update(
            model=spec.model,
            system_prompt=spec.system_prompt,
            prompt=spec.prompt,
            history_messages=len(spec.history),
            sample=s.index,
            text=s.text,
            prompt_tokens=s.prompt_tokens,
            completion_tokens=s.completion_tokens,
            usage_estimated=s.usage_estimated,
            ttft_s=s.ttft_s,
            duration_s=s.duration_s,
            tokens_per_s=s.tokens_per_s,
            cost_usd=s.cost_usd,
            finish_reason=s.finish_reason,
            refusal=s.refusal,
            error=s.error,
        )
        rows.append(row)
    return _frame(rows, SAMPLE_COLUMNS)


def csv_bytes(df: pd.DataFrame) -> bytes:
    """A sweep table as CSV the way transcripts are written: UTF-8 with a BOM, formula cells neutralised."""
    return to_csv_bytes(df)


# ---- context-depth ablation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AblationResult:
    """The reply to the same question with `depth` messages of history before it."""

    depth: int
    messages_sent: int  # every message of the request: system prompt, history, question
    prompt_tokens: int | None
    completion_tokens: int | None
    usage_estimated: bool  # the server sent no usage; both counts are offline estimates
    reply_chars: int
    text: str
    finish_reason: str | None
    ttft_s: float | None
    duration_s: float | None
    cost_usd: float | None
    error: str | None


def depth_ablation(
    client,
    *,
    model: str,
    system_prompt: str,
    history: Sequence[dict],
    prompt: str,
    params: GenerationParams,
    depths: Sequence[int],
    few_shot: Sequence[dict] = (),
    max_workers: int = 4,
    cancel: threading.Event | None = None,
) -> Iterator[AblationResult]:
    """Ask `prompt` once per depth, with the last `depth` messages of `history` before it; yield as done.

    `history` is the conversation before the question (OpenAI messages); depths count messages, as the
    chat's context depth does, and must lie in 0…len(history) (repeats are asked once). `params.n` is
    ignored: one reply per depth. Cancelling works as in run_sweep.
    """
    if not prompt or not prompt.strip():
        raise ValueError("The question to replay is empty.")
    history = [dict(m) for m in history]
    unique: list[int] = []
    for depth in depths:
        if isinstance(depth, bool) or not isinstance(depth, int) or not 0 <= depth <= len(history):
            raise ValueError(f"Depth {depth!r} is not possible: the history has {len(history)} messages.")
        if depth not in unique:
            unique.append(depth)
    if not unique:
        raise ValueError("Give at least one depth.")
    params = params.replace(n=None)
    windows = {
        depth: build_context(
            system_prompt=system_prompt, history=history, user_text=prompt, depth=depth, few_shot=few_shot
        )
        for depth in unique
    }

    def work(depth: int, stop: threading.Event) -> AblationResult | None:
        messages = windows[depth].messages
        parts: list[str] = []
        done: StreamDone | None = None
        stream = client.stream(model, messages, params)
        try:
            for event in stream:
                if stop.is_set():
                    return None
                if isinstance(event, TextDelta) and event.choice == 0:
                    parts.append(event.text)
                elif isinstance(event, StreamDone):
                    done = event
        finally:
            stream.close()
        if done is None:
            raise RuntimeError("the stream ended without a summary")
        text, usage = "".join(parts), done.usage
        failed = done.error is not None
        return AblationResult(
            depth=depth,
            messages_sent=len(messages),
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            usage_estimated=usage.estimated,
            reply_chars=len(text),
            text=text,
            finish_reason=done.finish_reasons.get(0),
            ttft_s=done.timings.ttft_s,
            duration_s=done.timings.duration_s,
            cost_usd=None
            if failed and not text
            else cost_usd(
                done.model or model, usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens
            ),
            error=done.error.message if failed else None,
        )

    results = _run_jobs(unique, work, max_workers=max_workers, cancel=cancel)
    return _ablation_results(results, {depth: len(w.messages) for depth, w in windows.items()})


def _ablation_results(results, messages_sent: dict[int, int]) -> Iterator[AblationResult]:
    with contextlib.closing(results):  # as in _flatten
        for depth, result in results:
            if isinstance(result, BaseException):
                result = _failed_depth(depth, messages_sent[depth], result)
            yield result


def _failed_depth(depth: int, messages_sent: int, exc: BaseException) -> AblationResult:
    """The result for a depth whose call raised (a bug, not a server error: those come as StreamError)."""
    return AblationResult(
        depth=depth,
        messages_sent=messages_sent,
        prompt_tokens=None,
        completion_tokens=None,
        usage_estimated=False,
        reply_chars=0,
        text="",
        finish_reason=None,
        ttft_s=None,
        duration_s=None,
        cost_usd=None,
        error=f"Unexpected error: {type(exc).__name__}: {exc}",
    )


ABLATION_COLUMNS: dict[str, str] = {
    "depth": "Int64",
    "messages_sent": "Int64",
    "prompt_tokens": "Int64",
    "completion_tokens": "Int64",
    "usage_estimated": "boolean",
    "reply_chars": "Int64",
    "text": "str",
    "finish_reason": "str",
    "ttft_s": "Float64",
    "duration_s": "Float64",
    "cost_usd": "Float64",
    "error": "str",
}


def ablation_frame(results: Sequence[AblationResult]) -> pd.DataFrame:
    """One row per depth, shallowest first (ABLATION_COLUMNS)."""
    rows = [
        {name: getattr(r, name) for name in ABLATION_COLUMNS} for r in sorted(results, key=lambda r: r.depth)
    ]
    return _frame(rows, ABLATION_COLUMNS)


def parse_values(name: str, text: str) -> tuple:
    """Values typed as '0, 0.4, 0.8' (commas or spaces) for parameter `name`; ValueError says what is wrong."""
    if name not in SWEEPABLE:
        raise ValueError(f"{name} cannot be swept; choose one of {', '.join(SWEEPABLE)}")
    whole = name in ("max_tokens", "seed")
    values = []
    for piece in text.replace(",", " ").split():
        try:
            number = float(piece)
        except ValueError:
            raise ValueError(f"{name}: {piece!r} is not a number") from None
        if whole and not number.is_integer():
            raise ValueError(f"{name}: {piece} is not a whole number")
        values.append(int(number) if whole else number)
    if not values:
        raise ValueError(f"{name}: type at least one value, e.g. 0, 0.5, 1")
    return tuple(values)
