"""The context-depth ablation: one question of a stored conversation replayed with 0…N past turns.

What is replayed is said explicitly (ReplaySource): the conversation as it was — the model, role, system
prompt, few-shot examples and parameters its reply to that question was sent with (read back from the
stored request) — or the settings the page has now. Depths count whole turns (a question and its
reply), so every request alternates user and assistant as strict chat templates require.

It runs on the sweep's pool (chatlab.sweep.pool), so cancelling works as in chatlab.sweep.run_sweep.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import pandas as pd

from chatlab.context import build_context, conversation_history
from chatlab.params import GenerationParams
from chatlab.prices import usage_cost
from chatlab.request import build_request, params_of
from chatlab.roles import Role, find_role
from chatlab.store import Message
from chatlab.sweep.pool import read_first_choice, run_jobs
from chatlab.sweep.table import typed_frame


@dataclass(frozen=True)
class ReplaySource:
    """A question to replay, the whole turns before it, and the settings every replay is sent with."""

    question: str
    history: tuple[dict, ...]  # whole turns, oldest first
    model: str
    system_prompt: str = ""
    few_shot: tuple[dict, ...] = ()
    params: GenerationParams = GenerationParams()
    role_name: str = ""
    origin: str = ""  # in words: where the settings come from

    @property
    def turns_available(self) -> int:
        return len(self.history) // 2

    def describe(self) -> str:
        """'role "Tutor", model gpt-4o-mini, temperature=0.8, 2 few-shot messages' for the page."""
        parts = [f'role "{self.role_name}"' if self.role_name else "no role", f"model {self.model}"]
        parts.append(self.params.describe())
        if self.few_shot:
            parts.append(f"{len(self.few_shot)} few-shot messages")
        return ", ".join(parts)


class AblationError(ValueError):
    """The conversation cannot be replayed; the message says why."""


def _last_question(messages: Sequence[Message]) -> Message:
    question = next((m for m in reversed(messages) if m.role == "user"), None)
    if question is None:
        raise AblationError("That conversation has no user message to replay.")
    return question


def _few_shot_of(request: dict, system_prompt: str, history: Sequence[dict]) -> tuple[dict, ...]:
    """The few-shot examples a stored request carried: what sits between its system prompt and the
    conversation's own turns (the history window is a suffix of the conversation before the question)."""
    middle = [dict(m) for m in request.get("messages", [])[:-1]]
    if middle and middle[0].get("role") == "system" and system_prompt.strip():
        middle = middle[1:]
    for sent in range(min(len(middle), len(history)), 0, -1):
        if middle[-sent:] == list(history[-sent:]):
            return tuple(middle[:-sent])
    return tuple(middle)


def as_it_was(messages: Sequence[Message], roles: Iterable[Role] = ()) -> ReplaySource:
    """The conversation's last question with the settings its reply was sent with (AblationError if none).

    The model, system prompt, parameters and few-shot examples come from the stored request of that
    reply (or the latest reply before it); without a stored request (an imported transcript), from the
    reply's own columns and the few-shot examples of the role of that name in `roles`.
    """
    question = _last_question(messages)
    before = [m for m in messages if m.turn < question.turn]
    history = conversation_history(before).messages
    replies = [
        m for m in messages if m.role == "assistant" and m.choice_index == 0 and m.turn <= question.turn
    ]
    reply = replies[-1] if replies else None
    if reply is None:
        raise AblationError(
            "That conversation has no reply to take its settings from; replay it with the page's settings."
        )
    system_prompt = reply.system_prompt or ""
    if reply.request:
        params = params_of(reply.request)
        few_shot = _few_shot_of(reply.request, system_prompt, history)
        model = reply.request.get("model") or reply.model or ""
    else:
        params = GenerationParams.from_dict(reply.params)
        role = find_role(roles, reply.role_name or "")
        few_shot = tuple(role.few_shot_messages()) if role else ()
        model = reply.model or ""
    if not model:
        raise AblationError("No model is recorded for that conversation; replay it with the page's settings.")
    when = "its last question's reply" if reply.turn == question.turn else f"the reply of turn {reply.turn}"
    return ReplaySource(
        question=question.content,
        history=tuple(history),
        model=model,
        system_prompt=system_prompt,
        few_shot=few_shot,
        params=params.without("n"),
        role_name=reply.role_name or "",
        origin=f"as the conversation was sent ({when})",
    )


