"""The Roles page's parts: the library browser, the role editor, import and export.

Buttons that change what the page shows (Edit, Duplicate, Delete, New role) run as callbacks, which
Streamlit runs before the next script run: they may fill the editor's widgets and switch the tab. The
editor's Save is handled in the script (it needs the data editor's result), so it hands its follow-up
to the next run through `roles.pending` and reruns.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd
import streamlit as st

from chatlab.custom_roles import CustomRoles
from chatlab.role_import import (
    CONTENT_FILTER,
    MAX_IMPORT_BYTES,
    MAX_PROMPT_CHARS,
    Candidate,
    RoleImportError,
    import_candidates,
    mark_candidates,
    parse_collection,
)
from chatlab.roles import LANGUAGES, MAX_NAME_CHARS, Role, RolesError, roles_to_yaml, search_roles

P = "roles"
TAB_KEY = f"{P}.tab"
TAB_LIBRARY, TAB_EDITOR, TAB_IMPORT, TAB_EXPORT = "Library", "Create or edit", "Import", "Export"
TABS = (TAB_LIBRARY, TAB_EDITOR, TAB_IMPORT, TAB_EXPORT)
PAGE_SIZE = 40
LANGUAGE_NAMES = {"en": "English", "zh": "中文 Chinese"}
# (parameter, label, low, high, step); seed and stop are text fields.
NUMBER_PARAMS = (
    ("temperature", "Temperature", 0.0, 2.0, 0.05),
    ("top_p", "Top P", 0.0, 1.0, 0.05),
    ("presence_penalty", "Presence penalty", -2.0, 2.0, 0.1),
    ("frequency_penalty", "Frequency penalty", -2.0, 2.0, 0.1),
    ("max_tokens", "Max tokens", 1, 1_000_000, 1),
)
S = st.session_state


def _k(name: str) -> str:
    return f"{P}.{name}"


def _rid(role: Role) -> str:
    """A short, stable widget-key part for a role (names may hold any character)."""
    digest = hashlib.sha1(f"{role.builtin}:{role.name.casefold()}".encode()).hexdigest()
    return digest[:12]


# --------------------------------------------------------------------------------------------------
# Page-level state: pending follow-ups and notices


def apply_pending() -> None:
    """Run what the previous script run queued (form reset, tab switch): before any widget is drawn."""
    pending = S.pop(_k("pending"), None)
    if pending is None:
        return
    if "fill" in pending:
        _fill_form(*pending["fill"])
    if "tab" in pending:
        S[TAB_KEY] = pending["tab"]


def _notice(kind: str, text: str) -> None:
    S[_k("notice")] = (kind, text)


def show_notice() -> None:
    """The outcome of the last action (saved, deleted, copied), once."""
    notice = S.pop(_k("notice"), None)
    if notice:
        kind, text = notice
        (st.success if kind == "success" else st.error)(text)


def problems(
    builtin_error: str | None, custom_error: str | None, builtin: list[Role], custom: list[Role]
) -> None:
    """Say what could not be loaded, and which custom roles a built-in name hides elsewhere."""
    if builtin_error:
        st.warning(
            f"roles.yaml could not be loaded, so only the default assistant is built in. {builtin_error}"
        )
    if custom_error:
        st.error(f"{custom_error}  \nFix the file (or move it away) to see and save custom roles again.")
    builtin_names = {r.name.casefold() for r in builtin}
    hidden = [r.name for r in custom if r.name.casefold() in builtin_names]
    if hidden:
        st.warning(
            "These custom roles have the same name as a built-in role, so the other pages offer only the "
            f"built-in one; rename them: {', '.join(hidden)}"
        )


# --------------------------------------------------------------------------------------------------
# Library


def _reset_limit() -> None:
    S[_k("limit")] = PAGE_SIZE


def _show_more() -> None:
    S[_k("limit")] = S.get(_k("limit"), PAGE_SIZE) + PAGE_SIZE


def start_new() -> None:
    _fill_form({}, None)
    S[TAB_KEY] = TAB_EDITOR


def _start_edit(role: Role) -> None:
    _fill_form(role.to_dict(), role.name)
    S[TAB_KEY] = TAB_EDITOR


def _duplicate(custom: CustomRoles, role: Role) -> None:
    try:
        copy = custom.duplicate(role)
    except (ValueError, OSError) as exc:
        _notice("error", f"Could not copy '{role.name}': {exc}")
        return
    _start_edit(copy)
    _notice("success", f"Saved '{copy.name}', an editable copy of '{role.name}'. Change it below and save.")


def _ask_delete(name: str) -> None:
    S[_k("confirm_delete")] = name


def _cancel_delete() -> None:
    S.pop(_k("confirm_delete"), None)


def _delete(custom: CustomRoles, name: str) -> None:
    S.pop(_k("confirm_delete"), None)
    try:
        custom.delete(name)
    except (ValueError, OSError) as exc:
        _notice("error", f"Could not delete '{name}': {exc}")
        return
    if (S.get(_k("editing")) or "").casefold() == name.casefold():
        _fill_form({}, None)
    _notice("success", f"Deleted '{name}'.")


def library(builtin: list[Role], custom_roles: list[Role], custom: CustomRoles) -> None:
    """Search and filters, then one expander per matching role."""
    roles = [*builtin, *custom_roles]
    tags = sorted({t for r in roles for t in r.tags})
    search, languages, tag_filter = st.columns([4, 2, 3], vertical_alignment="bottom")
    query = search.text_input(
        "Search",
        key=_k("search"),
        placeholder="name, description or prompt text",
        on_change=_reset_limit,
    )
    chosen_languages = languages.multiselect(
        "Language", LANGUAGES, key=_k("languages"), format_func=LANGUAGE_NAMES.get, on_change=_reset_limit
    )
    chosen_tags = tag_filter.multiselect("Tags (any of)", tags, key=_k("tags"), on_change=_reset_limit)
    with st.container(horizontal=True, vertical_alignment="center"):
        shown_kind = st.radio(
            "Show",
            ["All", "Built-in", "Custom"],
            key=_k("kind"),
            horizontal=True,
            on_change=_reset_limit,
            label_visibility="collapsed",
        )
        st.space("stretch")
        st.button("New role", key=_k("new"), icon=":material/add:", on_click=start_new)

    if shown_kind == "Built-in":
        roles = builtin
    elif shown_kind == "Custom":
        roles = custom_roles
    matches = search_roles(roles, query, languages=chosen_languages, tags=chosen_tags)
    limit = S.get(_k("limit"), PAGE_SIZE)
    st.caption(
        f"{len(matches)} of {len(builtin) + len(custom_roles)} roles"
        + (f" · showing the first {limit}" if len(matches) > limit else "")
        + f" · {len(builtin)} built-in (read-only), {len(custom_roles)} custom"
    )
    if not matches:
        st.info(
            "No role matches these filters." if roles else "No custom roles yet: create one or import some."
        )
    for role in matches[:limit]:
        role_card(role, custom)
    if len(matches) > limit:
        st.button(f"Show {min(PAGE_SIZE, len(matches) - limit)} more", key=_k("more"), on_click=_show_more)


def _params_text(role: Role) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in role.default_params().items())


def role_card(role: Role, custom: CustomRoles) -> None:
    """One role: what it sends (prompt, examples, parameters) and what can be done with it."""
    label = f"**{role.name}** · {role.language}" + (f" · {', '.join(role.tags)}" if role.tags else "")
    icon = ":material/lock:" if role.builtin else ":material/edit_note:"
    rid = _rid(role)
    with st.expander(label, icon=icon):
        kind = "Built-in · read-only: duplicate it to edit a copy" if role.builtin else "Custom role"
        st.caption(f"{kind} · {LANGUAGE_NAMES.get(role.language, role.language)}")
        if role.description:
            st.markdown(role.description)
        st.markdown(f"**Default parameters:** {_params_text(role) or 'none (the page’s own settings apply)'}")
        st.markdown(f"**System prompt** · {len(role.system):,} characters")
        st.code(
            role.system, language=None, wrap_lines=True, height=300 if len(role.system) > 1500 else "content"
        )
        if role.examples:
            st.markdown(f"**Few-shot examples** · {len(role.examples)}")
            for user, assistant in role.examples:
                st.chat_message("user").markdown(user)
                st.chat_message("assistant").markdown(assistant)
        if role.builtin:
            st.button(
                "Duplicate to edit",
                key=_k(f"dup.{rid}"),
                icon=":material/content_copy:",
                on_click=_duplicate,
                args=(custom, role),
            )
        elif S.get(_k("confirm_delete")) == role.name:
            st.warning(f"Delete '{role.name}'? This cannot be undone (export it first to keep a copy).")
            with st.container(horizontal=True):
                st.button(
                    "Delete",
                    key=_k(f"delete.yes.{rid}"),
                    type="primary",
                    on_click=_delete,
                    args=(custom, role.name),
                )
                st.button("Cancel", key=_k(f"delete.no.{rid}"), on_click=_cancel_delete)
        else:
            with st.container(horizontal=True):
                st.button(
                    "Edit", key=_k(f"edit.{rid}"), icon=":material/edit:", on_click=_start_edit, args=(role,)
                )
                st.button(
                    "Duplicate",
                    key=_k(f"dup.{rid}"),
                    icon=":material/content_copy:",
                    on_click=_duplicate,
                    args=(custom, role),
                )
                st.button(
                    "Delete",
                    key=_k(f"delete.{rid}"),
                    icon=":material/delete:",
                    on_click=_ask_delete,
                    args=(role.name,),
                )


# --------------------------------------------------------------------------------------------------
# Editor


def _stop_text(stops: list[str]) -> str:
    return "\n".join(json.dumps(s, ensure_ascii=False)[1:-1] for s in stops)  # newline shown as \n


def _stop_list(text: str) -> list[str]:
    return [line.replace("\\n", "\n").replace("\\t", "\t") for line in text.splitlines() if line]


def _fill_form(data: dict[str, Any], editing: str | None) -> None:
    """Put a role (in the roles.yaml schema) into the editor's widgets; {} clears them."""
    params = data.get("params", {})
    S[_k("editing")] = editing
    S[_k("form.name")] = data.get("name", "")
    S[_k("form.description")] = data.get("description", "")
    S[_k("form.language")] = data.get("language", "en")
    S[_k("form.tags")] = list(data.get("tags", []))
    S[_k("form.system")] = data.get("system", "")
    for name, *_ in NUMBER_PARAMS:
        S[_k(f"form.{name}")] = params.get(name)
    S[_k("form.seed")] = "" if params.get("seed") is None else str(params["seed"])
    S[_k("form.stop")] = _stop_text(params.get("stop", []))
    S[_k("form.examples_data")] = [dict(example) for example in data.get("examples", [])]
    S[_k("form.generation")] = S.get(_k("form.generation"), 0) + 1  # a fresh data editor
    S.pop(_k("form.error"), None)


