"""The role library file (roles.yaml): where it is, reading it with line-accurate errors, and exporting.

The file's schema is documented at the top of the shipped roles.yaml.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.nodes import Node, ScalarNode, SequenceNode

from chatlab.roles.role import DEFAULT_ROLE, Role, RolesError, _Fail, _role_from_data
from chatlab.yamlguard import MAX_FILE_BYTES, _line, load_yaml_guarded, node_line, read_text_capped

ROLES_ENV = "CHATLAB_ROLES"
DEFAULT_ROLES_PATH = Path(__file__).resolve().parents[2] / "roles.yaml"


def roles_path() -> Path:
    """The roles file in use: `$CHATLAB_ROLES` when set, otherwise roles.yaml at the repository root."""
    override = os.environ.get(ROLES_ENV, "").strip()
    return Path(override).expanduser() if override else DEFAULT_ROLES_PATH


SCHEMA_VERSION = 1


def parse_roles(
    text: str,
    source: str | Path | None = None,
    *,
    builtin: bool = True,
    allow_empty: bool = False,
    max_bytes: int = MAX_FILE_BYTES,
) -> list[Role]:
    """Roles from YAML text in the roles.yaml schema; `source` names the file in error messages.

    `allow_empty` accepts an empty document or `roles: []` (a custom-roles file may hold none).
    """
    data, root = load_yaml_guarded(text, source, error=RolesError, max_bytes=max_bytes)

    def fail_at(node: Node | None) -> _Fail:
        def fail(message: str, *keys: str | int) -> NoReturn:
            raise RolesError(message, source, node_line(node, *keys))

        return fail

    top = fail_at(root)
    if data is None and allow_empty:
        return []
    if data is None:
        top(f"the file is empty; expected 'version: {SCHEMA_VERSION}' and a 'roles:' list")
    if not isinstance(data, dict):
        top(f"expected a mapping with 'version: {SCHEMA_VERSION}' and a 'roles:' list at the top level")
    for key in data:
        if key not in ("version", "roles"):
            top(f"unknown top-level key '{key}' (expected 'version' and 'roles')", key)
    version = data.get("version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION or isinstance(version, bool):
        top(f"unsupported version {version!r}; this Chat Lab reads version {SCHEMA_VERSION}", "version")
    items = data.get("roles")
    if items is None:
        top("there is no 'roles:' list")
    if not isinstance(items, list):
        top("'roles' must be a list of roles (each item starting with '- name: ...')", "roles")
    if not items and allow_empty:
        return []
    if not items:
        top("the 'roles' list is empty; add at least one role", "roles")
    roles: list[Role] = []
    first_line: dict[str, int | None] = {}
    roles_node = next((v for k, v in root.value if isinstance(k, ScalarNode) and k.value == "roles"), None)
    for i, item in enumerate(items):
        role_node = None
        if isinstance(roles_node, SequenceNode) and i < len(roles_node.value):
            role_node = roles_node.value[i]
        fail = fail_at(role_node)
        role = _role_from_data(item, builtin=builtin, fail=fail, index=i)
        key = role.name.casefold()
        if key in first_line:
            fail(
                f"role '{role.name}' has the same name as the role on line {first_line[key]}; names must be unique",
                "name",
            )
        first_line[key] = _line(role_node)
        roles.append(role)
    return roles


def load_roles(path: str | Path | None = None, *, builtin: bool = True) -> list[Role]:
    """Roles from a YAML file (default: `roles_path()`); raises RolesError naming the file and line."""
    path = Path(path) if path is not None else roles_path()
    return parse_roles(read_text_capped(path, RolesError), path, builtin=builtin)


def load_roles_or_default(path: str | Path | None = None) -> tuple[list[Role], str | None]:
    """Like load_roles but never raises: on any problem, ([DEFAULT_ROLE], message)."""
    path = Path(path) if path is not None else roles_path()
    try:
        return load_roles(path), None
    except RolesError as exc:
        return [DEFAULT_ROLE], str(exc)
    except Exception as exc:  # the dashboard must still start; report what happened instead
        return [DEFAULT_ROLE], f"{path}: could not load roles ({type(exc).__name__}: {exc})"


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


class _FlowList(list):
    """A short list (tags, stop) written on one line: `tags: [work, writing]`."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(
    _FlowList,
    lambda dumper, items: dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=True),
)

_EXPORT_HEADER = (
    "# Chat Lab roles (schema version 1): see the comment at the top of the shipped roles.yaml.\n"
    "# Each role: name, description, language (en|zh), system, optional tags, params, variables, examples.\n"
)


def roles_to_yaml(roles: Iterable[Role], *, header: bool = True) -> str:
    """Export roles in the roles.yaml schema; `parse_roles` reads the result back to equal roles."""
    exported = []
    for role in roles:
        data = role.to_dict()
        if "tags" in data:
            data["tags"] = _FlowList(data["tags"])
        if "stop" in data.get("params", {}):
            data["params"]["stop"] = _FlowList(data["params"]["stop"])
        exported.append(data)
    document = {"version": SCHEMA_VERSION, "roles": exported}
    body = yaml.dump(
        document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100, default_flow_style=False
    )
    return (_EXPORT_HEADER if header else "") + body
