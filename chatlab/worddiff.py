"""A word-level diff of two replies (e.g. a reply and its replay), and a Markdown rendering of it."""

from __future__ import annotations

import difflib
import re

EQUAL, INSERT, DELETE = "equal", "insert", "delete"

# Scripts written without spaces between words: each character is a token of its own.
_CJK = (
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3000-\u303f"  # CJK symbols and punctuation
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3100-\u312f\u3190-\u31ff"  # Bopomofo, Kanbun, CJK strokes, Katakana extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\ufe30-\ufe4f"  # CJK compatibility forms
    "\uff00-\uffef"  # half- and full-width forms (，。！ etc.)
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
# Whitespace runs are tokens too, so joining the tokens gives the text back exactly.
_TOKEN = re.compile(rf"\s+|[{_CJK}]|[^\W{_CJK}]+|[^\s{_CJK}]", re.UNICODE)

# Every ASCII punctuation character may be backslash-escaped in CommonMark; these can start markup
# (emphasis, links, HTML, headings, lists, tables, code) or Streamlit extras ($math$, :emoji:, :red[...]).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&\"'=^])")


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


def escape_markdown(text: str) -> str:
    """`text` shown literally in Markdown: no emphasis, links, HTML, headings, math or code from it."""
    return _render([(EQUAL, text)])


def diff_markdown(ops: list[tuple[str, str]]) -> str:
    """Deletions as ~~strike~~, insertions as **bold**; the texts themselves are escaped."""
    return _render(ops)


_MARKERS = {DELETE: "~~", INSERT: "**", EQUAL: ""}


def _render(ops: list[tuple[str, str]]) -> str:
    out: list[str] = []
    at_line_start = True
    for op, text in ops:
        marker = _MARKERS[op]
        for index, line in enumerate(text.split("\n")):
            if index:
                out.append("  \n")  # a hard break: a single newline would be a soft one
                at_line_start = True
            if not line:
                continue
            if at_line_start:
                # Leading spaces would start an indented code block: keep them as non-breaking spaces.
                body = line.lstrip(" \t")
                indent = line[: len(line) - len(body)]
                out.append(indent.replace("\t", "    ").replace(" ", "&nbsp;"))
                line = body
                at_line_start = False
            core = line.strip()
            if not marker or not core:
                out.append(_escape(line))
                continue
            # Emphasis cannot open after or close before a space: keep the spaces outside the markers.
            start = line.index(core)
            lead, trail = line[:start], line[start + len(core) :]
            out.append(f"{lead}{marker}{_escape(core)}{marker}{trail}")
    return "".join(out)


def _escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
