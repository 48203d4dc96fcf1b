"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chatlab.endpoint import Endpoint
from tests.fake_openai import FakeOpenAI


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
    st.cache_resource.clear()
    st.cache_data.clear()
    yield fake_openai
    st.cache_resource.clear()
    st.cache_data.clear()
