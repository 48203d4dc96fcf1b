"""A custom role from the Roles editor's fields: stop sequences as text, the examples table, Save's checks."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

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
    numbers: Mapping[str, Any],
    seed: str | None,
    stop: str | None,
    examples: list[dict[str, str]],
) -> Role:
    """The custom role the editor's fields describe; raises RolesError (a ValueError) saying what to fix.

    `numbers` are the numeric parameters by name, None for "not preset"; `seed` and `stop` are the text
    the user typed.
    """
    name = (name or "").strip()
    system = (system or "").strip()
    if not name:
        raise RolesError("Give the role a name.")
    if not system:
        raise RolesError("Write a system prompt: it is what the role sends before the conversation.")
    params: dict[str, Any] = {key: value for key, value in numbers.items() if value is not None}
    seed = (seed or "").strip()
    if seed:
        try:
            params["seed"] = int(seed)
        except ValueError:
            raise RolesError(f"Seed must be a whole number, not {seed!r}.") from None
    if stops := stop_list(stop or ""):
        params["stop"] = stops
    data = {
        "name": name,
        "description": description or "",
        "language": language or "en",
        "tags": tags or [],
        "system": system,
        "params": params,
        "examples": examples,
    }
    return Role.from_dict(data, builtin=False)
