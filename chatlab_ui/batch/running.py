"""A batch run on a thread of this process (chatlab.live), not of the browser tab: a reload, another
click or a closed tab only stops the watching. The page redraws its progress every second, and Cancel
stops launching requests and closes the running ones; every finished sample is already stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from chatlab.batch.plan import BatchSpec
from chatlab.batch.run import run_batch, start_batch
from chatlab.checks import Judge
from chatlab.live import LIVE, LiveReply
from chatlab.store import Store
from chatlab.store.batches import CANCELLED, RUNNING, BatchRunRecord, BatchRuns
from chatlab_ui.batch.state import LiveBatch, live_key
from chatlab_ui.page_keys import PageKeys

PROGRESS_EVERY_S = 1.0


def start(store: Store, spec: BatchSpec, clients: Sequence, *, judge: Judge | None, workers: int) -> str:
    """Store the run and start it on its own thread; returns its id (BatchError when it cannot start)."""
    run_id = start_batch(store, spec, judge=judge)
    live = LiveBatch(run_id, spec.total)
    LIVE.start(
        live_key(run_id),
        lambda: run_batch(store, run_id, clients, spec, judge=judge, max_workers=workers, cancel=live.cancel),
        what=live,
    )
    return run_id


def running(run_id: str) -> LiveReply | None:
    """The run's live reply while it runs in this process, else None."""
    reply = LIVE.get(live_key(run_id))
    return reply if reply is not None and reply.running else None


def cancel(run_id: str) -> None:
    """Callback: stop launching requests and close the running ones (finished samples stay stored)."""
    reply = LIVE.get(live_key(run_id))
    if reply is not None:
        reply.what.cancel.set()  # ends the pool's wait at once, even while every request is silent
        reply.stop()


@st.fragment(run_every=PROGRESS_EVERY_S)
def progress(run_id: str, keys: PageKeys) -> None:
    """The run's progress bar and Cancel, redrawn every second; the whole page reruns once it ends."""
    reply = LIVE.get(live_key(run_id))
    if reply is None or not reply.running:
        st.rerun(scope="app")  # it has ended: draw its results
    live: LiveBatch = reply.what
    samples = list(reply.events)
    done, passed = len(samples), sum(s.passed for s in samples)
    st.progress(
        min(done / max(live.total, 1), 1.0),
        text=f"{done:,} of {live.total:,} samples · {passed:,} passed every check so far",
    )
    if live.cancel.is_set():
        st.caption("Cancelling: the requests under way are being closed; finished samples are kept.")
    else:
        st.button(
            "Cancel",
            key=keys("cancel"),
            icon=":material/cancel:",
            on_click=cancel,
            args=(run_id,),
            help="Stops launching requests and closes the ones running; every finished sample is kept.",
        )


def status_line(run: BatchRunRecord, count: int) -> None:
    """How the run ended (or that it is not running here although it never ended)."""
    if run.status == RUNNING:
        st.warning(
            f"This run is not running in this Chat Lab process: it was cut short when Chat Lab stopped, or "
            f"another Chat Lab process sharing the database runs it. {count:,} of {run.total_samples:,} "
            "samples are stored and shown below.",
            icon=":material/pause_circle:",
        )
        return
    if run.status == CANCELLED:
        kept = (
            f"{count:,} of {run.total_samples:,} samples finished and are kept below"
            if count
            else "no sample had finished"
        )
        st.warning(f"Cancelled: {kept}.", icon=":material/cancel:")
    else:
        st.success(f"Done: {count:,} samples.", icon=":material/check_circle:")


def mark_stopped(store: Store, run_id: str) -> None:
    """Callback: mark a run no process runs any more as cancelled (its samples stay)."""
    BatchRuns(store).finish(run_id, CANCELLED)
