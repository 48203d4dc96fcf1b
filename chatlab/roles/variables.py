"""Variables in role prompts: `{{name}}` and `${Name:default}` placeholders, found and filled in.

The rules, so a prompt means the same thing everywhere (chat, Compare, Sweep, batch runs, the CLI):

- `{{name}}` (spaces inside the braces allowed: `{{ name }}`) and `${Name}` / `${Name:default}` (the
  awesome-chatgpt-prompts convention) are placeholders. A default runs to the closing `}` on the same line
  and may be empty (`${Name:}` renders as nothing when no value is given).
- A name starts with a letter or `_` (any script: `${岗位:软件工程师}` works) and goes on with letters,
  digits, `_`, `-` or inner spaces, at most MAX_NAME_CHARS characters. Anything else — `{x}`, a lone `{`,
  `{{"a": 1}}`, `${user.name}` — is plain text.
- Names match ignoring case: `{{position}}` and `${Position}` are one variable, shown as first written.
- Code is literal: nothing inside a fenced block (``` or ~~~) or an inline `code span` is a placeholder.
- A backslash escapes a placeholder: `\\{{name}}` and `\\${Name}` render as `{{name}}` and `${Name}`.
- A value left empty falls back to the default; a variable with neither is missing, and rendering raises
  MissingValues, whose message says which fields to fill in.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MAX_NAME_CHARS = 40

_NAME = r"[^\W\d](?:[\w\- ]*\w)?"
_PLACEHOLDER = re.compile(
    r"\\(?P<escaped>\{\{|\$\{)"
    rf"|\{{\{{[ \t]*(?P<braced>{_NAME})[ \t]*\}}\}}"
    rf"|\$\{{[ \t]*(?P<dollar>{_NAME})[ \t]*(?::(?P<default>[^}}\n]*))?\}}"
)
_FENCED = re.compile(
    r"^[ ]{0,3}(?P<fence>`{3,}|~{3,})[^\n]*\n.*?(?:^[ ]{0,3}(?P=fence)[`~]*[ \t]*$|\Z)",
    re.MULTILINE | re.DOTALL,
)
_INLINE = re.compile(r"(?<!`)(?P<ticks>`+)(?!`)(?:(?!\n[ \t]*\n).)+?(?<!`)(?P=ticks)(?!`)", re.DOTALL)


def is_variable_name(name: str) -> bool:
    """Whether `name` can be written as a placeholder (see the rules above)."""
    return len(name) <= MAX_NAME_CHARS and re.fullmatch(_NAME, name) is not None


def variable_key(name: str) -> str:
    """How names are compared: ignoring case and surrounding spaces."""
    return name.strip().casefold()


@dataclass(frozen=True)
class Variable:
    """A variable of a role: its name, its default (None: a value is required) and what it is for."""

    name: str
    default: str | None = None
    description: str = ""

    @property
    def key(self) -> str:
        return variable_key(self.name)

    @property
    def required(self) -> bool:
        return self.default is None

    def to_dict(self) -> dict:
        """As roles.yaml writes it (fields left empty are omitted)."""
        out: dict = {"name": self.name}
        if self.default is not None:
            out["default"] = self.default
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Placeholder:
    """One placeholder in a text: where it is, its name, and its inline default (`${Name:default}`)."""

    name: str
    default: str | None
    start: int
    end: int


class MissingValues(ValueError):
    """Variables that have neither a value nor a default; the message is for the person filling them in."""

    def __init__(self, names: Sequence[str]):
        self.names = tuple(names)
        listed = _and_list([f"'{n}'" for n in self.names])
        what = "this variable" if len(self.names) == 1 else "these variables"
        super().__init__(f"Fill in {listed}: the prompt uses {what} and there is no default.")


def _and_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


class _Spans:
    """Code regions of a text (fenced blocks, inline code spans), merged and sorted for quick lookups."""

    def __init__(self, text: str):
        spans = sorted(m.span() for m in _FENCED.finditer(text)) if "```" in text or "~~~" in text else []
        fenced = _Spans._lookup(spans)
        inline = [m.span() for m in _INLINE.finditer(text) if not fenced(m.start())]
        merged: list[list[int]] = []
        for a, b in sorted(spans + inline):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        self.contains = _Spans._lookup([(a, b) for a, b in merged])

    @staticmethod
    def _lookup(spans: list[tuple[int, int]]):
        starts = [a for a, _ in spans]

        def inside(position: int) -> bool:
            i = bisect.bisect_right(starts, position) - 1
            return i >= 0 and position < spans[i][1]

        return inside


def _matches(text: str):
    """Placeholder and escape matches outside code, in order."""
    if "{" not in text:
        return
    in_code = _Spans(text).contains if "`" in text or "~~~" in text else (lambda _position: False)
    for m in _PLACEHOLDER.finditer(text):
        if in_code(m.start()):
            continue
        name = m.group("braced") or m.group("dollar")
        if name is not None and len(name) > MAX_NAME_CHARS:
            continue
        yield m


def find_placeholders(text: str) -> list[Placeholder]:
    """Every placeholder in `text`, in order (escaped ones and those inside code are not placeholders)."""
    out = []
    for m in _matches(text):
        if m.group("escaped"):
            continue
        name = m.group("braced") or m.group("dollar")
        out.append(Placeholder(name=name, default=m.group("default"), start=m.start(), end=m.end()))
    return out


def find_variables(*texts: str) -> tuple[Variable, ...]:
    """The variables the texts use, in order of first use; a default is the first inline one given."""
    found: dict[str, Variable] = {}
    for text in texts:
        for p in find_placeholders(text):
            known = found.get(variable_key(p.name))
            if known is None:
                found[variable_key(p.name)] = Variable(p.name, p.default)
            elif known.default is None and p.default is not None:
                found[known.key] = Variable(known.name, p.default)
    return tuple(found.values())


def merge_variables(declared: Iterable[Variable], found: Iterable[Variable]) -> tuple[Variable, ...]:
    """The variables in the order the texts use them; a declared default or description wins over the text's."""
    by_key = {v.key: v for v in declared}
    out: dict[str, Variable] = {}
    for v in (*found, *by_key.values()):
        if v.key in out:
            continue
        d = by_key.get(v.key)
        if d is None:
            out[v.key] = v
        else:
            default = d.default if d.default is not None else v.default
            out[v.key] = Variable(v.name, default, d.description)
    return tuple(out.values())


