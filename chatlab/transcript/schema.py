"""The transcript format: one conversation as a table (one row per message), its columns and their types.

Three formats share it: CSV (flat, opens in Excel), JSON (everything, including each reply's request
record) and Markdown (for reading). CSV and JSON can be imported back (chatlab.transcript.importer); an
import always creates a new conversation, so importing the same file twice never clashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from chatlab.params import PARAM_NAMES
from chatlab.store import COMPLETE, ERROR, INTERRUPTED, STOPPED, STREAMING, Message

FORMAT = "chatlab-transcript"
VERSION = 1
MAX_IMPORT_BYTES = 20 * 1024 * 1024
# Every imported message costs about a kilobyte of Python objects and one INSERT, so a 20 MB file of
# tiny rows ("user,a" repeated) would take gigabytes and minutes. Real conversations hold hundreds.
MAX_IMPORT_MESSAGES = 20_000
ROLES = ("user", "assistant", "system")
STATUSES = (STREAMING, COMPLETE, INTERRUPTED, STOPPED, ERROR)

COLUMNS: list[str] = [
    "conversation_id",
    "conversation_title",
    "seq",
    "turn",
    "created_at",
    "updated_at",
    "role",
    "content",
    "reasoning",
    "choice_index",
    "role_name",
    "system_prompt",
    "model",
    "endpoint_name",
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "max_tokens",
    "n",
    "seed",
    "stop",
    "user",
    "context_depth",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "total_tokens",
    "usage_estimated",
    "ttft_s",
    "duration_s",
    "tokens_per_s",
    "cost_usd",
    "finish_reason",
    "status",
    "error",
    "response_id",
    "system_fingerprint",
]

# Generation parameters spread over their own columns (from Message.params); `stop` is a JSON list as text.
PARAM_COLUMNS = PARAM_NAMES
INT_COLUMNS = frozenset(
    {
        "seq",
        "turn",
        "choice_index",
        "max_tokens",
        "n",
        "seed",
        "context_depth",
        "prompt_tokens",
        "completion_tokens",
        "cached_tokens",
        "total_tokens",
    }
)
FLOAT_COLUMNS = frozenset(
    {
        "temperature",
        "top_p",
        "presence_penalty",
        "frequency_penalty",
        "ttft_s",
        "duration_s",
        "tokens_per_s",
        "cost_usd",
    }
)
BOOL_COLUMNS = frozenset({"usage_estimated"})
TEXT_COLUMNS = frozenset(COLUMNS) - INT_COLUMNS - FLOAT_COLUMNS - BOOL_COLUMNS
DTYPES: dict[str, str] = {
    c: "Int64"
    if c in INT_COLUMNS
    else "Float64"
    if c in FLOAT_COLUMNS
    else "boolean"
    if c in BOOL_COLUMNS
    else "str"
    for c in COLUMNS
}

# Message fields an import carries (everything except the database ids), and their kinds.
_MESSAGE_FIELDS = [f.name for f in fields(Message) if f.name not in ("id", "conversation_id")]
_MESSAGE_INT_FIELDS = frozenset(
    {"seq", "turn", "choice_index", "context_depth", "prompt_tokens", "completion_tokens", "cached_tokens"}
)
_MESSAGE_FLOAT_FIELDS = frozenset({"ttft_s", "duration_s", "tokens_per_s", "cost_usd"})
_MESSAGE_TEXT_FIELDS = frozenset({"role", "content", "reasoning", "status"})  # never None
_MESSAGE_OPTIONAL_TEXT_FIELDS = frozenset(
    {
        "created_at",
        "updated_at",
        "role_name",
        "system_prompt",
        "model",
        "endpoint_name",
        "finish_reason",
        "error",
        "response_id",
        "system_fingerprint",
    }
)
_CONVERSATION_TEXT_FIELDS = (
    "title",
    "kind",
    "created_at",
    "updated_at",
    "role_name",
    "system_prompt",
    "model",
    "endpoint_name",
)


class TranscriptError(ValueError):
    """A file that cannot be imported as a transcript; the message says why, for showing to the user."""


@dataclass(frozen=True)
class ImportedTranscript:
    """A parsed transcript, not yet stored: conversation fields, and each message's fields (no ids)."""

    conversation: dict = field(default_factory=dict)
    messages: list[dict] = field(default_factory=list)
