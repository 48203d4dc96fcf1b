"""The role library: system prompts, few-shot examples and default parameters, read from roles.yaml.

The file's schema is documented at the top of the shipped roles.yaml. Loading is strict: a typo such
as `sytem:` or `temperature: 3` is an error that names the file and the line, never a silent default.
YAML is read with the SafeLoader only, and documents that are too big, too deeply nested or that expand
through aliases ("billion laughs") are refused before anything is built from them.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from chatlab.params import MAX_STOP_STRINGS, RANGES, SAMPLING_PARAMS
from chatlab.params import PARAM_NAMES as ALL_PARAM_NAMES

ROLES_ENV = "CHATLAB_ROLES"
DEFAULT_ROLES_PATH = Path(__file__).resolve().parent.parent / "roles.yaml"


def roles_path() -> Path:
    """The roles file in use: `$CHATLAB_ROLES` when set, otherwise roles.yaml at the repository root."""
    override = os.environ.get(ROLES_ENV, "").strip()
    return Path(override).expanduser() if override else DEFAULT_ROLES_PATH


ROLES_PATH = roles_path()

SCHEMA_VERSION = 1
LANGUAGES = ("en", "zh")
MAX_NAME_CHARS = 60

# Limits that keep a hostile or broken file from eating memory or time.
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ALIASES = 1_000  # alias uses (`*anchor`) in one document
MAX_EXPANDED_NODES = 200_000  # nodes after every alias is expanded in place
_MERGE_TAG = "tag:yaml.org,2002:merge"

# Generation parameters a role may preset, in the order they are exported (n and user are per request).
# Ranges come from chatlab.params, the one place that knows the API's limits.
PARAM_NAMES = tuple(name for name in ALL_PARAM_NAMES if name not in ("n", "user"))
_FLOAT_RANGES = {name: RANGES[name] for name in SAMPLING_PARAMS}
MAX_TOKENS_RANGE = RANGES["max_tokens"]
SEED_RANGE = RANGES["seed"]

_ROLE_KEYS = ("name", "description", "language", "system", "examples", "params", "tags")
_EXAMPLE_KEYS = ("user", "assistant")


# --------------------------------------------------------------------------------------------------
# Errors


class YamlFileError(ValueError):
    """A problem in a YAML file, located by file and 1-based line when known."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        where = ""
        if path is not None:
            where = f"{path} line {line}: " if line is not None else f"{path}: "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(where + message)


class RolesError(YamlFileError):
    """roles.yaml (or an imported role file) could not be used; the message names file and line."""


# --------------------------------------------------------------------------------------------------
# Guarded YAML loading (shared with chatlab.prices)


