"""History search: every message matching a query, its hit highlighted, with a link to its conversation."""

from __future__ import annotations

import re
from collections.abc import Sequence

import streamlit as st

from chatlab.safe_markdown import escape_markdown
from chatlab.store import ConversationSummary, Store
from chatlab_ui.history.links import open_link
from chatlab_ui.history.table import RUN_KINDS

SHOWN_HITS = 50


def highlighted(snippet: str) -> str:
    """Markdown for a search snippet: its text escaped, the [[hit]] markers turned into a highlight."""
    parts = re.split(r"\[\[(.*?)\]\]", snippet)
    out = []
    for index, part in enumerate(parts):
        # A snippet is a glimpse, not a rendering: its text verbatim (escaped), on one line.
        text = escape_markdown(" ".join(part.split()))
        out.append(f":orange-background[**{text}**]" if index % 2 else text)
    return "".join(out)


def search_results(
    store: Store, query: str, kind: str | None, summaries: Sequence[ConversationSummary]
) -> None:
    """The first SHOWN_HITS matching messages; `summaries` (the page's listing) says where each one opens."""
    if kind in RUN_KINDS:
        st.info(
            "Search reads the messages of chats and comparisons: show All, Chats or Comparisons to search."
        )
        return
    hits = store.search(query, limit=SHOWN_HITS, kind=kind)
    st.caption(
        f"{len(hits)} message{'s' if len(hits) != 1 else ''} match “{escape_markdown(query)}”"
        + (f" (showing the first {SHOWN_HITS})" if len(hits) == SHOWN_HITS else "")
    )
    conversations = {s.id: s for s in summaries}
    for hit in hits:
        with st.container(border=True):
            # A title is plain text (an imported file may carry any): escaped, so never a link or an image.
            title = escape_markdown(hit.conversation_title or "(untitled)")
            when = hit.created_at[:16].replace("T", " ")
            st.markdown(f"**{title}** · {hit.role} · {when}")
            st.markdown(highlighted(hit.snippet))
            summary = conversations.get(hit.conversation_id)
            open_link(
                hit.conversation_id,
                summary.kind if summary else "chat",
                summary.comparison_id if summary else None,
            )
