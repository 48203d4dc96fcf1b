"""'View code' (Python and curl that reproduce a request) and 'Replay' (send it again, diff the replies)."""

from __future__ import annotations

import streamlit as st

from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.events import StreamDone, StreamError, TextDelta
from chatlab.reproduce import ReplayError, curl_code, diff_markdown, python_code, replay, word_diff
from chatlab.safe_markdown import without_images
from chatlab.store import Message
from chatlab_ui.page_keys import PageKeys


def code_popover(request: dict, endpoint: Endpoint, key: str, label: str = "View code") -> None:
    """The exact request as runnable Python (openai SDK) and curl; the key stays an environment variable."""
    with st.popover(label, icon=":material/code:", key=key):
        python_tab, curl_tab = st.tabs(["Python", "curl"])
        with python_tab:
            st.code(python_code(request, endpoint), language="python")
        with curl_tab:
            st.code(curl_code(request, endpoint), language="bash")
        st.caption(
            "Set OPENAI_API_KEY in your shell first; the copy button is at the top right of each block."
        )


def reply_actions(client: ChatClient, endpoint: Endpoint, keys: PageKeys):
    """Buttons under a stored reply: View code and Replay (its result stays until dismissed)."""

    def _replay_key(message: Message) -> str:
        return keys("replay", message.id)

    def draw(message: Message) -> None:
        code, again, _ = st.columns([1, 1, 4])
        with code:
            code_popover(message.request, endpoint, key=keys("code", message.id))
        again.button(
            "Replay",
            key=keys("replay", message.id, "button"),
            icon=":material/replay:",
            help="Send exactly the same request again and compare the new reply with this one.",
            on_click=lambda: st.session_state.update({_replay_key(message): "pending"}),
        )
        state = st.session_state.get(_replay_key(message))
        if state == "pending":
            st.session_state[_replay_key(message)] = _run_replay(client, message)
        if isinstance(st.session_state.get(_replay_key(message)), dict):
            _show_replay(message, st.session_state[_replay_key(message)], _replay_key(message))

    return draw


def _run_replay(client: ChatClient, message: Message) -> dict:
    placeholder = st.empty()
    pieces: list[str] = []
    result: dict = {"text": "", "error": None, "meta": ""}
    try:
        for event in replay(client, message.request):
            if isinstance(event, TextDelta) and event.choice == 0:
                pieces.append(event.text)
                placeholder.markdown(without_images("".join(pieces)) + "▌")
            elif isinstance(event, StreamError):
                result["error"] = event.message
            elif isinstance(event, StreamDone) and event.usage is None:
                result["meta"] = "not billed"
            elif isinstance(event, StreamDone):
                est = " (estimated)" if event.usage.estimated else ""
                result["meta"] = f"{event.usage.prompt_tokens} → {event.usage.completion_tokens} tokens{est}"
    except ReplayError as exc:
        result["error"] = str(exc)
    placeholder.empty()
    result["text"] = "".join(pieces)
    return result


def _show_replay(message: Message, result: dict, state_key: str) -> None:
    with st.container(border=True):
        if result["error"]:
            st.error(f"Replay failed: {without_images(result['error'])}")
        old, new = st.columns(2)
        old.caption("Stored reply")
        old.markdown(without_images(message.content))
        new.caption(f"Replayed now · {result['meta']}")
        new.markdown(without_images(result["text"]))
        st.caption("Word-level difference (~~removed~~, **added**)")
        st.markdown(diff_markdown(word_diff(message.content, result["text"])))
        st.button(
            "Dismiss",
            key=f"{state_key}.dismiss",
            on_click=lambda: st.session_state.pop(state_key, None),
        )