def _lookup(values: Mapping[str, str] | None) -> dict[str, str]:
    return {variable_key(k): str(v) for k, v in (values or {}).items() if v is not None}


def resolve(variables: Iterable[Variable], values: Mapping[str, str] | None) -> dict[str, str]:
    """The value each variable renders with (by key): the given value, else the default; MissingValues
    names those with neither."""
    given = _lookup(values)
    out: dict[str, str] = {}
    missing = []
    for v in variables:
        value = given.get(v.key, "")
        if value.strip():
            out[v.key] = value
        elif v.default is not None:
            out[v.key] = v.default
        else:
            missing.append(v.name)
    if missing:
        raise MissingValues(missing)
    return out


def missing_values(variables: Iterable[Variable], values: Mapping[str, str] | None) -> tuple[str, ...]:
    """Names of the variables that would block sending (no value, no default)."""
    try:
        resolve(variables, values)
    except MissingValues as exc:
        return exc.names
    return ()


def render(text: str, values: Mapping[str, str] | None, variables: Iterable[Variable] = ()) -> str:
    """`text` with its placeholders filled in; `variables` supplies declared defaults (else the text's own).

    Raises MissingValues naming every variable of the text without a value or default.
    """
    if "{" not in text:
        return text
    known = merge_variables(variables, find_variables(text))
    used = {v.key for v in find_variables(text)}
    filled = resolve([v for v in known if v.key in used], values)
    parts: list[str] = []
    last = 0
    for m in _matches(text):
        parts.append(text[last : m.start()])
        if m.group("escaped"):
            parts.append(m.group("escaped"))
        else:
            parts.append(filled[variable_key(m.group("braced") or m.group("dollar"))])
        last = m.end()
    parts.append(text[last:])
    return "".join(parts)


def render_messages(
    messages: Sequence[Mapping], values: Mapping[str, str] | None, variables: Iterable[Variable] = ()
) -> list[dict]:
    """Chat messages with every text content rendered; MissingValues names all that are missing at once."""
    variables = tuple(variables)
    texts = [m["content"] for m in messages if isinstance(m.get("content"), str)]
    used = find_variables(*texts)
    keys = {v.key for v in used}
    # Every missing name in one error, rather than one message at a time.
    resolve([v for v in merge_variables(variables, used) if v.key in keys], values)
    return [
        {**m, "content": render(m["content"], values, variables)}
        if isinstance(m.get("content"), str)
        else dict(m)
        for m in messages
    ]


def prompt_variables(
    system: str, few_shot: Sequence[Mapping], declared: Iterable[Variable] = ()
) -> tuple[Variable, ...]:
    """The variables a system prompt and few-shot messages use, with declared defaults and descriptions."""
    texts = [m["content"] for m in few_shot if isinstance(m.get("content"), str)]
    return merge_variables(declared, find_variables(system, *texts))


def render_prompt(
    system: str,
    few_shot: Sequence[Mapping],
    values: Mapping[str, str] | None,
    declared: Iterable[Variable] = (),
) -> tuple[str, tuple[dict, ...]]:
    """(system prompt, few-shot messages) with the values filled in; MissingValues names every variable
    without value or default, the system prompt's first."""
    declared = tuple(declared)
    if missing := missing_values(prompt_variables(system, few_shot, declared), values):
        raise MissingValues(missing)
    messages = render_messages(few_shot, values, declared) if few_shot else []
    return render(system, values, declared), tuple(messages)
