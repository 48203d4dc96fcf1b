"""Token probabilities: what the server reported for each token of a reply (record.py), what they say
(stats.py), the temperature/top_p what-if (whatif.py), where samples part (parting.py), the compact blob
the store keeps (codec.py), and the per-token table for CSV (table.py)."""

from chatlab.tokenprobs.codec import TokenBlobError, decode, encode
from chatlab.tokenprobs.parting import Branch, Parting, parting
from chatlab.tokenprobs.record import ReplyTokens, TokenProb, from_wire, to_wire, token_prob
from chatlab.tokenprobs.stats import ReplyStats, entropies, probabilities, reply_stats
from chatlab.tokenprobs.table import token_csv_bytes, token_frame
from chatlab.tokenprobs.whatif import WhatIf, approximation_note, reweigh

__all__ = [
    "Branch",
    "Parting",
    "ReplyStats",
    "ReplyTokens",
    "TokenBlobError",
    "TokenProb",
    "WhatIf",
    "approximation_note",
    "decode",
    "encode",
    "entropies",
    "from_wire",
    "parting",
    "probabilities",
    "reply_stats",
    "reweigh",
    "to_wire",
    "token_csv_bytes",
    "token_frame",
    "token_prob",
]
