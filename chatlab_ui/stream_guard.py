"""Make the run after a Stop see the stopped reply as saved.

A Stop click (any rerun) interrupts the running script, but with Streamlit's fast reruns the next run
can start on another thread while the interrupted one is still closing its stream and writing the
partial reply. The streaming run holds an Event that its cleanup sets; the next run waits on it (briefly)
before reading the conversation.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

SETTLE_TIMEOUT_S = 5.0


@contextmanager
def streaming(key: str) -> Iterator[None]:
    """Mark this session as streaming until the block (and its stream's cleanup) has finished."""
    done = threading.Event()
    st.session_state[key] = done
    try:
        yield
    finally:
        done.set()


def wait_for_previous_stream(key: str) -> None:
    """Block until an interrupted stream of this session has stored what it had (bounded)."""
    done = st.session_state.get(key)
    if done is not None:
        done.wait(SETTLE_TIMEOUT_S)
