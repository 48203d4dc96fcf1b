"""The history database (SQLite or PostgreSQL, see chatlab.store.db): conversations, messages, comparisons
(sweeps and meter runs: chatlab.store.runs)."""

from __future__ import annotations

import functools
import json
import math
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, bindparam, text

from chatlab.store import owners
from chatlab.store.db import POSTGRESQL, create_store_engine, database_url, sqlite_path, writer
from chatlab.store.migrations import apply_migrations
from chatlab.store.runs import RunTables
from chatlab.store.search import SearchHit, match_messages, snippet
from chatlab.tokenprobs.record import ReplyTokens

# Statuses of a stored message. A reply is written while it streams, so a crash leaves it 'streaming';
# the next process start turns such rows into 'interrupted' if the process streaming them is gone
# (chatlab.store.owners).
STREAMING, COMPLETE, INTERRUPTED, STOPPED, ERROR = "streaming", "complete", "interrupted", "stopped", "error"
APP_STOPPED = "Chat Lab was stopped while this reply was arriving."


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


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
    imported_at: str | None = None  # set when made by importing a transcript (also its created_at)
    original_created_at: str | None = None  # an import's own dates, as the file carried them
    original_updated_at: str | None = None


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
    reasoning_tokens: int | None = None  # part of completion_tokens (reasoning models)
    notes: tuple[str, ...] = ()  # what was changed from the user's settings, in words
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
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None


@dataclass(frozen=True)
class TokenInfo:
    """Whether a reply has token probabilities, without loading them: how many, the top-k, and when there
    are none although they were asked for, why."""

    message_id: int
    token_count: int
    top_k: int
    note: str | None = None
    logprob_sum: float | None = None  # natural log of the whole reply's probability

    @property
    def available(self) -> bool:
        return self.token_count > 0

    def describe(self) -> str | None:
        """'log-prob −42.1 · −0.351/token · perplexity 1.42' for the reply's usage line (None without tokens)."""
        if not self.available or self.logprob_sum is None:
            return None
        from chatlab.tokenprobs.stats import ReplyStats

        mean = self.logprob_sum / self.token_count
        return ReplyStats(self.token_count, self.logprob_sum, mean, math.exp(-mean)).describe()


@dataclass(frozen=True)
class ConversationSummary:
    """One line of the history list: the conversation and totals over its messages."""

    id: str
    title: str
    kind: str
    created_at: str
    updated_at: str
    model: str | None
    role_name: str | None
    message_count: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # None when no reply has a price
    comparison_id: str | None
    imported_at: str | None = None  # an imported conversation: when (it also sorts by it)


_MESSAGE_COLUMNS = [f.name for f in fields(Message)]
# Columns a new message may set that are not Message fields: the process that streams a reply (an
# internal detail, so it stays out of Message and so out of every export).
_APPEND_COLUMNS = {*_MESSAGE_COLUMNS, "stream_owner"}
_METRIC_COLUMNS = [f.name for f in fields(ReplyMetrics)]
# Columns the caller may set; JSON-encoded ones are stored under a *_json column.
_JSON_FIELDS = {"params": "params_json", "request": "request_json", "notes": "notes_json"}
_CONVERSATION_FIELDS = {f.name for f in fields(Conversation)} - {"id", "created_at"}


def _column(name: str) -> str:
    return _JSON_FIELDS.get(name, name)


def _encode(name: str, value):
    if name in _JSON_FIELDS:
        if name == "notes":
            return json.dumps(list(value), ensure_ascii=False) if value else None
        return json.dumps(
            value if value is not None else ({} if name == "params" else None), ensure_ascii=False
        )
    if name == "usage_estimated":
        return int(bool(value))
    return value


# (field, column) pairs, worked out once: a long conversation reads 30 fields from each of 10,000 rows.
_MESSAGE_READS = [(name, _column(name)) for name in _MESSAGE_COLUMNS]


def _message_from_row(row: Mapping) -> Message:
    data = {name: row[column] for name, column in _MESSAGE_READS}
    data["params"] = json.loads(data["params"]) if data["params"] else {}
    data["request"] = json.loads(data["request"]) if data["request"] else None
    data["notes"] = tuple(json.loads(data["notes"])) if data["notes"] else ()
    data["usage_estimated"] = bool(data["usage_estimated"])
    return Message(**data)


