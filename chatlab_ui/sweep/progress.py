"""A cancellable run with a progress bar, and the line that says how it ended."""

from __future__ import annotations

from collections.abc import Iterator

import streamlit as st

from chatlab_ui.page_keys import PageKeys


def run_with_progress(state: dict, results: Iterator, total: int, noun: str, keys: PageKeys) -> None:
    """Consume a run, appending each result to `state['items']` as it arrives (a Cancel click reruns the page,
    which closes the iterator: what finished is already kept)."""
    bar = st.progress(0.0, text=f"0 of {total} {noun}")
    st.button(
        "Cancel",
        key=keys("cancel"),
        icon=":material/cancel:",
        help="Stops launching requests and closes the ones running; finished results are kept.",
    )
    try:
        for item in results:
            state["items"].append(item)
            done = len(state["items"])
            bar.progress(min(done / total, 1.0), text=f"{done} of {total} {noun}")
        state["finished"] = True
    finally:
        results.close()


def run_status(state: dict, total: int, noun: str) -> None:
    done = len(state["items"])
    if state.get("finished"):
        st.success(f"Done: {done} {noun}.", icon=":material/check_circle:")
    else:
        st.warning(
            f"Cancelled: {done} of {total} {noun} finished and are kept below.", icon=":material/cancel:"
        )
