"""A role: a named system prompt with optional few-shot examples and default generation parameters.

Validation is strict: a typo such as `sytem:` or `temperature: 3` is an error, never a silent default.
The file loader (chatlab.roles.library) passes a `fail` that knows lines; Role(...) and Role.from_dict
use one that does not.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from chatlab.params import INT, PARAMS, ROLE_PARAMS, ParamError
from chatlab.roles.variables import Variable, find_variables, is_variable_name, merge_variables, variable_key
from chatlab.yamlguard import YamlFileError

LANGUAGES = ("en", "zh")
MAX_NAME_CHARS = 60

# Generation parameters a role may preset, in the order they are exported (n and user are per request).
PARAM_NAMES = ROLE_PARAMS

_ROLE_KEYS = ("name", "description", "language", "system", "examples", "params", "variables", "tags")
_EXAMPLE_KEYS = ("user", "assistant")
_VARIABLE_KEYS = ("name", "default", "description")


class RolesError(YamlFileError):
    """roles.yaml (or an imported role file) could not be used; the message names file and line."""


_Fail = Callable[..., NoReturn]


def _plain_fail(message: str, *keys: str | int) -> NoReturn:
    raise RolesError(message)


def _did_you_mean(word: Any, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(word), choices, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f" ({hint}expected one of: {', '.join(choices)})"


def _check_params(params: Any, fail: _Fail, who: str = "params") -> tuple[tuple[str, Any], ...]:
    """Validate a role's default parameters; return them as (name, value) pairs in PARAM_NAMES order."""
    if params is None:
        return ()
    if isinstance(params, Mapping):
        items = list(params.items())
    elif isinstance(params, list | tuple):
        items = [tuple(pair) for pair in params if isinstance(pair, list | tuple)]
        if len(items) != len(params) or any(len(pair) != 2 for pair in items):
            fail(f"{who}: 'params' must be a mapping of parameter names to values", "params")
    else:
        fail(f"{who}: 'params' must be a mapping of parameter names to values, got {params!r}", "params")
    out: dict[str, Any] = {}
    for name, value in items:
        if name not in PARAM_NAMES:
            fail(f"{who}: unknown parameter '{name}'{_did_you_mean(name, PARAM_NAMES)}", "params", name)
        if value is None:
            continue
        param = PARAMS[name]
        if param.kind == INT and isinstance(value, float) and value.is_integer():
            value = int(value)
        try:
            value = param.check(value)
        except ParamError as exc:
            fail(f"{who}: {exc}", "params", name)
        if value in ((), ""):
            continue
        out[name] = value
    return tuple((name, out[name]) for name in PARAM_NAMES if name in out)


