"""A cancellable thread pool for a sweep's calls: at most N at once, results yielded as each ends.

Cancelling (or closing the iterator) stops launching jobs and tells the running ones to stop through
the `stop` event they are given. The iterator ends at once rather than waiting for them — a worker
blocked on a silent server only notices at its next event (or the endpoint's timeout) — and jobs cut
short are not reported. Everything that finished before was already yielded.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from chatlab.events import StreamDone, TextDelta

MAX_WORKERS = 32
POLL_S = 0.05  # how often a waiting iterator looks at `cancel`; results are taken as soon as they arrive

Job = TypeVar("Job")
Result = TypeVar("Result")


def run_jobs(
    jobs: Sequence[Job],
    work: Callable[[Job, threading.Event], Result | None],
    *,
    max_workers: int,
    cancel: threading.Event | None,
) -> Iterator[tuple[Job, Result | BaseException]]:
    """Run `work(job, stop)` on a pool, at most `max_workers` at once; yield (job, result) as each ends.

    `work` returns None when it saw `stop` and gave up; nothing is yielded for it. An exception is
    yielded as the result. A finished job's replacement is launched only after its result was consumed,
    so when `cancel` is set during the k-th result at most k − 1 + max_workers jobs were ever started.
    """
    if (
        isinstance(max_workers, bool)
        or not isinstance(max_workers, int)
        or not 1 <= max_workers <= MAX_WORKERS
    ):
        raise ValueError(f"max_workers must be between 1 and {MAX_WORKERS}, got {max_workers!r}")
    return _jobs(deque(jobs), work, max_workers, cancel)


def _jobs(
    pending: deque[Job],
    work: Callable[[Job, threading.Event], Result | None],
    max_workers: int,
    cancel: threading.Event | None,
) -> Iterator[tuple[Job, Result | BaseException]]:
    if not pending:
        return
    stop = threading.Event()
    running: dict[Future, Job] = {}
    pool = ThreadPoolExecutor(max_workers=min(max_workers, len(pending)), thread_name_prefix="chatlab-sweep")

    def cancelled() -> bool:
        return cancel is not None and cancel.is_set()

    def launch() -> None:
        while pending and len(running) < max_workers and not cancelled():
            job = pending.popleft()
            running[pool.submit(work, job, stop)] = job

    def outcome(future: Future) -> Result | BaseException | None:
        try:
            return future.result()
        except Exception as exc:  # one failed job must not end the run; it is reported as its result
            return exc

    try:
        launch()
        while running and not cancelled():
            done, _ = wait(list(running), timeout=POLL_S, return_when=FIRST_COMPLETED)
            for future in done:
                result = outcome(future)
                if result is not None:
                    yield running[future], result
                del running[future]
                launch()
        if running:
            # Cancelled: cut the running jobs, but keep any that had already finished.
            stop.set()
            for future, job in list(running.items()):
                if future.done():
                    result = outcome(future)
                    if result is not None:
                        yield job, result
    finally:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)


def read_first_choice(stream: Iterator, stop: threading.Event) -> tuple[str, StreamDone | None] | None:
    """What a pool job reads from one reply's stream: choice 0's text and the StreamDone (None when the
    stream ended without one); None when `stop` was set first. The stream is closed either way, which
    drops the connection of a reply cut short."""
    parts: list[str] = []
    done: StreamDone | None = None
    try:
        for event in stream:
            if stop.is_set():
                return None
            if isinstance(event, TextDelta) and event.choice == 0:
                parts.append(event.text)
            elif isinstance(event, StreamDone):
                done = event
    finally:
        stream.close()
    return "".join(parts), done
