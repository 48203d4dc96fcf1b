"""The context-depth ablation: one question replayed with 0…N messages of history before it.

It runs on the sweep's pool (chatlab.sweep.pool), so cancelling works as in chatlab.sweep.run_sweep.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pandas as pd

from chatlab.context import build_context
from chatlab.events import StreamDone, TextDelta
from chatlab.params import GenerationParams
from chatlab.prices import cost_usd
from chatlab.request import build_request
from chatlab.sweep.pool import run_jobs
from chatlab.sweep.table import typed_frame


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
        stream = client.stream(build_request(model, messages, params))
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

    results = run_jobs(unique, work, max_workers=max_workers, cancel=cancel)
    return _ablation_results(results, {depth: len(w.messages) for depth, w in windows.items()})


def _ablation_results(results, messages_sent: dict[int, int]) -> Iterator[AblationResult]:
    with contextlib.closing(results):  # as in chatlab.sweep: closing this closes the pool at once
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
    return typed_frame(rows, ABLATION_COLUMNS)
