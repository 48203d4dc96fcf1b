"""Pickers several pages share: the role with its editable system prompt, and the model."""

from __future__ import annotations

import streamlit as st

from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.roles import Role
from chatlab.safe_markdown import without_images
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.params_panel import apply_defaults
from chatlab_ui.resources import list_models

FALLBACK_MODEL = "gpt-4o-mini"


def _on_role_change(keys: PageKeys, roles_by_name: dict[str, Role]) -> None:
    """Picking a role fills the system prompt and applies its default parameters."""
    role = roles_by_name.get(st.session_state[keys("role")])
    if role is not None:
        st.session_state[keys("system_prompt")] = role.system
        apply_defaults(keys, role.default_params())


def role_picker(keys: PageKeys, roles: list[Role], *, disabled: bool) -> tuple[Role, str]:
    """Role select box plus its system prompt, editable for this chat; returns (role, system prompt)."""
    by_name = {r.name: r for r in roles}
    role_key = keys("role")
    if st.session_state.get(role_key) not in by_name:
        st.session_state[role_key] = roles[0].name
        st.session_state[keys("system_prompt")] = roles[0].system
    name = st.selectbox(
        "Role",
        list(by_name),
        key=role_key,
        disabled=disabled,
        on_change=_on_role_change,
        args=(keys, by_name),
        help="Fills the system prompt from the role library (roles.yaml and your custom roles). Edit it below for this chat only.",
        format_func=lambda n: f"{n} · {by_name[n].language}" if by_name[n].language else n,
    )
    role = by_name[name]
    if role.description:
        st.caption(without_images(role.description))
    system_prompt = st.text_area("System prompt", key=keys("system_prompt"), height=140, disabled=disabled)
    return role, system_prompt


def model_picker(keys: PageKeys, client: ChatClient, endpoint: Endpoint, *, disabled: bool) -> str:
    """Models listed by the endpoint's /v1/models; any other id can be typed in."""
    models = list_models(client)
    default = endpoint.default_model or (models[0] if models else FALLBACK_MODEL)
    key = keys("model")
    current = st.session_state.get(key) or default
    options = list(dict.fromkeys([*models, current, default]))
    st.session_state.setdefault(key, current)
    model = st.selectbox(
        "Model",
        options,
        key=key,
        disabled=disabled,
        accept_new_options=True,
        help="Listed from the endpoint's /v1/models. Type any other model id to use it.",
    )
    if not models:
        st.caption("The endpoint did not list its models; type a model id above.")
    return (model or default).strip()