def _comparison_from_row(row: Mapping) -> Comparison:
    data = dict(row)
    panes = json.loads(data.pop("panes_json") or "[]")
    return Comparison(**data, panes=panes)


def _insert(table: str, columns: list[str]):
    """INSERT of `columns` (bound by the same names) returning the new row's id."""
    names, binds = ", ".join(columns), ", ".join(f":{c}" for c in columns)
    return _text(f"INSERT INTO {table} ({names}) VALUES ({binds}) RETURNING id")


_NEXT_SEQ = text(
    "SELECT COALESCE(MAX(seq), 0), COALESCE(MAX(turn), 0) FROM messages WHERE conversation_id = :conversation_id"
)
_TOUCH = text("UPDATE conversations SET updated_at = :updated_at WHERE id = :id")
_LOCK_CONVERSATION = text("SELECT 1 FROM conversations WHERE id = :id FOR UPDATE")
# Status stays in the condition: a reply that finished meanwhile keeps its own status.
_INTERRUPT = text(
    "UPDATE messages SET status = :interrupted, updated_at = :now, error = COALESCE(error, :why)"
    " WHERE status = :streaming AND id IN :ids"
).bindparams(bindparam("ids", expanding=True))
_FORGET_PROCESSES = text("DELETE FROM processes WHERE id IN :ids").bindparams(
    bindparam("ids", expanding=True)
)
_DELETE_MESSAGES = text("DELETE FROM messages WHERE id IN :ids").bindparams(bindparam("ids", expanding=True))


