"""Connecting to the history database: a SQLAlchemy engine for SQLite (WAL) or PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE, POSTGRESQL = "sqlite", "postgresql"
# Execution option that marks a connection as a writer: on SQLite its transaction starts with
# BEGIN IMMEDIATE, so it holds the write lock before its first read (see Store.add_message).
_WRITE = "chatlab_write"


def default_db_path() -> Path:
    """CHATLAB_DB if set, else ~/.local/share/chatlab/chatlab.sqlite3."""
    configured = os.environ.get("CHATLAB_DB")
    if configured:
        return Path(configured).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "chatlab" / "chatlab.sqlite3"


def database_url(path: str | os.PathLike | None = None, url: str | None = None) -> str:
    """The database to open, as a SQLAlchemy URL."""
    # Explicit path > explicit URL > CHATLAB_DB_URL > CHATLAB_DB > the default SQLite file.
    if path is not None:
        return f"sqlite:///{Path(path).expanduser()}"
    url = url or os.environ.get("CHATLAB_DB_URL")
    return url or f"sqlite:///{default_db_path()}"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases (and for in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != SQLITE or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def create_store_engine(url: str) -> Engine:
    """A pooled engine, safe to share between threads; SQLite in WAL with a 30 s busy timeout."""
    backend = make_url(url).get_backend_name()
    if backend == SQLITE:
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False: pooled connections move between threads (one at a time).
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=5, max_overflow=20
        )
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    if backend == POSTGRESQL:
        parsed = make_url(url)
        if parsed.drivername == POSTGRESQL:  # SQLAlchemy's default driver is psycopg2; we ship psycopg 3
            parsed = parsed.set(drivername="postgresql+psycopg")
        # pre_ping: a pooled connection cut by a server restart is replaced instead of failing a page.
        return create_engine(parsed, pool_size=5, max_overflow=20, pool_pre_ping=True)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")


def writer(engine: Engine) -> Engine:
    """The same engine (same pool) for writes: `writer(engine).begin()` is a transaction that may read
    then write; on SQLite it holds the write lock from its start. Every write goes through one."""
    return engine.execution_options(**{_WRITE: True})


def _configure_sqlite(dbapi_connection, _record) -> None:
    # pysqlite's own transaction handling begins late and always DEFERRED; turn it off and let the
    # "begin" hook below issue BEGIN itself (the recipe in SQLAlchemy's SQLite dialect docs).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    # Only writers open a transaction. A reader's statements run in autocommit, as pysqlite runs them
    # by default: every read in the store is a single statement, so it sees one consistent snapshot.
    # BEGIN goes straight to the driver; through exec_driver_sql it would double a cheap read's cost.
    if connection.get_execution_options().get(_WRITE):
        connection.connection.driver_connection.execute("BEGIN IMMEDIATE")
