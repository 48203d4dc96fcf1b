"""Offline token estimates (o200k_base from bpe-openai, which ships its tables and needs no network).

Estimates only: the server's own `usage` wins whenever it is sent. tiktoken is avoided on purpose: it
downloads its encoding files on first use and fails with no network.
"""

from __future__ import annotations

from functools import lru_cache

from chatlab.events import Usage

# Chat formats add a few tokens per message for the role and separators (OpenAI's cookbook figure).
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY_PRIMER = 3


@lru_cache(maxsize=1)
def _encoding():
    import bpe_openai

    return bpe_openai.get_encoding("o200k_base")


# The tokenizer refuses inputs over 200,000 tokens, so long pastes are counted in pieces.
_PIECE_CHARS = 50_000


def count_tokens(text: str) -> int:
    """Estimated tokens in a piece of text."""
    if not text:
        return 0
    encoding = _encoding()
    total = 0
    start = 0
    while start < len(text):
        end = min(len(text), start + _PIECE_CHARS)
        if end < len(text):
            # Cut after whitespace when possible so a word is not split in two.
            space = text.rfind(" ", start + _PIECE_CHARS // 2, end)
            end = space + 1 if space > 0 else end
        total += len(encoding.encode_ordinary(text[start:end]))
        start = end
    return total


def count_message_tokens(messages: list[dict]) -> int:
    """Estimated prompt tokens for a chat message list, including per-message overhead."""
    total = TOKENS_PER_REPLY_PRIMER
    for message in messages:
        total += TOKENS_PER_MESSAGE + count_tokens(str(message.get("content") or ""))
    return total


def estimate_usage(messages: list[dict], generated: str) -> Usage:
    """What a request cost when the server sent no usage (llama.cpp; a stopped or cut reply): the
    prompt's and the generated text's tokens counted here, marked as estimated."""
    return Usage(count_message_tokens(messages), count_tokens(generated), estimated=True)


def token_ids(text: str) -> list[int]:
    """The o200k_base token ids of a text (an estimate of where a model's own tokens fall)."""
    if not text:
        return []
    return list(_encoding().encode_ordinary(text))
