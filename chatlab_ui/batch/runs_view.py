"""The stored batch runs: a table of them, and one picked to open."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from chatlab.store.batches import BatchRuns
from chatlab_ui.batch.state import RUN_PARAM
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.stored_list import pick_stored, when


def open_run(run_id: str) -> None:
    """Callback: show this run (its id in the URL, so a reload reopens it)."""
    st.query_params[RUN_PARAM] = run_id


def close_run() -> None:
    st.query_params.pop(RUN_PARAM, None)


def stored_runs(runs: BatchRuns, keys: PageKeys) -> None:
    """Every stored run, newest first, and an Open button for the one picked."""
    st.subheader("Stored runs")
    listed = runs.list()
    if not listed:
        st.caption("None yet: runs are stored as they go, with every sample.")
        return
    shown = pd.DataFrame(
        {
            "Title": [r.title for r in listed],
            "Test set": [r.test_set.name for r in listed],
            "Panes": [", ".join(r.labels) for r in listed],
            "Planned samples": [r.total_samples for r in listed],
            "Status": [r.status for r in listed],
            "Started": [when(r.created_at) for r in listed],
        }
    )
    by_id = {r.id: r for r in listed}
    pick_stored(
        shown,
        list(by_id),
        lambda i: f"{by_id[i].title} · {when(by_id[i].created_at)}",
        label="Run",
        keys=keys,
        on_open=open_run,
    )
