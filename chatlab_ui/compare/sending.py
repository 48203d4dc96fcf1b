"""Sending to the panes as a reply that runs on its own (chatlab.live).

A page run starts the send and watches it; a reload, another click or another tab only stops watching.
Any page opened on the comparison (`?cmp=<id>`) while it is arriving finds it under `live_key(id)`,
draws what arrived so far and follows it to the end. Only Stop (Cancel, for samples) stops it, and every
pane keeps what arrived as 'stopped'.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence

import streamlit as st

from chatlab.capabilities import Capabilities, capabilities_for
from chatlab.client import ChatClient
from chatlab.compare import PaneSpec, send_to_panes
from chatlab.endpoint import Endpoint
from chatlab.live import LIVE, LiveReply
from chatlab.parallel import Tagged
from chatlab.probe import endpoint_key, stored_capabilities
from chatlab.samples import MAX_SAMPLES, retry_samples, send_samples
from chatlab.store import STREAMING, Store
from chatlab_ui.compare.panes import stream_panes
from chatlab_ui.compare.state import CompareSend, Sampling
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.pending import PendingTurn

# After Stop, how long the page waits for replies whose server is silent to stop (at their next event).
SETTLE_S = 30.0


def live_key(comparison_id: str) -> str:
    return f"compare:{comparison_id}"


def running_send(comparison_id: str | None) -> LiveReply | None:
    """The comparison's send while it is still arriving (None when there is none, or it has ended)."""
    if not comparison_id:
        return None
    reply = LIVE.get(live_key(comparison_id))
    return reply if reply is not None and reply.running else None


def model_capabilities(store: Store, endpoint: Endpoint, model: str, protocol: str) -> Capabilities:
    """What a probe (or a refusal met earlier) found out about this model on this endpoint, else the
    model-family table's view."""
    found = stored_capabilities(store, endpoint_key(endpoint), model, protocol)
    return found if found is not None else capabilities_for(model)


def on_endpoint(store: Store, endpoint: Endpoint, panes: Sequence[PaneSpec]) -> list[PaneSpec]:
    """The panes as they are sent through `endpoint`: each model's capabilities, and where a parameter
    the server refuses is recorded (so the next request leaves it out up front)."""
    out = []
    for pane in panes:
        s = pane.settings
        capabilities = model_capabilities(store, endpoint, s.model, s.protocol)
        settings = dataclasses.replace(
            s,
            capabilities=capabilities,
            findings_key=endpoint_key(endpoint),
            endpoint_name=s.endpoint_name or endpoint.name,
        )
        out.append(dataclasses.replace(pane, settings=settings))
    return out


def _next_turn(store: Store, conversation_id: str) -> int:
    last = store.messages(conversation_id, last=1)
    return last[0].turn + 1 if last else 1


def _stored_message(store: Store, conversation_id: str, turn: int) -> str:
    user = next((m for m in store.messages(conversation_id) if m.turn == turn and m.role == "user"), None)
    return user.content if user else ""


def start_send(
    store: Store,
    client: ChatClient,
    comparison_id: str,
    panes: Sequence[PaneSpec],
    pending: PendingTurn,
    sampling: Sampling,
) -> LiveReply:
    """Start what `pending` asks for: a new message to every pane (with samples), or one pane's turn again.

    RuntimeError when a send of this comparison is still arriving (another tab started one); nothing is
    stored then. Bad arguments raise ValueError before anything is stored."""
    conversations = store.comparison_panes(comparison_id)
    clients = [client] * len(panes)
    workers = sampling.max_workers
    if pending.retry_turn is not None:
        turn = pending.retry_turn
        only = tuple(sorted(set(pending.only or range(len(panes)))))
        first = conversations[only[0]].id
        # A pane that had several samples of the turn gets as many again.
        samples = (
            max(1, sum(1 for m in store.reply_metrics(first) if m.turn == turn)) if len(only) == 1 else 1
        )
        what = CompareSend(_stored_message(store, first, turn), only, (turn,) * len(only), samples)

        def open_stream():
            if samples > 1:
                return retry_samples(
                    store,
                    clients,
                    comparison_id,
                    panes,
                    only[0],
                    turn,
                    samples=samples,
                    use_n=sampling.use_n,
                    max_workers=workers,
                    cancel=what.cancel,
                )
            return send_to_panes(
                store,
                clients,
                comparison_id,
                panes,
                None,
                only=only,
                retry_turn=turn,
                max_workers=workers,
                cancel=what.cancel,
            )

    else:
        indices = tuple(range(len(panes)))
        turns = tuple(_next_turn(store, c.id) for c in conversations)
        what = CompareSend(pending.text or "", indices, turns, sampling.samples)

        def open_stream():
            if sampling.samples == 1:
                return send_to_panes(
                    store,
                    clients,
                    comparison_id,
                    panes,
                    pending.text,
                    max_workers=workers,
                    cancel=what.cancel,
                )
            return send_samples(
                store,
                clients,
                comparison_id,
                panes,
                pending.text or "",
                samples=sampling.samples,
                use_n=sampling.use_n,
                max_workers=workers,
                cancel=what.cancel,
            )

    return LIVE.start(live_key(comparison_id), open_stream, what=what)


