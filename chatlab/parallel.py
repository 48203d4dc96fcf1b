"""Run several event streams at once and fan their events into one iterator, tagged with the stream's index.

Each stream runs in a worker thread and pushes its events onto one queue; the caller reads them in
arrival order in its own thread (Streamlit's script thread draws them). Events of one stream keep their
order. Cancelling, or closing the iterator, makes every worker close its stream generator — so
`send_turn` stores each partial reply as 'stopped' — and never starts a stream that had not started yet.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass

from chatlab.events import Event, StreamDone, StreamError, Timings

# How often a waiting caller looks at `cancel`; items are taken the moment they arrive, never after this.
CANCEL_POLL_S = 0.05
# How long closing (or cancelling) waits for the workers to close their streams. A CancellableStream's
# worker returns at once (its connection is dropped); one reading a plain iterator blocked on a silent
# server notices only at its next event, and past this wait it is left to finish by itself.
JOIN_TIMEOUT_S = 2.0

_WORKER_DONE = object()  # a worker's last item: it will put nothing more


@dataclass(frozen=True)
class Tagged:
    """One event of stream `index` (its position in the `streams` given to run_parallel).

    `sample`: with several samples per pane (chatlab.samples), which one the event belongs to — the
    first of its request for events of the whole request (Usage, StreamError, StreamDone).
    """

    index: int
    event: Event
    sample: int = 0


class CancellableStream:
    """An event stream that run_parallel can stop from another thread: `cancel` drops its connection (e.g.
    chatlab.turn.ReplyStream.cancel), so a worker blocked on a silent server returns at once instead of at
    its next event; `close` runs when the worker is done with it, read to the end or not."""

    def __init__(self, events: Iterable[Event], cancel: Callable[[], None], close: Callable[[], None]):
        self._events, self._cancel, self._close = events, cancel, close

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)

    def cancel(self) -> None:
        self._cancel()

    def close(self) -> None:
        self._close()


def _failure_events(exc: BaseException, started: float) -> tuple[StreamError, StreamDone]:
    """What a stream that raised ends with: its error, then the StreamDone every stream ends with."""
    error = StreamError(kind="api", message=f"Unexpected error: {type(exc).__name__}: {exc}")
    done = StreamDone(
        usage=None,  # nothing was sent, so nothing is billed
        timings=Timings(ttft_s=None, duration_s=time.perf_counter() - started, tokens_per_s=None),
        finish_reasons={0: None},
        error=error,
    )
    return error, done


def run_parallel(
    streams: Sequence[Callable[[], Iterator[Event]]],
    *,
    max_workers: int | None = None,
    cancel: threading.Event | None = None,
    join_timeout_s: float = JOIN_TIMEOUT_S,
) -> Generator[Tagged, None, None]:
    """Run every stream factory in a worker thread (at most `max_workers` at once) and yield their events.

    Ends when every stream has ended. A stream that raises ends with StreamError(kind="api") and a
    StreamDone; the others go on. When `cancel` is set, workers stop reading and close their streams,
    streams not started yet are skipped (they emit nothing at all: a stream without a StreamDone never
    ran), events already queued are still yielded, and the iterator ends. Closing the iterator does the
    same without yielding; both wait up to `join_timeout_s` for the workers to finish closing.
    """
    if max_workers is not None and max_workers < 1:
        raise ValueError(f"max_workers must be at least 1, got {max_workers}")
    return _run(list(streams), max_workers, cancel, join_timeout_s)


def _run(
    streams: list[Callable[[], Iterator[Event]]],
    max_workers: int | None,
    cancel: threading.Event | None,
    join_timeout_s: float,
) -> Generator[Tagged, None, None]:
    if not streams:
        return
    # Our own flag for "the caller closed us"; the caller's `cancel` is read, never set.
    closed = threading.Event()

    def stopping() -> bool:
        return closed.is_set() or (cancel is not None and cancel.is_set())

    events: queue.SimpleQueue = queue.SimpleQueue()
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for index in range(len(streams)):
        todo.put(index)

    opened: dict[int, object] = {}  # the streams being read now, to cancel when stopping

    def cancel_running() -> None:
        # A worker blocked on a silent server would notice only at its next event: drop its connection.
        for stream in list(opened.values()):
            cancel_stream = getattr(stream, "cancel", None)
            if cancel_stream is not None:
                cancel_stream()

    def run_one(index: int) -> None:
        started = time.perf_counter()
        stream = None
        ended = False
        try:
            stream = opened[index] = streams[index]()
            if stopping():
                cancel_running()
            for event in stream:
                if stopping():
                    return  # the finally closes the stream: send_turn stores what arrived as 'stopped'
                events.put(Tagged(index, event))
                ended = isinstance(event, StreamDone)
        except Exception as exc:
            # One broken stream must not take the others down: it ends like a failed request.
            error, done = _failure_events(exc, started)
            events.put(Tagged(index, error))
            if not ended:
                events.put(Tagged(index, done))
        finally:
            opened.pop(index, None)
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    def worker() -> None:
        try:
            while not stopping():
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                run_one(index)
        finally:
            events.put(_WORKER_DONE)

    count = len(streams) if max_workers is None else min(max_workers, len(streams))
    threads = [
        threading.Thread(target=worker, name=f"chatlab-parallel-{n}", daemon=True) for n in range(count)
    ]
    for thread in threads:
        thread.start()

    running = count
    # Without a caller's cancel nothing can interrupt a wait (closing happens only at a yield): block.
    timeout = CANCEL_POLL_S if cancel is not None else None
    try:
        while running:
            if cancel is not None and cancel.is_set():
                # Let the workers close their streams, then hand over what they had queued before.
                cancel_running()
                _join(threads, join_timeout_s)
                while True:
                    try:
                        item = events.get_nowait()
                    except queue.Empty:
                        return
                    if item is not _WORKER_DONE:
                        yield item
            try:
                item = events.get(timeout=timeout)
            except queue.Empty:
                continue
            if item is _WORKER_DONE:
                running -= 1
            else:
                yield item
    finally:
        # Closed early (a Streamlit rerun, the Stop button): no worker may keep writing after we return.
        closed.set()
        cancel_running()
        _join(threads, join_timeout_s)


def _join(threads: Sequence[threading.Thread], timeout_s: float) -> None:
    """Join every thread within one shared deadline."""
    deadline = time.monotonic() + timeout_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
