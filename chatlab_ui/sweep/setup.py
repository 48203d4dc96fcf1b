"""The sweep page's sidebar: model, role and system prompt with its variables, fixed parameters, concurrency.

Every tab (sweep, determinism meter, ablation) sends what the sidebar holds, so it is drawn once and
returned as one Setup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from chatlab.capabilities import capabilities_for
from chatlab.client import ChatClient
from chatlab.context import build_context
from chatlab.endpoint import Endpoint
from chatlab.roles import Role
from chatlab.roles.variables import Variable, prompt_variables, render_prompt
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.params_panel import ParamChoice, parameter_controls
from chatlab_ui.pickers import model_picker, role_picker


@dataclass(frozen=True)
class Setup:
    """What every request of this page is sent with."""

    model: str
    role: Role
    system_prompt: str
    fixed: ParamChoice
    workers: int
    variables: tuple[Variable, ...] = ()
    values: dict[str, str] = field(default_factory=dict)

    @property
    def few_shot(self) -> tuple[dict, ...]:
        return tuple(self.role.few_shot_messages())

    def messages(self, prompt: str) -> list[dict]:
        """System prompt and examples with the variables filled in, then `prompt` (MissingValues when a
        variable has neither a value nor a default)."""
        system, few_shot = render_prompt(self.system_prompt, self.few_shot, self.values, self.variables)
        return build_context(
            system_prompt=system, history=(), user_text=prompt, depth=None, few_shot=few_shot
        ).messages


def variable_fields(keys: PageKeys, role: Role, system_prompt: str, *, disabled: bool):
    """A field per variable the system prompt and examples use, filled with its default; (variables, values)."""
    variables = prompt_variables(system_prompt, role.few_shot_messages(), role.variables)
    values: dict[str, str] = {}
    if variables:
        st.caption("Variables in the prompt: a field left empty takes its default.")
    for variable in variables:
        key = keys("var", variable.key)
        st.session_state.setdefault(key, variable.default or "")
        values[variable.name] = st.text_input(
            variable.name,
            key=key,
            disabled=disabled,
            help=variable.description or None,
            placeholder="required: it has no default" if variable.required else "",
        )
    return variables, values


def sweep_sidebar(
    keys: PageKeys, client: ChatClient, endpoint: Endpoint, roles: list[Role], *, busy: bool
) -> Setup:
    """Draw the sidebar's controls (below the endpoint picker); returns what they hold."""
    model = model_picker(keys, client, endpoint, disabled=busy)
    role, system_prompt = role_picker(keys, roles, disabled=busy)
    variables, values = variable_fields(keys, role, system_prompt, disabled=busy)
    with st.expander("Fixed parameters", expanded=False):
        # Each control says when this model refuses, ignores or renames its parameter.
        fixed = parameter_controls(keys, disabled=busy, capabilities=capabilities_for(model))
    workers = st.slider(
        "Requests at once",
        1,
        8,
        1 if endpoint.offline else 4,
        key=keys("workers"),
        disabled=busy,
        help="Concurrency limit. The local model answers one request at a time.",
    )
    return Setup(model, role, system_prompt, fixed, workers, variables, values)
