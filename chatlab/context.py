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
    notes: tuple[str, ...] = ()  # past messages left out so that user and assistant alternate, and why


MAX_CHOICES = 8


def rows_needed(depth: int | None) -> int | None:
    """How many stored rows surely hold the last `depth` context messages (None: all of them).

    A turn stores its user message plus up to MAX_CHOICES replies, and failed replies are skipped,
    so this over-reads a little rather than loading a long history on every rerun.
    """
    return None if depth is None else (depth + 1) * (MAX_CHOICES + 1)


# Why alternation matters: chat templates of Llama-2, Mistral, Gemma (served by vLLM or llama.cpp) raise
# "Conversation roles must alternate user/assistant/user/assistant/..." and the server answers 400 — for
# that request and every later one of the conversation. So the history sent is whole turns only.
_ALTERNATION_WHY = "servers that require user and assistant to alternate would refuse the request"


@dataclass(frozen=True)
class History:
    """Past conversation as whole turns (user, assistant, user, assistant…), and the turns left out."""

    messages: list[dict]
    turns: tuple[int, ...] = ()  # the turn number of each message
    unanswered: tuple[int, ...] = ()  # turns left out because their reply failed or never came

    def notes(self, depth: int | None, history_sent: int) -> tuple[str, ...]:
        """Why turns the window would hold (depth None: all; else the turns after the oldest one sent)
        are missing."""
        if depth == 0 or not self.unanswered:
            return ()
        first = self.turns[-history_sent] if depth is not None and history_sent else 0
        left_out = [t for t in self.unanswered if t > first]
        if not left_out:
            return ()
        which = ", ".join(str(t) for t in left_out)
        if len(left_out) == 1:
            return (
                f"Turn {which}'s message is left out: its reply failed or never came, and {_ALTERNATION_WHY}.",
            )
        return (
            f"The messages of turns {which} are left out: their replies failed or never came, and {_ALTERNATION_WHY}.",
        )


def conversation_history(stored: Sequence[Message]) -> History:
    """The stored conversation as OpenAI messages: each turn's user message and its reply's first choice.

    A turn whose reply failed (or never came) is left out whole — its user message too, so two user
    messages never follow each other. Stopped or interrupted replies stay: the user saw that text and the
    model should too.
    """
    users: dict[int, str] = {}
    replies: dict[int, str] = {}
    for m in stored:
        if m.choice_index != 0:
            continue
        if m.role == "user":
            users[m.turn] = m.content
        elif m.role == "assistant" and m.status != ERROR and m.content:
            replies[m.turn] = m.content
    messages: list[dict] = []
    turns: list[int] = []
    unanswered: list[int] = []
    for turn in sorted(users):
        if turn in replies:
            messages += [
                {"role": "user", "content": users[turn]},
                {"role": "assistant", "content": replies[turn]},
            ]
            turns += [turn, turn]
        else:
            unanswered.append(turn)
    return History(messages, tuple(turns), tuple(unanswered))


def history_messages(stored: Sequence[Message]) -> list[dict]:
    """Past conversation as OpenAI messages, whole turns only (see conversation_history)."""
    return conversation_history(stored).messages


def whole_turns(messages: Sequence[dict]) -> tuple[list[dict], int]:
    """Only the user→assistant pairs of `messages`, in order; and how many messages were dropped."""
    out: list[dict] = []
    pending_user: dict | None = None
    dropped = 0
    for m in messages:
        role = m.get("role")
        if role == "user":
            if pending_user is not None:
                dropped += 1  # a question without an answer
            pending_user = m
        elif role == "assistant" and pending_user is not None:
            out += [dict(pending_user), dict(m)]
            pending_user = None
        else:
            dropped += 1  # an answer without its question, or another role
    return out, dropped + (pending_user is not None)


def build_context(
    *,
    system_prompt: str,
    history: Sequence[dict],
    user_text: str,
    depth: int | None,
    few_shot: Sequence[dict] = (),
    notes: Sequence[str] = (),
) -> ContextWindow:
    """System prompt + few-shot examples + the last `depth` past messages + the new user message.

    depth None sends the whole history; 0 sends none of it. The history sent is whole turns only: a
    depth that would start with a reply leaves that reply out (so depth 3 sends one turn), and messages
    that break the user/assistant alternation are left out, with a note saying so.
    """
    if depth is not None and depth < 0:
        raise ValueError("context depth cannot be negative")
    turns, dropped = whole_turns(history)
    notes = list(notes)
    if dropped:
        notes.append(f"{dropped} past message{'s' if dropped > 1 else ''} left out: {_ALTERNATION_WHY}.")
    past = turns if depth is None else (turns[-depth:] if depth else [])
    if past and past[0]["role"] == "assistant":
        past = past[1:]  # never half a turn: a reply whose question is outside the window
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
        messages=messages,
        history_sent=len(past),
        history_available=len(turns),
        split=split,
        notes=tuple(notes),
    )