def _examples(frame: pd.DataFrame) -> list[dict[str, str]]:
    out = []
    for row in frame.itertuples(index=False):
        user = row.user if isinstance(row.user, str) else ""
        assistant = row.assistant if isinstance(row.assistant, str) else ""
        if user.strip() or assistant.strip():
            out.append({"user": user, "assistant": assistant})
    return out


def _role_from_form(examples: pd.DataFrame) -> Role:
    """The role the editor describes; raises RolesError (a ValueError) with a message for the page."""
    name = (S.get(_k("form.name")) or "").strip()
    system = (S.get(_k("form.system")) or "").strip()
    if not name:
        raise RolesError("Give the role a name.")
    if not system:
        raise RolesError("Write a system prompt: it is what the role sends before the conversation.")
    params: dict[str, Any] = {}
    for key, *_ in NUMBER_PARAMS:
        if (value := S.get(_k(f"form.{key}"))) is not None:
            params[key] = value
    seed = (S.get(_k("form.seed")) or "").strip()
    if seed:
        try:
            params["seed"] = int(seed)
        except ValueError:
            raise RolesError(f"Seed must be a whole number, not {seed!r}.") from None
    if stops := _stop_list(S.get(_k("form.stop")) or ""):
        params["stop"] = stops
    data = {
        "name": name,
        "description": S.get(_k("form.description")) or "",
        "language": S.get(_k("form.language")) or "en",
        "tags": S.get(_k("form.tags")) or [],
        "system": system,
        "params": params,
        "examples": _examples(examples),
    }
    return Role.from_dict(data, builtin=False)


