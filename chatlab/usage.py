"""Per-turn usage and session totals, computed from stored messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chatlab.prices import format_usd
from chatlab.store import ERROR, Message, ReplyMetrics


@dataclass(frozen=True)
class TurnUsage:
    turn: int
    model: str
    choices: int
    prompt_tokens: int | None
    completion_tokens: int | None
    estimated: bool
    ttft_s: float | None
    duration_s: float | None
    tokens_per_s: float | None
    cost_usd: float | None
    finish_reason: str
    status: str
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None


@dataclass(frozen=True)
class UsageTotals:
    turns: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # None when no turn had a known price
    cost_complete: bool  # False when some turn's model has no price, so the sum is a lower bound
    estimated: bool
    reasoning_tokens: int = 0
    cached_tokens: int = 0


def turn_usage(replies: Sequence[ReplyMetrics | Message]) -> list[TurnUsage]:
    """One row per answered turn (from replies only); usage sits on each reply's first choice."""
    by_turn: dict[int, list[ReplyMetrics | Message]] = {}
    for m in replies:
        by_turn.setdefault(m.turn, []).append(m)
    rows = []
    for turn, replies in sorted(by_turn.items()):
        first = min(replies, key=lambda m: m.choice_index)
        reasons = sorted({m.finish_reason or "—" for m in replies})
        rows.append(
            TurnUsage(
                turn=turn,
                model=first.model or "",
                choices=len(replies),
                prompt_tokens=first.prompt_tokens,
                completion_tokens=first.completion_tokens,
                estimated=first.usage_estimated,
                ttft_s=first.ttft_s,
                duration_s=first.duration_s,
                tokens_per_s=first.tokens_per_s,
                cost_usd=first.cost_usd,
                finish_reason=", ".join(reasons),
                status=first.status,
                cached_tokens=first.cached_tokens,
                reasoning_tokens=first.reasoning_tokens,
            )
        )
    return rows


def totals(rows: Sequence[TurnUsage]) -> UsageTotals:
    costs = [r.cost_usd for r in rows if r.cost_usd is not None]
    return UsageTotals(
        turns=len(rows),
        prompt_tokens=sum(r.prompt_tokens or 0 for r in rows),
        completion_tokens=sum(r.completion_tokens or 0 for r in rows),
        cost_usd=sum(costs) if costs else None,
        cost_complete=len(costs) == len([r for r in rows if r.prompt_tokens is not None]),
        estimated=any(r.estimated for r in rows),
        reasoning_tokens=sum(r.reasoning_tokens or 0 for r in rows),
        cached_tokens=sum(r.cached_tokens or 0 for r in rows),
    )


def _seconds(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else "—"


def describe_reply(m: Message) -> str:
    """The one-line metadata shown under a reply: model, tokens, cost, speed, finish."""
    parts = [m.model or "?"]
    if m.prompt_tokens is None and m.completion_tokens is None and m.status == ERROR:
        parts.append("not billed (the request failed before any token)")
    if m.prompt_tokens is not None:
        est = " (estimated)" if m.usage_estimated else ""
        parts.append(f"{m.prompt_tokens:,} → {m.completion_tokens or 0:,} tokens{est}")
        if m.reasoning_tokens:
            parts.append(f"{m.reasoning_tokens:,} of them reasoning")
        if m.cached_tokens:
            parts.append(f"{m.cached_tokens:,} prompt tokens cached")
    if m.cost_usd is not None:
        parts.append(format_usd(m.cost_usd))
    if m.ttft_s is not None:
        parts.append(f"first token {_seconds(m.ttft_s)}")
    if m.tokens_per_s is not None:
        parts.append(f"{m.tokens_per_s:.1f} tok/s")
    if m.finish_reason:
        parts.append(f"finish: {m.finish_reason}")
    return " · ".join(parts)
