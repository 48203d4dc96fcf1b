"""Typed events a streamed reply produces; the page and the store consume these, never raw chunks."""

from __future__ import annotations

from dataclasses import dataclass, field

from chatlab.tokenprobs.record import TokenProb


@dataclass(frozen=True)
class TextDelta:
    choice: int
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    """Reasoning text some servers stream before the answer (DeepSeek's `reasoning_content`)."""

    choice: int
    text: str


@dataclass(frozen=True)
class TokenLogprobs:
    """Token probabilities of text that just arrived (the request asked for logprobs): one TokenProb per
    token, in order. Sent after the TextDelta of the same chunk."""

    choice: int
    tokens: tuple[TokenProb, ...]


@dataclass(frozen=True)
class ParamDropped:
    """The server refused a parameter that only observes the reply (e.g. logprobs, with a 400 naming it)
    before anything was generated: the request was sent again without it, and the reply goes on.
    `body` is the request body actually sent now; `note` says what was left out and why; `reason` is the
    server's own message (what a findings table shows, without the note's wording around it)."""

    name: str
    note: str
    body: dict
    reason: str = ""


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int  # reasoning tokens included, as the APIs count them
    cached_tokens: int = 0
    estimated: bool = False  # True when the server sent no usage and we counted ourselves
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Finish:
    """A choice ended; reason is the server's finish_reason (stop, length, content_filter, ...)."""

    choice: int
    reason: str


@dataclass(frozen=True)
class StreamError:
    """The request failed or the stream broke; earlier deltas may already have been yielded."""

    # auth, permission, rate_limit, bad_request, not_found, server, timeout, connection, api,
    # no_key (every key of the pool is resting or disabled; no request was sent with it)
    kind: str
    message: str
    status: int | None = None
    retryable: bool = False
    retry_after: float | None = None
    param: str | None = None  # the request field the server names (error.param), e.g. "temperature"
    code: str | None = None  # the server's error code, e.g. "unsupported_parameter"


@dataclass(frozen=True)
class KeyNotice:
    """The client switched API keys before any text arrived (e.g. the key was rate limited or rejected).

    `message` names keys by their last 4 characters only ("Key …1234 is rate limited; resting 20 s and
    trying key …abcd"). Informational: the reply goes on with the next key.
    """

    message: str


@dataclass(frozen=True)
class Timings:
    ttft_s: float | None  # time to first token (text or reasoning); None if nothing arrived
    duration_s: float
    tokens_per_s: float | None  # completion tokens over the time after the first token


@dataclass(frozen=True)
class StreamDone:
    """Always the last event: the summary of the whole reply.

    `usage` is None when the request was not billed: it failed before the server generated anything.
    """

    usage: Usage | None
    timings: Timings
    finish_reasons: dict[int, str | None] = field(default_factory=dict)
    model: str | None = None
    response_id: str | None = None
    system_fingerprint: str | None = None
    error: StreamError | None = None

    @property
    def interrupted(self) -> bool:
        """The stream ended without a finish_reason for some choice (cut off, stopped, or failed)."""
        return (
            self.error is not None
            or not self.finish_reasons
            or any(r is None for r in self.finish_reasons.values())
        )


Event = (
    TextDelta
    | ReasoningDelta
    | TokenLogprobs
    | ParamDropped
    | Usage
    | Finish
    | KeyNotice
    | StreamError
    | StreamDone
)
