"""The Test sets page's editor: a name, variable columns, a table of cases, checks for every case, Save.

The table is an st.data_editor whose output is read each run and kept (testsets.edited) but never given
back to it (streamlit#7749). When the columns change or the check builder adds a check to a case, the
kept output becomes the start of a new editor (Draft.restarted), so no edit is lost either way.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from chatlab.checks import CheckError, check_cell
from chatlab.roles.variables import is_variable_name
from chatlab.safe_markdown import escape_markdown
from chatlab.store.testsets import TestSets
from chatlab.testsets import TestSet, TestSetError, from_frame
from chatlab.testsets.model import CHECKS, DESCRIPTION, MAX_NAME_CHARS, MESSAGE
from chatlab_ui.check_form import check_form, check_from_state, code_span
from chatlab_ui.tables import MISSING
from chatlab_ui.testsets.state import Draft, P, S, draft, edited_frame, notice, set_draft

CHECKS_HELP = (
    "Checks for this case only, one a line: contains: Paris · not-contains: sorry · regex: ^\\d+$ · "
    "max-chars: 200 · max-tokens: 50 · is-json · language: zh · llm-rubric: answers politely. "
    "'Add a check' below writes any of them for you."
)


def variable_names(text: str) -> tuple[tuple[str, ...], list[str]]:
    """The variable columns typed (comma-separated), and the names that cannot be variables."""
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    bad = [n for n in names if not is_variable_name(n) or n in (MESSAGE, DESCRIPTION, CHECKS)]
    return tuple(dict.fromkeys(n for n in names if n not in bad)), bad


def _restructure() -> None:
    """Callback: the variable columns changed; the table keeps every cell of the columns that stay."""
    names, _ = variable_names(S.get(P("variables"), ""))
    frame = edited_frame()
    set_draft(draft().restarted(frame.reindex(columns=[MESSAGE, DESCRIPTION, *names, CHECKS]).astype("str")))


def _add_to_every_case() -> None:
    try:
        check = check_from_state(P.child("check"))
    except CheckError:
        return
    current = draft()
    set_draft(dataclasses.replace(current, checks=(*current.checks, check)))


def _add_to_case() -> None:
    """Callback: append the built check to the chosen case's checks cell."""
    try:
        check = check_from_state(P.child("check"))
    except CheckError:
        return
    frame = edited_frame().copy()
    row = int(S.get(P("check_case"), 1)) - 1
    if not 0 <= row < len(frame):
        return
    current = frame.at[frame.index[row], CHECKS]
    current = current if isinstance(current, str) and current.strip() else ""
    frame.at[frame.index[row], CHECKS] = (current + "\n" if current else "") + check_cell(check)
    set_draft(draft().restarted(frame))


def _remove_set_check(index: int) -> None:
    current = draft()
    set_draft(dataclasses.replace(current, checks=current.checks[:index] + current.checks[index + 1 :]))


def new_set() -> None:
    """Callback: an empty editor."""
    set_draft(Draft(version=draft().version + 1))
    S.pop(P("edited"), None)
    for key in ("name", "description", "variables"):
        S[P(key)] = ""


def numbered(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows numbered from 1, as 'Row 2 has no message' and the case picker count them."""
    return frame.set_axis(pd.RangeIndex(1, len(frame) + 1), axis=0)


def _table(current: Draft) -> pd.DataFrame:
    names = [c for c in current.frame.columns if c not in (MESSAGE, DESCRIPTION, CHECKS)]
    edited = st.data_editor(
        numbered(current.frame),
        key=P("table", current.version),
        num_rows="dynamic",
        hide_index=False,
        width="stretch",
        placeholder=MISSING,
        column_config={
            MESSAGE: st.column_config.TextColumn("message", width="large", help="The user's message."),
            DESCRIPTION: st.column_config.TextColumn("description", help="Optional: what this case tests."),
            **{
                n: st.column_config.TextColumn(n, help=f"The value of {{{{{n}}}}} for this case.")
                for n in names
            },
            CHECKS: st.column_config.TextColumn("checks", width="large", help=CHECKS_HELP),
        },
    )
    S[P("edited")] = edited  # kept for the callbacks; never passed back to the editor
    return edited


def _set_checks(current: Draft) -> None:
    st.markdown("**Checks for every case**")
    if not current.checks:
        st.caption("None yet: add one below.")
    for i, check in enumerate(current.checks):
        text, remove = st.columns([8, 1], vertical_alignment="center")
        text.markdown(f"- {escape_markdown(check.label)} · {code_span(check_cell(check))}")
        remove.button("Remove", key=P("set_check", i, "remove"), on_click=_remove_set_check, args=(i,))


def _parsed(edited: pd.DataFrame, current: Draft) -> TestSet | None:
    """The set the form describes, or None after saying plainly what stops it from being saved."""
    if not any(isinstance(v, str) and v.strip() for v in edited.to_numpy().ravel()):
        st.info("Type the first case's message in the table (a new row appears under the last one).")
        return None
    try:
        test_set = from_frame(
            edited, S.get(P("name"), ""), checks=current.checks, description=S.get(P("description"), "")
        )
    except TestSetError as exc:
        st.error(f"Not saved yet: {exc}", icon=":material/error:")
        return None
    return dataclasses.replace(test_set, id=current.id)


def editor(sets: TestSets, graders: list[str]) -> None:
    """The create/edit form; Save stores the set (a new one, or the one opened)."""
    current = draft()
    heading, new = st.columns([5, 1], vertical_alignment="bottom")
    heading.subheader("Edit the test set" if current.id else "New test set")
    new.button("New test set", key=P("new"), on_click=new_set, icon=":material/add:", width="stretch")
    name_col, vars_col = st.columns(2)
    name_col.text_input("Name", key=P("name"), max_chars=MAX_NAME_CHARS)
    vars_col.text_input(
        "Variable columns",
        key=P("variables"),
        on_change=_restructure,
        placeholder="e.g. topic, audience",
        help="Comma-separated. Each becomes a column whose cells fill {{name}} in the roles' prompts.",
    )
    _, bad = variable_names(S.get(P("variables"), ""))
    if bad:
        st.warning(
            f"Not a variable name: {', '.join(escape_markdown(b) for b in bad)}. A name starts with a "
            "letter and holds letters, digits, _, - or spaces (and is not message, description or checks)."
        )
    st.text_input("Description", key=P("description"), placeholder="optional: what the set is for")
    edited = _table(current)
    _set_checks(current)
    with st.expander("Add a check — to every case, or to one case", icon=":material/rule:"):
        check = check_form(P.child("check"), graders, add={"Add to every case": _add_to_every_case})
        case, add = st.columns([1, 3], vertical_alignment="bottom")
        case.selectbox("Case", range(1, max(1, len(edited)) + 1), key=P("check_case"))
        add.button(
            "Add to this case",
            key=P("check_to_case"),
            on_click=_add_to_case,
            disabled=check is None,
            icon=":material/add:",
        )
    test_set = _parsed(edited, current)
    if st.button("Save test set", key=P("save"), type="primary", disabled=test_set is None):
        try:
            saved = sets.save(test_set)
        except TestSetError as exc:
            st.error(f"Not saved: {exc}", icon=":material/error:")
            return
        set_draft(dataclasses.replace(current, id=saved.id))
        notice("success", f"Saved '{escape_markdown(saved.name)}': {len(saved.cases):,} cases.")
        st.rerun()
