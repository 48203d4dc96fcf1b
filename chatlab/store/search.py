"""Finding messages by a piece of their text: the match condition per database, and highlighted snippets.

Search is a case-insensitive substring match, the same on both databases, so Chinese (no spaces between
words) is found as readily as English, and a query is taken as literal text, never as query syntax:
  SQLite      an FTS5 trigram index (migration m003) for queries of 3+ characters; shorter ones, which a
              trigram index cannot serve, scan with LIKE (see match_messages and bench/history_scale.py).
  PostgreSQL  ILIKE '%…%' (LIKE when the query has no cased letters) served by a pg_trgm GIN index for
              3+ characters; shorter ones scan, as on SQLite.
Replies still streaming are not indexed, so they are not found until they end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatlab.store.db import POSTGRESQL

SNIPPET_CHARS = 160
OPEN, CLOSE = "[[", "]]"  # the UI turns these into highlights
_TRIGRAM = 3  # the shortest query the FTS5 trigram index can answer


@dataclass(frozen=True)
class SearchHit:
    conversation_id: str
    conversation_title: str
    message_id: int
    seq: int
    role: str
    snippet: str  # ~160 characters around the first match, every match in it wrapped in [[ ]]
    created_at: str


@dataclass(frozen=True)
class Match:
    """How one database finds messages containing a query, as pieces of SQL."""

    source: str  # FROM clause that yields the messages as `m`
    condition: str  # WHERE condition
    newest_first: str  # ORDER BY key, descending: the most recently stored first
    params: dict
    scans: bool  # no index serves the query: every message's text is read

    def in_conversation(self) -> str:
        """SQL condition on conversations aliased `c`: one of its messages matches."""
        if self.scans:
            # Per conversation, stop at its first match: a common short word costs next to nothing
            # (SQLite, "天气" over 100k messages: 6 ms, against 128 ms collecting every match first).
            return f"EXISTS (SELECT 1 FROM {self.source} WHERE m.conversation_id = c.id AND {self.condition})"
        # An index lookup: collect the matches' conversations once (per conversation, SQLite would run
        # the full-text query once for each: seconds).
        return f"c.id IN (SELECT m.conversation_id FROM {self.source} WHERE {self.condition})"


def match_messages(dialect: str, query: str) -> Match:
    """The SQL pieces that find messages whose text contains `query`, taken literally."""
    if dialect == POSTGRESQL:
        # ILIKE lower-cases every row it reads: a scan takes ~5x as long as LIKE's (600 vs 125 ms per 100k
        # messages), so a query without letters that have case (Chinese, digits) uses LIKE, same meaning.
        like = "LIKE" if query.lower() == query.upper() else "ILIKE"
        return Match(
            "messages m",
            rf"m.status <> 'streaming' AND m.content {like} :search_pattern ESCAPE '\'",
            "m.id",
            {"search_pattern": _like_pattern(query)},
            scans=len(query) < _TRIGRAM,
        )
    if len(query) >= _TRIGRAM:
        # One FTS5 phrase: double quotes inside are doubled, so AND, OR, NEAR, * and " are plain text.
        # Ordered by the index's own rowid, FTS5 walks the matches newest first and stops at the limit
        # (ordering by m.id instead makes it collect every match first: 15 ms vs 0.3 ms for "the").
        return Match(
            "messages_fts JOIN messages m ON m.id = messages_fts.rowid",
            "messages_fts MATCH :search_phrase",
            "messages_fts.rowid",
            {"search_phrase": '"' + query.replace('"', '""') + '"'},
            scans=False,
        )
    # A trigram index cannot serve 1–2 characters (nor prefix queries, on SQLite 3.40): scan. Common
    # words stop at the limit at once; a rare one reads every message (~90 ms per 100k). SQLite's LIKE
    # ignores case for ASCII letters only, an acceptable gap for so short a query.
    return Match(
        "messages m",
        r"m.status != 'streaming' AND m.content LIKE :search_pattern ESCAPE '\'",
        "m.id",
        {"search_pattern": _like_pattern(query)},
        scans=True,
    )


def _like_pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# Markdown markup a glimpse of a reply reads better without: a table's rule rows, the pipes between its
# cells, emphasis markers, code ticks, heading and quote marks at a line's start.
_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*$", re.MULTILINE)
_CELL_PIPES = re.compile(r"[ \t]*\|[ \t]*")
_EMPHASIS = re.compile(r"\*\*|__|`+")
_LINE_MARKS = re.compile(r"^[ \t]*(#{1,6}|>)[ \t]+", re.MULTILINE)


def as_prose(text: str) -> str:
    """`text` with its Markdown markup dropped: what a reader of the rendered reply sees, in one line."""
    text = _LINE_MARKS.sub("", _TABLE_RULE.sub("", text))
    lines = [_CELL_PIPES.sub(" · ", line.strip().strip("|")) for line in text.splitlines()]
    return _EMPHASIS.sub("", " ".join(line.strip() for line in lines if line.strip()))


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """About `width` characters of `text` around the first match of `query`, matches wrapped in [[ ]].

    The text is read as prose (as_prose) unless the query needs its markup (a search for "**" or "|").
    Runs of whitespace become one space; an ellipsis marks a cut end. Without a match (the database folds
    case a little differently from Python) the start of the text is returned, unmarked.
    """
    pattern = re.compile(re.escape(query), re.IGNORECASE) if query else None
    prose = as_prose(text)
    if pattern is None or pattern.search(prose) or not pattern.search(text):
        text = prose
    first = pattern.search(text) if pattern else None
    if first is None:
        return _squash(text[:width]) + ("…" if len(text) > width else "")
    start, end = first.span()
    span = max(width, end - start)
    left = max(0, start - (span - (end - start)) // 2)
    right = min(len(text), left + span)
    left = max(0, right - span)  # near the end of the text, show more before the match instead
    window = text[left:right]
    parts, position = [], 0
    for match in pattern.finditer(window):
        parts += [_squash(window[position : match.start()]), OPEN, _squash(match.group()), CLOSE]
        position = match.end()
    parts.append(_squash(window[position:]))
    return ("…" if left > 0 else "") + "".join(parts) + ("…" if right < len(text) else "")


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)
