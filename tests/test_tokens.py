"""Offline token estimates (chatlab/tokens.py): o200k_base without network, long pastes in pieces, and the
per-message overhead chat formats add. The server's own usage wins whenever it is sent (tests/test_client.py)."""

from __future__ import annotations

from chatlab.tokens import TOKENS_PER_MESSAGE, TOKENS_PER_REPLY_PRIMER, count_message_tokens, count_tokens


def test_known_counts_in_o200k_base():
    assert count_tokens("") == 0
    assert count_tokens("hello world") == 2
    assert count_tokens("你好，世界") == 3


def test_a_paste_larger_than_the_tokenizer_accepts_is_counted_in_pieces():
    # The tokenizer refuses inputs over 200,000 tokens. Cutting at spaces keeps the count within a token
    # per piece (a piece's first word is counted without its leading space).
    words = 250_000
    pieces = len("word " * words) // 50_000
    assert words <= count_tokens("word " * words) <= words + pieces


def test_messages_add_their_overhead():
    messages = [{"role": "system", "content": "hello world"}, {"role": "user", "content": None}]
    assert count_message_tokens(messages) == TOKENS_PER_REPLY_PRIMER + 2 * TOKENS_PER_MESSAGE + 2
    assert count_message_tokens([]) == TOKENS_PER_REPLY_PRIMER
