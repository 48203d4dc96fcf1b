"""The generation-parameter controls, drawn from the parameter table: a 'send' box and a control each.

Unticked parameters are left out (the server's default applies). A ticked one that is not valid is
marked at its control and reported as a problem: the page refuses to send until it is fixed, so a typo
never silently drops every parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from chatlab.capabilities import Capabilities
from chatlab.params import (
    NUMBER_TEXT,
    PARAMS,
    SELECT,
    SELECT_SLIDER,
    SLIDER,
    STOPS_TEXT,
    TEXT_INPUT,
    GenerationParams,
    Param,
    ParamError,
)
from chatlab.roles.form import stop_list, stop_text
from chatlab_ui.page_keys import PageKeys

DEPTH_CHOICES = [*range(0, 21), 30, 40, 50, "all"]
DEFAULT_DEPTH = 10


@dataclass(frozen=True)
class ParamChoice:
    """The parameters to send, and the ticked fields that are not valid (each named, with why)."""

    params: GenerationParams
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def _switch_on(keys: PageKeys, name: str) -> None:
    """Moving a control means the user wants it sent."""
    st.session_state[keys(name, "on")] = True


def _widget_value(param: Param, value):
    """A parameter's value as its control holds it (stop as one line each, a seed as text)."""
    if param.widget == STOPS_TEXT:
        return stop_text(value)
    if param.widget == NUMBER_TEXT:
        return str(value)
    return value


def apply_defaults(keys: PageKeys, params: dict) -> None:
    """Set controls to these parameter values and tick them (call from a callback, or before drawing)."""
    for name, value in params.items():
        param = PARAMS.get(name)
        if param is None:
            continue
        st.session_state[keys(name)] = _widget_value(param, value)
        st.session_state[keys(name, "on")] = True


def untick_all(keys: PageKeys) -> None:
    for name in PARAMS:
        st.session_state[keys(name, "on")] = False


def _seeded(keys: PageKeys, param: Param) -> str:
    """Put a control's default into session state and return its key.

    Controls are then created without a default argument: Streamlit warns when a widget has both a
    default and a value set through session state (which role defaults and reopened chats do).
    """
    key = keys(param.name)
    st.session_state.setdefault(key, _widget_value(param, param.default))
    return key


def _control(param: Param, keys: PageKeys, column, disabled: bool):
    """Draw the parameter's control in `column`; returns what the control holds."""
    common = dict(
        key=_seeded(keys, param),
        help=param.help,
        disabled=disabled,
        on_change=_switch_on,
        args=(keys, param.name),
    )
    if param.widget == SLIDER:
        return column.slider(param.label, param.low, param.high, step=param.step, **common)
    if param.widget == SELECT_SLIDER:
        # No st.number_input anywhere: a disabled number input falls back to its minimum and can send
        # that back as a change (streamlit#4318). A select slider keeps any stored value as a position.
        current = st.session_state[common["key"]]
        return column.select_slider(param.label, sorted({*param.presets, int(current)}), **common)
    if param.widget == SELECT:
        return column.selectbox(param.label, param.choices, **common)
    if param.widget == STOPS_TEXT:
        return column.text_area(param.label, height=68, placeholder="one per line, e.g. \\n\\n", **common)
    if param.widget in (NUMBER_TEXT, TEXT_INPUT):
        return column.text_input(param.label, **common)
    raise ValueError(f"no control for widget {param.widget!r}")


def _value(param: Param, held):
    """The control's content as the parameter's value; ParamError says what is wrong with it."""
    if param.widget == STOPS_TEXT:
        return param.check(stop_list(held))
    if param.widget == NUMBER_TEXT:
        return param.parse(held)
    return param.check(held)


def parameter_controls(
    keys: PageKeys, *, disabled: bool = False, capabilities: Capabilities | None = None
) -> ParamChoice:
    """Draw every parameter's control; returns what the user chose to send and what is not valid.

    With `capabilities`, a control whose parameter the model refuses, ignores or renames says so.
    """
    chosen: dict = {}
    problems: list[str] = []
    st.caption("Tick a box to send that parameter; unticked ones use the server's default.")
    for param in PARAMS.values():
        tick, column = st.columns([1, 7], vertical_alignment="bottom")
        on = tick.checkbox(
            f"Send {param.name}",
            key=keys(param.name, "on"),
            label_visibility="collapsed",
            disabled=disabled,
            help=f"Send {param.name} with the request. Unticked: the server's default applies.",
        )
        held = _control(param, keys, column, disabled)
        note = capabilities.control_note(param.name) if capabilities is not None else None
        if note:
            column.caption(f":material/info: {note}")
        if not on:
            continue
        try:
            value = _value(param, held)
        except ParamError as exc:
            column.error(f"{exc}. Fix it or untick it to send.", icon=":material/error:")
            problems.append(f"{param.label}: {exc}")
            continue
        if value not in ("", ()):
            chosen[param.name] = value
    return ParamChoice(GenerationParams(**chosen), tuple(problems))


def depth_control(keys: PageKeys, *, disabled: bool = False) -> int | None:
    """Context depth: how many past messages go with the request (None: all of them)."""
    key = keys("depth")
    st.session_state.setdefault(key, DEFAULT_DEPTH)
    value = st.select_slider(
        "Context depth",
        DEPTH_CHOICES,
        key=key,
        disabled=disabled,
        help="How many past messages (user and assistant) are sent with the next request. "
        "0 sends only the system prompt and the new message.",
    )
    return None if value == "all" else int(value)
