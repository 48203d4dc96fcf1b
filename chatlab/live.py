"""Replies that run on their own: a stream is read by a thread of this process, not by a browser tab.

A page starts a reply here and watches it; reloading the page, clicking another widget or closing the tab
only stops the watching. The reply goes on, is written to the database as it grows (chatlab.turn), and a
page opened later — the same tab after a reload, another tab — finds it still arriving and follows it to
the end. Only Stop stops it.

Watching is cheap: every event is kept in order, and a watcher reads from any position, so a page that
comes in late first catches up, then follows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# A finished reply stays watchable this long, so a page rerun right after it ends still finds it and
# draws the last events before it reads the database.
KEEP_FINISHED_S = 30.0


@dataclass
class LiveReply:
    """One stream being read by its own thread: its events so far, and whether it has ended."""

    key: str
    what: Any = None  # what the starter wants a watcher to know (e.g. the message, the panes)
    events: list = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    ended_at: float | None = None
    failure: BaseException | None = None  # the stream raised (a bug): kept for the page to report
    _changed: threading.Condition = field(default_factory=threading.Condition)
    # What stop() calls besides setting `stopping`: the stream's own cancel(), and any the starter gave
    # (e.g. the event a fan-out of several streams watches).
    _cancels: list = field(default_factory=list)

    @property
    def running(self) -> bool:
        return not self.finished.is_set()

    def stop(self) -> None:
        """Stop the reply: its stream is cancelled (the connection dropped) and what arrived is kept."""
        self.stopping.set()
        for cancel in self._cancels:
            cancel()
        with self._changed:
            self._changed.notify_all()

    def follow(self, start: int = 0, poll_s: float = 0.25, *, heartbeat: bool = False) -> Iterator:
        """Every event from position `start` on, waiting for new ones until the reply has ended.

        With `heartbeat`, a None comes every `poll_s` while nothing arrives: a Streamlit page drawing the
        reply touches an element then, which is where a click on Stop (any rerun) reaches its script.
        """
        position = start
        while True:
            with self._changed:
                if position >= len(self.events) and not self.finished.is_set():
                    self._changed.wait(poll_s)
                batch = self.events[position:]
                ended = self.finished.is_set()
            if not batch and not ended:
                if heartbeat:
                    yield None
                continue
            yield from batch
            position += len(batch)
            if ended and position >= len(self.events):
                return

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the reply has ended; False on timeout."""
        return self.finished.wait(timeout)

    def _add(self, event) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def _end(self, failure: BaseException | None) -> None:
        with self._changed:
            self.failure = failure
            self.ended_at = time.monotonic()
            self.finished.set()
            self._changed.notify_all()


class LiveReplies:
    """The replies this process is streaming, by key (a conversation or a comparison id)."""

    def __init__(self) -> None:
        self._replies: dict[str, LiveReply] = {}
        self._lock = threading.Lock()

    def start(
        self,
        key: str,
        open_stream: Callable[[], Iterator],
        what: Any = None,
        *,
        on_stop: Callable[[], None] | None = None,
    ) -> LiveReply:
        """Read `open_stream()` on a thread of its own; RuntimeError if a reply under `key` is running.

        `open_stream` runs on the caller's thread (so its checks raise here, and whatever it stores before
        returning is stored when this returns); the stream it returns is read on the new thread. Stop
        calls the stream's `cancel()` when it has one (chatlab.turn.ReplyStream: a reply blocked on a
        silent server stops at once) and `on_stop` (e.g. setting the cancel event of send_to_panes).
        """
        with self._lock:
            self._forget_old()
            current = self._replies.get(key)
            if current is not None and current.running:
                raise RuntimeError("A reply is still arriving here; stop it or wait for it to finish.")
            stream = open_stream()
            reply = self._replies[key] = LiveReply(key=key, what=what)
            if callable(getattr(stream, "cancel", None)):
                reply._cancels.append(stream.cancel)
            if on_stop is not None:
                reply._cancels.append(on_stop)
        threading.Thread(target=_read, args=(reply, stream), name=f"chatlab-live-{key}", daemon=True).start()
        return reply

    def get(self, key: str) -> LiveReply | None:
        """The running reply under `key`, or one that ended less than KEEP_FINISHED_S ago."""
        with self._lock:
            self._forget_old()
            return self._replies.get(key)

    def running(self) -> list[LiveReply]:
        with self._lock:
            return [r for r in self._replies.values() if r.running]

    def _forget_old(self) -> None:
        now = time.monotonic()
        for key, reply in list(self._replies.items()):
            if reply.ended_at is not None and now - reply.ended_at > KEEP_FINISHED_S:
                del self._replies[key]


def _read(reply: LiveReply, stream: Iterator) -> None:
    failure = None
    try:
        for event in stream:
            reply._add(event)
            if reply.stopping.is_set():
                break
    except Exception as exc:  # a bug in a stream must not go unseen: the page reports it
        failure = exc
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # a stopped send_turn stores what arrived as 'stopped'
        reply._end(failure)


# One registry per process: every browser session of this Chat Lab process sees the same replies.
LIVE = LiveReplies()
