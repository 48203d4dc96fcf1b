"""'View code' (Python and curl that reproduce a request) and 'Replay' (send it again, diff the replies)."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.events import StreamDone, StreamError, TextDelta
from chatlab.reproduce import ReplayError, curl_code, diff_markdown, python_code, replay, word_diff
from chatlab.safe_markdown import without_images
from chatlab.store import Message
from chatlab_ui.page_keys import PageKeys


def code_popover(request: dict, endpoint: Endpoint, key: str, label: str = "View code") -> None:
    """The exact request as runnable Python (openai SDK) and curl; the key stays an environment variable.

    The code is written only while the popover is open: a closed one costs a rerun nothing.
    """
    popover = st.popover(label, icon=":material/code:", key=key, on_change="rerun")
    if not popover.open:
        return
    with popover:
        python_tab, curl_tab = st.tabs(["Python", "curl"])
        with python_tab:
            st.code(python_code(request, endpoint), language="python")
        with curl_tab:
            st.code(curl_code(request, endpoint), language="bash")
        st.caption(
            "Set OPENAI_API_KEY in your shell first; the copy button is at the top right of each block."
        )


@dataclass(frozen=True)
class ReplayQueued:
    """Replay was clicked: the next run sends the stored request again."""


@dataclass(frozen=True)
class ReplayResult:
    """What a replay brought back, shown beside the stored reply until dismissed."""

    text: str = ""
    error: str | None = None
    meta: str = ""  # e.g. "12 → 40 tokens (estimated)"


def reply_actions(client: ChatClient, endpoint: Endpoint, keys: PageKeys):
    """Buttons under a stored reply: View code and Replay (its result stays until dismissed)."""

    def draw(message: Message) -> None:
        state_key = keys("replay", message.id)
        with st.container(horizontal=True, gap="small"):  # lighter than columns: drawn under every reply
            code_popover(message.request, endpoint, key=keys("code", message.id))
            st.button(
                "Replay",
                key=keys("replay", message.id, "button"),
                icon=":material/replay:",
                help="Send exactly the same request again and compare the new reply with this one.",
                on_click=lambda: st.session_state.update({state_key: ReplayQueued()}),
            )
        if isinstance(st.session_state.get(state_key), ReplayQueued):
            st.session_state[state_key] = _run_replay(client, message)
        if isinstance(result := st.session_state.get(state_key), ReplayResult):
            _show_replay(message, result, state_key)

    return draw


def _run_replay(client: ChatClient, message: Message) -> ReplayResult:
    placeholder = st.empty()
    pieces: list[str] = []
    error, meta = None, ""
    try:
        for event in replay(client, message.request):
            if isinstance(event, TextDelta) and event.choice == 0:
                pieces.append(event.text)
                placeholder.markdown(without_images("".join(pieces)) + "▌")
            elif isinstance(event, StreamError):
                error = event.message
            elif isinstance(event, StreamDone) and event.usage is None:
                meta = "not billed"
            elif isinstance(event, StreamDone):
                est = " (estimated)" if event.usage.estimated else ""
                meta = f"{event.usage.prompt_tokens} → {event.usage.completion_tokens} tokens{est}"
    except ReplayError as exc:
        error = str(exc)
    placeholder.empty()
    return ReplayResult(text="".join(pieces), error=error, meta=meta)


def _show_replay(message: Message, result: ReplayResult, state_key: str) -> None:
    with st.container(border=True):
        if result.error:
            st.error(f"Replay failed: {without_images(result.error)}")
        old, new = st.columns(2)
        old.caption("Stored reply")
        old.markdown(without_images(message.content))
        new.caption(f"Replayed now · {result.meta}")
        new.markdown(without_images(result.text))
        st.caption("Word-level difference (~~removed~~, **added**)")
        st.markdown(diff_markdown(word_diff(message.content, result.text)))
        st.button(
            "Dismiss",
            key=f"{state_key}.dismiss",
            on_click=lambda: st.session_state.pop(state_key, None),
        )
