"""Process-wide objects (store, roles, clients, the offline model), created once and shared by sessions."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import streamlit as st

from chatlab import offline
from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.roles import Role, RolesError, load_roles_or_default, roles_path
from chatlab.roles.custom import CustomRoles, all_roles, custom_roles_path
from chatlab.store import Store


@st.cache_resource(show_spinner=False)
def get_store() -> Store:
    """The history database; replies a dead process left 'streaming' are marked interrupted once
    (those of a live sibling process sharing the database stream on)."""
    store = Store()
    store.interrupt_abandoned_replies()
    return store


@st.cache_resource(show_spinner=False)
def get_builtin_roles() -> tuple[list[Role], str | None]:
    """Roles from roles.yaml, or the default assistant plus the error that stopped loading them."""
    return load_roles_or_default(roles_path())


def get_custom_roles() -> CustomRoles:
    """The custom-roles file ($CHATLAB_CUSTOM_ROLES or beside the history database); cheap to create."""
    return CustomRoles(custom_roles_path(), builtin=get_builtin_roles()[0])


# Keyed on the file's (mtime, size, inode): every save replaces the file, so an edit made on the Roles
# page (or by another process) is read on the next rerun, and an unchanged file is parsed only once.
@st.cache_resource(show_spinner=False, max_entries=4)
def _custom_roles(path: str, stamp: tuple[int, int, int] | None) -> tuple[tuple[Role, ...], str | None]:
    try:
        return tuple(CustomRoles(path).list()), None
    except RolesError as exc:
        return (), f"Custom roles were not loaded (the built-in roles still work): {exc}"
    except Exception as exc:  # the dashboard must still start; report what happened instead
        return (), f"Custom roles were not loaded from {path} ({type(exc).__name__}: {exc})"


def get_custom_role_list() -> tuple[list[Role], str | None]:
    """The custom roles as they are on disk now, or ([], the error naming file and line)."""
    custom = get_custom_roles()
    roles, error = _custom_roles(str(custom.path), custom.stamp())
    return list(roles), error


def get_roles() -> tuple[list[Role], str | None]:
    """Built-in roles then custom ones (names unique), and the first error that stopped loading either."""
    builtin, builtin_error = get_builtin_roles()
    custom, custom_error = get_custom_role_list()
    return all_roles(builtin, custom), builtin_error or custom_error


MAX_CLIENTS = 16  # endpoints whose clients (connections, key pools) are kept; the least recent closes


@st.cache_resource(show_spinner=False, max_entries=MAX_CLIENTS, on_release=lambda client: client.close())
def get_client(endpoint: Endpoint) -> ChatClient:
    """One client (and key pool) per endpoint, shared by every session that uses it.

    Every base URL, key or proxy typed in the sidebar is an endpoint of its own: the cache keeps the
    MAX_CLIENTS most recently used and closes the connections of the ones it drops.
    """
    return ChatClient(endpoint)


def get_offline_server() -> offline.OfflineServer:
    """The one llama.cpp server of this process, started on first use."""
    return offline.get_offline_server()


MODELS_TTL_S = 300  # a model list is kept five minutes
FAILED_MODELS_TTL_S = 30  # an endpoint that did not list its models is not asked again for 30 s
MODELS_TIMEOUT_S = 5.0  # a black-holed host must not hold the page for the chat timeout (60 s)


@st.cache_data(ttl=MODELS_TTL_S, show_spinner=False)
def _listed_models(_client: ChatClient, endpoint_key: str) -> list[str]:
    # A short-timeout client without retries that shares the key pool (so a disabled key stays skipped).
    lister = ChatClient(
        replace(_client.endpoint, timeout_s=MODELS_TIMEOUT_S, max_retries=0), key_pool=_client.key_pool
    )
    try:
        models = lister.list_models()
    finally:
        lister.close()
    if not models:
        raise LookupError("no models listed")  # raising keeps a failure out of this five-minute cache
    return models


@st.cache_data(ttl=FAILED_MODELS_TTL_S, show_spinner=False)
def _models_or_none(_client: ChatClient, endpoint_key: str) -> tuple[str, ...]:
    """The list, or () remembered for FAILED_MODELS_TTL_S: a failure is not asked again on every rerun."""
    try:
        return tuple(_listed_models(_client, endpoint_key))
    except LookupError:
        return ()


def list_models(client: ChatClient) -> list[str]:
    """Model ids from /v1/models (kept five minutes per endpoint); [] when the endpoint does not answer."""
    return list(_models_or_none(client, endpoint_key(client.endpoint)))


def forget_failed_model_lists() -> None:
    """Ask again at once (e.g. the local model has just finished starting)."""
    _models_or_none.clear()


def endpoint_key(endpoint: Endpoint) -> str:
    """What tells endpoints apart for the model list: URL, proxy, headers and keys (as a digest only)."""
    keys = hashlib.sha256("\n".join(endpoint.api_keys).encode()).hexdigest()
    return f"{endpoint.display_url}|{endpoint.proxy or ''}|{endpoint.headers}|{keys}"
