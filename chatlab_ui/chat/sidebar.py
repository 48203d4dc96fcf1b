"""The chat page's sidebar: role and system prompt, model, parameters, context depth; reopening a chat."""

from __future__ import annotations

import streamlit as st

from chatlab.capabilities import capabilities_for
from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.roles import Role
from chatlab.store import Message
from chatlab.turn import TurnSettings
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.params_panel import ParamChoice, apply_defaults, depth_control, parameter_controls, untick_all
from chatlab_ui.pickers import model_picker, role_picker


def restore_from(keys: PageKeys, reply: Message | None, roles: list[Role]) -> None:
    """Put a reopened conversation's last settings back into the controls (before they are drawn)."""
    if reply is None:
        return
    names = {r.name for r in roles}
    if reply.role_name in names:
        st.session_state[keys("role")] = reply.role_name
    if reply.system_prompt is not None:
        st.session_state[keys("system_prompt")] = reply.system_prompt
    if reply.model:
        st.session_state[keys("model")] = reply.model
    untick_all(keys)
    apply_defaults(keys, reply.params)
    depth = reply.context_depth
    st.session_state[keys("depth")] = "all" if depth is None else depth


def chat_sidebar(
    keys: PageKeys, roles: list[Role], endpoint: Endpoint, client: ChatClient, *, disabled: bool
) -> tuple[TurnSettings, ParamChoice]:
    """Draw the sidebar; returns the settings for the next request, and the parameters' problems."""
    role, system_prompt = role_picker(keys, roles, disabled=disabled)
    model = model_picker(keys, client, endpoint, disabled=disabled)
    depth = depth_control(keys, disabled=disabled)
    with st.expander("Parameters", expanded=True):
        # Each control says when this model refuses, ignores or renames its parameter (e.g. logprobs).
        choice = parameter_controls(keys, disabled=disabled, capabilities=capabilities_for(model))
    settings = TurnSettings(
        model=model,
        params=choice.params,
        context_depth=depth,
        role_name=role.name,
        system_prompt=system_prompt,
        few_shot=tuple(role.few_shot_messages()),
        endpoint_name=endpoint.name,
    )
    return settings, choice
