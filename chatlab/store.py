"""The history database in SQLite (WAL, one connection per thread): conversations, messages, comparisons."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

from chatlab.migrations import apply_migrations

# Statuses of a stored message. A reply is written while it streams, so a crash leaves it 'streaming';
# the next process start turns such rows into 'interrupted'.
STREAMING, COMPLETE, INTERRUPTED, STOPPED, ERROR = "streaming", "complete", "interrupted", "stopped", "error"


def default_db_path() -> Path:
    """CHATLAB_DB if set, else ~/.local/share/chatlab/chatlab.sqlite3."""
    configured = os.environ.get("CHATLAB_DB")
    if configured:
        return Path(configured).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "chatlab" / "chatlab.sqlite3"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    created_at: str
    updated_at: str
    kind: str = "chat"
    role_name: str | None = None
    system_prompt: str | None = None
    model: str | None = None
    endpoint_name: str | None = None
    comparison_id: str | None = None  # set on the pane conversations of a comparison
    pane_index: int | None = None  # the pane's position in its comparison, from 0


@dataclass(frozen=True)
class Comparison:
    """Several conversations (panes) answering the same user messages side by side."""

    id: str
    title: str
    created_at: str
    updated_at: str
    panes: list[dict] = field(default_factory=list)  # each pane's settings as created (see chatlab.compare)


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: str
    seq: int
    turn: int
    role: str  # user | assistant | system
    content: str
    created_at: str
    updated_at: str
    reasoning: str = ""
    choice_index: int = 0
    role_name: str | None = None
    system_prompt: str | None = None
    model: str | None = None
    endpoint_name: str | None = None
    params: dict = field(default_factory=dict)
    context_depth: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    usage_estimated: bool = False
    ttft_s: float | None = None
    duration_s: float | None = None
    tokens_per_s: float | None = None
    cost_usd: float | None = None
    finish_reason: str | None = None
    status: str = COMPLETE
    error: str | None = None
    request: dict | None = None  # the request record actually sent (messages after the window, params)
    response_id: str | None = None
    system_fingerprint: str | None = None


@dataclass(frozen=True)
class ReplyMetrics:
    """The usage and timing columns of one reply, without its text (cheap to load for long chats)."""

    turn: int
    choice_index: int
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    usage_estimated: bool
    ttft_s: float | None
    duration_s: float | None
    tokens_per_s: float | None
    cost_usd: float | None
    finish_reason: str | None
    status: str


_MESSAGE_COLUMNS = [f.name for f in fields(Message)]
_METRIC_COLUMNS = [f.name for f in fields(ReplyMetrics)]
# Columns the caller may set; JSON-encoded ones are stored under a *_json column.
_JSON_FIELDS = {"params": "params_json", "request": "request_json"}
_CONVERSATION_FIELDS = {f.name for f in fields(Conversation)} - {"id", "created_at"}


def _column(name: str) -> str:
    return _JSON_FIELDS.get(name, name)


def _encode(name: str, value):
    if name in _JSON_FIELDS:
        return json.dumps(
            value if value is not None else ({} if name == "params" else None), ensure_ascii=False
        )
    if name == "usage_estimated":
        return int(bool(value))
    return value


def _message_from_row(row: sqlite3.Row) -> Message:
    data = {}
    for name in _MESSAGE_COLUMNS:
        value = row[_column(name)]
        if name in _JSON_FIELDS:
            value = json.loads(value) if value else ({} if name == "params" else None)
        elif name == "usage_estimated":
            value = bool(value)
        data[name] = value
    return Message(**data)


def _comparison_from_row(row: sqlite3.Row) -> Comparison:
    data = dict(row)
    panes = json.loads(data.pop("panes_json") or "[]")
    return Comparison(**data, panes=panes)


class Store:
    """All reads and writes of conversations; safe to share between threads (one connection each)."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else default_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        apply_migrations(self._db())

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            # isolation_level=None: autocommit; multi-statement writes open their own transaction.
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # Conversations -------------------------------------------------------------------------------

    def create_conversation(
        self,
        title: str = "",
        *,
        kind: str = "chat",
        id: str | None = None,
        created_at: str | None = None,
        **meta,
    ) -> str:
        """A new conversation; returns its id."""
        unknown = set(meta) - _CONVERSATION_FIELDS
        if unknown:
            raise TypeError(f"unknown conversation fields: {sorted(unknown)}")
        cid = id or uuid.uuid4().hex[:16]
        stamp = created_at or now_iso()
        updated = meta.pop("updated_at", None) or stamp
        columns = ["id", "title", "kind", "created_at", "updated_at", *meta]
        values = [cid, title or "", kind, stamp, updated, *meta.values()]
        self._db().execute(
            f"INSERT INTO conversations ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            values,
        )
        return cid

    def get_conversation(self, conversation_id: str) -> Conversation | None:
        row = self._db().execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        return Conversation(**dict(row)) if row else None

    def update_conversation(self, conversation_id: str, **changes) -> None:
        unknown = set(changes) - _CONVERSATION_FIELDS
        if unknown:
            raise TypeError(f"unknown conversation fields: {sorted(unknown)}")
        changes.setdefault("updated_at", now_iso())
        assignments = ", ".join(f"{k} = ?" for k in changes)
        self._db().execute(
            f"UPDATE conversations SET {assignments} WHERE id = ?", [*changes.values(), conversation_id]
        )

    def list_conversations(self, limit: int = 200, kind: str | None = None) -> list[Conversation]:
        """Most recently updated first."""
        sql = "SELECT * FROM conversations"
        args: list = []
        if kind:
            sql += " WHERE kind = ?"
            args.append(kind)
        sql += " ORDER BY updated_at DESC LIMIT ?"
        args.append(limit)
        return [Conversation(**dict(r)) for r in self._db().execute(sql, args)]

    def delete_conversation(self, conversation_id: str) -> None:
        self._db().execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    # Comparisons ---------------------------------------------------------------------------------

    def create_comparison(self, title: str = "", panes: list[dict] | tuple[dict, ...] = ()) -> str:
        """A new, empty comparison (its pane conversations are created separately); returns its id."""
        comparison_id = uuid.uuid4().hex[:16]
        stamp = now_iso()
        self._db().execute(
            "INSERT INTO comparisons (id, title, panes_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            (comparison_id, title or "", json.dumps(list(panes), ensure_ascii=False), stamp, stamp),
        )
        return comparison_id

    def get_comparison(self, comparison_id: str) -> Comparison | None:
        row = self._db().execute("SELECT * FROM comparisons WHERE id = ?", (comparison_id,)).fetchone()
        return _comparison_from_row(row) if row else None

    def update_comparison(self, comparison_id: str, *, title: str | None = None) -> None:
        """Mark the comparison as used now, and retitle it when `title` is given."""
        if title is None:
            self._db().execute(
                "UPDATE comparisons SET updated_at = ? WHERE id = ?", (now_iso(), comparison_id)
            )
        else:
            self._db().execute(
                "UPDATE comparisons SET title = ?, updated_at = ? WHERE id = ?",
                (title, now_iso(), comparison_id),
            )

    def comparison_panes(self, comparison_id: str) -> list[Conversation]:
        """The comparison's pane conversations, in pane order."""
        rows = self._db().execute(
            "SELECT * FROM conversations WHERE comparison_id = ? ORDER BY pane_index", (comparison_id,)
        )
        return [Conversation(**dict(r)) for r in rows]

    def list_comparisons(self, limit: int = 200) -> list[Comparison]:
        """Most recently used first."""
        rows = self._db().execute("SELECT * FROM comparisons ORDER BY updated_at DESC LIMIT ?", (limit,))
        return [_comparison_from_row(r) for r in rows]

    def delete_comparison(self, comparison_id: str) -> None:
        """The comparison, its pane conversations and their messages (foreign keys cascade)."""
        self._db().execute("DELETE FROM comparisons WHERE id = ?", (comparison_id,))

    # Messages ------------------------------------------------------------------------------------

    def add_message(
        self, conversation_id: str, role: str, content: str = "", *, turn: int | None = None, **meta
    ) -> int:
        """Append a message; `turn` defaults to a new turn for user messages, the last turn otherwise."""
        unknown = set(meta) - set(_MESSAGE_COLUMNS)
        if unknown:
            raise TypeError(f"unknown message fields: {sorted(unknown)}")
        db = self._db()
        stamp = meta.pop("created_at", None) or now_iso()
        updated = meta.pop("updated_at", None) or stamp
        # BEGIN IMMEDIATE takes the write lock before reading max(seq), so concurrent writers never
        # collide on the same sequence number.
        db.execute("BEGIN IMMEDIATE")
        try:
            seq, last_turn = db.execute(
                "SELECT COALESCE(MAX(seq), 0), COALESCE(MAX(turn), 0) FROM messages WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
            if turn is None:
                turn = last_turn + 1 if role == "user" else max(last_turn, 1)
            columns = ["conversation_id", "seq", "turn", "role", "content", "created_at", "updated_at"]
            values = [conversation_id, seq + 1, turn, role, content, stamp, updated]
            for name, value in meta.items():
                columns.append(_column(name))
                values.append(_encode(name, value))
            cursor = db.execute(
                f"INSERT INTO messages ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                values,
            )
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (updated, conversation_id))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return cursor.lastrowid

    def add_messages_bulk(self, conversation_id: str, rows: list[dict]) -> list[int]:
        """Append many messages in one transaction (used by imports); returns their ids in order.

        Each row holds Message fields except id/conversation_id, `role` required. A row's `seq` and `turn`
        are kept when given (an import keeps its numbering); otherwise they continue as in add_message.
        Timestamps default to now. On any error nothing is written.
        """
        for row in rows:
            unknown = set(row) - (set(_MESSAGE_COLUMNS) - {"id", "conversation_id"})
            if unknown:
                raise TypeError(f"unknown message fields: {sorted(unknown)}")
            if not row.get("role"):
                raise TypeError("every message needs a role")
        db = self._db()
        ids: list[int] = []
        db.execute("BEGIN IMMEDIATE")
        try:
            max_seq, last_turn = db.execute(
                "SELECT COALESCE(MAX(seq), 0), COALESCE(MAX(turn), 0) FROM messages WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
            newest = None
            for row in rows:
                meta = dict(row)
                role = meta.pop("role")
                content = meta.pop("content", "") or ""
                stamp = meta.pop("created_at", None) or now_iso()
                updated = meta.pop("updated_at", None) or stamp
                seq = meta.pop("seq", None)
                if seq is None:
                    seq = max_seq + 1
                max_seq = max(max_seq, seq)
                turn = meta.pop("turn", None)
                if turn is None:
                    turn = last_turn + 1 if role == "user" else max(last_turn, 1)
                last_turn = max(last_turn, turn)
                columns = ["conversation_id", "seq", "turn", "role", "content", "created_at", "updated_at"]
                values = [conversation_id, seq, turn, role, content, stamp, updated]
                for name, value in meta.items():
                    columns.append(_column(name))
                    values.append(_encode(name, value))
                cursor = db.execute(
                    f"INSERT INTO messages ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                    values,
                )
                ids.append(cursor.lastrowid)
                newest = updated if newest is None else max(newest, updated)
            if newest is not None:
                db.execute(
                    "UPDATE conversations SET updated_at = MAX(updated_at, ?) WHERE id = ?",
                    (newest, conversation_id),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return ids

    def update_message(self, message_id: int, **changes) -> None:
        """Change stored fields of one message (used while a reply streams and when it ends)."""
        unknown = set(changes) - set(_MESSAGE_COLUMNS)
        if unknown:
            raise TypeError(f"unknown message fields: {sorted(unknown)}")
        changes.setdefault("updated_at", now_iso())
        assignments = ", ".join(f"{_column(k)} = ?" for k in changes)
        values = [_encode(k, v) for k, v in changes.items()]
        self._db().execute(f"UPDATE messages SET {assignments} WHERE id = ?", [*values, message_id])

    def get_message(self, message_id: int) -> Message | None:
        row = self._db().execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        return _message_from_row(row) if row else None

    def messages(self, conversation_id: str, *, last: int | None = None) -> list[Message]:
        """Messages in order; `last` keeps only the newest N (for drawing a long history lazily)."""
        if last is None:
            rows = self._db().execute(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq", (conversation_id,)
            )
        else:
            rows = self._db().execute(
                "SELECT * FROM (SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?)"
                " ORDER BY seq",
                (conversation_id, last),
            )
        return [_message_from_row(r) for r in rows]

    def reply_metrics(self, conversation_id: str) -> list[ReplyMetrics]:
        """Usage and timings of every reply, in order, without loading any text."""
        rows = self._db().execute(
            f"SELECT {', '.join(_METRIC_COLUMNS)} FROM messages WHERE conversation_id = ? AND role = 'assistant'"
            " ORDER BY seq",
            (conversation_id,),
        )
        return [ReplyMetrics(**{**dict(r), "usage_estimated": bool(r["usage_estimated"])}) for r in rows]

    def count_messages(self, conversation_id: str) -> int:
        return (
            self._db()
            .execute("SELECT COUNT(*) FROM messages WHERE conversation_id = ?", (conversation_id,))
            .fetchone()[0]
        )

    def delete_messages(self, message_ids: list[int]) -> None:
        if message_ids:
            self._db().execute(
                f"DELETE FROM messages WHERE id IN ({', '.join('?' * len(message_ids))})", message_ids
            )

    def mark_streaming_interrupted(self) -> int:
        """Replies left 'streaming' by a process that died are interrupted; returns how many."""
        cursor = self._db().execute(
            "UPDATE messages SET status = ?, updated_at = ? WHERE status = ?",
            (INTERRUPTED, now_iso(), STREAMING),
        )
        return cursor.rowcount