def editor(custom: CustomRoles, roles: list[Role]) -> None:
    """The create/edit form; Save validates, stores and returns to the library."""
    S.setdefault(_k("form.generation"), 0)
    if _k("form.name") not in S:
        _fill_form({}, None)
    editing = S.get(_k("editing"))
    st.subheader(f"Edit '{editing}'" if editing else "New role")
    st.caption(
        "Custom roles are saved to "
        f"`{custom.path}` and appear in every page's role picker. Leave a parameter empty to not preset it."
    )
    tags = sorted({t for r in roles for t in r.tags} | set(S.get(_k("form.tags")) or []))
    with st.form(_k("form"), border=True):
        name_col, language_col = st.columns([3, 1])
        name_col.text_input("Name", key=_k("form.name"), max_chars=MAX_NAME_CHARS)
        language_col.selectbox("Language", LANGUAGES, key=_k("form.language"), format_func=LANGUAGE_NAMES.get)
        st.text_input(
            "Description", key=_k("form.description"), placeholder="one line shown under the picker"
        )
        st.multiselect(
            "Tags",
            tags,
            key=_k("form.tags"),
            accept_new_options=True,
            placeholder="pick or type lowercase words",
        )
        st.text_area("System prompt", key=_k("form.system"), height=220)
        st.markdown("**Default parameters** (optional)")
        columns = st.columns(3)
        for i, (key, label, low, high, step) in enumerate(NUMBER_PARAMS):
            columns[i % 3].number_input(
                label,
                min_value=low,
                max_value=high,
                step=step,
                key=_k(f"form.{key}"),
                placeholder="not preset",
            )
        columns[2].text_input("Seed", key=_k("form.seed"), placeholder="not preset")
        st.text_area(
            "Stop sequences",
            key=_k("form.stop"),
            height=68,
            placeholder="one per line, up to 4; write \\n for a newline",
        )
        st.markdown("**Few-shot examples** (optional): turns sent after the system prompt, in order")
        examples = st.data_editor(
            pd.DataFrame(S.get(_k("form.examples_data")) or [], columns=["user", "assistant"], dtype="str"),
            key=_k(f"form.examples.{S[_k('form.generation')]}"),
            num_rows="dynamic",
            width="stretch",
            column_config={
                "user": st.column_config.TextColumn("User says", width="large"),
                "assistant": st.column_config.TextColumn("Assistant replies", width="large"),
            },
        )
        save_col, cancel_col, _ = st.columns([1, 1, 4])
        save = save_col.form_submit_button("Save role", key=_k("form.save"), type="primary", width="stretch")
        cancel = cancel_col.form_submit_button("Cancel", key=_k("form.cancel"), width="stretch")
    if error := S.get(_k("form.error")):
        st.error(error)
    if cancel:
        S[_k("pending")] = {"fill": ({}, None), "tab": TAB_LIBRARY}
        st.rerun()
    if save:
        try:
            stored = custom.save(_role_from_form(examples), replacing=editing)
        except (ValueError, OSError) as exc:  # RolesError is a ValueError
            S[_k("form.error")] = f"Not saved: {exc}"
            st.rerun()
        S[_k("pending")] = {"fill": ({}, None), "tab": TAB_LIBRARY}
        _notice("success", f"Saved '{stored.name}'. It is now offered in every page's role picker.")
        st.rerun()


