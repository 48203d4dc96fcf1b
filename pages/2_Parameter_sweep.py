"""Sweep one or two parameters with several samples per setting, and measure what changes."""

from __future__ import annotations

import streamlit as st

from chatlab.sweep.ablation import depth_ablation
from chatlab.sweep.run import run_sweep
from chatlab_ui.endpoint_panel import key_table, select_endpoint, wait_for_offline
from chatlab_ui.navigation import require_frame
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.params_panel import parameter_controls
from chatlab_ui.pickers import model_picker, role_picker
from chatlab_ui.resources import get_client, get_roles, get_store
from chatlab_ui.sweep.ablation import ablation_results
from chatlab_ui.sweep.form import ablation_form, sweep_form
from chatlab_ui.sweep.progress import run_with_progress
from chatlab_ui.sweep.results import sweep_results
from chatlab_ui.sweep.state import AblationRun, Progress, SweepResults, SweepRun

require_frame()  # first: nothing of this page runs outside app.py's frame

P = PageKeys("sweep")  # every widget and session key of this page
store = get_store()
roles, _ = get_roles()
pending: SweepRun | AblationRun | None = st.session_state.pop(P("pending"), None)
busy = pending is not None


def queue(run: SweepRun | AblationRun) -> None:
    st.session_state[P("pending")] = run


with st.sidebar:
    endpoint = select_endpoint(disabled=busy)
    client = get_client(endpoint)
    model = model_picker(P, client, endpoint, disabled=busy)
    role, system_prompt = role_picker(P, roles, disabled=busy)
    with st.expander("Fixed parameters", expanded=False):
        fixed = parameter_controls(P, disabled=busy)
    workers = st.slider(
        "Requests at once",
        1,
        8,
        1 if endpoint.offline else 4,
        key=P("workers"),
        disabled=busy,
        help="Concurrency limit. The local model answers one request at a time.",
    )
    key_table(client)

st.title("Parameter sweep")
sweep_tab, depth_tab = st.tabs(["Sweep parameters", "Context-depth ablation"])

with sweep_tab:
    run = sweep_form(store, P, model=model, role=role, system_prompt=system_prompt, fixed=fixed, busy=busy)
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
        samples = run_sweep(client, pending.spec, max_workers=workers)
        run_with_progress(results.progress, samples, "samples", P.child("progress"))
        st.rerun()
    if results := st.session_state.get(P("results")):
        sweep_results(results, P.child("result"))

with depth_tab:
    st.caption(
        "Replays a conversation's last question with 0, 1, 2 … past turns before it, and charts what the "
        "extra context costs and changes."
    )
    ablation = ablation_form(
        store,
        P.child("ablation"),
        roles,
        model=model,
        role=role,
        system_prompt=system_prompt,
        params=fixed.params,
        busy=busy or not fixed.ok,
    )
    if ablation is not None:
        st.button(
            "Run ablation",
            type="primary",
            key=P("ablation", "run"),
            disabled=busy or not fixed.ok,
            on_click=queue,
            args=(ablation,),
        )
    if isinstance(pending, AblationRun):
        progress = st.session_state[P("ablation", "results")] = Progress(
            total=len(pending.turns),
            about=f"Replayed {pending.source.origin}: {pending.source.describe()}.",
        )
        wait_for_offline(endpoint)
        depths = depth_ablation(client, pending.source, pending.turns, max_workers=workers)
        run_with_progress(progress, depths, "depths", P.child("ablation", "progress"))
        st.rerun()
    if progress := st.session_state.get(P("ablation", "results")):
        ablation_results(progress, P.child("ablation", "result"))
