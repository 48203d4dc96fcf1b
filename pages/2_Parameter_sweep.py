"""Sweep one or two parameters with several samples per setting and see which differences are real;
measure whether seed is honoured; replay a conversation at every context depth. Runs are stored."""

from __future__ import annotations

import streamlit as st

from chatlab.sweep.ablation import depth_ablation
from chatlab_ui.endpoint_panel import key_table, select_endpoint, wait_for_offline
from chatlab_ui.navigation import require_frame
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.resources import get_client, get_roles, get_store
from chatlab_ui.sweep.ablation import ablation_results
from chatlab_ui.sweep.form import ablation_form, sweep_form
from chatlab_ui.sweep.meter import meter_form, meter_results, run_stored_meter
from chatlab_ui.sweep.progress import run_with_progress
from chatlab_ui.sweep.results import sweep_results
from chatlab_ui.sweep.setup import sweep_sidebar
from chatlab_ui.sweep.state import AblationRun, MeterRun, NoiseRun, Progress, SweepResults, SweepRun
from chatlab_ui.sweep.stored import open_from_address, run_stored_noise, run_stored_sweep

require_frame()  # first: nothing of this page runs outside app.py's frame

P = PageKeys("sweep")  # every widget and session key of this page
store = get_store()
roles, _ = get_roles()
pending: SweepRun | NoiseRun | MeterRun | AblationRun | None = st.session_state.pop(P("pending"), None)
busy = pending is not None


def queue(run: SweepRun | NoiseRun | MeterRun | AblationRun) -> None:
    st.session_state[P("pending")] = run


open_from_address(store, P, roles)  # ?sweep= / ?meter=: before the controls, which a sweep fills

with st.sidebar:
    endpoint = select_endpoint(disabled=busy)
    client = get_client(endpoint)
    setup = sweep_sidebar(P, client, endpoint, roles, busy=busy)
    key_table(client)

st.title("Parameter sweep")
TABS = ["Sweep parameters", "Determinism meter", "Context-depth ablation"]
meter_linked = "meter" in st.query_params and "sweep" not in st.query_params
sweep_tab, meter_tab, depth_tab = st.tabs(TABS, default=TABS[1] if meter_linked else None)

with sweep_tab:
    run = sweep_form(store, P, setup, busy=busy)
    st.button(
        "Run sweep",
        type="primary",
        key=P("run"),
        disabled=busy or run is None,
        on_click=queue,
        args=(run,),
    )
    if isinstance(pending, SweepRun):
        results = SweepResults(pending.spec, Progress(total=pending.spec.total_samples))
        st.session_state[P("results")] = results
        wait_for_offline(endpoint)
        run_stored_sweep(store, client, results, P.child("progress"), workers=setup.workers)
        st.rerun()
    results = st.session_state.get(P("results"))
    if isinstance(pending, NoiseRun) and results is not None:
        wait_for_offline(endpoint)
        run_stored_noise(store, client, results, pending, P.child("noise", "progress"), workers=setup.workers)
        st.rerun()
    if results is not None:
        sweep_results(results, P.child("result"), queue=queue, busy=busy)

with meter_tab:
    meter = meter_form(P.child("meter"), setup, busy=busy)
    st.button(
        "Run the determinism meter",
        type="primary",
        key=P("meter", "run"),
        disabled=busy or meter is None,
        on_click=queue,
        args=(meter,),
    )
    if isinstance(pending, MeterRun):
        st.session_state.pop(P("meter", "results"), None)  # a Cancel reopens the stored run instead
        wait_for_offline(endpoint)
        st.session_state[P("meter", "results")] = run_stored_meter(
            store, client, pending.spec, P.child("meter", "progress"), workers=setup.workers
        )
        st.rerun()
    if measured := st.session_state.get(P("meter", "results")):
        meter_results(measured, P.child("meter", "result"))

with depth_tab:
    st.caption(
        "Replays a conversation's last question with 0, 1, 2 … past turns before it, and charts what the "
        "extra context costs and changes."
    )
    ablation = ablation_form(store, P.child("ablation"), roles, setup, busy=busy or not setup.fixed.ok)
    if ablation is not None:
        st.button(
            "Run ablation",
            type="primary",
            key=P("ablation", "run"),
            disabled=busy or not setup.fixed.ok,
            on_click=queue,
            args=(ablation,),
        )
    if isinstance(pending, AblationRun):
        progress = st.session_state[P("ablation", "results")] = Progress(
            total=len(pending.turns),
            about=f"Replayed {pending.source.origin}: {pending.source.describe()}.",
        )
        wait_for_offline(endpoint)
        depths = depth_ablation(
            client, pending.source, pending.turns, max_workers=setup.workers, cancel=progress.cancel
        )
        run_with_progress(progress, depths, "depths", P.child("ablation", "progress"))
        st.rerun()
    if progress := st.session_state.get(P("ablation", "results")):
        ablation_results(progress, P.child("ablation", "result"))