def with_settings(
    messages: Sequence[Message],
    *,
    model: str,
    system_prompt: str,
    few_shot: Sequence[dict],
    params: GenerationParams,
    role_name: str,
) -> ReplaySource:
    """The conversation's last question and history, with settings chosen on the page."""
    question = _last_question(messages)
    history = conversation_history([m for m in messages if m.turn < question.turn]).messages
    return ReplaySource(
        question=question.content,
        history=tuple(history),
        model=model,
        system_prompt=system_prompt,
        few_shot=tuple(dict(m) for m in few_shot),
        params=params.without("n"),
        role_name=role_name,
        origin="with the page's current settings",
    )


@dataclass(frozen=True)
class AblationResult:
    """The reply to the same question with `turns` past turns (`depth` = 2 × turns messages) before it."""

    turns: int
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
    source: ReplaySource,
    turns: Sequence[int],
    *,
    max_workers: int = 4,
    cancel: threading.Event | None = None,
) -> Iterator[AblationResult]:
    """Ask the source's question once per entry of `turns`, with that many past turns before it; yield as
    each finishes. Turns must lie in 0…source.turns_available (repeats are asked once); ValueError here,
    before anything is sent. Cancelling works as in run_sweep.
    """
    if not source.question.strip():
        raise ValueError("The question to replay is empty.")
    unique: list[int] = []
    for count in turns:
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= source.turns_available:
            raise ValueError(
                f"{count!r} past turns is not possible: the conversation has {source.turns_available} before "
                "its last question."
            )
        if count not in unique:
            unique.append(count)
    if not unique:
        raise ValueError("Give at least one depth.")
    windows = {
        count: build_context(
            system_prompt=source.system_prompt,
            history=source.history,
            user_text=source.question,
            depth=2 * count,
            few_shot=source.few_shot,
        )
        for count in unique
    }

    def work(count: int, stop: threading.Event) -> AblationResult | None:
        messages = windows[count].messages
        read = read_first_choice(client.stream(build_request(source.model, messages, source.params)), stop)
        if read is None:
            return None
        text, done = read
        if done is None:
            raise RuntimeError("the stream ended without a summary")
        usage = done.usage  # None: refused before any token, not billed
        failed = done.error is not None
        return AblationResult(
            turns=count,
            depth=2 * count,
            messages_sent=len(messages),
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            usage_estimated=usage.estimated if usage else False,
            reply_chars=len(text),
            text=text,
            finish_reason=done.finish_reasons.get(0),
            ttft_s=done.timings.ttft_s,
            duration_s=done.timings.duration_s,
            cost_usd=usage_cost(done.model or source.model, usage),
            error=done.error.message if failed else None,
        )

    results = run_jobs(unique, work, max_workers=max_workers, cancel=cancel)
    return _ablation_results(results, {count: len(w.messages) for count, w in windows.items()})


def _ablation_results(results, messages_sent: dict[int, int]) -> Iterator[AblationResult]:
    with contextlib.closing(results):  # as in chatlab.sweep: closing this closes the pool at once
        for depth, result in results:
            if isinstance(result, BaseException):
                result = _failed_depth(depth, messages_sent[depth], result)
            yield result


def _failed_depth(turns: int, messages_sent: int, exc: BaseException) -> AblationResult:
    """The result for a depth whose call raised (a bug, not a server error: those come as StreamError)."""
    return AblationResult(
        turns=turns,
        depth=2 * turns,
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
    "turns": "Int64",
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
