"""A reply's tokens as a table, one row per token, for the CSV download (chatlab.csvfile writes it)."""

from __future__ import annotations

import json
import math

import pandas as pd

from chatlab.csvfile import to_csv_bytes
from chatlab.tokenprobs.record import ReplyTokens
from chatlab.tokenprobs.stats import entropies

# alternatives: a JSON list of [token, probability] pairs, likeliest first.
COLUMNS = {
    "position": "Int64",  # from 1
    "token": "str",
    "probability": "Float64",
    "logprob": "Float64",
    "entropy_bits": "Float64",  # over the listed alternatives (a lower bound)
    "alternatives": "str",
}


def _probability(logprob: float) -> float:
    return float(f"{math.exp(logprob):.6g}")


def token_frame(reply: ReplyTokens) -> pd.DataFrame:
    """One row per token: position, token, probability, logprob, entropy, the alternatives."""
    entropy = entropies(reply).tolist() if reply else []
    rows = {
        "position": range(1, len(reply) + 1),
        "token": [t.token for t in reply.tokens],
        "probability": [_probability(t.logprob) for t in reply.tokens],
        "logprob": [t.logprob for t in reply.tokens],
        "entropy_bits": [round(e, 4) for e in entropy],
        "alternatives": [
            json.dumps([[alt, _probability(lp)] for alt, lp in t.top], ensure_ascii=False)
            for t in reply.tokens
        ],
    }
    return pd.DataFrame({name: pd.Series(list(rows[name]), dtype=dtype) for name, dtype in COLUMNS.items()})


def token_csv_bytes(reply: ReplyTokens) -> bytes:
    """The table as CSV (UTF-8 with BOM; a token a spreadsheet would run as a formula is neutralised)."""
    return to_csv_bytes(token_frame(reply))
