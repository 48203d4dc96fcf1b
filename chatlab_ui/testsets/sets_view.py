"""The Test sets page's list: every stored set, and for the one picked: edit, export, run, delete."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from chatlab.safe_markdown import escape_markdown
from chatlab.store.testsets import TestSets
from chatlab.testsets import TestSet, export_csv, export_jsonl
from chatlab_ui.navigation import BATCH
from chatlab_ui.stored_list import pick_stored, when
from chatlab_ui.tables import table
from chatlab_ui.testsets.editor import new_set
from chatlab_ui.testsets.state import LIST, PICK, TAB_EDIT, TAB_KEY, P, S, contents, notice, open_in_editor


def _file_stem(name: str) -> str:
    return re.sub(r"[^\w-]+", "-", name).strip("-") or "test-set"


def _delete(sets: TestSets, test_set: TestSet) -> None:
    sets.delete(test_set.id)
    S.pop(P("confirm_delete"), None)
    S.pop(PICK, None)
    notice("success", f"Deleted '{escape_markdown(test_set.name)}'. Batch runs made with it keep their copy.")


def _ask_delete(test_set_id: str) -> None:
    S[P("confirm_delete")] = test_set_id


def _cancel_delete() -> None:
    S.pop(P("confirm_delete"), None)


def _start_new() -> None:
    new_set()
    S[TAB_KEY] = TAB_EDIT


def _actions(sets: TestSets, test_set: TestSet) -> None:
    st.markdown(contents(test_set))
    if test_set.description:
        st.caption(escape_markdown(test_set.description))
    stem = _file_stem(test_set.name)
    edit, csv, jsonl, run, delete = st.columns(5)
    edit.button(
        "Edit", key=P("edit"), on_click=open_in_editor, args=(test_set,), kwargs={"stored": True},
        icon=":material/edit:", width="stretch",
    )  # fmt: skip
    csv.download_button(
        "CSV", data=lambda: export_csv(test_set), file_name=f"{stem}.csv", mime="text/csv",
        on_click="ignore", key=P("export.csv"), icon=":material/download:", width="stretch",
        help="promptfoo-style: message, __description, a column per variable, __expected…, __set_expected…",
    )  # fmt: skip
    jsonl.download_button(
        "JSONL", data=lambda: export_jsonl(test_set), file_name=f"{stem}.jsonl", mime="application/jsonl",
        on_click="ignore", key=P("export.jsonl"), icon=":material/download:", width="stretch",
    )  # fmt: skip
    run.page_link(BATCH, label="Run a batch", icon=":material/play_arrow:", query_params={"set": test_set.id})
    delete.button(
        "Delete", key=P("delete"), icon=":material/delete:", width="stretch",
        on_click=_ask_delete, args=(test_set.id,),
    )  # fmt: skip
    if S.get(P("confirm_delete")) == test_set.id:
        st.warning(
            f"Delete '{escape_markdown(test_set.name)}' and its {len(test_set.cases):,} cases? Batch runs "
            "made with it keep their own copy."
        )
        yes, no, _ = st.columns([1, 1, 4])
        yes.button("Delete", key=P("delete.yes"), type="primary", on_click=_delete, args=(sets, test_set))
        no.button("Cancel", key=P("delete.no"), on_click=_cancel_delete)
    with st.expander(f"The {len(test_set.cases):,} cases"):
        table(test_set.to_frame(), key=P("cases"))


def sets_list(sets: TestSets) -> None:
    """Every stored set in a table; the one picked below can be edited, exported, run or deleted."""
    summaries = sets.list()
    st.button("New test set", key=P("list.new"), on_click=_start_new, icon=":material/add:")
    if not summaries:
        st.info("No test set yet: create one in the table editor, or import a CSV or JSONL file.")
        return
    shown = pd.DataFrame(
        {
            "Name": [s.name for s in summaries],
            "Cases": [s.case_count for s in summaries],
            "Description": [s.description or None for s in summaries],
            "Changed": [when(s.updated_at) for s in summaries],
        }
    )
    by_id = {s.id: s for s in summaries}
    if S.get(PICK) not in by_id:
        S[PICK] = summaries[0].id
    picked = pick_stored(shown, list(by_id), lambda i: by_id[i].name, label="Test set", keys=LIST)
    test_set = sets.get(picked)
    if test_set is not None:
        _actions(sets, test_set)
