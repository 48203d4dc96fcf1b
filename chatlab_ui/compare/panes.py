"""Side-by-side panes: each pane's own thread of messages, and several replies streaming at once."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import groupby

import streamlit as st

from chatlab.capabilities import Capabilities
from chatlab.client import ChatClient
from chatlab.compare import PaneSpec
from chatlab.events import StreamDone, StreamError, TextDelta
from chatlab.parallel import Tagged
from chatlab.safe_markdown import escape_markdown, without_images
from chatlab.store import Message, Store
from chatlab_ui.chat_view import REDRAW_INTERVAL_S, TokenLens, display_text, render_history
from chatlab_ui.compare.samples_view import latest_turn_view
from chatlab_ui.compare.state import CompareSend
from chatlab_ui.failure_hints import failure_hint
from chatlab_ui.page_keys import PageKeys


def pane_columns(count: int) -> list:
    """Up to four panes a row, each a bordered box; more wrap onto a second row, as wide as the first (a
    short last row leaves its spare columns empty, not drawn as empty boxes)."""
    per_row = min(count, 4)
    boxes = []
    for start in range(0, count, per_row):
        row = st.columns(per_row)
        boxes += [column.container(border=True) for column in row[: count - start]]
    return boxes


def pane_header(column, pane: PaneSpec, capabilities: Capabilities | None = None) -> None:
    """The pane's name (a role, maybe from an imported collection, or a stored conversation's title: plain
    text, never a link or an image), its model, parameters, depth, variables, and what the model refuses."""
    s = pane.settings
    depth = "all" if s.context_depth is None else s.context_depth
    column.markdown(f"**{escape_markdown(pane.label)}**")
    column.caption(escape_markdown(f"{s.model} · {s.params.describe()} · depth {depth}"))
    if filled := [f"{name} = {value}" for name, value in s.values if value.strip()]:
        column.caption(escape_markdown("Variables: " + ", ".join(filled)))
    for name, _ in s.params if capabilities is not None else ():
        note = capabilities.control_note(name)
        if note:
            column.caption(f":material/info: {escape_markdown(note)}")


def pane_thread(
    column,
    store: Store,
    conversation_id: str,
    keys: PageKeys,
    *,
    before_turn: int | None = None,
    on_retry: Callable[[int], None] | None = None,
    busy: bool = False,
    client: ChatClient | None = None,
) -> None:
    """One pane's thread; `keys` is the pane's own namespace, so panes never share a widget key.

    Earlier turns show the reply the thread went on from; the latest shows one sample at a time with a
    way to flip through them. `before_turn`: draw only the turns before it (a send is answering it)."""
    messages = store.messages(conversation_id)
    if before_turn is not None:
        messages = [m for m in messages if m.turn < before_turn]
    if not messages:
        return
    tokens = TokenLens.of(store, conversation_id)
    turns = [list(group) for _, group in groupby(messages, key=lambda m: m.turn)]
    with column:
        earlier = [m for turn in turns[:-1] for m in turn if m.role == "user" or m.choice_index == 0]
        render_history(earlier, keys=keys, tokens=tokens)
        for turn in turns[:-1]:
            _other_samples_note(turn)
        latest_turn_view(
            store,
            conversation_id,
            turns[-1],
            keys,
            tokens=tokens,
            on_retry=None if before_turn is not None else on_retry,
            busy=busy,
        )
        if client is not None and before_turn is None:
            failure_hint(messages, client)  # e.g. a model that is not a chat model: which one to pick


def draw_panes(
    store: Store,
    comparison_id: str | None,
    panes: Sequence[PaneSpec],
    keys: PageKeys,
    *,
    capabilities: Sequence[Capabilities | None],
    send: CompareSend | None,
    on_retry: Callable[[int, int], None],
    busy: bool,
    client: ChatClient | None = None,
) -> list:
    """Every pane's header and stored thread, in columns; returns the columns (a send draws into them).
    Pane i draws under keys.child("pane", i); `send`: the turns it answers are left to it."""
    columns = pane_columns(len(panes))
    conversations = store.comparison_panes(comparison_id) if comparison_id else []
    for index, pane in enumerate(panes):
        pane_header(columns[index], pane, capabilities[index])
        if conversations:
            pane_thread(
                columns[index],
                store,
                conversations[index].id,
                keys.child("pane", index),
                before_turn=send.turn_of(index) if send is not None else None,
                on_retry=None if busy else partial(on_retry, index),
                busy=busy,
                client=client,
            )
    return columns


def _other_samples_note(turn: list[Message]) -> None:
    count = sum(1 for m in turn if m.role == "assistant")
    if count > 1:
        st.caption(f"Turn {turn[0].turn}: {count} samples; the thread went on from the one shown.")


@dataclass
class _Pane:
    """What one pane's streaming draw holds."""

    body: object
    note: object
    texts: dict[int, list[str]] = field(default_factory=dict)
    finished: set[int] = field(default_factory=set)
    done: int = 0
    failed: int = 0
    error: str | None = None