def validate_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check role default parameters (names and ranges); return them as a plain dict or raise RolesError."""
    return {k: list(v) if k == "stop" else v for k, v in _check_params(params, _plain_fail)}


def _check_examples(examples: Any, fail: _Fail, who: str) -> tuple[tuple[str, str], ...]:
    if examples is None:
        return ()
    if isinstance(examples, str | bytes | Mapping) or not isinstance(examples, Iterable):
        fail(f"{who}: examples must be a list of {{user: ..., assistant: ...}} pairs", "examples")
    out = []
    for i, example in enumerate(examples):
        if isinstance(example, Mapping):
            unknown = [k for k in example if k not in _EXAMPLE_KEYS]
            if unknown:
                fail(
                    f"{who}: example {i + 1} has unknown key '{unknown[0]}' (expected user and assistant)",
                    "examples",
                    i,
                )
            pair = (example.get("user"), example.get("assistant"))
        elif isinstance(example, list | tuple) and len(example) == 2:
            pair = (example[0], example[1])
        else:
            fail(f"{who}: example {i + 1} must be a mapping with 'user' and 'assistant'", "examples", i)
        for key, text in zip(_EXAMPLE_KEYS, pair, strict=True):
            if not isinstance(text, str) or not text.strip():
                fail(f"{who}: example {i + 1} needs a non-empty '{key}' text", "examples", i, key)
        out.append((pair[0].strip(), pair[1].strip()))
    return tuple(out)


def _check_tags(tags: Any, fail: _Fail, who: str) -> tuple[str, ...]:
    if tags is None:
        return ()
    if isinstance(tags, str):
        tags = [tags]
    if isinstance(tags, Mapping) or not isinstance(tags, Iterable):
        fail(f"{who}: tags must be a list of strings", "tags")
    out: list[str] = []
    for i, tag in enumerate(tags):
        if not isinstance(tag, str) or not tag.strip():
            fail(f"{who}: tag {i + 1} must be a non-empty string, got {tag!r}", "tags", i)
        tag = tag.strip().lower()
        if tag not in out:
            out.append(tag)
    return tuple(out)


def _variable_text(value: Any, fail: _Fail, who: str, i: int, key: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # `default: 3` in YAML means the text 3
    if not isinstance(value, str):
        fail(f"{who}: variable {i + 1}'s '{key}' must be text, got {value!r}", "variables", i, key)
    return value


def _check_variables(variables: Any, fail: _Fail, who: str) -> tuple[Variable, ...]:
    """Declared variables: a list of {name, default, description} (or Variable objects)."""
    if variables is None:
        return ()
    if isinstance(variables, str | bytes | Mapping) or not isinstance(variables, Iterable):
        fail(f"{who}: variables must be a list of {{name: ..., default: ..., description: ...}}", "variables")
    out: dict[str, Variable] = {}
    for i, item in enumerate(variables):
        if isinstance(item, Variable):
            item = item.to_dict()
        if not isinstance(item, Mapping):
            fail(f"{who}: variable {i + 1} must be a mapping with at least a 'name'", "variables", i)
        for key in item:
            if key not in _VARIABLE_KEYS:
                fail(
                    f"{who}: variable {i + 1} has unknown key '{key}'{_did_you_mean(key, _VARIABLE_KEYS)}",
                    "variables",
                    i,
                    key,
                )
        name = (_variable_text(item.get("name"), fail, who, i, "name") or "").strip()
        if not is_variable_name(name):
            fail(
                f"{who}: variable {i + 1} needs a 'name' that starts with a letter and holds only letters, "
                f"digits, _, - or spaces (got {item.get('name')!r})",
                "variables",
                i,
                "name",
            )
        if variable_key(name) in out:
            fail(f"{who}: variable '{name}' is declared twice", "variables", i, "name")
        default = _variable_text(item.get("default"), fail, who, i, "default")
        description = _variable_text(item.get("description"), fail, who, i, "description") or ""
        out[variable_key(name)] = Variable(name, default, " ".join(description.split()))
    return tuple(out.values())


def _role_texts(system: str, examples: Iterable[tuple[str, str]]) -> list[str]:
    return [system, *(text for pair in examples for text in pair)]


def _check_variables_used(declared: tuple[Variable, ...], texts: list[str], fail: _Fail, who: str) -> None:
    used = {v.key for v in find_variables(*texts)}
    for i, v in enumerate(declared):
        if v.key not in used:
            fail(
                f"{who}: variable '{v.name}' is declared but the system prompt and examples never use it "
                f"(write {{{{{v.name}}}}} or ${{{v.name}}} where it goes)",
                "variables",
                i,
            )


def _check_language(language: Any, fail: _Fail, who: str) -> str:
    if language is None:
        return "en"
    if not isinstance(language, str) or language.strip().lower() not in LANGUAGES:
        fail(f"{who}: language must be one of {', '.join(LANGUAGES)}, got {language!r}", "language")
    return language.strip().lower()


def _role_from_data(data: Any, *, builtin: bool, fail: _Fail, index: int | None = None) -> Role:
    label = f"role #{index + 1}" if index is not None else "role"
    if not isinstance(data, Mapping):
        fail(f"{label} must be a mapping with at least 'name' and 'system', got {type(data).__name__}")
    name = data.get("name")
    if name is None:
        fail(f"{label} has no 'name'")
    if not isinstance(name, str) or not name.strip():
        fail(
            f"{label}: 'name' must be a non-empty string (quote it if it looks like a number or date)", "name"
        )
    name = name.strip()
    if len(name) > MAX_NAME_CHARS:
        fail(
            f"role '{name}': name is longer than {MAX_NAME_CHARS} characters; keep it short for the picker",
            "name",
        )
    who = f"role '{name}'"
    for key in data:
        if key not in _ROLE_KEYS:
            fail(f"{who} has unknown key '{key}'{_did_you_mean(key, _ROLE_KEYS)}", key)
    system = data.get("system")
    if system is None:
        fail(f"{who} has no 'system' prompt")
    if not isinstance(system, str) or not system.strip():
        fail(f"{who}: 'system' must be a non-empty string", "system")
    description = data.get("description")
    if description is None:
        description = ""
    if not isinstance(description, str):
        fail(f"{who}: 'description' must be a string", "description")
    examples = _check_examples(data.get("examples"), fail, who)
    variables = _check_variables(data.get("variables"), fail, who)
    _check_variables_used(variables, _role_texts(system.strip(), examples), fail, who)
    return Role(
        name=name,
        system=system.strip(),
        description=" ".join(description.split()),
        language=_check_language(data.get("language"), fail, who),
        examples=examples,
        params=_check_params(data.get("params"), fail, who),
        variables=variables,
        tags=_check_tags(data.get("tags"), fail, who),
        builtin=builtin,
    )


# --------------------------------------------------------------------------------------------------
# The Role type


@dataclass(frozen=True)
class Role:
    """A named system prompt with optional few-shot examples and default generation parameters.

    Frozen and hashable: `params` is stored as (name, value) pairs (stop as a tuple); use
    `default_params()` for a plain dict. A dict for params and lists for examples/tags are accepted
    and normalised; invalid parameters raise RolesError (a ValueError).

    `variables` are those the system prompt and examples use (chatlab.roles.variables), in order of
    use, with the defaults and descriptions declared in roles.yaml merged over the texts' own.
    """

    name: str
    system: str
    description: str = ""
    language: str = "en"
    examples: tuple[tuple[str, str], ...] = ()
    params: tuple[tuple[str, Any], ...] = ()
    tags: tuple[str, ...] = ()
    builtin: bool = True
    variables: tuple[Variable, ...] = ()

    def __post_init__(self) -> None:
        who = f"role '{self.name}'"
        object.__setattr__(self, "params", _check_params(self.params, _plain_fail, who))
        object.__setattr__(self, "examples", _check_examples(self.examples, _plain_fail, who))
        object.__setattr__(self, "tags", _check_tags(self.tags, _plain_fail, who))
        declared = _check_variables(self.variables, _plain_fail, who)
        texts = _role_texts(self.system, self.examples)
        _check_variables_used(declared, texts, _plain_fail, who)
        object.__setattr__(self, "variables", merge_variables(declared, find_variables(*texts)))

    def declared_variables(self) -> tuple[Variable, ...]:
        """The variables roles.yaml must write down: those whose default or description the texts do not
        already say (an inline `${Name:default}` needs no declaration)."""
        found = set(find_variables(*_role_texts(self.system, self.examples)))
        return tuple(v for v in self.variables if v not in found)

    def default_params(self) -> dict[str, Any]:
        """The role's preset parameters as a dict (stop as a list), e.g. for GenerationParams.from_dict."""
        return {k: list(v) if k == "stop" else v for k, v in self.params}

    def few_shot_messages(self) -> list[dict[str, str]]:
        """The examples as OpenAI chat messages: user, assistant, user, assistant, ..."""
        messages: list[dict[str, str]] = []
        for user, assistant in self.examples:
            messages.append({"role": "user", "content": user})
            messages.append({"role": "assistant", "content": assistant})
        return messages

    def base_messages(self) -> list[dict[str, str]]:
        """The system prompt followed by the few-shot examples: what goes before the conversation."""
        return [{"role": "system", "content": self.system}, *self.few_shot_messages()]

    def to_dict(self) -> dict[str, Any]:
        """The role in the roles.yaml schema (fields left at their defaults are omitted)."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["language"] = self.language
        if self.tags:
            out["tags"] = list(self.tags)
        if self.params:
            out["params"] = self.default_params()
        if declared := self.declared_variables():
            out["variables"] = [v.to_dict() for v in declared]
        out["system"] = self.system
        if self.examples:
            out["examples"] = [{"user": u, "assistant": a} for u, a in self.examples]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, builtin: bool = False) -> Role:
        """Build and validate a role from a dict in the roles.yaml schema; raises RolesError."""
        return _role_from_data(data, builtin=builtin, fail=_plain_fail)


DEFAULT_ROLE = Role(
    name="Default assistant",
    system="You are a helpful assistant.",
    description="A neutral baseline with a minimal system prompt.",
    tags=("general",),
)


def find_role(roles: Iterable[Role], name: str) -> Role | None:
    """The role with this name (ignoring case and surrounding spaces), or None."""
    wanted = (name or "").strip().casefold()
    return next((role for role in roles if role.name.casefold() == wanted), None)


def search_roles(
    roles: Iterable[Role], query: str = "", *, languages: Iterable[str] = (), tags: Iterable[str] = ()
) -> list[Role]:
    """Roles whose name, description or system prompt contain every word of `query` (ignoring case),
    written in one of `languages` and carrying at least one of `tags`; an empty filter matches all."""
    words = query.casefold().split()
    wanted_languages, wanted_tags = set(languages), set(tags)
    out = []
    for role in roles:
        if wanted_languages and role.language not in wanted_languages:
            continue
        if wanted_tags and not wanted_tags.intersection(role.tags):
            continue
        text = f"{role.name}\n{role.description}\n{role.system}".casefold()
        if all(word in text for word in words):
            out.append(role)
    return out
