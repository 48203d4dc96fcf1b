"""Pickers several pages share: the role with its editable system prompt, and the model."""

from __future__ import annotations

import streamlit as st

from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.models import chat_models, default_model
from chatlab.request import CHAT, PROTOCOLS, RESPONSES
from chatlab.roles import Role
from chatlab.safe_markdown import without_images
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.params_panel import apply_defaults
from chatlab_ui.resources import get_store, list_models


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
    """The endpoint's chat models (ids that are plainly not chat models left out); any other id can be
    typed in. Starts on the profile's default, else the model last used with this endpoint, else a known
    good one it offers, else its first chat model (chatlab.models.default_model) — never simply the first
    id of /v1/models, which for OpenAI is babbage-002, not a chat model."""
    listed = list_models(client)
    offered = chat_models(listed)
    key = keys("model")
    if not st.session_state.get(key):
        model, why = default_model(
            listed, profile_default=endpoint.default_model, last_used=get_store().last_model(endpoint.name)
        )
        st.session_state[key] = model
        st.session_state[keys("model", "why")] = (model, why)
    current = st.session_state[key]
    model = st.selectbox(
        "Model",
        list(dict.fromkeys([*offered, current])),
        key=key,
        disabled=disabled,
        accept_new_options=True,
        help="The endpoint's chat models (from /v1/models, without embeddings, speech, image or moderation "
        "models). Type any other model id to use it.",
    )
    chosen, why = st.session_state.get(keys("model", "why"), (None, ""))
    if model == chosen:  # said until the user picks another
        st.caption(f"Started on {model}: {why}.")
    if not listed:
        st.caption("The endpoint did not list its models; type a model id above.")
    return (model or current).strip()


_API_NAMES = {CHAT: "Chat Completions", RESPONSES: "Responses"}


def protocol_picker(keys: PageKeys, endpoint: Endpoint, *, disabled: bool) -> str:
    """Which API the requests go through: Chat Completions, or the Responses API some models need."""
    key = keys("protocol")
    st.session_state.setdefault(key, endpoint.protocol)
    return (
        st.segmented_control(
            "API",
            list(PROTOCOLS),
            key=key,
            format_func=_API_NAMES.get,
            disabled=disabled,
            help="Chat Completions (/v1/chat/completions) is what most OpenAI-compatible servers speak. "
            "The Responses API (/v1/responses) is what OpenAI now recommends; some models are served only "
            "there. It has no n, seed, stop or penalties: those are left out, with a note.",
        )
        or CHAT
    )


def variable_inputs(keys: PageKeys, variables, *, disabled: bool) -> dict[str, str]:
    """A field per variable of the role's prompt, filled with its default; returns the values typed."""
    values = {}
    for variable in variables:
        key = keys("var", variable.key)
        st.session_state.setdefault(key, variable.default or "")
        label = variable.name if variable.default is not None else f"{variable.name} (required)"
        values[variable.name] = st.text_input(
            label,
            key=key,
            disabled=disabled,
            help=variable.description or f"Fills {{{{{variable.name}}}}} in the system prompt.",
            placeholder="needs a value" if variable.default is None else None,
        )
    return values
