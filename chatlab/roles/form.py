"""A custom role from the Roles editor's fields: stop sequences as text, the examples table, Save's checks."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from chatlab.params import NUMBER_TEXT, PARAMS, STOPS_TEXT, TEXT_INPUT, ParamError
from chatlab.roles.role import Role, RolesError

# A stop sequence in a one-line-per-sequence text field: backslash, newline, tab and carriage return are
# written \\, \n, \t and \r; any other backslash is kept as typed, so "C:\path" needs no escaping.
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_UNESCAPES = {"\\\\": "\\", "\\n": "\n", "\\t": "\t", "\\r": "\r"}


def stop_text(stops: Iterable[str]) -> str:
    """Stop sequences one per line, as the editors show them (the inverse of stop_list)."""
    return "\n".join("".join(_ESCAPES.get(c, c) for c in s) for s in stops)


def stop_list(text: str) -> list[str]:
    """The stop sequences typed one per line, with \\n, \\t, \\r and \\\\ turned back into characters."""
    return [re.sub(r"\\[\\ntr]", lambda m: _UNESCAPES[m.group()], line) for line in text.splitlines() if line]


def examples_from_table(frame: pd.DataFrame) -> list[dict[str, str]]:
    """The few-shot examples of the editor's table (`user`, `assistant` columns); empty rows are dropped."""
    out = []
    for row in frame.itertuples(index=False):
        # A cell never typed in is None or NaN, not "".
        user = row.user if isinstance(row.user, str) else ""
        assistant = row.assistant if isinstance(row.assistant, str) else ""
        if user.strip() or assistant.strip():
            out.append({"user": user, "assistant": assistant})
    return out


def role_from_form(
    *,
    name: str | None,
    description: str | None,
    language: str | None,
    tags: list[str] | None,
    system: str | None,
    params: Mapping[str, Any],
    examples: list[dict[str, str]],
    variables: list[dict[str, str]] | None = None,
) -> Role:
    """The custom role the editor's fields describe; raises RolesError (a ValueError) saying what to fix.

    `params` holds what each parameter's field holds (see params_from_fields), by parameter name;
    `variables` the defaults and descriptions typed for the prompt's placeholders ({name, default,
    description}; an empty default means none).
    """
    name = (name or "").strip()
    system = (system or "").strip()
    if not name:
        raise RolesError("Give the role a name.")
    if not system:
        raise RolesError("Write a system prompt: it is what the role sends before the conversation.")
    data = {
        "name": name,
        "description": description or "",
        "language": language or "en",
        "tags": tags or [],
        "system": system,
        "params": params_from_fields(params),
        "examples": examples,
        "variables": [
            {k: v for k, v in row.items() if not (k == "default" and v in ("", None))}
            for row in variables or ()
        ],
    }
    return Role.from_dict(data, builtin=False)


def params_from_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A role's default parameters from the editor's fields: numbers (None: not preset), typed text
    (a seed, one stop sequence a line), a choice; RolesError names a field that is not valid."""
    params: dict[str, Any] = {}
    for name, held in fields.items():
        param = PARAMS[name]
        try:
            if param.widget == STOPS_TEXT:
                value = stop_list(held or "") or None
            elif param.widget in (NUMBER_TEXT, TEXT_INPUT):
                value = param.parse(held) if (held or "").strip() else None
            else:
                value = held
        except ParamError as exc:
            raise RolesError(f"{param.label}: {exc}.") from None
        if value is not None:
            params[name] = value
    return params
