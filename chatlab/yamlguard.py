"""Reading YAML that a person or another program wrote, without trusting it.

The SafeLoader only, and documents that are too big, too deeply nested or that expand through aliases
("billion laughs") are refused before anything is built from them. Errors name the file and the line.
Used by the role library, custom roles, role imports and the price table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# Limits that keep a hostile or broken file from eating memory or time.
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ALIASES = 1_000  # alias uses (`*anchor`) in one document
MAX_EXPANDED_NODES = 200_000  # nodes after every alias is expanded in place
_MERGE_TAG = "tag:yaml.org,2002:merge"


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
