"""'What the next request will send': the exact body, planned by chatlab.turn as the send itself plans it.

The chat and every Compare pane use planned_request, which reads the same stored window and calls the
same plan_context / plan_request as send_turn; only the new message is a placeholder until it is typed.
The panel is an expander that does its work only while open (a long history costs a closed one nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from chatlab.context import ContextWindow, rows_needed
from chatlab.endpoint import Endpoint
from chatlab.request import Request
from chatlab.safe_markdown import escape_markdown
from chatlab.store import Store
from chatlab.turn import TurnSettings, plan_context, plan_request
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.reproduce_view import code_popover

PLACEHOLDER = "<your next message>"
TITLE = "What the next request will send"


def planned_request(
    store: Store, conversation_id: str | None, settings: TurnSettings
) -> tuple[Request, ContextWindow]:
    """The request the next message would send in this conversation (None: a new one), and its window."""
    recent = (
        store.messages(conversation_id, last=rows_needed(settings.context_depth)) if conversation_id else []
    )
    window = plan_context(recent, settings, PLACEHOLDER)
    return plan_request(settings, window), window


def request_preview(request: Request, window: ContextWindow) -> None:
    """Exactly the body the next request sends, the notes on what was changed, and the token split."""
    split = window.split
    st.caption(
        f"≈ {split.total:,} prompt tokens (estimated): system {split.system:,} · "
        f"history {split.history:,} ({window.history_sent} of {window.history_available} past messages) · "
        f"new message {split.new_message:,}"
    )
    for note in (*window.notes, *request.notes):
        st.info(note, icon=":material/info:")
    st.code(request.to_json(), language="json")


def _one(
    store: Store, conversation_id: str | None, settings: TurnSettings, endpoint: Endpoint, keys: PageKeys
):
    request, window = planned_request(store, conversation_id, settings)
    request_preview(request, window)
    code_popover(request.body, endpoint, key=keys("code"), label="View code for this request")


def preview_panel(
    store: Store, conversation_id: str | None, settings: TurnSettings, endpoint: Endpoint, keys: PageKeys
) -> None:
    """The chat's preview of its next request."""
    panel = st.expander(TITLE, key=keys("preview"), on_change="rerun")
    if panel.open:
        with panel:
            _one(store, conversation_id, settings, endpoint, keys.child("preview"))


def pane_previews(
    store: Store,
    labels: Sequence[str],
    conversation_ids: Sequence[str | None],
    settings: Sequence[TurnSettings],
    endpoint: Endpoint,
    keys: PageKeys,
) -> None:
    """Compare's preview: a tab per pane, each the request that pane's next message sends."""
    panel = st.expander(TITLE, key=keys("preview"), on_change="rerun")
    if not panel.open:
        return
    with panel:
        st.caption("Each pane sends its own request: its role, its thread, its parameters and depth.")
        names = [f"{i + 1}. {escape_markdown(label)}" for i, label in enumerate(labels)]
        for index, tab in enumerate(st.tabs(names)):
            with tab:
                _one(
                    store,
                    conversation_ids[index],
                    settings[index],
                    endpoint,
                    keys.child("preview", "pane", index),
                )