def _shown(pane: _Pane) -> int:
    """The sample drawn: the oldest still arriving (it stays put until it ends), else the newest."""
    running = [s for s in pane.texts if s not in pane.finished]
    return min(running) if running else max(pane.texts, default=0)


def _note(pane: _Pane, samples: int) -> str:
    if samples == 1:
        return ""
    text = f"Sample {_shown(pane) + 1} of {samples} · {pane.done} finished"
    return text + (f" · {pane.failed} failed" if pane.failed else "")


def stream_panes(
    columns: Sequence, send: CompareSend, events: Iterable[Tagged | None], progress=None
) -> dict[int, _Pane]:
    """Draw every pane's reply as it arrives (with samples: the sample arriving, and how many finished);
    `progress` (a placeholder) shows the whole send's progress. A None among the events means "nothing
    more has arrived yet": what is pending is drawn then. Returns each pane's final state."""
    panes: dict[int, _Pane] = {}
    for index in send.panes:
        with columns[index]:
            with st.chat_message("user"):
                st.markdown(display_text(send.text))
            with st.chat_message("assistant"):
                panes[index] = _Pane(body=st.empty(), note=st.empty())
                panes[index].body.markdown("▌")
    finished = 0
    last_draw = 0.0
    dirty: set[int] = set()

    def draw(cursor: str) -> None:
        for i in dirty:
            pane = panes[i]
            text = "".join(pane.texts.get(_shown(pane), []))
            if pane.error and not text:
                pane.body.error(without_images(pane.error), icon=":material/error:")
            else:
                pane.body.markdown(display_text(text) + cursor)
            if pane.error and text and send.samples == 1:
                pane.note.error(without_images(pane.error), icon=":material/error:")
            else:
                pane.note.caption(_note(pane, send.samples))
        if progress is not None:
            failed = sum(p.failed for p in panes.values())
            progress.progress(
                min(1.0, finished / send.total),
                text=f"{finished} of {send.total} samples finished"
                + (f" · {failed} failed" if failed else ""),
            )
        dirty.clear()

    for tagged in events:
        if tagged is None:  # caught up with what arrived: draw it now, the next event may be a while
            if dirty:
                draw("▌")
                last_draw = time.monotonic()
            continue
        event, index = tagged.event, tagged.index
        pane = panes.get(index)
        if pane is None:
            continue
        if isinstance(event, TextDelta) and (send.samples > 1 or event.choice == 0):
            pane.texts.setdefault(event.choice, []).append(event.text)
        elif isinstance(event, StreamError):
            pane.error = event.message
        elif isinstance(event, StreamDone):
            count = len(event.finish_reasons) or 1
            pane.finished.update(event.finish_reasons or {tagged.sample})
            pane.done += count
            finished += count
            if event.error is not None:
                pane.failed += count
        else:
            continue
        dirty.add(index)
        now = time.monotonic()
        if now - last_draw >= REDRAW_INTERVAL_S:
            draw("▌")
            last_draw = now
    dirty.update(panes)
    draw("")
    return panes
