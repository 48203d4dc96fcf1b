"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from chatlab.endpoint import Endpoint
from chatlab.store import Store
from tests.fake_openai import FakeOpenAI
from tests.postgres_server import DEBIAN_BINARIES, PostgresServer, find_bin_dir


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A started loopback fake of the OpenAI API, stopped after the test."""
    fake = FakeOpenAI().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_endpoint(fake_openai: FakeOpenAI) -> Endpoint:
    """An endpoint pointing at the fake, with retries off so failures are fast."""
    return Endpoint(base_url=fake_openai.base_url, api_keys=("sk-test-1234",), max_retries=0, timeout_s=5)


@pytest.fixture
def app_env(tmp_path, fake_openai: FakeOpenAI, monkeypatch) -> FakeOpenAI:
    """Environment for running a page: the fake endpoint, a fresh database, fresh Streamlit caches."""
    import streamlit as st

    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-app-0000")
    monkeypatch.setenv("CHATLAB_MAX_RETRIES", "0")
    monkeypatch.setenv("CHATLAB_DB", str(tmp_path / "app.sqlite3"))
    monkeypatch.setenv("CHATLAB_SECRETS", str(tmp_path / "no-secrets.toml"))
    monkeypatch.setenv("CHATLAB_CUSTOM_ROLES", str(tmp_path / "custom_roles.yaml"))
    monkeypatch.delenv("CHATLAB_PASSWORD", raising=False)  # a developer's own password would lock every page
    st.cache_resource.clear()
    st.cache_data.clear()
    yield fake_openai
    st.cache_resource.clear()
    st.cache_data.clear()


# The history database on both backends ---------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_database_url_from_the_environment(monkeypatch) -> None:
    """A developer's CHATLAB_DB_URL must not send tests (or the pages they run) to a real database."""
    monkeypatch.delenv("CHATLAB_DB_URL", raising=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the session (Debian's `postgresql` package, see postgres_server.py)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        reason = (
            f"PostgreSQL is not installed (no initdb/pg_ctl in {DEBIAN_BINARIES} or on PATH): "
            "`scripts/install.sh --browser` installs Debian's postgresql package"
        )
        if os.environ.get("CHATLAB_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (CHATLAB_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    with PostgresServer(bin_dir) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> Iterator[str]:
    """A SQLAlchemy URL of an empty database: a SQLite file, or a fresh database on the test server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite3'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated, empty store on each backend (tests that use it run once per backend)."""
    store = Store(url=db_url)
    try:
        yield store
    finally:
        store.close()
