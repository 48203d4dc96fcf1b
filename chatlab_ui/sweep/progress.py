"""A cancellable run with a progress bar, and the line that says how it ended."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import streamlit as st

from chatlab_ui.page_keys import PageKeys
from chatlab_ui.sweep.state import Progress


def cancel_button(cancel: threading.Event, keys: PageKeys) -> None:
    """Cancel sets the run's event in its callback: the click starts a new page run at once, while the
    run being cancelled may still wait for a reply in its own thread; the event ends it within the
    pool's poll (chatlab.sweep.pool), rather than at its next reply."""
    st.button(
        "Cancel",
        key=keys("cancel"),
        icon=":material/cancel:",
        on_click=cancel.set,
        help="Stops launching requests and closes the ones running; finished results are kept.",
    )


def run_with_progress(progress: Progress, results: Iterator, noun: str, keys: PageKeys) -> None:
    """Consume a run started with `cancel=progress.cancel`, appending each result to `progress.items` as
    it arrives; Cancel ends it, and what finished is kept."""
    total = progress.total
    bar = st.progress(0.0, text=f"0 of {total} {noun}")
    cancel_button(progress.cancel, keys)
    try:
        for item in results:
            progress.items.append(item)
            done = len(progress.items)
            bar.progress(min(done / total, 1.0), text=f"{done} of {total} {noun}")
        progress.finished = not progress.cancel.is_set()
    finally:
        results.close()


def run_status(progress: Progress, noun: str) -> None:
    """Done, or cancelled with how many of the planned results are kept."""
    done, total = len(progress.items), progress.total
    if progress.finished:
        st.success(f"Done: {done} {noun}.", icon=":material/check_circle:")
    else:
        st.warning(
            f"{progress.stopped}: {done} of {total} {noun} finished and are kept below.",
            icon=":material/cancel:",
        )
