"""What the chat page's inputs queue for the next run: a message, a retry, or a large paste to confirm."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from chatlab.context import estimate_text_tokens
from chatlab_ui.notice import keep
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.pending import PendingTurn

LARGE_MESSAGE_TOKENS = 32_000  # above this, ask before sending


@dataclass(frozen=True)
class LargeMessage:
    """A paste over LARGE_MESSAGE_TOKENS, waiting for Send anyway or Discard."""

    text: str
    tokens: int  # estimated


def queue_message(keys: PageKeys) -> None:
    """The chat input's on_submit: queue the message (or ask first when it is very large)."""
    text = st.session_state.get(keys("input")) or ""
    if not text.strip():
        keep(keys("notice"), "info", "Empty message: nothing was sent.")
    elif (tokens := estimate_text_tokens(text)) > LARGE_MESSAGE_TOKENS:
        st.session_state[keys("confirm")] = LargeMessage(text, tokens)
    else:
        st.session_state[keys("pending")] = PendingTurn(text=text)


def retry_turn(keys: PageKeys, turn: int) -> None:
    st.session_state[keys("pending")] = PendingTurn(retry_turn=turn)


def _confirm_large(keys: PageKeys, send: bool) -> None:
    large: LargeMessage = st.session_state.pop(keys("confirm"))
    if send:
        st.session_state[keys("pending")] = PendingTurn(text=large.text)


def large_message_prompt(keys: PageKeys) -> None:
    """Ask about a large paste, if one waits: its size, its estimated tokens, Send anyway or Discard."""
    large: LargeMessage | None = st.session_state.get(keys("confirm"))
    if large is None:
        return
    st.warning(
        f"This message is {len(large.text):,} characters, about {large.tokens:,} tokens (estimated) — more "
        "than many models accept, and it may cost real money. Send it anyway?"
    )
    yes, no = st.columns(2)
    yes.button(
        "Send anyway", key=keys("confirm", "yes"), on_click=_confirm_large, args=(keys, True), type="primary"
    )
    no.button("Discard", key=keys("confirm", "no"), on_click=_confirm_large, args=(keys, False))
