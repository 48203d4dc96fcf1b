"""How the loopback fake's models behave, after the real services (quirks included).

- OpenAI's catalogue: most ids are not chat models (embeddings, audio, images, moderation, legacy
  completion models); a chat request to one answers 404 "This is not a chat model". Sorted, the first id
  is `babbage-002`.
- Reasoning models (o-series, gpt-5) answer 400 naming the parameter (`error.param`) with code
  `unsupported_parameter` (max_tokens, top_p, penalties, stop, logprobs) or `unsupported_value`
  (temperature other than 1); they report reasoning tokens in usage.
- Some models are served only by the Responses API: /v1/chat/completions answers 404.
- Servers that accept a parameter without effect (llama-cpp-python ignores `n`; some ignore `seed`, `stop`
  or `max_tokens`): the fake accepts it and behaves as if it was not sent.

Without `ignores`, the fake honours what it is sent: `stop` cuts the text before the first stop string,
`max_tokens` / `max_completion_tokens` / `max_output_tokens` cap the number of chunks (one "token" each)
with finish reason "length", `n` gives n choices, and a Reply with `random_words` answers words drawn
from a generator seeded by `seed` when one is sent (and honoured), so equal seeds repeat and no seed
does not.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

CHAT, RESPONSES = "/v1/chat/completions", "/v1/responses"

NOT_A_CHAT_MODEL = (
    "This is not a chat model and thus not supported in the v1/chat/completions endpoint. "
    "Did you mean to use v1/completions?"
)
RESPONSES_ONLY = "This model is only supported in v1/responses and not in v1/chat/completions."

# What a reasoning model refuses, and how (FACTS: error.param names the field).
_REASONING_REFUSES = ("top_p", "presence_penalty", "frequency_penalty", "stop", "logprobs", "top_logprobs")
_WORDS = (
    "amber river quiet lantern orbit velvet harbor cedar meadow ember falcon prism willow copper signal "
    "marble tundra comet saffron glacier"
).split()


@dataclass(frozen=True)
class ModelKind:
    chat: bool = True  # False: not a chat model (404 on /v1/chat/completions)
    responses_only: bool = False
    reasoning: bool = False
    ignores: frozenset[str] = frozenset()  # accepted without effect
    reasoning_tokens: int = 0  # reported in usage (completion_tokens_details.reasoning_tokens)


CHAT_MODEL = ModelKind()
REASONING_MODEL = ModelKind(reasoning=True, reasoning_tokens=64)

# A slice of OpenAI's /v1/models as it looks in 2026: chat models are a minority.
OPENAI_CATALOGUE: dict[str, ModelKind] = {
    "babbage-002": ModelKind(chat=False),
    "chatgpt-4o-latest": CHAT_MODEL,
    "codex-mini-latest": ModelKind(responses_only=True, reasoning=True, reasoning_tokens=32),
    "dall-e-3": ModelKind(chat=False),
    "davinci-002": ModelKind(chat=False),
    "gpt-3.5-turbo-instruct": ModelKind(chat=False),
    "gpt-4.1-mini": CHAT_MODEL,
    "gpt-4o": CHAT_MODEL,
    "gpt-4o-mini": CHAT_MODEL,
    "gpt-4o-mini-transcribe": ModelKind(chat=False),
    "gpt-4o-mini-tts": ModelKind(chat=False),
    "gpt-4o-realtime-preview": ModelKind(chat=False),
    "gpt-5": REASONING_MODEL,
    "gpt-5-mini": REASONING_MODEL,
    "gpt-5-pro": ModelKind(responses_only=True, reasoning=True, reasoning_tokens=128),
    "gpt-image-1": ModelKind(chat=False),
    "o3-mini": REASONING_MODEL,
    "o4-mini": REASONING_MODEL,
    "omni-moderation-latest": ModelKind(chat=False),
    "sora-2": ModelKind(chat=False),
    "text-embedding-3-large": ModelKind(chat=False),
    "text-embedding-3-small": ModelKind(chat=False),
    "tts-1": ModelKind(chat=False),
    "whisper-1": ModelKind(chat=False),
}


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    param: str | None = None
    code: str | None = None


def refusal(kind: ModelKind, path: str, body: dict) -> Refusal | None:
    """What the real service answers instead of a reply, if anything."""
    if path == CHAT and not kind.chat:
        return Refusal(404, NOT_A_CHAT_MODEL, "model", "model_not_found")
    if path == CHAT and kind.responses_only:
        return Refusal(404, RESPONSES_ONLY, "model", "model_not_found")
    if not kind.reasoning or path != CHAT:
        return None
    if "max_tokens" in body:
        return Refusal(
            400,
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            "max_tokens",
            "unsupported_parameter",
        )
    temperature = body.get("temperature")
    if temperature is not None and temperature != 1:
        return Refusal(
            400,
            f"Unsupported value: 'temperature' does not support {temperature} with this model. "
            "Only the default (1) value is supported.",
            "temperature",
            "unsupported_value",
        )
    for name in _REASONING_REFUSES:
        if name in body:
            return Refusal(
                400,
                f"Unsupported parameter: '{name}' is not supported with this model.",
                name,
                "unsupported_parameter",
            )
    return None


def honoured(kind: ModelKind, body: dict) -> dict:
    """The body as the model acts on it: parameters it ignores are as good as absent."""
    return {k: v for k, v in body.items() if k not in kind.ignores}


def shaped_texts(text: str, random_words: int, body: dict, n: int) -> list[str]:
    """Each choice's text after what the request asked for (seeded words, stop)."""
    texts = []
    for index in range(n):
        if random_words:
            seed = body.get("seed")
            rng = random.Random(f"{seed}/{index}") if seed is not None else random.Random()
            choice_text = " ".join(rng.choice(_WORDS) for _ in range(random_words))
        else:
            choice_text = text if index == 0 else f"{text} [choice {index}]"
        stop = body.get("stop")
        for marker in [stop] if isinstance(stop, str) else stop or []:
            if marker and marker in choice_text:
                choice_text = choice_text[: choice_text.index(marker)]
        texts.append(choice_text)
    return texts


def token_cap(body: dict) -> int | None:
    """The most chunks a reply may have (each counts as one token), if the request capped it."""
    caps = [body.get(k) for k in ("max_tokens", "max_completion_tokens", "max_output_tokens")]
    caps = [c for c in caps if isinstance(c, int)]
    return min(caps) if caps else None


# More effort, more thinking: the reasoning tokens a model reports scale with reasoning_effort.
_EFFORT_SCALE = {"none": 0, "minimal": 0.25, "low": 0.5, "medium": 1, "high": 2, "xhigh": 3, "max": 4}


def reasoning_tokens(kind: ModelKind, body: dict) -> int:
    effort = body.get("reasoning_effort") or (body.get("reasoning") or {}).get("effort") or "medium"
    return round(kind.reasoning_tokens * _EFFORT_SCALE.get(effort, 1))