def stop_send(reply: LiveReply) -> None:
    """Stop (Cancel): no request starts any more, and each running one stops at its next event, keeping
    what arrived as 'stopped'."""
    send: CompareSend = reply.what
    send.cancel.set()
    reply.stop()


def _open_replies(store: Store, comparison_id: str, send: CompareSend) -> int:
    """How many of the send's replies are still 'streaming' in the store."""
    conversations = store.comparison_panes(comparison_id)
    return sum(
        1
        for pane, turn in zip(send.panes, send.turns, strict=True)
        for m in store.messages(conversations[pane].id, last=2 * MAX_SAMPLES + 1)
        if m.turn == turn and m.role == "assistant" and m.status == STREAMING
    )


def _settle(store: Store, comparison_id: str, send: CompareSend, note) -> None:
    """After Stop: every open request's connection is dropped (run_parallel cancels its streams), and each
    pane stores what arrived as 'stopped' a moment later. Wait for that (saying so, should it take a while),
    so the panes are drawn stopped rather than still arriving."""
    deadline = time.monotonic() + SETTLE_S
    while (open_replies := _open_replies(store, comparison_id, send)) and time.monotonic() < deadline:
        note.info(
            f"Stopping: {open_replies} {'reply is' if open_replies == 1 else 'replies are'} still being "
            "closed; each keeps what has arrived.",
            icon=":material/hourglass_top:",
        )
        time.sleep(0.25)


def _caught_up(reply: LiveReply) -> Iterator[Tagged | None]:
    """reply.follow(), with a None whenever the events so far have all been read (time to draw)."""
    read = 0
    for tagged in reply.follow():
        read += 1
        yield tagged
        if read >= len(reply.events):
            yield None


def follow_send(
    store: Store, comparison_id: str, reply: LiveReply, columns: Sequence, status, keys: PageKeys
) -> None:
    """Draw a send from its first event on and follow it to the end: Stop (or Cancel) and the progress in
    `status`, each pane's reply in its column."""
    send: CompareSend = reply.what
    with status:
        note = st.empty()
        if reply.stopping.is_set():
            note.info(
                "Stopping: every pane keeps what has arrived; their requests are being closed.",
                icon=":material/hourglass_top:",
            )
        else:
            samples = send.samples > 1
            st.button(
                "Cancel" if samples else "Stop",
                key=keys("stop_reply"),
                icon=":material/stop_circle:",
                on_click=stop_send,
                args=(reply,),
                help="Stops every pane; finished samples are kept, running ones are kept as stopped."
                if samples
                else "Stops every pane; what arrived so far is kept.",
            )
        progress = st.empty() if send.samples > 1 else None
    stream_panes(columns, send, _caught_up(reply), progress)
    if send.cancel.is_set():
        _settle(store, comparison_id, send, note)
    if reply.failure is not None:
        st.error(
            f"The send ended with an unexpected error ({type(reply.failure).__name__}: {reply.failure}); "
            "what arrived is kept.",
            icon=":material/error:",
        )
