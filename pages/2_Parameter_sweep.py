"""Sweep one or two parameters with several samples per setting, and measure what changes."""

from __future__ import annotations

import streamlit as st

from chatlab.sweep.ablation import depth_ablation
from chatlab.sweep.plan import MAX_SAMPLES, SweepSpec
from chatlab.sweep.run import run_sweep
from chatlab_ui.access import require_access
from chatlab_ui.endpoint_panel import key_table, select_endpoint, wait_for_offline
from chatlab_ui.nav import page_nav
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.params_panel import parameter_controls
from chatlab_ui.resources import get_client, get_roles, get_store
from chatlab_ui.sidebar import model_picker, role_picker
from chatlab_ui.sweep_view import (
    ablation_results,
    ablation_setup,
    axis_inputs,
    context_picker,
    run_with_progress,
    sweep_results,
)

P = PageKeys("sweep")
st.set_page_config(page_title="Parameter sweep · Chat Lab", page_icon="🧪", layout="wide")
require_access()
store = get_store()
roles, _ = get_roles()
pending = st.session_state.pop(P("pending"), None)
busy = pending is not None

page_nav()
with st.sidebar:
    endpoint = select_endpoint(disabled=busy)
    client = get_client(endpoint)
    model = model_picker(P, client, endpoint, disabled=busy)
    role, system_prompt = role_picker(P, roles, disabled=busy)
    with st.expander("Fixed parameters", expanded=False):
        fixed = parameter_controls(P, disabled=busy)
    base = fixed.params
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
    prompt = st.text_area(
        "Prompt",
        "Write a one-sentence story about a lighthouse keeper.",
        key=P("prompt"),
        disabled=busy,
        height=90,
    )
    _, history = context_picker(store, P("context"), disabled=busy, label="Conversation context (optional)")
    first = axis_inputs(P("axis1"), "Parameter", optional=False, default="temperature", disabled=busy)
    second = axis_inputs(
        P("axis2"), "Second parameter (optional)", optional=True, default="(none)", disabled=busy
    )
    left, right = st.columns(2)
    samples = left.slider("Samples per setting", 1, MAX_SAMPLES, 3, key=P("samples"), disabled=busy)
    use_n = right.checkbox(
        "One request per setting with n = samples",
        key=P("use_n"),
        disabled=busy,
        help="Uses the API's n where the endpoint supports it; otherwise each sample is its "
        "own request. Nothing is ever cached.",
    )
    spec = None
    if not fixed.ok:
        st.error(
            "Nothing is run while a fixed parameter is not valid: " + "; ".join(fixed.problems),
            icon=":material/block:",
        )
    elif first:
        try:
            spec = SweepSpec(
                model=model,
                system_prompt=system_prompt,
                few_shot=tuple(role.few_shot_messages()),
                history=tuple(history),
                prompt=prompt,
                base_params=base,
                axes=tuple(a for a in (first, second) if a),
                samples=samples,
                use_n=use_n,
            )
            st.caption(
                f"{spec.points} settings × {samples} samples = {spec.total_samples} replies "
                f"in {spec.calls} requests."
            )
        except ValueError as exc:
            st.error(str(exc))
    st.button(
        "Run sweep",
        type="primary",
        key=P("run"),
        disabled=busy or spec is None,
        on_click=lambda: st.session_state.update({P("pending"): {"run": "sweep", "spec": spec}}),
    )

    if pending and pending["run"] == "sweep":
        state = st.session_state[P("result")] = {"spec": pending["spec"], "items": [], "finished": False}
        wait_for_offline(endpoint)
        run_with_progress(
            state,
            run_sweep(client, pending["spec"], max_workers=workers),
            pending["spec"].total_samples,
            "samples",
        )
        st.rerun()
    if result := st.session_state.get(P("result")):
        sweep_results(result)

with depth_tab:
    st.caption(
        "Replays a conversation's last question with 0, 1, 2 … past turns before it, and charts what the "
        "extra context costs and changes."
    )
    plan = ablation_setup(
        store,
        P.child("ablation"),
        roles,
        model=model,
        role=role,
        system_prompt=system_prompt,
        params=base,
        disabled=busy or not fixed.ok,
    )
    if plan is not None:
        st.button(
            "Run ablation",
            type="primary",
            key=P("ablation", "run"),
            disabled=busy or not fixed.ok,
            on_click=lambda: st.session_state.update({P("pending"): {"run": "ablation", "plan": plan}}),
        )
    if pending and pending["run"] == "ablation":
        source, turns = pending["plan"]
        state = st.session_state[P("ablation")] = {
            "items": [],
            "finished": False,
            "total": len(turns),
            "source": source,
        }
        wait_for_offline(endpoint)
        run_with_progress(
            state, depth_ablation(client, source, turns, max_workers=workers), len(turns), "depths"
        )
        st.rerun()
    if result := st.session_state.get(P("ablation")):
        ablation_results(result)
