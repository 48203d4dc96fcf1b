"""Batch runs: roles (and parameter presets) × a test set × k samples, checked, with intervals."""

from __future__ import annotations

import streamlit as st

from chatlab.batch.plan import BatchSpec
from chatlab.batch.run import BatchError
from chatlab.store.batches import BatchRuns
from chatlab.store.testsets import TestSets
from chatlab_ui.batch.judge import judge_panel, with_extra_check
from chatlab_ui.batch.panes import choose_panes
from chatlab_ui.batch.run_view import run_view
from chatlab_ui.batch.running import start
from chatlab_ui.batch.runs_view import close_run, open_run, stored_runs
from chatlab_ui.batch.setup import before_starting, choose_test_set, samples_per_case
from chatlab_ui.batch.sidebar import batch_sidebar
from chatlab_ui.batch.state import RUN_PARAM, P
from chatlab_ui.endpoint_panel import wait_for_offline
from chatlab_ui.navigation import require_frame
from chatlab_ui.resources import get_roles, get_store

require_frame()  # first: nothing of this page runs outside app.py's frame

store = get_store()
roles, _ = get_roles()
runs = BatchRuns(store)
run_id = st.query_params.get(RUN_PARAM)
if run_id and runs.get(run_id) is None:
    st.warning(f"Batch run {run_id} was not found; it may have been deleted.")
    close_run()
    run_id = None

with st.sidebar:
    side = batch_sidebar(P)

st.title("Batch runs")
if run_id:
    st.button("New batch run", key=P("new"), on_click=close_run, icon=":material/add:")
    run_view(store, run_id, P.child("run"))
    st.stop()

st.caption(
    "Every case of a test set goes to every pane (a role, or a role with a parameter preset) k times; each "
    "reply is checked, and each pane gets its pass rate and every metric with 95% intervals."
)
test_set = choose_test_set(TestSets(store), P)
if test_set is not None:
    panes, pane_problems = choose_panes(
        P.child("panes"), roles, model=side.model, endpoint_name=side.endpoint.name, disabled=False
    )
    samples = samples_per_case(P)
    title = st.text_input("Title", key=P("title"), placeholder=test_set.name)
    choice = judge_panel(P.child("judge"), roles, test_set, panes_endpoint=side.endpoint, model=side.model)
    spec = BatchSpec(tuple(panes), with_extra_check(test_set, choice.extra_check), samples, title.strip())
    ready = before_starting(spec, choice.judge, [*pane_problems, *filter(None, [choice.problem])])
    if st.button("Run", key=P("run"), type="primary", icon=":material/play_arrow:", disabled=not ready):
        wait_for_offline(side.endpoint)
        if choice.endpoint is not None:
            wait_for_offline(choice.endpoint)
        try:
            new_run = start(store, spec, [side.client] * len(panes), judge=choice.judge, workers=side.workers)
        except BatchError as exc:
            st.error(str(exc))
        else:
            open_run(new_run)
            st.rerun()
stored_runs(runs, P.child("runs"))
