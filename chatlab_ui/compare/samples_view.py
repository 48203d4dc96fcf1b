"""A pane's latest turn: one sample at a time, a way to flip through them, which one the thread goes on
from, and a compact view of how the samples differ."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import streamlit as st

from chatlab.safe_markdown import escape_markdown
from chatlab.samples import pick_sample
from chatlab.store import COMPLETE, Message, Store
from chatlab.worddiff import diff_markdown, word_diff
from chatlab.worddiff import tokens as word_tokens
from chatlab_ui.chat_view import TokenLens, render_turn
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.token_view import parting_view

# The word diff of two long replies is slow to compute and to read: past this, only the shared start.
DIFF_CHARS = 6_000


def _continue_from(store: Store, conversation_id: str, turn: int, sample: int, key: str) -> None:
    pick_sample(store, conversation_id, turn, sample)
    st.session_state[key] = 0  # the picked sample is sample 1 now


def latest_turn_view(
    store: Store,
    conversation_id: str,
    turn: Sequence[Message],
    keys: PageKeys,
    *,
    tokens: TokenLens | None,
    on_retry: Callable[[int], None] | None,
    busy: bool,
) -> None:
    """The user's message, then the reply — with several samples, the one picked by a slider."""
    render_turn([m for m in turn if m.role == "user"], keys=keys)
    replies = sorted((m for m in turn if m.role == "assistant"), key=lambda m: m.choice_index)
    if len(replies) <= 1:
        render_turn(replies, keys=keys, on_retry=on_retry, tokens=tokens)
        return
    number = replies[0].turn
    key = keys("sample", number)
    options = list(range(len(replies)))
    if st.session_state.get(key) not in options:
        st.session_state[key] = 0
    shown = st.select_slider(
        f"Sample (of {len(replies)})",
        options,
        format_func=lambda i: str(i + 1),
        key=key,
        help="Flip through the samples of this turn. Sample 1 is the one the pane's thread goes on from.",
    )
    complete = [r for r in replies if r.status == COMPLETE]
    # Retry samples the pane's turn again, as many times: offered only when no sample came back whole
    # (otherwise continue from one that did).
    retry = on_retry if not complete else None
    render_turn([replies[shown]], keys=keys, on_retry=retry, tokens=tokens)
    if shown == 0:
        st.caption("The thread goes on from this sample.")
    elif replies[shown].status == COMPLETE and not busy:
        st.button(
            "Continue from this sample",
            key=keys("pick", number),
            icon=":material/call_split:",
            on_click=_continue_from,
            args=(store, conversation_id, number, shown, key),
            help="The next message in this pane goes on from this sample (it becomes sample 1).",
        )
    if len(complete) >= 2 and st.toggle("How the samples differ", key=keys("differ", number)):
        sample_differences(store, replies, shown, tokens)


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def sample_differences(
    store: Store, replies: Sequence[Message], shown: int, tokens: TokenLens | None
) -> None:
    """Where the samples part (with token probabilities), else the words they share from the start and
    the shown sample's word-level changes against sample 1."""
    complete = [r for r in replies if r.status == COMPLETE]
    labels = [f"#{r.choice_index + 1}" for r in complete]
    infos = [tokens.info.get(r.id) if tokens is not None else None for r in complete]
    if all(info is not None and info.available for info in infos):
        recorded = [store.reply_tokens(r.id) for r in complete]
        if all(recorded):
            parting_view(labels, recorded)
            return
    words = [word_tokens(r.content) for r in complete]
    shared = os.path.commonprefix(words)
    spoken = [w for w in shared if _is_word(w)]
    if len({r.content for r in complete}) == 1:
        st.markdown(f"All {len(complete)} complete samples are the same, word for word.")
        return
    if not spoken:
        st.markdown(f"The {len(complete)} complete samples differ from their first word.")
    else:
        start = "".join(shared)[-120:]
        st.markdown(
            f"All {len(complete)} complete samples start with the same {len(spoken):,} words: "
            f"“{escape_markdown(start.strip())}”"
        )
    lengths = sorted(sum(1 for t in w if _is_word(t)) for w in words)
    st.caption(
        f"Their lengths: {lengths[0]:,} to {lengths[-1]:,} words (median {lengths[len(lengths) // 2]:,})."
    )
    first, this = replies[0], replies[shown]
    if shown == 0 or this.status != COMPLETE:
        st.caption("Flip to another sample to see its words against sample 1.")
        return
    if len(first.content) + len(this.content) > DIFF_CHARS:
        st.caption("These samples are too long for a word-level diff here; download the samples CSV.")
        return
    st.markdown(
        f"**Sample {shown + 1} against sample 1** (~~only in sample 1~~, **only in sample {shown + 1}**):"
    )
    st.markdown(diff_markdown(word_diff(first.content, this.content)))
