"""The history database: the engine (db.py), its schema (migrations.py), full-text search (search.py),
the Store with its records (store.py), sweeps and meter runs (runs.py)."""

from chatlab.store.db import default_db_path
from chatlab.store.runs import CANCELLED, FINISHED, METER, ROW_FIELDS, RUNNING, SWEEP, RunRecord, RunSummary
from chatlab.store.store import (
    APP_STOPPED,
    COMPLETE,
    ERROR,
    INTERRUPTED,
    STOPPED,
    STREAMING,
    Comparison,
    Conversation,
    ConversationSummary,
    Message,
    ReplyMetrics,
    Store,
    TokenInfo,
    now_iso,
)

__all__ = [
    "APP_STOPPED",
    "CANCELLED",
    "FINISHED",
    "METER",
    "ROW_FIELDS",
    "RUNNING",
    "SWEEP",
    "RunRecord",
    "RunSummary",
    "COMPLETE",
    "ERROR",
    "INTERRUPTED",
    "STOPPED",
    "STREAMING",
    "Comparison",
    "Conversation",
    "ConversationSummary",
    "Message",
    "ReplyMetrics",
    "Store",
    "TokenInfo",
    "default_db_path",
    "now_iso",
]
