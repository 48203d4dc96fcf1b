"""Running a batch comparison: every job on a cancellable pool, each sample checked and stored as it ends.

Requests run on chatlab.sweep.pool (at most `max_workers` at once). A worker streams its reply, runs the
case's checks (a judge check makes its own request), then stores the sample before it is yielded: a
closed page, a rerun or Cancel never loses a finished sample. Cancelling stops launching jobs and cuts the
running ones (their samples are not stored, so every stored sample is whole); the run is then marked
'cancelled' and keeps what finished.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence

from chatlab.batch.plan import BatchSpec, Job, jobs, plan_job, problems
from chatlab.checks import CheckContext, Judge, all_passed, run_checks
from chatlab.prices import usage_cost
from chatlab.reply import collect_reply
from chatlab.store import Store
from chatlab.store.batches import CANCELLED, FINISHED, BatchRuns, BatchSample
from chatlab.sweep.pool import run_jobs


class BatchError(ValueError):
    """The run cannot start; the message lists what to fix."""


def start_batch(
    store: Store, spec: BatchSpec, *, judge: Judge | None = None, endpoint_names: Sequence[str] = ()
) -> str:
    """Check the plan and store a new run (nothing is sent yet); returns its id. BatchError lists problems."""
    found = problems(spec, judge)
    if found:
        raise BatchError("\n".join(found))
    judge_record = {"model": judge.model} if judge is not None else None
    return BatchRuns(store).create(
        spec.test_set, [p.record() for p in spec.panes], spec.samples, title=spec.title, judge=judge_record
    )


def run_batch(
    store: Store,
    run_id: str,
    clients: Sequence,
    spec: BatchSpec,
    *,
    judge: Judge | None = None,
    max_workers: int = 4,
    cancel: threading.Event | None = None,
    on_sample: Callable[[BatchSample], None] | None = None,
) -> Iterator[BatchSample]:
    """Send every job of `spec` (clients[i] serves pane i) and yield each sample once it is stored.

    Progress is the count yielded over spec.total. A failed request yields a sample with `error` set and
    the run goes on. A bad `max_workers` raises ValueError here, before anything is sent.
    """
    if len(clients) != len(spec.panes):
        raise ValueError(f"{len(spec.panes)} panes need {len(spec.panes)} clients, got {len(clients)}")
    runs = BatchRuns(store)

    def work(job: Job, stop: threading.Event) -> BatchSample | None:
        sample = _sample(clients[job.pane], spec, job, judge, stop)
        if sample is not None:
            runs.add_sample(run_id, sample)
        return sample

    results = run_jobs(jobs(spec), work, max_workers=max_workers, cancel=cancel)
    return _samples(results, runs, run_id, spec.total, on_sample)


def _samples(results, runs: BatchRuns, run_id: str, total: int, on_sample) -> Iterator[BatchSample]:
    done = 0
    # Closing this generator must close `results` (its pool) at once: a for loop never closes its iterator.
    try:
        with contextlib.closing(results):
            for job, result in results:
                if isinstance(result, BaseException):
                    result = BatchSample(
                        job.pane,
                        job.case,
                        job.sample,
                        "",
                        False,
                        error=f"Unexpected error: {type(result).__name__}: {result}",
                    )
                    runs.add_sample(run_id, result)
                done += 1
                if on_sample is not None:
                    on_sample(result)
                yield result
    finally:
        runs.finish(run_id, FINISHED if done == total else CANCELLED)


def _sample(
    client, spec: BatchSpec, job: Job, judge: Judge | None, stop: threading.Event
) -> BatchSample | None:
    """One request and its checks; None when the run was cancelled before it finished."""
    case = spec.test_set.cases[job.case]
    request = plan_job(spec, job)
    collected = collect_reply(client, request, stop)
    if collected is None:
        return None
    text, done = collected
    if done is None:
        error = "The stream ended without a summary."
    else:
        error = done.error.message if done.error is not None else None
    checks = ()
    if error is None:
        checks = tuple(
            run_checks(spec.test_set.checks_for(job.case), text, CheckContext(case.message, judge, stop))
        )
        if stop.is_set():
            return None  # a judge cut short is no verdict
    usage = done.usage if done is not None else None
    model = (done.model if done is not None else None) or request.model
    timings = done.timings if done is not None else None
    return BatchSample(
        pane=job.pane,
        case_index=job.case,
        sample=job.sample,
        reply=text,
        passed=error is None and all_passed(checks),
        checks=checks,
        request=request.body,
        finish_reason=done.finish_reasons.get(0) if done is not None else None,
        error=error,
        prompt_tokens=usage.prompt_tokens if usage else None,
        completion_tokens=usage.completion_tokens if usage else None,
        usage_estimated=usage.estimated if usage else False,
        cost_usd=usage_cost(model, usage),
        ttft_s=timings.ttft_s if timings else None,
        duration_s=timings.duration_s if timings else None,
    )
