"""A database as an older Chat Lab left it, for tests of what an upgrade does to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from chatlab.store.db import create_store_engine, writer
from chatlab.store.migrations import MIGRATIONS


@contextmanager
def old_database(db_url: str, migrations: int) -> Iterator[Connection]:
    """The first `migrations` migrations applied and recorded, nothing after; the block may add rows."""
    engine = create_store_engine(db_url)
    try:
        with writer(engine).begin() as db:
            db.exec_driver_sql("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            for name, fn in MIGRATIONS[:migrations]:
                fn(db)
                db.exec_driver_sql(f"INSERT INTO _migrations VALUES ('{name}', '2026-01-01')")
            yield db
    finally:
        engine.dispose()
