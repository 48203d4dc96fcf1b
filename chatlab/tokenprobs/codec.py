"""A reply's token probabilities as a compact blob for the history database, and back.

Columns, not records: the distinct token texts once (a reply repeats few of them), then per position the
number of alternatives, and index/log-probability columns. Log-probabilities are kept to 1/1000 nat
(a probability to within 0.05 % of itself) as 16-bit integers, down to LOGPROB_FLOOR (e^-65 is zero
for every purpose here); within a position the alternatives are sorted, so they are stored as steps
from the previous one, which are small. Each 16-bit column is split into its low and its high bytes
before zlib, which then finds the long runs of zero high bytes. README states the bytes per token.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections import Counter

import numpy as np

from chatlab.tokenprobs.record import LOGPROB_FLOOR, MAX_ALTERNATIVES, ReplyTokens, TokenProb

MAGIC = b"CLTP"
VERSION = 1
SCALE = 1000  # steps per nat
_HEADER = struct.Struct("<4sBBII")  # magic, version, index width (2 or 4 bytes), tokens, vocabulary bytes
_MAX_Q = round(-LOGPROB_FLOOR * SCALE)


class TokenBlobError(ValueError):
    """Bytes that are not a token-probability blob this version of Chat Lab wrote."""


def _quantise(logprobs) -> np.ndarray:
    q = np.rint(-np.asarray(logprobs, dtype=np.float64) * SCALE)
    return np.clip(q, 0, _MAX_Q).astype("<u2")


def _planes(values: np.ndarray) -> bytes:
    """A little-endian array with its bytes regrouped by significance (all low bytes first)."""
    width = values.dtype.itemsize
    return values.view(np.uint8).reshape(-1, width).T.tobytes()


def _unplanes(data: bytes, count: int, dtype: str) -> np.ndarray:
    width = np.dtype(dtype).itemsize
    raw = np.frombuffer(data, dtype=np.uint8, count=count * width).reshape(width, count)
    return raw.T.copy().view(dtype).reshape(count)


def encode(reply: ReplyTokens) -> bytes:
    """The blob for a reply's tokens (zlib-compressed columns behind a small header)."""
    tokens = reply.tokens
    counts = Counter(t.token for t in tokens)
    for t in tokens:
        counts.update(alt for alt, _ in t.top)
    # Frequent texts get small indices: their high bytes are zero, which compresses to nothing.
    vocabulary = [text for text, _ in counts.most_common()]
    index = {text: i for i, text in enumerate(vocabulary)}
    width = 2 if len(vocabulary) <= 0xFFFF else 4
    idx_type = f"<u{width}"
    lengths = np.fromiter((len(t.top) for t in tokens), dtype=np.uint8, count=len(tokens))
    chosen = np.fromiter((index[t.token] for t in tokens), dtype=idx_type, count=len(tokens))
    chosen_q = _quantise([t.logprob for t in tokens])
    alt_idx = np.fromiter((index[alt] for t in tokens for alt, _ in t.top), dtype=idx_type)
    alt_q = _quantise([lp for t in tokens for _, lp in t.top])
    # Alternatives come likeliest first, so their quantised values rise within a position: keep the steps.
    steps = alt_q.astype(np.int32)
    starts = np.zeros(len(tokens) + 1, dtype=np.intp)
    np.cumsum(lengths, out=starts[1:])
    previous = np.concatenate(([0], steps[:-1]))
    previous[starts[:-1][lengths > 0]] = 0
    steps = (steps - previous).astype("<u2")
    words = json.dumps(vocabulary, ensure_ascii=False).encode("utf-8", "surrogatepass")
    body = b"".join(
        (words, lengths.tobytes(), _planes(chosen), _planes(chosen_q), _planes(alt_idx), _planes(steps))
    )
    header = _HEADER.pack(MAGIC, VERSION, width, len(tokens), len(words))
    return header + zlib.compress(body, 6)


def decode(blob: bytes) -> ReplyTokens:
    """The reply's tokens from a blob; TokenBlobError when it is not one."""
    try:
        magic, version, width, n, vocabulary_bytes = _HEADER.unpack_from(blob)
    except struct.error:
        raise TokenBlobError("too short to be token probabilities") from None
    if magic != MAGIC or version != VERSION or width not in (2, 4):
        raise TokenBlobError("not token probabilities written by this Chat Lab")
    try:
        body = zlib.decompress(blob[_HEADER.size :])
        vocabulary = json.loads(body[:vocabulary_bytes].decode("utf-8", "surrogatepass"))
        at = vocabulary_bytes
        lengths = np.frombuffer(body, dtype=np.uint8, count=n, offset=at).astype(np.intp)
        at += n
        total = int(lengths.sum())
        idx_type = f"<u{width}"
        columns = []
        for count, dtype in ((n, idx_type), (n, "<u2"), (total, idx_type), (total, "<u2")):
            columns.append(_unplanes(body[at : at + count * np.dtype(dtype).itemsize], count, dtype))
            at += count * np.dtype(dtype).itemsize
    except (zlib.error, ValueError, UnicodeDecodeError) as exc:
        raise TokenBlobError(f"damaged token probabilities ({exc})") from None
    chosen, chosen_q, alt_idx, steps = columns
    if at != len(body) or (lengths > MAX_ALTERNATIVES).any():
        raise TokenBlobError("damaged token probabilities (wrong length)")
    # Undo the steps: a running sum that restarts at every position.
    starts = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(lengths, out=starts[1:])
    running = np.cumsum(steps.astype(np.int64))
    offsets = np.repeat(running[starts[:-1] - 1] * (starts[:-1] > 0), lengths) if total else running
    alt_q = running - offsets
    # Negated as integers first: a probability of 1 reads back as 0.0, not -0.0.
    chosen_lp = (-chosen_q.astype(np.int64) / SCALE).tolist()
    alt_lp = (-alt_q / SCALE).tolist()
    try:
        words = [vocabulary[i] for i in alt_idx.tolist()]
        chosen_words = [vocabulary[i] for i in chosen.tolist()]
    except (IndexError, TypeError):
        raise TokenBlobError("damaged token probabilities (unknown token)") from None
    tokens = []
    for i in range(n):
        a, b = starts[i], starts[i + 1]
        tokens.append(
            TokenProb(chosen_words[i], chosen_lp[i], tuple(zip(words[a:b], alt_lp[a:b], strict=True)))
        )
    return ReplyTokens(tuple(tokens))
