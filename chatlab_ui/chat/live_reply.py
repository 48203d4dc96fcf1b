"""The chat's reply as it arrives: started on a thread of the process (chatlab.live), followed by the page.

A reload, another tab or a click elsewhere only stops the page from watching: the reply goes on and is
written to the database, and the page that opens the conversation next follows it to the end. Only Stop
stops it. A reply streamed by another Chat Lab process (replicas on one database) is shown from the
database as it grows.
"""

from __future__ import annotations

import streamlit as st

from chatlab.live import LIVE, LiveReply
from chatlab.roles.variables import MissingValues
from chatlab.store import STREAMING, Message, Store
from chatlab.turn import TurnSettings, send_turn
from chatlab_ui.chat_view import display_text, stream_reply
from chatlab_ui.notice import keep
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.pending import PendingTurn


def live_key(conversation_id: str) -> str:
    return f"chat:{conversation_id}"


def start_reply(
    store: Store, client, conversation_id: str, settings: TurnSettings, pending: PendingTurn, keys: PageKeys
) -> LiveReply | None:
    """Store the question and start the reply on its own thread; None (with a notice) when it cannot go."""
    try:
        return LIVE.start(
            live_key(conversation_id),
            lambda: send_turn(
                store, client, conversation_id, settings, pending.text, retry_turn=pending.retry_turn
            ),
            what=pending,
        )
    except (RuntimeError, MissingValues, ValueError) as exc:
        keep(keys("notice"), "warning", str(exc))
        return None


def follow_reply(reply: LiveReply, keys: PageKeys) -> None:
    """Draw the reply from its first event until it ends, with a Stop button that stops it."""
    with st.chat_message("assistant"):
        st.button(
            "Stopping…" if reply.stopping.is_set() else "Stop",
            key=keys("stop_reply"),
            icon=":material/stop_circle:",
            on_click=reply.stop,
            disabled=reply.stopping.is_set(),
            help="Stop the reply; what arrived so far is kept.",
        )
        stream_reply(reply.follow(heartbeat=True))


def arriving_elsewhere(store: Store, messages: list[Message]) -> None:
    """A reply another Chat Lab process is streaming (a live owner: a dead one's reply was marked
    interrupted before the page read it): redrawn from the database every second until it is done."""
    streaming = [m for m in messages if m.role == "assistant" and m.status == STREAMING]
    if streaming:
        with st.chat_message("assistant"):
            _watch(store, streaming[-1].id)


@st.fragment(run_every=1.0)
def _watch(store: Store, message_id: int) -> None:
    reply = store.get_message(message_id)
    if reply is None or reply.status != STREAMING:
        st.rerun(scope="app")  # finished: the whole page shows it as stored
    st.caption("⏳ This reply is still arriving, streamed by another Chat Lab process; it redraws itself.")
    st.markdown(display_text(reply.content) + "▌")
