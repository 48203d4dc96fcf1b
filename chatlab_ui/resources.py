"""Process-wide objects (store, roles, clients, the offline model), created once and shared by sessions."""

from __future__ import annotations

import streamlit as st

from chatlab import offline
from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.roles import Role, load_roles_or_default, roles_path
from chatlab.store import Store


@st.cache_resource(show_spinner=False)
def get_store() -> Store:
    """The history database; replies a dead process left 'streaming' are marked interrupted once."""
    store = Store()
    store.mark_streaming_interrupted()
    return store


@st.cache_resource(show_spinner=False)
def get_roles() -> tuple[list[Role], str | None]:
    """Roles from roles.yaml, or the default assistant plus the error that stopped loading them."""
    return load_roles_or_default(roles_path())


@st.cache_resource(show_spinner=False)
def get_client(endpoint: Endpoint) -> ChatClient:
    """One client (and key pool) per endpoint, shared by every session that uses it."""
    return ChatClient(endpoint)


def get_offline_server() -> offline.OfflineServer:
    """The one llama.cpp server of this process, started on first use."""
    return offline.get_offline_server()


@st.cache_data(ttl=300, show_spinner=False)
def _cached_models(_client: ChatClient, endpoint_url: str) -> list[str]:
    models = _client.list_models()
    if not models:
        # Raising keeps a failure out of the cache: the next rerun asks again (e.g. once the
        # offline model has finished starting).
        raise LookupError("no models listed")
    return models


def list_models(client: ChatClient, endpoint_url: str) -> list[str]:
    """Model ids from /v1/models, cached five minutes per endpoint; [] when the endpoint does not answer."""
    try:
        return _cached_models(client, endpoint_url)
    except LookupError:
        return []
