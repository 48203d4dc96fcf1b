"""Side-by-side panes: each pane's own thread of messages, and several replies streaming at once."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

import streamlit as st

from chatlab.events import ReasoningDelta, StreamDone, StreamError, TextDelta
from chatlab.parallel import Tagged
from chatlab.safe_markdown import escape_markdown, without_images
from chatlab.store import Message
from chatlab_ui.chat_view import REDRAW_INTERVAL_S, display_text, render_history
from chatlab_ui.page_keys import PageKeys


def pane_columns(count: int) -> list:
    """Up to four panes a row; more wrap onto a second row."""
    per_row = min(count, 4)
    columns = []
    for start in range(0, count, per_row):
        columns += st.columns(per_row, border=True)[: count - start]
    return columns


def pane_header(column, title: str, caption: str) -> None:
    # A pane is named by a role (maybe from an imported collection) or a stored conversation's title:
    # plain text, never a link or an image.
    column.markdown(f"**{escape_markdown(title)}**")
    column.caption(caption)


def pane_history(
    column, messages: Sequence[Message], keys: PageKeys, on_retry: Callable[[int], None] | None
) -> None:
    """One pane's thread; `keys` is the pane's own namespace, so panes never share a widget key."""
    with column:
        render_history(messages, keys=keys, on_retry=on_retry)


def stream_panes(
    columns: Sequence, indices: Sequence[int], user_text: str | None, events: Iterable[Tagged]
) -> dict[int, StreamDone]:
    """Draw every pane's reply as it arrives; returns each pane's final summary."""
    bodies = {}
    for index in indices:
        with columns[index]:
            if user_text:
                with st.chat_message("user"):
                    st.markdown(display_text(user_text))
            with st.chat_message("assistant"):
                bodies[index] = st.empty()
                bodies[index].markdown("▌")
    texts: dict[int, list[str]] = {i: [] for i in indices}
    done: dict[int, StreamDone] = {}
    last_draw = 0.0
    dirty: set[int] = set()
    for tagged in events:
        event, index = tagged.event, tagged.index
        if isinstance(event, TextDelta) and event.choice == 0:
            texts[index].append(event.text)
            dirty.add(index)
        elif isinstance(event, ReasoningDelta):
            continue
        elif isinstance(event, StreamError):
            with columns[index]:
                st.error(without_images(event.message), icon=":material/error:")
        elif isinstance(event, StreamDone):
            done[index] = event
            dirty.add(index)
        now = time.monotonic()
        if dirty and now - last_draw >= REDRAW_INTERVAL_S:
            for i in dirty:
                bodies[i].markdown(display_text("".join(texts[i])) + ("" if i in done else "▌"))
            dirty.clear()
            last_draw = now
    for i in indices:
        bodies[i].markdown(display_text("".join(texts[i])))
    return done
