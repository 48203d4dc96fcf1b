"""The chat page's sidebar: role and system prompt, model, parameters, context depth; reopening a chat."""

from __future__ import annotations

import streamlit as st

from chatlab.capabilities import capabilities_for
from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.probe import endpoint_key, stored_capabilities
from chatlab.request import Request
from chatlab.roles import Role
from chatlab.roles.variables import MissingValues, missing_values, prompt_variables
from chatlab.store import Message, Store
from chatlab.turn import TurnSettings
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.params_panel import ParamChoice, apply_defaults, depth_control, parameter_controls, untick_all
from chatlab_ui.pickers import model_picker, protocol_picker, role_picker, variable_inputs
from chatlab_ui.probe_view import probe_panel


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
    if reply.request:  # the API it went through: a Responses body has `input`, not `messages`
        st.session_state[keys("protocol")] = Request(body=reply.request).protocol
    untick_all(keys)
    apply_defaults(keys, reply.params)
    depth = reply.context_depth
    st.session_state[keys("depth")] = "all" if depth is None else depth


def chat_sidebar(
    keys: PageKeys, store: Store, roles: list[Role], endpoint: Endpoint, client: ChatClient, *, disabled: bool
) -> tuple[TurnSettings, ParamChoice]:
    """Draw the sidebar; returns the settings for the next request, and what blocks sending (a parameter
    that is not valid, a role variable without a value)."""
    role, system_prompt = role_picker(keys, roles, disabled=disabled)
    few_shot = tuple(role.few_shot_messages())
    variables = prompt_variables(system_prompt, few_shot, role.variables)
    values = variable_inputs(keys, variables, disabled=disabled)
    model = model_picker(keys, client, endpoint, disabled=disabled)
    protocol = protocol_picker(keys, endpoint, disabled=disabled)
    depth = depth_control(keys, disabled=disabled)
    findings_key = endpoint_key(endpoint)
    # What this model does with each parameter: a probe's findings (or refusals met before), else the
    # model-family table. The controls say so, and the request builder follows the same object.
    capabilities = stored_capabilities(store, findings_key, model, protocol) or capabilities_for(model)
    with st.expander("Parameters", expanded=True):
        choice = parameter_controls(keys, disabled=disabled, capabilities=capabilities)
    probe_panel(keys, store, client, endpoint, model, protocol, disabled=disabled)
    settings = TurnSettings(
        model=model,
        params=choice.params,
        context_depth=depth,
        role_name=role.name,
        system_prompt=system_prompt,
        few_shot=few_shot,
        endpoint_name=endpoint.name,
        capabilities=capabilities,
        protocol=protocol,
        findings_key=findings_key,
        variables=role.variables,
        values=values,
    )
    missing = missing_values(variables, values)
    if missing:
        problem = str(MissingValues(missing))
        return settings, ParamChoice(choice.params, (*choice.problems, problem))
    return settings, choice
