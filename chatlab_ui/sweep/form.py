"""The parameter-sweep page's form parts: a swept parameter with its values, a stored conversation as context."""

from __future__ import annotations

import streamlit as st

from chatlab.context import history_messages
from chatlab.params import PARAMS, SWEEPABLE
from chatlab.store import Store
from chatlab.sweep.plan import parse_values
from chatlab_ui.page_keys import PageKeys

NO_AXIS = "(none)"


def axis_inputs(keys: PageKeys, label: str, *, optional: bool, default: str, disabled: bool):
    """A parameter picker and its values; returns (name, values) or None, drawing any parse error."""
    left, right = st.columns([1, 2])
    options = [NO_AXIS, *SWEEPABLE] if optional else list(SWEEPABLE)
    name = left.selectbox(label, options, index=options.index(default), key=keys("name"), disabled=disabled)
    if name == NO_AXIS:
        right.text_input("Values", value="", key=keys("values", "none"), disabled=True)
        return None
    text = right.text_input(
        "Values",
        value=PARAMS[name].sweep_values,
        key=keys("values", name),
        disabled=disabled,
        help="Numbers separated by commas or spaces.",
    )
    try:
        return name, parse_values(name, text)
    except ValueError as exc:
        right.error(str(exc))
        return None


def context_picker(store: Store, key: str, *, disabled: bool, label: str) -> tuple[str | None, list[dict]]:
    """Choose a stored chat conversation; returns its id and its messages as context."""
    chats = [c for c in store.list_conversations(limit=50, kind="chat") if c.title]
    names = {c.id: f"{c.title} · {c.updated_at[:16].replace('T', ' ')}" for c in chats}
    chosen = (
        st.selectbox(
            label, ["", *names], format_func=lambda cid: names.get(cid, "None"), key=key, disabled=disabled
        )
        or None
    )
    return chosen, (history_messages(store.messages(chosen)) if chosen else [])
