"""The Roles page's Import tab: upload a role collection, preview it with its flags, choose, import.

The preview's Import column starts from the toggles (filtered and duplicate rows unticked) and any row
can be ticked or unticked by hand; exactly the ticked rows are stored. Nothing is stored until Import is
pressed; the parsing, marking and storing are in chatlab.roles.importer.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from chatlab.roles import Role
from chatlab.roles.custom import CustomRoles
from chatlab.roles.importer import (
    CONTENT_FILTER,
    MAX_IMPORT_BYTES,
    MAX_PROMPT_CHARS,
    Candidate,
    RoleImportError,
    default_choices,
    import_chosen,
    mark_candidates,
    parse_collection,
)
from chatlab_ui.notice import keep, show
from chatlab_ui.roles.state import P
from chatlab_ui.tables import MISSING

S = st.session_state


@st.cache_data(max_entries=2, show_spinner="Reading the file…")
def _parse(data: bytes, filename: str) -> list[Candidate]:
    return parse_collection(data, filename)


def _do_import(custom: CustomRoles, candidates: list[Candidate], chosen: list[bool]) -> None:
    try:
        report = import_chosen(custom, candidates, chosen)
    except (ValueError, OSError) as exc:
        keep(P("import", "report"), "error", f"Nothing was imported: {exc}")
        return
    keep(P("import", "report"), "success", report.summary())
    S[P("import.generation")] = S.get(P("import.generation"), 0) + 1  # an empty uploader


def _preview(candidates: list[Candidate], include_duplicates: bool) -> pd.DataFrame:
    """One row per candidate, indexed by its position; the ones left out come first, so their flags are seen."""
    frame = pd.DataFrame(
        {
            "Import": default_choices(candidates, include_duplicates=include_duplicates),
            "Name": [c.name for c in candidates],
            "Language": [c.language for c in candidates],
            "Characters": [c.original_chars for c in candidates],
            "Tags": [", ".join(c.tags) for c in candidates],
            "Flags": [c.flags for c in candidates],
            "Source": [c.source for c in candidates],
        }
    )
    return frame.sort_values("Import", kind="stable")


def importer(custom: CustomRoles, existing: list[Role]) -> None:
    """Upload a collection, preview it with its flags, choose the options, import."""
    show(P("import", "report"))
    st.caption(
        "Accepted: the awesome-chatgpt-prompts CSV (`act,prompt` and optional `for_devs,type,contributor`), "
        'JSON `[{"act": ..., "prompt": ...}]`, or a Chat Lab roles YAML export. Up to 10 MB; prompts longer '
        f"than {MAX_PROMPT_CHARS:,} characters are cut. Nothing is stored until you press Import."
    )
    upload = st.file_uploader(
        "Role collection",
        type=["csv", "json", "yaml", "yml"],
        max_upload_size=MAX_IMPORT_BYTES // (1024 * 1024),
        key=P("import", "file", S.get(P("import.generation"), 0)),
    )
    if upload is None:
        return
    try:
        candidates = _parse(upload.getvalue(), upload.name)
    except RoleImportError as exc:
        st.error(f"Nothing can be imported from this file: {exc}")
        return
    skip_col, filter_col = st.columns(2)
    skip_duplicates = skip_col.toggle(
        "Skip duplicates",
        value=True,
        key=P("import.skip_duplicates"),
        help="A role with the same name or the same prompt (ignoring spacing) as one already in the library, "
        "or earlier in this file. Imported duplicates get a numbered name.",
    )
    filter_adult = filter_col.toggle(
        "Filter adult and jailbreak prompts",
        value=True,
        key=P("import.filter"),
        help="Leaves out prompts matching keywords such as: "
        + ", ".join(label for label, _ in CONTENT_FILTER),
    )
    marked = mark_candidates(candidates, existing, filter_adult=filter_adult)
    preview = _preview(marked, not skip_duplicates)
    duplicates = sum(bool(c.duplicate_of) and not c.filtered for c in marked)
    filtered = sum(bool(c.filtered) for c in marked)
    truncated = sum(c.truncated for c in marked)
    st.markdown(
        f"**{len(marked)}** roles found in `{upload.name}` · {duplicates} duplicate(s) · {filtered} filtered"
        f" · {truncated} too long"
    )
    if truncated:
        st.info(
            f"{truncated} prompt(s) are longer than {MAX_PROMPT_CHARS:,} characters: they will be cut to that "
            "length, and the role's description will say so."
        )
    # A new editor whenever the file or a toggle changes the rows; its result is read, never fed back
    # (feeding it back loses every second edit: streamlit#7749).
    edited = st.data_editor(
        preview,
        hide_index=True,
        width="stretch",
        height=360,
        key=P("import", "preview", upload.file_id, skip_duplicates, filter_adult),
        disabled=[column for column in preview.columns if column != "Import"],
        placeholder=MISSING,
        column_config={
            "Import": st.column_config.CheckboxColumn(
                "Import", width="small", help="Untick a row to leave it out; tick a flagged one to take it."
            ),
            "Characters": st.column_config.NumberColumn("Characters", format="%d"),
            "Flags": st.column_config.TextColumn("Flags", width="medium"),
            "Source": st.column_config.TextColumn("Source", width="small"),
        },
    )
    choices = [False] * len(marked)
    for position, ticked in edited["Import"].items():
        choices[position] = bool(ticked)
    chosen = sum(choices)
    st.button(
        f"Import {chosen} role{'s' if chosen != 1 else ''}",
        key=P("import.go"),
        type="primary",
        icon=":material/library_add:",
        disabled=chosen == 0,
        on_click=_do_import,
        args=(custom, marked, choices),
    )
