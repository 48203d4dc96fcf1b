"""One batch run on the page: its progress while it runs here, then (and so far) its results."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from chatlab.batch.statistics import PASS_RATE, pane_groups, statistics
from chatlab.stats import format_value
from chatlab.store import Store
from chatlab.store.batches import RUNNING, BatchRuns
from chatlab_ui.batch.results import cell, failures, grid, run_header, samples_download
from chatlab_ui.batch.running import mark_stopped, progress, running, status_line
from chatlab_ui.batch.stats_view import pass_rate_sentences, statistics_view
from chatlab_ui.navigation import RATING
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.resources import get_store
from chatlab_ui.tables import table


@st.cache_data(max_entries=8, show_spinner="Working out intervals…")
def _statistics(run_id: str, count: int, stamp: str, baseline: int) -> pd.DataFrame:
    """The run's statistics, worked out once per set of samples (count and stamp change with each)."""
    runs = BatchRuns(get_store())
    return statistics(runs.get(run_id), runs.samples(run_id), baseline)


def _pass_rates(stats: pd.DataFrame, samples, labels: list[str]) -> None:
    st.subheader("Pass rate per pane")
    groups = list(dict.fromkeys(stats.group))
    passed = {g: sum(s.passed for s in samples if s.pane == i) for i, g in enumerate(groups)}
    rows = stats[stats.metric == PASS_RATE.name]
    table(
        pd.DataFrame(
            {
                "Pane": labels,
                "Samples": [int(n) for n in rows.n],
                "Passed": [passed[g] for g in groups],
                "Pass rate [95% interval]": [
                    format_value(
                        PASS_RATE, *(None if pd.isna(v) else float(v) for v in (r.mean, r.ci_low, r.ci_high))
                    )
                    for r in rows.itertuples()
                ],
                "Failed requests": [
                    sum(1 for s in samples if s.pane == i and s.error) for i in range(len(groups))
                ],
                "Checks that could not run": [
                    sum(1 for s in samples if s.pane == i for r in s.checks if r.error)
                    for i in range(len(groups))
                ],
            }
        ),
        key=None,
    )
    st.markdown("  \n".join(pass_rate_sentences(rows, passed)))


def run_view(store: Store, run_id: str, keys: PageKeys) -> None:
    """The run: header, progress (while it runs in this process) or how it ended, then its results."""
    runs = BatchRuns(store)
    run = runs.get(run_id)
    st.header(run.title)
    run_header(run)
    live = running(run_id)
    if live is not None:
        progress(run_id, keys.child("progress"))
    samples = runs.samples(run_id)
    if live is None:
        status_line(run, len(samples))
        if run.status == RUNNING:
            st.button(
                "Mark it as stopped", key=keys("mark_stopped"), on_click=mark_stopped, args=(store, run_id)
            )
    elif samples:
        st.caption("Results so far; they are drawn again when the run ends.")
    if not samples:
        return
    groups = pane_groups(run)
    baseline = st.session_state.get(keys("stats", "baseline"), 0)

    def stats_for(base: int) -> pd.DataFrame:
        return _statistics(run_id, len(samples), run.updated_at, base)

    _pass_rates(stats_for(baseline), samples, run.labels)
    grid(run, samples, keys, keys.child("cell"))
    cell(run, samples, keys.child("cell"))
    failures(run, samples, keys.child("failures"))
    statistics_view(groups, stats_for, keys.child("stats"))
    samples_download(run, samples, keys)
    if live is None and len(run.labels) > 1:
        st.page_link(
            RATING,
            label="Rate these replies blind",
            icon=":material/how_to_vote:",
            query_params={"run": run_id},
        )
