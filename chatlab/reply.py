"""Reading a whole reply off a stream when nobody watches it arrive (batch samples, judge checks)."""

from __future__ import annotations

import threading

from chatlab.events import StreamDone, TextDelta
from chatlab.request import Request


def collect_reply(
    client, request: Request, stop: threading.Event | None = None
) -> tuple[str, StreamDone | None] | None:
    """The first choice's text and the stream's closing summary (None if the stream ended without one);
    None when `stop` was set before the reply ended — the stream is closed, dropping the connection."""
    parts: list[str] = []
    done: StreamDone | None = None
    stream = client.stream(request)
    try:
        for event in stream:
            if stop is not None and stop.is_set():
                return None
            if isinstance(event, TextDelta) and event.choice == 0:
                parts.append(event.text)
            elif isinstance(event, StreamDone):
                done = event
    finally:
        stream.close()
    return "".join(parts), done
