"""What to do about the last reply's failure, when the page can tell: a model that is not a chat model, or
one served only by the Responses API. Under the chat, and under each Compare pane."""

from __future__ import annotations

import streamlit as st

from chatlab.client import ChatClient
from chatlab.models import not_found_hint
from chatlab.store import ERROR, Message
from chatlab_ui.resources import list_models


def failure_hint(messages: list[Message], client: ChatClient) -> None:
    """Under a conversation whose last reply failed about its model: a plain sentence and a model to try."""
    last = next((m for m in reversed(messages) if m.role == "assistant"), None)
    if last is None or last.status != ERROR or not last.error or not last.model:
        return
    if hint := not_found_hint(last.error, last.model, list_models(client)):
        st.info(hint, icon=":material/lightbulb:")
