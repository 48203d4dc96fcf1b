"""The transcript format: one conversation as a table (one row per message), its columns and their types.

Three formats share it: CSV (flat, opens in Excel), JSON (everything, including each reply's request
record and token probabilities, the latter under "logprobs" in OpenAI's own shape) and Markdown (for
reading). CSV and JSON can be imported back (chatlab.transcript.importer); an import always creates a new
conversation, so importing the same file twice never clashes, and it is dated by the import (marked
imported, the file's own dates kept beside).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from chatlab.params import FLOAT, INT, PARAM_NAMES, PARAMS
from chatlab.store import COMPLETE, ERROR, INTERRUPTED, STOPPED, STREAMING, Message
from chatlab.tokenprobs.record import ReplyTokens

FORMAT = "chatlab-transcript"
VERSION = 1
MAX_IMPORT_BYTES = 20 * 1024 * 1024
# Every imported message costs about a kilobyte of Python objects and one INSERT, so a 20 MB file of
# tiny rows ("user,a" repeated) would take gigabytes and minutes. Real conversations hold hundreds.
MAX_IMPORT_MESSAGES = 20_000
ROLES = ("user", "assistant", "system")
STATUSES = (STREAMING, COMPLETE, INTERRUPTED, STOPPED, ERROR)

_INT, _FLOAT, _BOOL, _TEXT = "Int64", "Float64", "boolean", "str"
# A parameter's column type follows its kind in the parameter table; `stop` is a JSON list as text.
_PARAM_DTYPES = {name: {INT: _INT, FLOAT: _FLOAT}.get(param.kind, _TEXT) for name, param in PARAMS.items()}

# Every column of a transcript, in order, with its pandas dtype (the CSV writes it by this type).
DTYPES: dict[str, str] = {
    "conversation_id": _TEXT,
    "conversation_title": _TEXT,
    "seq": _INT,
    "turn": _INT,
    "created_at": _TEXT,
    "updated_at": _TEXT,
    "role": _TEXT,
    "content": _TEXT,
    "reasoning": _TEXT,
    "choice_index": _INT,
    "role_name": _TEXT,
    "system_prompt": _TEXT,
    "model": _TEXT,
    "endpoint_name": _TEXT,
    **_PARAM_DTYPES,
    "context_depth": _INT,
    "prompt_tokens": _INT,
    "completion_tokens": _INT,
    "cached_tokens": _INT,
    "reasoning_tokens": _INT,
    "total_tokens": _INT,
    "usage_estimated": _BOOL,
    "ttft_s": _FLOAT,
    "duration_s": _FLOAT,
    "tokens_per_s": _FLOAT,
    "cost_usd": _FLOAT,
    "finish_reason": _TEXT,
    "status": _TEXT,
    "error": _TEXT,
    "response_id": _TEXT,
    "system_fingerprint": _TEXT,
}
COLUMNS: list[str] = list(DTYPES)
# Generation parameters spread over their own columns (from Message.params).
PARAM_COLUMNS = PARAM_NAMES
INT_COLUMNS = frozenset(c for c, t in DTYPES.items() if t == _INT)
FLOAT_COLUMNS = frozenset(c for c, t in DTYPES.items() if t == _FLOAT)
BOOL_COLUMNS = frozenset(c for c, t in DTYPES.items() if t == _BOOL)
TEXT_COLUMNS = frozenset(c for c, t in DTYPES.items() if t == _TEXT)

# Message fields an import carries (everything except the database ids), and their kinds.
_MESSAGE_FIELDS = [f.name for f in fields(Message) if f.name not in ("id", "conversation_id")]
_MESSAGE_INT_FIELDS = frozenset(f for f in _MESSAGE_FIELDS if f in INT_COLUMNS)
_MESSAGE_FLOAT_FIELDS = frozenset(f for f in _MESSAGE_FIELDS if f in FLOAT_COLUMNS)
_MESSAGE_TEXT_FIELDS = frozenset({"role", "content", "reasoning", "status"})  # never None
_CONVERSATION_TEXT_FIELDS = (
    "title",
    "kind",
    "created_at",
    "updated_at",
    "role_name",
    "system_prompt",
    "model",
    "endpoint_name",
    "original_created_at",  # set when the file is itself an export of an imported conversation
    "original_updated_at",
)


class TranscriptError(ValueError):
    """A file that cannot be imported as a transcript; the message says why, for showing to the user."""


@dataclass(frozen=True)
class ImportedTranscript:
    """A parsed transcript, not yet stored: conversation fields, and each message's fields (no ids)."""

    conversation: dict = field(default_factory=dict)
    messages: list[dict] = field(default_factory=list)
    # Token probabilities by position in `messages`: (the tokens, or None and why there are none).
    tokens: dict[int, tuple[ReplyTokens | None, str | None]] = field(default_factory=dict)
