"""The context window: exactly which messages a request sends, and an estimate of their token cost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chatlab.store import ERROR, Message
from chatlab.tokens import TOKENS_PER_MESSAGE, TOKENS_PER_REPLY_PRIMER, count_tokens

# Pastes this long are counted roughly (characters / 4) so the page never stalls on a tokenizer pass.
QUICK_ESTIMATE_CHARS = 200_000


def estimate_text_tokens(text: str) -> int:
    """Token estimate that stays fast for huge pastes."""
    if len(text) > QUICK_ESTIMATE_CHARS:
        return len(text) // 4
    return count_tokens(text)


@dataclass(frozen=True)
class TokenSplit:
    """Estimated prompt tokens, split by where they come from."""

    system: int
    history: int
    new_message: int

    @property
    def total(self) -> int:
        return self.system + self.history + self.new_message + TOKENS_PER_REPLY_PRIMER


@dataclass(frozen=True)
class ContextWindow:
    messages: list[dict]  # OpenAI-format, sent unchanged
    history_sent: int  # how many past conversation messages made it in
    history_available: int  # how many there were
    split: TokenSplit


MAX_CHOICES = 8


def rows_needed(depth: int | None) -> int | None:
    """How many stored rows surely hold the last `depth` context messages (None: all of them).

    A turn stores its user message plus up to MAX_CHOICES replies, and failed replies are skipped,
    so this over-reads a little rather than loading a long history on every rerun.
    """
    return None if depth is None else (depth + 1) * (MAX_CHOICES + 1)


def history_messages(stored: Sequence[Message]) -> list[dict]:
    """Past conversation as OpenAI messages: user turns and the first choice of each reply.

    Failed replies are left out (the API never produced them); stopped or interrupted replies stay,
    because the user saw that text and the model should too.
    """
    out = []
    for m in stored:
        if m.role not in ("user", "assistant") or m.choice_index != 0:
            continue
        if m.role == "assistant" and (m.status == ERROR or not m.content):
            continue
        out.append({"role": m.role, "content": m.content})
    return out


def build_context(
    *,
    system_prompt: str,
    history: Sequence[dict],
    user_text: str,
    depth: int | None,
    few_shot: Sequence[dict] = (),
) -> ContextWindow:
    """System prompt + few-shot examples + the last `depth` past messages + the new user message.

    depth None sends the whole history; 0 sends none of it.
    """
    if depth is not None and depth < 0:
        raise ValueError("context depth cannot be negative")
    past = list(history) if depth is None else (list(history)[-depth:] if depth else [])
    head = [{"role": "system", "content": system_prompt}] if system_prompt.strip() else []
    head += [dict(m) for m in few_shot]
    messages = head + past + [{"role": "user", "content": user_text}]

    def cost(items: Sequence[dict]) -> int:
        return sum(TOKENS_PER_MESSAGE + estimate_text_tokens(str(m["content"])) for m in items)

    split = TokenSplit(
        system=cost(head),
        history=cost(past),
        new_message=TOKENS_PER_MESSAGE + estimate_text_tokens(user_text),
    )
    return ContextWindow(
        messages=messages, history_sent=len(past), history_available=len(history), split=split
    )
