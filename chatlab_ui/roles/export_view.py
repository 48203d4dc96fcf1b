"""The Roles page's Export tab: download all roles, or the custom ones, as YAML in the roles.yaml schema."""

from __future__ import annotations

import streamlit as st

from chatlab.roles import Role, roles_to_yaml
from chatlab_ui.roles.state import P


def exporter(builtin: list[Role], custom_roles: list[Role]) -> None:
    """Download roles as YAML in the roles.yaml schema."""
    which = st.radio(
        "Roles to export",
        ["all", "custom"],
        key=P("export.which"),
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
        key=P("export.download"),
        disabled=not roles,
    )