class _TooManyAliases(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        self.mark = mark


class _TooManyNodes(_TooManyAliases):
    pass


class _GuardedLoader(yaml.SafeLoader):
    """The SafeLoader, counting alias uses and nodes as the document is composed.

    Counting nodes while composing, not afterwards, is what bounds memory and time: a 10 MB file of
    `- a` lines is 2.6 million nodes (about 2 GB and 90 s in the pure-Python composer) with no alias at all.
    """

    def __init__(self, stream: str, max_aliases: int, max_nodes: int) -> None:
        super().__init__(stream)
        self._aliases_left = max_aliases
        self._nodes_left = max_nodes

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self._nodes_left -= 1
        if self._nodes_left < 0:
            raise _TooManyNodes(self.peek_event().start_mark)
        if self.check_event(yaml.AliasEvent):
            self._aliases_left -= 1
            if self._aliases_left < 0:
                raise _TooManyAliases(self.peek_event().start_mark)
        return super().compose_node(parent, index)


def _line(node: Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None and node.start_mark is not None else None


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [child for pair in node.value for child in pair]
    return []


def _check_graph(root: Node, fail: Callable[[str, int | None], NoReturn], max_nodes: int) -> None:
    """Refuse recursive aliases, documents whose alias expansion exceeds `max_nodes`, duplicate keys.

    Aliases make the node graph a DAG whose tree expansion can be exponential in the file size, so
    sizes are computed bottom-up with memoisation: linear in the number of distinct nodes.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            if total > max_nodes:
                fail(
                    f"the document expands to more than {max_nodes:,} nodes through aliases "
                    "(a 'billion laughs' YAML bomb?); refusing to load it",
                    _line(node),
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            fail(
                "an alias refers to a node that contains it (recursive YAML); refusing to load it",
                _line(node),
            )
        on_path.add(key)
        stack.append((node, True))
        if isinstance(node, MappingNode):
            _check_duplicate_keys(node, fail)
        for child in _children(node):
            if id(child) in on_path:
                fail(
                    "an alias refers to a node that contains it (recursive YAML); refusing to load it",
                    _line(child),
                )
            if id(child) not in sizes:
                stack.append((child, False))


def _check_duplicate_keys(node: MappingNode, fail: Callable[[str, int | None], NoReturn]) -> None:
    seen: dict[str, int | None] = {}
    for key_node, _value in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
            continue
        if key_node.value in seen:
            fail(
                f"duplicate key '{key_node.value}' (first used on line {seen[key_node.value]})",
                _line(key_node),
            )
        seen[key_node.value] = _line(key_node)


def load_yaml_guarded(
    text: str,
    source: str | Path | None = None,
    *,
    error: type[YamlFileError] = YamlFileError,
    max_bytes: int = MAX_FILE_BYTES,
    max_aliases: int = MAX_ALIASES,
    max_nodes: int = MAX_EXPANDED_NODES,
) -> tuple[Any, Node | None]:
    """Parse one YAML document with the SafeLoader; return (data, node tree) or raise `error`.

    Syntax errors carry the line of yaml's `problem_mark`. The node tree (from the same parse) lets
    callers point schema errors at a line with `node_line`.
    """

    def fail(message: str, line: int | None) -> NoReturn:
        raise error(message, source, line)

    if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        fail(f"the file is larger than {max_bytes // 1024:,} KB; refusing to load it", None)
    loader: _GuardedLoader | None = None
    try:
        loader = _GuardedLoader(text, max_aliases, max_nodes)
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_graph(node, fail, max_nodes)
        return loader.construct_document(node), node
    except _TooManyNodes as exc:
        fail(
            f"the document holds more than {max_nodes:,} values (keys, items and texts); refusing to load it",
            exc.mark.line + 1,
        )
    except _TooManyAliases as exc:
        fail(
            f"the document uses more than {max_aliases:,} aliases (a 'billion laughs' YAML bomb?); refusing to load it",
            exc.mark.line + 1,
        )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        detail = ""
        if exc.context and exc.problem and exc.context_mark is not None:
            detail = f" ({exc.context} on line {exc.context_mark.line + 1})"
        kind = "YAML error" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error"
        fail(f"{kind}: {problem}{detail}", mark.line + 1 if mark is not None else None)
    except yaml.reader.ReaderError as exc:
        fail(
            f"YAML syntax error: {exc.reason} (character {exc.character!r})",
            text.count("\n", 0, exc.position) + 1,
        )
    except yaml.YAMLError as exc:
        fail(f"YAML error: {exc}", None)
    except RecursionError:
        fail("the document is nested too deeply; refusing to load it", None)
    finally:
        if loader is not None:
            loader.dispose()


def node_line(node: Node | None, *keys: str | int) -> int | None:
    """1-based line of the node reached from `node` through mapping keys / sequence indexes.

    Stops at the deepest node that exists, so a missing key points at the mapping that lacks it.
    """
    current = node
    for key in keys:
        found: Node | None = None
        if isinstance(current, MappingNode) and isinstance(key, str):
            for key_node, value_node in current.value:  # last wins, as in the constructed dict
                if isinstance(key_node, ScalarNode) and key_node.value == key:
                    found = value_node
        elif isinstance(current, SequenceNode) and isinstance(key, int) and 0 <= key < len(current.value):
            found = current.value[key]
        if found is None:
            break
        current = found
    return _line(current)


def read_text_capped(path: str | Path, error: type[YamlFileError], max_bytes: int = MAX_FILE_BYTES) -> str:
    """A file's UTF-8 text, refusing files over `max_bytes`; every failure is raised as `error`."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise error("file not found", path) from exc
    except OSError as exc:
        raise error(f"cannot read the file: {exc.strerror or exc}", path) from exc
    if len(raw) > max_bytes:
        raise error(f"the file is larger than {max_bytes // 1024:,} KB; refusing to load it", path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error("the file is not valid UTF-8 text", path, line) from exc


# --------------------------------------------------------------------------------------------------
# Validation (shared by the file loader, which knows lines, and Role(...)/Role.from_dict, which don't)

# fail(message, *keys): raise, pointing at the node reached through keys from the current role.
_Fail = Callable[..., NoReturn]


def _plain_fail(message: str, *keys: str | int) -> NoReturn:
    raise RolesError(message)


def _did_you_mean(word: Any, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(word), choices, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f" ({hint}expected one of: {', '.join(choices)})"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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
        if name in _FLOAT_RANGES:
            low, high = _FLOAT_RANGES[name]
            if not _is_number(value):
                fail(f"{who}: {name} must be a number, got {value!r}", "params", name)
            if not low <= value <= high:  # also false for NaN; huge ints never reach float()
                fail(f"{who}: {name} must be between {low:g} and {high:g}, got {value!r}", "params", name)
            value = float(value)
        elif name in ("max_tokens", "seed"):
            low, high = MAX_TOKENS_RANGE if name == "max_tokens" else SEED_RANGE
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int) or isinstance(value, bool):
                fail(f"{who}: {name} must be a whole number, got {value!r}", "params", name)
            if not low <= value <= high:
                bound = (
                    f"at least {low}" if name == "max_tokens" and value < low else f"between {low} and {high}"
                )
                fail(f"{who}: {name} must be {bound}, got {value!r}", "params", name)
        else:  # stop
            stops = [value] if isinstance(value, str) else value
            if not isinstance(stops, list | tuple) or not all(isinstance(s, str) and s for s in stops):
                fail(
                    f"{who}: stop must be a string or a list of non-empty strings, got {value!r}",
                    "params",
                    name,
                )
            if len(stops) > MAX_STOP_STRINGS:
                fail(
                    f"{who}: stop takes at most {MAX_STOP_STRINGS} strings, got {len(stops)}", "params", name
                )
            if not stops:
                continue
            value = tuple(stops)
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
    return Role(
        name=name,
        system=system.strip(),
        description=" ".join(description.split()),
        language=_check_language(data.get("language"), fail, who),
        examples=_check_examples(data.get("examples"), fail, who),
        params=_check_params(data.get("params"), fail, who),
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
    """

    name: str
    system: str
    description: str = ""
    language: str = "en"
    examples: tuple[tuple[str, str], ...] = ()
    params: tuple[tuple[str, Any], ...] = ()
    tags: tuple[str, ...] = ()
    builtin: bool = True

    def __post_init__(self) -> None:
        who = f"role '{self.name}'"
        object.__setattr__(self, "params", _check_params(self.params, _plain_fail, who))
        object.__setattr__(self, "examples", _check_examples(self.examples, _plain_fail, who))
        object.__setattr__(self, "tags", _check_tags(self.tags, _plain_fail, who))

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


# --------------------------------------------------------------------------------------------------
# Loading and exporting


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
    "# Each role: name, description, language (en|zh), system, optional tags, params, examples.\n"
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
