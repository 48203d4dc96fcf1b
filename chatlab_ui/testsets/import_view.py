"""The Test sets page's import: a CSV or JSONL file read into a test set, previewed, then saved or edited.

A file that cannot be read is refused whole with the reason import_test_set gives (file, line, column,
what to fix); nothing is stored and nothing on the page is lost.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from chatlab.safe_markdown import escape_markdown
from chatlab.store.testsets import TestSets
from chatlab.testsets import TestSetError, TestSetImport, import_test_set
from chatlab.testsets.model import TestSet
from chatlab_ui.tables import table
from chatlab_ui.testsets.state import PICK, TAB_KEY, TAB_SETS, P, S, contents, notice, open_in_editor

FORMATS = (
    "**CSV**: a `message` column (or promptfoo's `question`, `prompt`, `input`), a column per variable "
    "(`topic` or promptfoo's `vars.topic`), checks in `__expected`, `__expected2`… (e.g. `contains: Paris`, "
    "`is-json`, `llm-rubric: polite`), checks for every case in `__set_expected1`…, and `__description`.  \n"
    '**JSONL**: one case a line, `{"message": "…", "vars": {"topic": "…"}, "checks": ["contains: Paris"]}`; '
    'a line `{"set_checks": […]}` holds checks for every case.'
)


def _save(sets: TestSets, test_set: TestSet, replace_existing: bool) -> None:
    try:
        saved = sets.save(test_set, replace_existing=replace_existing)
    except TestSetError as exc:
        notice("error", f"Not saved: {escape_markdown(str(exc))}")
        return
    S[PICK] = saved.id
    S[TAB_KEY] = TAB_SETS
    notice("success", f"Imported '{escape_markdown(saved.name)}': {len(saved.cases):,} cases.")


def _read(upload) -> TestSetImport | None:
    try:
        return import_test_set(upload.getvalue(), upload.name)
    except TestSetError as exc:
        st.error(f"This file was not imported. {exc}", icon=":material/error:")
        st.caption("Nothing was stored. Fix the file and upload it again.")
        return None


def importer(sets: TestSets) -> None:
    """Upload, preview, then save as a new set (or replace the set of that name), or open it in the editor."""
    st.markdown(FORMATS)
    upload = st.file_uploader("CSV or JSONL file", type=["csv", "jsonl", "ndjson", "json"], key=P("upload"))
    if upload is None:
        return
    imported = _read(upload)
    if imported is None:
        return
    test_set = imported.test_set
    name = st.text_input("Name", key=P("import.name"), placeholder=f"{test_set.name} (the file's name)")
    if name.strip():
        try:
            test_set = replace(test_set, name=name)
        except TestSetError as exc:
            st.error(str(exc))
            return
    st.markdown(contents(test_set))
    for note in imported.notes:
        st.caption(escape_markdown(note))
    table(test_set.to_frame(), key=P("import.preview"))
    existing = sets.find(test_set.name)
    replace_existing = False
    if existing is not None:
        replace_existing = st.checkbox(
            f"Replace the stored set '{escape_markdown(existing.name)}' ({len(existing.cases):,} cases)",
            key=P("import.replace"),
            help="Unticked, give this one another name above.",
        )
    save, edit, _ = st.columns([1, 1, 3])
    save.button(
        "Save test set",
        key=P("import.save"),
        type="primary",
        on_click=_save,
        args=(sets, test_set, replace_existing),
        disabled=existing is not None and not replace_existing,
    )
    edit.button(
        "Open in the editor",
        key=P("import.edit"),
        on_click=open_in_editor,
        args=(test_set,),
        kwargs={"stored": False},
        help="Edit it before saving.",
    )
