"""The Roles page's library: search and filter every role, one card each, and the buttons on a card.

The buttons (Edit, Duplicate, Delete, New role) run as callbacks, which Streamlit runs before the next
script run: they may fill the editor's widgets and switch the tab.
"""

from __future__ import annotations

import hashlib
import json

import streamlit as st

from chatlab.roles import LANGUAGES, Role, search_roles
from chatlab.roles.custom import CustomRoles
from chatlab.safe_markdown import escape_markdown, without_images
from chatlab_ui.roles.editor import clear_if_editing, start_edit, start_new
from chatlab_ui.roles.state import LANGUAGE_NAMES, P, notice

PAGE_SIZE = 40
S = st.session_state


def _rid(role: Role) -> str:
    """A short, stable widget-key part for a role (names may hold any character)."""
    digest = hashlib.sha1(f"{role.builtin}:{role.name.casefold()}".encode()).hexdigest()
    return digest[:12]


def _reset_limit() -> None:
    S[P("limit")] = PAGE_SIZE


def _show_more() -> None:
    S[P("limit")] = S.get(P("limit"), PAGE_SIZE) + PAGE_SIZE


def _duplicate(custom: CustomRoles, role: Role) -> None:
    try:
        copy = custom.duplicate(role)
    except (ValueError, OSError) as exc:
        notice("error", f"Could not copy '{escape_markdown(role.name)}': {exc}")
        return
    start_edit(copy)
    notice(
        "success",
        f"Saved '{escape_markdown(copy.name)}', an editable copy of '{escape_markdown(role.name)}'. "
        "Change it below and save.",
    )


def _ask_delete(name: str) -> None:
    S[P("confirm_delete")] = name


def _cancel_delete() -> None:
    S.pop(P("confirm_delete"), None)


def _delete(custom: CustomRoles, name: str) -> None:
    S.pop(P("confirm_delete"), None)
    try:
        custom.delete(name)
    except (ValueError, OSError) as exc:
        notice("error", f"Could not delete '{escape_markdown(name)}': {exc}")
        return
    clear_if_editing(name)
    notice("success", f"Deleted '{escape_markdown(name)}'.")


def library(builtin: list[Role], custom_roles: list[Role], custom: CustomRoles) -> None:
    """Search and filters, then one expander per matching role."""
    roles = [*builtin, *custom_roles]
    tags = sorted({t for r in roles for t in r.tags})
    search, languages, tag_filter = st.columns([4, 2, 3], vertical_alignment="bottom")
    query = search.text_input(
        "Search",
        key=P("search"),
        placeholder="name, description or prompt text",
        on_change=_reset_limit,
    )
    chosen_languages = languages.multiselect(
        "Language",
        LANGUAGES,
        key=P("languages"),
        format_func=LANGUAGE_NAMES.get,
        on_change=_reset_limit,
    )
    chosen_tags = tag_filter.multiselect("Tags (any of)", tags, key=P("tags"), on_change=_reset_limit)
    with st.container(horizontal=True, vertical_alignment="center"):
        shown_kind = st.radio(
            "Show",
            ["All", "Built-in", "Custom"],
            key=P("kind"),
            horizontal=True,
            on_change=_reset_limit,
            label_visibility="collapsed",
        )
        st.space("stretch")
        st.button("New role", key=P("new"), icon=":material/add:", on_click=start_new)

    if shown_kind == "Built-in":
        roles = builtin
    elif shown_kind == "Custom":
        roles = custom_roles
    matches = search_roles(roles, query, languages=chosen_languages, tags=chosen_tags)
    limit = S.get(P("limit"), PAGE_SIZE)
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
        st.button(f"Show {min(PAGE_SIZE, len(matches) - limit)} more", key=P("more"), on_click=_show_more)


def _params_text(role: Role) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in role.default_params().items())


def role_card(role: Role, custom: CustomRoles) -> None:
    """One role: what it sends (prompt, examples, parameters) and what can be done with it."""
    # Names and descriptions may come from an imported collection: drawn as Markdown, but never as images.
    label = f"**{without_images(role.name)}** · {role.language}" + (
        f" · {', '.join(role.tags)}" if role.tags else ""
    )
    icon = ":material/lock:" if role.builtin else ":material/edit_note:"
    rid = _rid(role)
    with st.expander(label, icon=icon):
        kind = "Built-in · read-only: duplicate it to edit a copy" if role.builtin else "Custom role"
        st.caption(f"{kind} · {LANGUAGE_NAMES.get(role.language, role.language)}")
        if role.description:
            st.markdown(without_images(role.description))
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
                key=P("dup", rid),
                icon=":material/content_copy:",
                on_click=_duplicate,
                args=(custom, role),
            )
        elif S.get(P("confirm_delete")) == role.name:
            st.warning(
                f"Delete '{escape_markdown(role.name)}'? This cannot be undone (export it first to keep a copy)."
            )
            with st.container(horizontal=True):
                st.button(
                    "Delete",
                    key=P("delete", "yes", rid),
                    type="primary",
                    on_click=_delete,
                    args=(custom, role.name),
                )
                st.button("Cancel", key=P("delete", "no", rid), on_click=_cancel_delete)
        else:
            with st.container(horizontal=True):
                st.button(
                    "Edit",
                    key=P("edit", rid),
                    icon=":material/edit:",
                    on_click=start_edit,
                    args=(role,),
                )
                st.button(
                    "Duplicate",
                    key=P("dup", rid),
                    icon=":material/content_copy:",
                    on_click=_duplicate,
                    args=(custom, role),
                )
                st.button(
                    "Delete",
                    key=P("delete", rid),
                    icon=":material/delete:",
                    on_click=_ask_delete,
                    args=(role.name,),
                )
