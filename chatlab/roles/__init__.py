"""Roles: the Role type (role.py), the roles.yaml library (library.py), the user's own roles (custom.py),
importing collections (importer.py), the Roles editor's form logic (form.py) and the placeholders a
prompt may hold (variables.py)."""

from chatlab.roles.library import (
    DEFAULT_ROLES_PATH,
    ROLES_ENV,
    SCHEMA_VERSION,
    load_roles,
    load_roles_or_default,
    parse_roles,
    roles_path,
    roles_to_yaml,
)
from chatlab.roles.role import (
    DEFAULT_ROLE,
    LANGUAGES,
    MAX_NAME_CHARS,
    PARAM_NAMES,
    Role,
    RolesError,
    find_role,
    search_roles,
    validate_params,
)
from chatlab.roles.variables import MissingValues, Variable, find_variables, render

__all__ = [
    "DEFAULT_ROLE",
    "DEFAULT_ROLES_PATH",
    "LANGUAGES",
    "MAX_NAME_CHARS",
    "MissingValues",
    "PARAM_NAMES",
    "ROLES_ENV",
    "SCHEMA_VERSION",
    "Role",
    "RolesError",
    "Variable",
    "find_role",
    "find_variables",
    "load_roles",
    "load_roles_or_default",
    "parse_roles",
    "render",
    "roles_path",
    "roles_to_yaml",
    "search_roles",
    "validate_params",
]
