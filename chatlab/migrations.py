"""The history database's schema, as an ordered list of small migrations; each runs once, in order."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    """Register a migration; its function name is recorded in `_migrations` once applied."""
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def _run_statements(db: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it commits first, which would break the surrounding BEGIN IMMEDIATE.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@migration
def m001_conversations_and_messages(db: sqlite3.Connection) -> None:
    _run_statements(
        db,
        """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT 'chat',
            role_name TEXT,
            system_prompt TEXT,
            model TEXT,
            endpoint_name TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            turn INTEGER NOT NULL,
            role TEXT NOT NULL,
            content TEXT NOT NULL DEFAULT '',
            reasoning TEXT NOT NULL DEFAULT '',
            choice_index INTEGER NOT NULL DEFAULT 0,
            role_name TEXT,
            system_prompt TEXT,
            model TEXT,
            endpoint_name TEXT,
            params_json TEXT NOT NULL DEFAULT '{}',
            context_depth INTEGER,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            cached_tokens INTEGER,
            usage_estimated INTEGER NOT NULL DEFAULT 0,
            ttft_s REAL,
            duration_s REAL,
            tokens_per_s REAL,
            cost_usd REAL,
            finish_reason TEXT,
            status TEXT NOT NULL DEFAULT 'complete',
            error TEXT,
            request_json TEXT,
            response_id TEXT,
            system_fingerprint TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (conversation_id, seq)
        );
        CREATE INDEX messages_by_conversation ON messages (conversation_id, seq);
        CREATE INDEX messages_streaming ON messages (status) WHERE status = 'streaming';
        CREATE INDEX conversations_by_update ON conversations (updated_at);
        """,
    )


@migration
def m002_comparisons(db: sqlite3.Connection) -> None:
    # A comparison groups one conversation per pane; `panes_json` keeps each pane's settings as created
    # (model, params, context depth, role, few-shot), so a comparison can be resumed after a reload.
    # ON DELETE CASCADE: deleting a comparison deletes its pane conversations (and so their messages).
    _run_statements(
        db,
        """
        CREATE TABLE comparisons (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            panes_json TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        ALTER TABLE conversations ADD COLUMN comparison_id TEXT REFERENCES comparisons(id) ON DELETE CASCADE;
        ALTER TABLE conversations ADD COLUMN pane_index INTEGER;
        CREATE INDEX conversations_by_comparison ON conversations (comparison_id, pane_index)
            WHERE comparison_id IS NOT NULL;
        CREATE INDEX comparisons_by_update ON comparisons (updated_at);
        """,
    )


def apply_migrations(db: sqlite3.Connection) -> list[str]:
    """Run every migration not yet recorded; returns the names applied now."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        # BEGIN IMMEDIATE so two processes opening a fresh database do not both migrate it.
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
                db.execute("ROLLBACK")
                continue
            fn(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat()),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied
