"""The Roles page's editor: the create/edit form for custom roles, and what fills or clears it.

The library's buttons (Edit, Duplicate, New role) fill the form from callbacks, which Streamlit runs
before the next script run, so they may set the widgets' values. Save is handled in the script (it needs
the data editor's result), too late to set them: it hands its follow-up to the next run through
`roles.pending` (a FollowUp), which apply_pending runs before any widget is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from chatlab.params import NUMBER_TEXT, PARAMS, ROLE_PARAMS, SELECT, STOPS_TEXT, TEXT_INPUT, Param
from chatlab.roles import LANGUAGES, MAX_NAME_CHARS, Role
from chatlab.roles.custom import CustomRoles
from chatlab.roles.form import examples_from_table, role_from_form, stop_text
from chatlab.safe_markdown import escape_markdown
from chatlab_ui.roles.state import LANGUAGE_NAMES, TAB_EDITOR, TAB_KEY, TAB_LIBRARY, P, notice

S = st.session_state


@dataclass(frozen=True)
class FollowUp:
    """What Save or Cancel leaves for the next run to do before any widget is drawn."""

    clear_form: bool = False
    tab: str | None = None  # the tab to show


BACK_TO_LIBRARY = FollowUp(clear_form=True, tab=TAB_LIBRARY)


def apply_pending() -> None:
    """Run what the previous script run queued (form reset, tab switch): before any widget is drawn."""
    pending: FollowUp | None = S.pop(P("pending"), None)
    if pending is None:
        return
    if pending.clear_form:
        fill_form({}, None)
    if pending.tab:
        S[TAB_KEY] = pending.tab


def fill_form(data: dict[str, Any], editing: str | None) -> None:
    """Put a role (in the roles.yaml schema) into the editor's widgets; {} clears them."""
    params = data.get("params", {})
    S[P("editing")] = editing
    S[P("form.name")] = data.get("name", "")
    S[P("form.description")] = data.get("description", "")
    S[P("form.language")] = data.get("language", "en")
    S[P("form.tags")] = list(data.get("tags", []))
    S[P("form.system")] = data.get("system", "")
    for name in ROLE_PARAMS:
        S[P("form", name)] = _field_value(PARAMS[name], params.get(name))
    S[P("form.examples_data")] = [dict(example) for example in data.get("examples", [])]
    S[P("form.generation")] = S.get(P("form.generation"), 0) + 1  # a fresh data editor
    S.pop(P("form.error"), None)


def _field_value(param: Param, value: Any) -> Any:
    """A preset value as the editor's field holds it (None / "" when not preset)."""
    if param.widget == STOPS_TEXT:
        return stop_text(value or [])
    if param.widget in (NUMBER_TEXT, TEXT_INPUT):
        return "" if value is None else str(value)
    return value


def _field(param: Param, column) -> None:
    """One default-parameter field of the form, drawn from the parameter table."""
    key = P("form", param.name)
    if param.widget == STOPS_TEXT:
        column.text_area(
            param.label, key=key, height=68, placeholder="one per line, up to 4; write \\n for a newline"
        )
    elif param.widget in (NUMBER_TEXT, TEXT_INPUT):
        column.text_input(param.label, key=key, placeholder="not preset", help=param.help)
    elif param.widget == SELECT:
        column.selectbox(
            param.label, [None, *param.choices], key=key, format_func=lambda v: v or "not preset"
        )
    else:  # inside a form, so a number input cannot send a value by itself (streamlit#4318 is moot)
        column.number_input(
            param.label,
            min_value=param.low,
            max_value=param.high,
            step=param.step,
            key=key,
            placeholder="not preset",
            help=param.help,
        )


def start_new() -> None:
    """Callback: an empty form, shown."""
    fill_form({}, None)
    S[TAB_KEY] = TAB_EDITOR


def start_edit(role: Role) -> None:
    """Callback: the form filled with `role`, shown; Save replaces that role."""
    fill_form(role.to_dict(), role.name)
    S[TAB_KEY] = TAB_EDITOR


def clear_if_editing(name: str) -> None:
    """Empty the form if it holds the role `name` (which was just deleted)."""
    if (S.get(P("editing")) or "").casefold() == name.casefold():
        fill_form({}, None)


def _role_from_widgets(examples: pd.DataFrame) -> Role:
    """The role the editor describes; raises RolesError (a ValueError) with a message for the page."""
    return role_from_form(
        name=S.get(P("form.name")),
        description=S.get(P("form.description")),
        language=S.get(P("form.language")),
        tags=S.get(P("form.tags")),
        system=S.get(P("form.system")),
        params={name: S.get(P("form", name)) for name in ROLE_PARAMS},
        examples=examples_from_table(examples),
    )


def editor(custom: CustomRoles, roles: list[Role]) -> None:
    """The create/edit form; Save validates, stores and returns to the library."""
    S.setdefault(P("form.generation"), 0)
    if P("form.name") not in S:
        fill_form({}, None)
    editing = S.get(P("editing"))
    st.subheader(f"Edit '{editing}'" if editing else "New role")
    st.caption(
        "Custom roles are saved to "
        f"`{custom.path}` and appear in every page's role picker. Leave a parameter empty to not preset it."
    )
    tags = sorted({t for r in roles for t in r.tags} | set(S.get(P("form.tags")) or []))
    with st.form(P("form"), border=True):
        name_col, language_col = st.columns([3, 1])
        name_col.text_input("Name", key=P("form.name"), max_chars=MAX_NAME_CHARS)
        language_col.selectbox("Language", LANGUAGES, key=P("form.language"), format_func=LANGUAGE_NAMES.get)
        st.text_input("Description", key=P("form.description"), placeholder="one line shown under the picker")
        st.multiselect(
            "Tags",
            tags,
            key=P("form.tags"),
            accept_new_options=True,
            placeholder="pick or type lowercase words",
        )
        st.text_area("System prompt", key=P("form.system"), height=220)
        st.markdown("**Default parameters** (optional)")
        columns = st.columns(3)
        for i, name in enumerate(n for n in ROLE_PARAMS if PARAMS[n].widget != STOPS_TEXT):
            _field(PARAMS[name], columns[i % 3])
        for name in (n for n in ROLE_PARAMS if PARAMS[n].widget == STOPS_TEXT):
            _field(PARAMS[name], st)
        st.markdown("**Few-shot examples** (optional): turns sent after the system prompt, in order")
        examples = st.data_editor(
            pd.DataFrame(S.get(P("form.examples_data")) or [], columns=["user", "assistant"], dtype="str"),
            key=P("form", "examples", S[P("form.generation")]),
            num_rows="dynamic",
            width="stretch",
            column_config={
                "user": st.column_config.TextColumn("User says", width="large"),
                "assistant": st.column_config.TextColumn("Assistant replies", width="large"),
            },
        )
        save_col, cancel_col, _ = st.columns([1, 1, 4])
        save = save_col.form_submit_button("Save role", key=P("form.save"), type="primary", width="stretch")
        cancel = cancel_col.form_submit_button("Cancel", key=P("form.cancel"), width="stretch")
    if error := S.get(P("form.error")):
        st.error(error)
    if cancel:
        S[P("pending")] = BACK_TO_LIBRARY
        st.rerun()
    if save:
        try:
            stored = custom.save(_role_from_widgets(examples), replacing=editing)
        except (ValueError, OSError) as exc:  # RolesError is a ValueError
            S[P("form.error")] = f"Not saved: {exc}"
            st.rerun()
        S[P("pending")] = BACK_TO_LIBRARY
        name = escape_markdown(stored.name)
        notice("success", f"Saved '{name}'. It is now offered in every page's role picker.")
        st.rerun()