# --------------------------------------------------------------------------------------------------
# Import and export


@st.cache_data(max_entries=2, show_spinner="Reading the file…")
def _parse(data: bytes, filename: str) -> list[Candidate]:
    return parse_collection(data, filename)


def _do_import(custom: CustomRoles, candidates: list[Candidate], include_duplicates: bool) -> None:
    try:
        report = import_candidates(
            custom, candidates, include_duplicates=include_duplicates, include_filtered=False
        )
    except (ValueError, OSError) as exc:
        S[_k("import.report")] = ("error", f"Nothing was imported: {exc}")
        return
    S[_k("import.report")] = ("success", report.summary())
    S[_k("import.generation")] = S.get(_k("import.generation"), 0) + 1  # an empty uploader


def _preview(candidates: list[Candidate], include_duplicates: bool) -> pd.DataFrame:
    """One row per candidate; the ones left out come first, so their flags are seen."""
    frame = pd.DataFrame(
        {
            "Import": [not c.filtered and (include_duplicates or not c.duplicate_of) for c in candidates],
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
    if report := S.pop(_k("import.report"), None):
        kind, text = report
        (st.success if kind == "success" else st.error)(text)
    st.caption(
        "Accepted: the awesome-chatgpt-prompts CSV (`act,prompt` and optional `for_devs,type,contributor`), "
        'JSON `[{"act": ..., "prompt": ...}]`, or a Chat Lab roles YAML export. Up to 10 MB; prompts longer '
        f"than {MAX_PROMPT_CHARS:,} characters are cut. Nothing is stored until you press Import."
    )
    upload = st.file_uploader(
        "Role collection",
        type=["csv", "json", "yaml", "yml"],
        max_upload_size=MAX_IMPORT_BYTES // (1024 * 1024),
        key=_k(f"import.file.{S.get(_k('import.generation'), 0)}"),
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
        key=_k("import.skip_duplicates"),
        help="A role with the same name or the same prompt (ignoring spacing) as one already in the library, "
        "or earlier in this file. Imported duplicates get a numbered name.",
    )
    filter_adult = filter_col.toggle(
        "Filter adult and jailbreak prompts",
        value=True,
        key=_k("import.filter"),
        help="Leaves out prompts matching keywords such as: "
        + ", ".join(label for label, _ in CONTENT_FILTER),
    )
    marked = mark_candidates(candidates, existing, filter_adult=filter_adult)
    preview = _preview(marked, not skip_duplicates)
    chosen = int(preview["Import"].sum())
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
    st.dataframe(
        preview,
        hide_index=True,
        width="stretch",
        height=360,
        key=_k("import.preview"),
        column_config={
            "Import": st.column_config.CheckboxColumn("Import", width="small"),
            "Characters": st.column_config.NumberColumn("Characters", format="%d"),
            "Flags": st.column_config.TextColumn("Flags", width="medium"),
            "Source": st.column_config.TextColumn("Source", width="small"),
        },
    )
    st.button(
        f"Import {chosen} role{'s' if chosen != 1 else ''}",
        key=_k("import.go"),
        type="primary",
        icon=":material/library_add:",
        disabled=chosen == 0,
        on_click=_do_import,
        args=(custom, marked, not skip_duplicates),
    )


def exporter(builtin: list[Role], custom_roles: list[Role]) -> None:
    """Download roles as YAML in the roles.yaml schema."""
    which = st.radio(
        "Roles to export",
        ["all", "custom"],
        key=_k("export.which"),
        horizontal=True,
        format_func=lambda w: (
            f"All roles ({len(builtin) + len(custom_roles)})"
            if w == "all"
            else f"Custom roles only ({len(custom_roles)})"
        ),
    )
    roles = [*builtin, *custom_roles] if which == "all" else custom_roles
    st.caption(
        "The file uses the roles.yaml schema (version 1): import it here on another machine, or point "
        "CHATLAB_ROLES at it to use it as the built-in library."
    )
    st.download_button(
        f"Download {len(roles)} role{'s' if len(roles) != 1 else ''} as YAML",
        data=roles_to_yaml(roles) if roles else "",
        file_name="chatlab-roles.yaml" if which == "all" else "chatlab-custom-roles.yaml",
        mime="application/x-yaml",
        on_click="ignore",
        icon=":material/download:",
        key=_k("export.download"),
        disabled=not roles,
    )
