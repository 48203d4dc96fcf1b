"""Process-wide resources the pages share: the client cache and the model list (chatlab_ui/resources.py)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab_ui import resources

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def model_list_calls(fake) -> int:
    return sum(1 for r in fake.requests if r.method == "GET" and r.path.startswith("/v1/models"))


def test_a_failed_model_list_is_remembered_for_a_while_not_asked_on_every_rerun(app_env):
    app_env.models_status = 500
    at = AppTest.from_file(APP, default_timeout=30).run()
    for _ in range(3):
        at.run()
    assert not at.exception
    assert model_list_calls(app_env) == 1
    assert any("did not list its models" in c.value for c in at.caption)

    app_env.models_status = 200
    resources.forget_failed_model_lists()  # what the page does when the local model has started
    at.run()
    assert model_list_calls(app_env) == 2
    assert "fake-model" in at.selectbox(key="chat.model").options


class SilentHost:
    """Accepts connections and never answers, like a host behind a firewall that drops packets late."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:
                return
            self.connections.append(conn)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.socket.getsockname()[1]}/v1"

    def close(self):
        for conn in self.connections:
            conn.close()
        self.socket.close()


def test_listing_models_gives_up_on_a_silent_host_without_the_chat_timeout_or_retries(
    fresh_caches, monkeypatch
):
    monkeypatch.setattr(resources, "MODELS_TIMEOUT_S", 0.3)
    host = SilentHost()
    try:
        # The chat timeout is an hour and retries are on: only the listing's own settings let this return.
        endpoint = Endpoint(base_url=host.base_url, api_keys=("sk-x-0000",), timeout_s=3600, max_retries=3)
        assert resources.list_models(ChatClient(endpoint)) == []
        assert len(host.connections) == 1
        assert resources.list_models(ChatClient(endpoint)) == []  # remembered: not asked again
        assert len(host.connections) == 1
    finally:
        host.close()


def test_the_client_cache_is_bounded_and_closes_the_clients_it_drops(fresh_caches):
    endpoints = [Endpoint(base_url=f"http://127.0.0.1:9/v{i}") for i in range(resources.MAX_CLIENTS + 1)]
    first = resources.get_client(endpoints[0])
    sdk = first.openai_client()
    assert resources.get_client(endpoints[0]) is first  # one client per endpoint
    for endpoint in endpoints[1:]:
        resources.get_client(endpoint)
    assert sdk.is_closed()
    assert resources.get_client(endpoints[0]) is not first
