"""Process-wide objects (store, roles, clients, the offline model), created once and shared by sessions."""

from __future__ import annotations

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
