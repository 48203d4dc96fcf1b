"""Drawing a conversation: stored turns with their metadata, and a reply while it streams."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby

import streamlit as st

from chatlab.events import Event, KeyNotice, ParamDropped, ReasoningDelta, StreamDone, StreamError, TextDelta
from chatlab.safe_markdown import without_images
from chatlab.store import ERROR, INTERRUPTED, STOPPED, STREAMING, Message, Store, TokenInfo
from chatlab.usage import describe_reply
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.token_view import reply_token_panel

# A 1 MB paste rendered as markdown freezes the browser; longer texts are cut for display only
# (the store and the exports keep every character).
DISPLAY_CHARS = 20_000
# Redraw a streaming reply at most this often: each redraw is a websocket message and a React render.
REDRAW_INTERVAL_S = 0.05

STATUS_NOTES = {
    STOPPED: ("Stopped by you; the text so far is kept.", "⏹️"),
    INTERRUPTED: ("The reply ended early; the text so far is kept.", "⚠️"),
    STREAMING: ("This reply was still arriving when the page was left; it may be incomplete.", "⏳"),
}


def display_text(text: str) -> str:
    """Markdown for a message: cut to DISPLAY_CHARS, and images shown as links (see chatlab.safe_markdown)."""
    if len(text) <= DISPLAY_CHARS:
        return without_images(text)
    return without_images(text[:DISPLAY_CHARS]) + (
        f"\n\n… *({len(text) - DISPLAY_CHARS:,} more characters not shown here; "
        "download the transcript for the full text)*"
    )


@dataclass(frozen=True)
class TokenLens:
    """What a conversation's replies know of their token probabilities (loaded only when a view opens)."""

    store: Store
    info: Mapping[int, TokenInfo]

    @classmethod
    def of(cls, store: Store, conversation_id: str | None) -> TokenLens | None:
        if not conversation_id:
            return None
        info = store.token_info(conversation_id)
        return cls(store, info) if info else None


def _reply_body(m: Message, keys: PageKeys, tokens: TokenLens | None) -> None:
    if m.reasoning:
        with st.expander("Reasoning", expanded=False):
            st.markdown(display_text(m.reasoning))
    info = tokens.info.get(m.id) if tokens is not None else None
    as_tokens = info is not None and reply_token_panel(keys, tokens.store, m, info)
    if m.status == ERROR:
        st.error(without_images(m.error or "The request failed."), icon=":material/error:")
    elif m.content and not as_tokens:
        st.markdown(display_text(m.content))
    if m.status in STATUS_NOTES:
        note, icon = STATUS_NOTES[m.status]
        if m.error:
            note += f" {without_images(m.error)}"
        elif m.status == INTERRUPTED:
            note += " The server ended the stream without finishing the reply (no finish reason)."
        st.caption(f"{icon} {note}")
    for note in m.notes:  # what was changed from the settings: a parameter left out, renamed, retried without
        st.caption(f":material/info: {without_images(note)}")
    line = describe_reply(m)
    if info is not None and (likelihood := info.describe()):
        line += f" · {likelihood}"
    st.caption(line)


ReplyActions = Callable[[Message], None]


def render_turn(
    messages: Sequence[Message],
    *,
    keys: PageKeys,
    on_retry: Callable[[int], None] | None = None,
    actions: ReplyActions | None = None,
    tokens: TokenLens | None = None,
) -> None:
    """One turn: the user's message and every choice of the reply (tabs when n > 1)."""
    for m in messages:
        if m.role == "user":
            with st.chat_message("user"):
                st.markdown(display_text(m.content))
    replies = sorted((m for m in messages if m.role == "assistant"), key=lambda m: m.choice_index)
    if not replies:
        return
    with st.chat_message("assistant"):
        if len(replies) == 1:
            _reply_body(replies[0], keys, tokens)
        else:
            for tab, reply in zip(
                st.tabs([f"Choice {r.choice_index + 1}" for r in replies]), replies, strict=True
            ):
                with tab:
                    _reply_body(reply, keys, tokens)
        if actions is not None and replies[0].request:
            actions(replies[0])
        if on_retry is not None and replies[0].status in (ERROR, INTERRUPTED, STOPPED):
            turn = replies[0].turn
            st.button(
                "Retry",
                key=keys("retry", turn),
                icon=":material/replay:",
                on_click=on_retry,
                args=(turn,),
                help="Send this turn's message again (the failed reply is replaced).",
            )


def render_history(
    messages: Sequence[Message],
    *,
    keys: PageKeys,
    on_retry: Callable[[int], None] | None = None,
    actions: ReplyActions | None = None,
    tokens: TokenLens | None = None,
) -> None:
    """Every turn in order; only the last turn offers Retry."""
    turns = [list(group) for _, group in groupby(messages, key=lambda m: m.turn)]
    for index, turn in enumerate(turns):
        render_turn(
            turn,
            keys=keys,
            on_retry=on_retry if index == len(turns) - 1 else None,
            actions=actions,
            tokens=tokens,
        )


def stream_reply(events: Iterable[Event]) -> StreamDone | None:
    """Draw a reply as it arrives (one area per choice); returns the final summary."""
    areas: dict[int, tuple] = {}
    texts: dict[int, list[str]] = {}
    reasoning: dict[int, list[str]] = {}
    last_draw = 0.0
    done = None

    def area(choice: int):
        if choice not in areas:
            box = st.container()
            if choice > 0 or len(areas) > 0:
                box.caption(f"Choice {choice + 1}")
            with box:
                thinking = st.empty()
                body = st.empty()
            areas[choice] = (thinking, body)
            texts[choice], reasoning[choice] = [], []
        return areas[choice]

    def draw(cursor: str = "▌") -> None:
        for choice, (thinking, body) in areas.items():
            if reasoning[choice]:
                # Cut first, then escape: a cut between an escaping backslash and its "![" would undo it.
                thinking.caption("💭 " + without_images("".join(reasoning[choice])[-600:]))
            if texts[choice]:
                body.markdown(display_text("".join(texts[choice])) + cursor)

    area(0)[1].markdown("▌")
    for event in events:
        if event is None:  # a live reply's heartbeat: touch the page, so a click on Stop reaches this run
            area(0)[1].markdown(display_text("".join(texts[0])) + "▌")
            continue
        if isinstance(event, TextDelta):
            area(event.choice)
            texts[event.choice].append(event.text)
        elif isinstance(event, ReasoningDelta):
            area(event.choice)
            reasoning[event.choice].append(event.text)
        elif isinstance(event, KeyNotice):
            st.toast(event.message, icon=":material/key:")
        elif isinstance(event, ParamDropped):
            st.toast(without_images(event.note), icon=":material/info:")
        elif isinstance(event, StreamError):
            st.error(without_images(event.message), icon=":material/error:")
        elif isinstance(event, StreamDone):
            done = event
            continue
        else:
            continue
        now = time.monotonic()
        if now - last_draw >= REDRAW_INTERVAL_S:
            draw()
            last_draw = now
    draw(cursor="")
    return done