class Store(RunTables):
    """All reads and writes of conversations, comparisons, sweeps and meter runs (chatlab.store.runs); safe
    to share between threads (a pooled engine)."""

    def __init__(self, path: str | os.PathLike | None = None, *, url: str | None = None):
        """Open (and migrate) the database: a SQLite file at `path`, or any URL chatlab.store.db supports."""
        self.url = database_url(path, url)
        self.path = sqlite_path(self.url)  # None on PostgreSQL
        self._engine = create_store_engine(self.url)
        self._writer = writer(self._engine)
        self.dialect = self._engine.dialect.name
        self._registered_as: str | None = None  # this process's owner id once registered (stream_owner)
        apply_migrations(self._engine)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for benchmarks and reports that query the tables directly."""
        return self._engine

    def close(self) -> None:
        """Close the pooled connections; the store opens new ones if it is used again."""
        # Safe while other threads are mid-query: connections they hold are closed when returned.
        self._engine.dispose()

    def _rows(self, sql, params: Mapping | None = None) -> list[dict]:
        with self._engine.connect() as db:
            result = db.execute(_sql(sql), params or {})
            keys = list(result.keys())
            # Plain dicts: a RowMapping's lookups by name cost more than the query on a 10,000-row read.
            return [dict(zip(keys, row, strict=True)) for row in result.all()]

    def _row(self, sql, params: Mapping | None = None) -> dict | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _write(self, sql, params: Mapping | None = None) -> int:
        """Run one write statement in its own transaction; returns the number of rows it touched."""
        with self._writer.begin() as db:
            return db.execute(_sql(sql), params or {}).rowcount

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
        values = {"id": cid, "title": title or "", "kind": kind, "created_at": stamp, "updated_at": updated}
        values.update(meta)
        with self._writer.begin() as db:
            db.execute(_insert("conversations", list(values)), values)
        return cid

    def get_conversation(self, conversation_id: str) -> Conversation | None:
        row = self._row("SELECT * FROM conversations WHERE id = :id", {"id": conversation_id})
        return Conversation(**row) if row else None

    def update_conversation(self, conversation_id: str, **changes) -> None:
        unknown = set(changes) - _CONVERSATION_FIELDS
        if unknown:
            raise TypeError(f"unknown conversation fields: {sorted(unknown)}")
        changes.setdefault("updated_at", now_iso())
        assignments = ", ".join(f"{k} = :{k}" for k in changes)
        self._write(
            f"UPDATE conversations SET {assignments} WHERE id = :_id", {**changes, "_id": conversation_id}
        )

    def rename_conversation(self, conversation_id: str, title: str) -> None:
        """Retitle a conversation; its place in the history (updated_at) stays where it was."""
        self._write(
            "UPDATE conversations SET title = :title WHERE id = :id", {"title": title, "id": conversation_id}
        )

    def list_conversations(self, limit: int = 200, kind: str | None = None) -> list[Conversation]:
        """Most recently updated first."""
        where = "WHERE kind = :kind " if kind else ""
        rows = self._rows(
            f"SELECT * FROM conversations {where}ORDER BY updated_at DESC LIMIT :limit",
            {"kind": kind, "limit": limit},
        )
        return [Conversation(**r) for r in rows]

    def conversation_summaries(
        self, limit: int = 200, kind: str | None = None, query: str | None = None
    ) -> list[ConversationSummary]:
        """The history list, most recently updated first; `query` keeps conversations with a search hit."""
        where, params = [], {"limit": limit}
        if kind:
            where.append("c.kind = :kind")
            params["kind"] = kind
        if query and query.strip():
            match = match_messages(self.dialect, query.strip())
            where.append(match.in_conversation())
            params.update(match.params)
        where_sql = f"WHERE {' AND '.join(where)} " if where else ""
        # Pick the page of conversations first, then total only their messages.
        rows = self._rows(
            f"""
            SELECT c.id, c.title, c.kind, c.created_at, c.updated_at, c.model, c.role_name,
                   COUNT(m.id) AS message_count,
                   COALESCE(SUM(m.prompt_tokens), 0) AS prompt_tokens,
                   COALESCE(SUM(m.completion_tokens), 0) AS completion_tokens,
                   SUM(m.cost_usd) AS cost_usd,
                   c.comparison_id, c.imported_at
            FROM (SELECT * FROM conversations c {where_sql}ORDER BY c.updated_at DESC LIMIT :limit) AS c
            LEFT JOIN messages m ON m.conversation_id = c.id
            GROUP BY c.id, c.title, c.kind, c.created_at, c.updated_at, c.model, c.role_name, c.comparison_id,
                     c.imported_at
            ORDER BY c.updated_at DESC
            """,
            params,
        )
        return [ConversationSummary(**r) for r in rows]

    def delete_conversation(self, conversation_id: str) -> None:
        self._write("DELETE FROM conversations WHERE id = :id", {"id": conversation_id})

    # Comparisons ---------------------------------------------------------------------------------

    def create_comparison(self, title: str = "", panes: list[dict] | tuple[dict, ...] = ()) -> str:
        """A new, empty comparison (its pane conversations are created separately); returns its id."""
        comparison_id = uuid.uuid4().hex[:16]
        stamp = now_iso()
        self._write(
            "INSERT INTO comparisons (id, title, panes_json, created_at, updated_at)"
            " VALUES (:id, :title, :panes, :stamp, :stamp)",
            {
                "id": comparison_id,
                "title": title or "",
                "panes": json.dumps(list(panes), ensure_ascii=False),
                "stamp": stamp,
            },
        )
        return comparison_id

    def get_comparison(self, comparison_id: str) -> Comparison | None:
        row = self._row("SELECT * FROM comparisons WHERE id = :id", {"id": comparison_id})
        return _comparison_from_row(row) if row else None

    def update_comparison(self, comparison_id: str, *, title: str | None = None) -> None:
        """Mark the comparison as used now, and retitle it when `title` is given."""
        params = {"id": comparison_id, "now": now_iso(), "title": title}
        if title is None:
            self._write("UPDATE comparisons SET updated_at = :now WHERE id = :id", params)
        else:
            self._write("UPDATE comparisons SET title = :title, updated_at = :now WHERE id = :id", params)

    def comparison_panes(self, comparison_id: str) -> list[Conversation]:
        """The comparison's pane conversations, in pane order."""
        rows = self._rows(
            "SELECT * FROM conversations WHERE comparison_id = :id ORDER BY pane_index", {"id": comparison_id}
        )
        return [Conversation(**r) for r in rows]

    def list_comparisons(self, limit: int = 200) -> list[Comparison]:
        """Most recently used first."""
        rows = self._rows("SELECT * FROM comparisons ORDER BY updated_at DESC LIMIT :limit", {"limit": limit})
        return [_comparison_from_row(r) for r in rows]

    def delete_comparison(self, comparison_id: str) -> None:
        """The comparison, its pane conversations and their messages (foreign keys cascade)."""
        self._write("DELETE FROM comparisons WHERE id = :id", {"id": comparison_id})

    # Capability probes ---------------------------------------------------------------------------

    def save_probe(self, endpoint: str, model: str, protocol: str, probed_at: str, record: dict) -> None:
        """Keep what a probe found (chatlab.probe.ProbeReport.to_record), replacing an older one."""
        self._write(
            "INSERT INTO probes (endpoint, model, protocol, probed_at, findings_json)"
            " VALUES (:endpoint, :model, :protocol, :probed_at, :record)"
            " ON CONFLICT (endpoint, model, protocol) DO UPDATE"
            " SET probed_at = excluded.probed_at, findings_json = excluded.findings_json",
            {
                "endpoint": endpoint,
                "model": model,
                "protocol": protocol,
                "probed_at": probed_at,
                "record": json.dumps(record, ensure_ascii=False),
            },
        )

    def probe(self, endpoint: str, model: str, protocol: str) -> tuple[str, dict] | None:
        """(probed_at, record) of the latest probe of this endpoint, model and protocol, if any."""
        row = self._row(
            "SELECT probed_at, findings_json FROM probes"
            " WHERE endpoint = :endpoint AND model = :model AND protocol = :protocol",
            {"endpoint": endpoint, "model": model, "protocol": protocol},
        )
        return (row["probed_at"], json.loads(row["findings_json"])) if row else None

    def probes(self, endpoint: str) -> list[tuple[str, str, str, dict]]:
        """(model, protocol, probed_at, record) of every probe of an endpoint, newest first."""
        rows = self._rows(
            "SELECT model, protocol, probed_at, findings_json FROM probes WHERE endpoint = :endpoint"
            " ORDER BY probed_at DESC",
            {"endpoint": endpoint},
        )
        return [(r["model"], r["protocol"], r["probed_at"], json.loads(r["findings_json"])) for r in rows]

    def last_model(self, endpoint_name: str) -> str | None:
        """The model of the newest reply sent through this endpoint (the picker's remembered default)."""
        row = self._row(
            "SELECT model FROM messages WHERE endpoint_name = :endpoint AND role = 'assistant'"
            " AND model IS NOT NULL AND model <> '' ORDER BY id DESC LIMIT 1",
            {"endpoint": endpoint_name},
        )
        return row["model"] if row else None

    # Messages ------------------------------------------------------------------------------------

    def _lock_for_append(self, db: Connection, conversation_id: str) -> None:
        # Concurrent writers must never read the same MAX(seq). SQLite: the write transaction began with
        # BEGIN IMMEDIATE, which already holds the database's write lock. PostgreSQL: lock the conversation
        # row, so appends to one conversation queue up while other conversations proceed.
        if self.dialect == POSTGRESQL:
            db.execute(_LOCK_CONVERSATION, {"id": conversation_id})

    def add_message(
        self, conversation_id: str, role: str, content: str = "", *, turn: int | None = None, **meta
    ) -> int:
        """Append a message; `turn` defaults to a new turn for user messages, the last turn otherwise.

        A reply about to stream passes `stream_owner=store.stream_owner()`.
        """
        unknown = set(meta) - _APPEND_COLUMNS
        if unknown:
            raise TypeError(f"unknown message fields: {sorted(unknown)}")
        stamp = meta.pop("created_at", None) or now_iso()
        updated = meta.pop("updated_at", None) or stamp
        with self._writer.begin() as db:
            self._lock_for_append(db, conversation_id)
            seq, last_turn = db.execute(_NEXT_SEQ, {"conversation_id": conversation_id}).one()
            if turn is None:
                turn = last_turn + 1 if role == "user" else max(last_turn, 1)
            values = _message_values(conversation_id, seq + 1, turn, role, content, stamp, updated, meta)
            message_id = db.execute(_insert("messages", list(values)), values).scalar_one()
            db.execute(_TOUCH, {"updated_at": updated, "id": conversation_id})
        return message_id

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
        ids: list[int] = []
        with self._writer.begin() as db:
            self._lock_for_append(db, conversation_id)
            max_seq, last_turn = db.execute(_NEXT_SEQ, {"conversation_id": conversation_id}).one()
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
                values = _message_values(conversation_id, seq, turn, role, content, stamp, updated, meta)
                ids.append(db.execute(_insert("messages", list(values)), values).scalar_one())
                newest = updated if newest is None else max(newest, updated)
            if newest is not None:
                greatest = "GREATEST" if self.dialect == POSTGRESQL else "MAX"
                db.execute(
                    text(
                        f"UPDATE conversations SET updated_at = {greatest}(updated_at, :updated_at) WHERE id = :id"
                    ),
                    {"updated_at": newest, "id": conversation_id},
                )
        return ids

    def update_message(self, message_id: int, **changes) -> None:
        """Change stored fields of one message (used while a reply streams and when it ends)."""
        unknown = set(changes) - set(_MESSAGE_COLUMNS)
        if unknown:
            raise TypeError(f"unknown message fields: {sorted(unknown)}")
        changes.setdefault("updated_at", now_iso())
        assignments = ", ".join(f"{_column(k)} = :{k}" for k in changes)
        values = {k: _encode(k, v) for k, v in changes.items()}
        self._write(f"UPDATE messages SET {assignments} WHERE id = :_id", {**values, "_id": message_id})

    def get_message(self, message_id: int) -> Message | None:
        row = self._row("SELECT * FROM messages WHERE id = :id", {"id": message_id})
        return _message_from_row(row) if row else None

    def messages(self, conversation_id: str, *, last: int | None = None) -> list[Message]:
        """Messages in order; `last` keeps only the newest N (for drawing a long history lazily)."""
        params = {"cid": conversation_id, "last": last}
        if last is None:
            rows = self._rows("SELECT * FROM messages WHERE conversation_id = :cid ORDER BY seq", params)
        else:
            rows = self._rows(
                "SELECT * FROM (SELECT * FROM messages WHERE conversation_id = :cid ORDER BY seq DESC LIMIT :last)"
                " AS tail ORDER BY seq",
                params,
            )
        return [_message_from_row(r) for r in rows]

    def reply_metrics(self, conversation_id: str) -> list[ReplyMetrics]:
        """Usage and timings of every reply, in order, without loading any text."""
        rows = self._rows(
            f"SELECT {', '.join(_METRIC_COLUMNS)} FROM messages"
            " WHERE conversation_id = :cid AND role = 'assistant' ORDER BY seq",
            {"cid": conversation_id},
        )
        return [ReplyMetrics(**{**r, "usage_estimated": bool(r["usage_estimated"])}) for r in rows]

    def count_messages(self, conversation_id: str) -> int:
        row = self._row(
            "SELECT COUNT(*) AS n FROM messages WHERE conversation_id = :cid", {"cid": conversation_id}
        )
        return row["n"]

    def count_all_messages(self) -> int:
        """Messages in the whole database."""
        return self._row("SELECT COUNT(*) AS n FROM messages")["n"]

    def delete_messages(self, message_ids: list[int]) -> None:
        if message_ids:
            self._write(_DELETE_MESSAGES, {"ids": list(message_ids)})

    # Samples ------------------------------------------------------------------------------------

    def swap_choices(self, conversation_id: str, turn: int, a: int, b: int) -> None:
        """Exchange the choice indices a and b of a turn's replies (both rows, or neither, change)."""
        with self._writer.begin() as db:
            self._lock_for_append(db, conversation_id)
            db.execute(
                _text(
                    "UPDATE messages SET choice_index = CASE choice_index WHEN :a THEN :b ELSE :a END"
                    " WHERE conversation_id = :cid AND turn = :turn AND role = 'assistant'"
                    " AND choice_index IN (:a, :b)"
                ),
                {"cid": conversation_id, "turn": turn, "a": a, "b": b},
            )

    # Stream owners (see chatlab.store.owners) ----------------------------------------------------

    def stream_owner(self) -> str:
        """This process's owner id, for a reply it is about to stream; the first call registers the process
        in this database and keeps its heartbeat going while the process lives."""
        me = owners.this_process()
        if self._registered_as != me.id:  # also after a fork: the child is another owner
            self.heartbeat()
            self._registered_as = me.id
            owners.keep_alive(self)
        return me.id

    def heartbeat(self) -> None:
        """Record this process as alive now (the heartbeat thread calls it every few seconds)."""
        with self._writer.begin() as db:
            owners.beat(db, owners.this_process())

    def retire(self) -> None:
        """This process stops streaming into this database (at exit): other processes may interrupt its
        unfinished replies at once."""
        self._write("DELETE FROM processes WHERE id = :id", {"id": owners.this_process().id})

    def abandoned_replies(
        self, conversation_id: str | None = None, *, stale_after_s: float = owners.STALE_AFTER_S
    ) -> list[int]:
        """Ids of 'streaming' replies (of one conversation, or all) whose streaming process is gone."""
        # 'streaming' is spelled out, not bound: only a literal lets the planner use the partial indexes.
        where = " AND m.conversation_id = :cid" if conversation_id is not None else ""
        rows = self._rows(
            f"""
            SELECT m.id AS message_id, p.id, p.host, p.pid, p.pid_start, p.pid_space, p.heartbeat_at,
                   {owners.db_now(self.dialect)} AS read_at
            FROM messages m LEFT JOIN processes p ON p.id = m.stream_owner
            WHERE m.status = 'streaming'{where}
            ORDER BY m.id
            """,
            {"cid": conversation_id},
        )
        return [r.pop("message_id") for r in rows if owners.is_gone(_owner(r), stale_after_s)]

    def interrupt_abandoned_replies(
        self, conversation_id: str | None = None, *, stale_after_s: float = owners.STALE_AFTER_S
    ) -> int:
        """Mark interrupted the 'streaming' replies whose process is gone; returns how many.

        Called once when a process starts (every conversation), and by a page about to show a
        conversation, so a reply a dead sibling process left behind shows as interrupted, with Retry.
        """
        abandoned = self.abandoned_replies(conversation_id, stale_after_s=stale_after_s)
        if conversation_id is None:
            self._forget_gone_processes(stale_after_s)
        if not abandoned:
            return 0
        return self._write(
            _INTERRUPT,
            {
                "interrupted": INTERRUPTED,
                "now": now_iso(),
                "streaming": STREAMING,
                "why": APP_STOPPED,
                "ids": abandoned,
            },
        )

    def _forget_gone_processes(self, stale_after_s: float) -> None:
        # One row is added per process start: drop those of processes that are gone.
        rows = self._rows(
            f"SELECT id, host, pid, pid_start, pid_space, heartbeat_at, {owners.db_now(self.dialect)} AS read_at"
            " FROM processes"
        )
        gone = [r["id"] for r in rows if owners.is_gone(_owner(r), stale_after_s)]
        if gone:
            self._write(_FORGET_PROCESSES, {"ids": gone})

    # Token probabilities -------------------------------------------------------------------------

    # The codec (NumPy) is imported where it is used: most processes that open the store never need it.

    def save_reply_tokens(self, message_id: int, tokens: ReplyTokens | None, note: str | None = None) -> None:
        """Keep a reply's token probabilities (replacing earlier ones), or only why it has none (`note`)."""
        from chatlab.tokenprobs.codec import encode

        self._write(
            "INSERT INTO message_tokens (message_id, token_count, top_k, data, note, logprob_sum)"
            " VALUES (:id, :count, :top_k, :data, :note, :total)"
            " ON CONFLICT (message_id) DO UPDATE SET token_count = excluded.token_count,"
            " top_k = excluded.top_k, data = excluded.data, note = excluded.note,"
            " logprob_sum = excluded.logprob_sum",
            {
                "id": message_id,
                "count": len(tokens) if tokens else 0,
                "top_k": tokens.top_k if tokens else 0,
                "data": encode(tokens) if tokens else None,
                "note": note,
                # Kept beside the blob so a reply's usage line can say how likely it was without reading it.
                "total": math.fsum(t.logprob for t in tokens.tokens) if tokens else None,
            },
        )

    def reply_tokens(self, message_id: int) -> ReplyTokens | None:
        """A reply's token probabilities (None when it has none); TokenBlobError if they are damaged."""
        from chatlab.tokenprobs.codec import decode

        row = self._row("SELECT data FROM message_tokens WHERE message_id = :id", {"id": message_id})
        return decode(bytes(row["data"])) if row and row["data"] is not None else None

    def token_info(self, conversation_id: str) -> dict[int, TokenInfo]:
        """Per reply of a conversation that asked for token probabilities: counts and notes, no data."""
        rows = self._rows(
            "SELECT t.message_id, t.token_count, t.top_k, t.note, t.logprob_sum FROM message_tokens t"
            " JOIN messages m ON m.id = t.message_id WHERE m.conversation_id = :cid",
            {"cid": conversation_id},
        )
        return {r["message_id"]: TokenInfo(**r) for r in rows}

    def conversation_tokens(self, conversation_id: str) -> dict[int, ReplyTokens]:
        """Every reply's token probabilities in a conversation, by message id (for exports)."""
        from chatlab.tokenprobs.codec import decode

        rows = self._rows(
            "SELECT t.message_id, t.data FROM message_tokens t JOIN messages m ON m.id = t.message_id"
            " WHERE m.conversation_id = :cid AND t.data IS NOT NULL",
            {"cid": conversation_id},
        )
        return {r["message_id"]: decode(bytes(r["data"])) for r in rows}

    # Search --------------------------------------------------------------------------------------

    def search(self, query: str, limit: int = 50, kind: str | None = None) -> list[SearchHit]:
        """Messages containing `query` (any case, taken literally), most recently stored first.

        `kind` keeps messages of conversations of that kind. See chatlab.store.search for how each database
        matches; replies still streaming are not found.
        """
        query = query.strip()
        if not query:
            return []
        match = match_messages(self.dialect, query)
        kind_filter = " AND c.kind = :kind" if kind else ""
        rows = self._rows(
            f"""
            SELECT m.conversation_id, c.title, m.id, m.seq, m.role, m.content, m.created_at
            FROM {match.source} JOIN conversations c ON c.id = m.conversation_id
            WHERE {match.condition}{kind_filter}
            ORDER BY {match.newest_first} DESC LIMIT :limit
            """,
            {**match.params, "kind": kind, "limit": limit},
        )
        return [
            SearchHit(
                conversation_id=r["conversation_id"],
                conversation_title=r["title"],
                message_id=r["id"],
                seq=r["seq"],
                role=r["role"],
                snippet=snippet(r["content"], query),
                created_at=r["created_at"],
            )
            for r in rows
        ]


def _owner(row: Mapping) -> owners.Owner | None:
    """The owner in a row read with the processes columns; None when the reply names no living row."""
    if row["id"] is None:
        return None
    return owners.Owner(
        id=row["id"],
        host=row["host"],
        pid=row["pid"],
        pid_start=row["pid_start"],
        pid_space=row["pid_space"],
        heartbeat_at=row["heartbeat_at"],
        read_at=row["read_at"],
    )


def _sql(sql):
    return _text(sql) if isinstance(sql, str) else sql


@functools.lru_cache(maxsize=512)
def _text(sql: str):
    # The statements are few (update_message's vary only by which columns change); building a text()
    # each call costs more than running a small query on SQLite.
    return text(sql)


def _message_values(
    conversation_id: str, seq: int, turn: int, role: str, content: str, stamp: str, updated: str, meta: dict
) -> dict:
    """Column values of a new message row, keyed by column name."""
    values = {
        "conversation_id": conversation_id,
        "seq": seq,
        "turn": turn,
        "role": role,
        "content": content,
        "created_at": stamp,
        "updated_at": updated,
    }
    values.update({_column(name): _encode(name, value) for name, value in meta.items()})
    return values
