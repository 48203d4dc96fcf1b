"""The generation-parameter controls: each parameter has a 'send' box; unticked ones are left out."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from chatlab.params import GenerationParams, ParamError
from chatlab.roles.form import stop_list, stop_text


@dataclass(frozen=True)
class SliderSpec:
    name: str
    label: str
    low: float
    high: float
    default: float
    step: float
    help: str


SLIDERS = (
    SliderSpec(
        "temperature",
        "Temperature",
        0.0,
        2.0,
        1.0,
        0.05,
        "Randomness of sampling. 0 ≈ always the most likely token; above 1 gets wild.",
    ),
    SliderSpec(
        "top_p",
        "Top P",
        0.0,
        1.0,
        1.0,
        0.05,
        "Nucleus sampling: only tokens within this cumulative probability are considered. "
        "Change this or temperature, rarely both.",
    ),
    SliderSpec(
        "presence_penalty",
        "Presence penalty",
        -2.0,
        2.0,
        0.0,
        0.1,
        "Positive values push the model toward new topics (penalise tokens that already appeared).",
    ),
    SliderSpec(
        "frequency_penalty",
        "Frequency penalty",
        -2.0,
        2.0,
        0.0,
        0.1,
        "Positive values penalise tokens by how often they appeared: less verbatim repetition.",
    ),
)
MAX_TOKEN_STEPS = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
DEPTH_CHOICES = [*range(0, 21), 30, 40, 50, "all"]
DEFAULT_DEPTH = 10


def _key(prefix: str, name: str) -> str:
    return f"{prefix}.{name}"


def _switch_on(prefix: str, name: str) -> None:
    """Moving a control means the user wants it sent."""
    st.session_state[_key(prefix, f"{name}.on")] = True


def apply_defaults(prefix: str, params: dict) -> None:
    """Set controls to a role's default parameters (called from a widget callback)."""
    for name, value in params.items():
        if name == "stop":
            value = stop_text(value)
        elif name == "seed":
            value = str(value)
        st.session_state[_key(prefix, name)] = value
        st.session_state[_key(prefix, f"{name}.on")] = True


def _seed(prefix: str, name: str, default) -> str:
    """Put a control's default into session state and return its key.

    Controls are then created without a default argument: Streamlit warns when a widget has both a
    default and a value set through session state (which role defaults and reopened chats do).
    """
    key = _key(prefix, name)
    st.session_state.setdefault(key, default)
    return key


def _row(prefix: str, name: str, disabled: bool):
    """A narrow 'send' checkbox beside the control; returns (send?, column for the control)."""
    tick, control = st.columns([1, 7], vertical_alignment="bottom")
    on = tick.checkbox(
        f"Send {name}",
        key=_key(prefix, f"{name}.on"),
        label_visibility="collapsed",
        disabled=disabled,
        help=f"Send {name} with the request. Unticked: the server's default applies.",
    )
    return on, control


def parameter_controls(prefix: str, *, disabled: bool = False) -> GenerationParams:
    """Draw every parameter control; returns the parameters the user chose to send."""
    chosen: dict = {}
    st.caption("Tick a box to send that parameter; unticked ones use the server's default.")
    for spec in SLIDERS:
        on, col = _row(prefix, spec.name, disabled)
        value = col.slider(
            spec.label,
            spec.low,
            spec.high,
            step=spec.step,
            key=_seed(prefix, spec.name, spec.default),
            help=spec.help,
            disabled=disabled,
            on_change=_switch_on,
            args=(prefix, spec.name),
        )
        if on:
            chosen[spec.name] = value

    # No st.number_input here: a disabled number input (every input is disabled while a reply streams)
    # falls back to its minimum and can send that back as a change (streamlit#4318).
    on, col = _row(prefix, "max_tokens", disabled)
    key = _seed(prefix, "max_tokens", 512)
    value = col.select_slider(
        "Max tokens",
        sorted({*MAX_TOKEN_STEPS, int(st.session_state[key])}),
        key=key,
        disabled=disabled,
        help="Upper bound on the reply's length in tokens (reasoning models: max_completion_tokens).",
        on_change=_switch_on,
        args=(prefix, "max_tokens"),
    )
    if on:
        chosen["max_tokens"] = int(value)

    on, col = _row(prefix, "n", disabled)
    value = col.slider(
        "Choices (n)",
        1,
        8,
        step=1,
        key=_seed(prefix, "n", 1),
        disabled=disabled,
        help="How many alternative replies to sample for the same request; all are shown.",
        on_change=_switch_on,
        args=(prefix, "n"),
    )
    if on:
        chosen["n"] = int(value)

    on, col = _row(prefix, "seed", disabled)
    seed_text = col.text_input(
        "Seed",
        key=_seed(prefix, "seed", "42"),
        disabled=disabled,
        help="Best-effort determinism: same seed + same parameters should give the same reply.",
        on_change=_switch_on,
        args=(prefix, "seed"),
    )
    if on:
        try:
            chosen["seed"] = int(seed_text.strip())
        except ValueError:
            col.error(f"Seed must be a whole number, not {seed_text!r}; it is not sent.")

    on, col = _row(prefix, "stop", disabled)
    typed_stops = col.text_area(
        "Stop sequences",
        key=_seed(prefix, "stop", ""),
        height=68,
        disabled=disabled,
        help="One per line, up to 4. Generation ends before any of them. Write \\n for a newline.",
        on_change=_switch_on,
        args=(prefix, "stop"),
        placeholder="one per line, e.g. \\n\\n",
    )
    if on:
        chosen["stop"] = tuple(stop_list(typed_stops))

    on, col = _row(prefix, "user", disabled)
    user = col.text_input(
        "User id",
        key=_seed(prefix, "user", ""),
        disabled=disabled,
        help="An end-user identifier passed to the API (for abuse monitoring); not your name in the chat.",
        on_change=_switch_on,
        args=(prefix, "user"),
    )
    if on and user.strip():
        chosen["user"] = user.strip()

    try:
        return GenerationParams.from_dict(chosen)
    except ParamError as exc:
        st.error(f"Parameter not valid, so none are sent: {exc}")
        return GenerationParams()


def depth_control(prefix: str, *, disabled: bool = False) -> int | None:
    """Context depth: how many past messages go with the request (None: all of them)."""
    value = st.select_slider(
        "Context depth",
        DEPTH_CHOICES,
        key=_seed(prefix, "depth", DEFAULT_DEPTH),
        disabled=disabled,
        help="How many past messages (user and assistant) are sent with the next request. "
        "0 sends only the system prompt and the new message.",
    )
    return None if value == "all" else int(value)
