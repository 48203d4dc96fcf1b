"""Process-wide objects (store, roles, endpoint client), created once and shared by every session."""

from __future__ import annotations

import streamlit as st

from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint, endpoint_from_env
from chatlab.roles import ROLES_PATH, Role, load_roles_or_default
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
    return load_roles_or_default(ROLES_PATH)


def get_endpoint() -> Endpoint:
    # Later: sidebar > .streamlit/secrets.toml > environment > offline model. For now the environment.
    return endpoint_from_env()


@st.cache_resource(show_spinner=False)
def get_client(endpoint: Endpoint) -> ChatClient:
    return ChatClient(endpoint)


@st.cache_data(ttl=300, show_spinner=False)
def list_models(_client: ChatClient, endpoint_url: str) -> list[str]:
    """Model ids from /v1/models, cached for five minutes per endpoint (empty when the call fails)."""
    return _client.list_models()
