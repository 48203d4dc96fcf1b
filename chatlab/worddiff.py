"""A word-level diff of two replies (e.g. a reply and its replay), and a Markdown rendering of it."""

from __future__ import annotations

import difflib
import re

from chatlab.cjk import DIFF_CHARS
from chatlab.safe_markdown import marked_runs

EQUAL, INSERT, DELETE = "equal", "insert", "delete"

_CJK = DIFF_CHARS  # each character is a token of its own
# Whitespace runs are tokens too, so joining the tokens gives the text back exactly.
_TOKEN = re.compile(rf"\s+|[{_CJK}]|[^\W{_CJK}]+|[^\s{_CJK}]", re.UNICODE)


def tokens(text: str) -> list[str]:
    """Words, single punctuation marks, single CJK characters and whitespace runs; they join back to `text`."""
    return _TOKEN.findall(text)


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """(op, text) pieces with op in equal/insert/delete; equal+delete join to `old`, equal+insert to `new`."""
    a, b = tokens(old), tokens(new)
    raw: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            raw.append((EQUAL, "".join(a[i1:i2])))
            continue
        if tag in ("replace", "delete"):
            raw.append((DELETE, "".join(a[i1:i2])))
        if tag in ("replace", "insert"):
            raw.append((INSERT, "".join(b[j1:j2])))
    return _merge(_absorb_spaces(raw))


def _absorb_spaces(ops: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A lone space between two changes belongs to both: "~~quick brown~~ **slow red**", not word by word."""
    out: list[tuple[str, str]] = []
    for index, (op, text) in enumerate(ops):
        between_changes = (
            op == EQUAL
            and text.isspace()
            and "\n" not in text
            and 0 < index < len(ops) - 1
            and ops[index - 1][0] != EQUAL
            and ops[index + 1][0] != EQUAL
        )
        if between_changes:
            out += [(DELETE, text), (INSERT, text)]
        else:
            out.append((op, text))
    return out


def _merge(ops: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Join neighbouring pieces of the same kind; within a run of changes, deletions come first."""
    out: list[tuple[str, str]] = []
    run: dict[str, list[str]] = {DELETE: [], INSERT: []}

    def flush_run() -> None:
        for op in (DELETE, INSERT):
            if run[op]:
                out.append((op, "".join(run[op])))
                run[op] = []

    for op, text in ops:
        if not text:
            continue
        if op == EQUAL:
            flush_run()
            if out and out[-1][0] == EQUAL:
                out[-1] = (EQUAL, out[-1][1] + text)
            else:
                out.append((EQUAL, text))
        else:
            run[op].append(text)
    flush_run()
    return out


def diff_markdown(ops: list[tuple[str, str]]) -> str:
    """Deletions as ~~strike~~, insertions as **bold**; the texts themselves are escaped."""
    return marked_runs((_MARKERS[op], text) for op, text in ops)


_MARKERS = {DELETE: "~~", INSERT: "**", EQUAL: ""}
