"""Sweep one or two parameters with several samples per setting, and measure what changes."""

from __future__ import annotations

import streamlit as st

from chatlab.sweep.ablation import depth_ablation
from chatlab.sweep.plan import MAX_SAMPLES, SweepSpec
from chatlab.sweep.run import run_sweep
from chatlab_ui.endpoint_panel import key_table, select_endpoint, wait_for_offline
from chatlab_ui.navigation import require_frame
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.params_panel import parameter_controls
from chatlab_ui.pickers import model_picker, role_picker
from chatlab_ui.resources import get_client, get_roles, get_store
from chatlab_ui.sweep.ablation import ablation_results
from chatlab_ui.sweep.form import axis_inputs, context_picker
from chatlab_ui.sweep.progress import run_with_progress
from chatlab_ui.sweep.results import sweep_results

require_frame()  # first: nothing of this page runs outside app.py's frame

P = PageKeys("sweep")
store = get_store()
roles, _ = get_roles()
pending = st.session_state.pop(P("pending"), None)
busy = pending is not None

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
    first = axis_inputs(P.child("axis1"), "Parameter", optional=False, default="temperature", disabled=busy)
    second = axis_inputs(
        P.child("axis2"), "Second parameter (optional)", optional=True, default="(none)", disabled=busy
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
            P.child("progress"),
        )
        st.rerun()
    if result := st.session_state.get(P("result")):
        sweep_results(result, P.child("result"))

with depth_tab:
    st.caption(
        "Replays a conversation's last user message with 0, 1, 2 … past messages, and charts what the "
        "extra context costs and changes."
    )
    conversation_id, messages = context_picker(
        store, P("ablation", "conversation"), disabled=busy, label="Conversation"
    )
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
    if conversation_id and last_user is not None:
        before = messages[:last_user]
        top = st.slider(
            "Up to depth",
            0,
            len(before),
            min(len(before), 10),
            key=P("ablation", "max"),
            disabled=busy or not before,
        )
        st.button(
            "Run ablation",
            type="primary",
            key=P("ablation", "run"),
            disabled=busy,
            on_click=lambda: st.session_state.update(
                {
                    P("pending"): {
                        "run": "ablation",
                        "history": before,
                        "prompt": messages[last_user]["content"],
                        "depths": list(range(0, top + 1)),
                    }
                }
            ),
        )
    elif conversation_id:
        st.info("That conversation has no user message to replay.")
    if pending and pending["run"] == "ablation":
        state = st.session_state[P("ablation")] = {
            "items": [],
            "finished": False,
            "total": len(pending["depths"]),
        }
        wait_for_offline(endpoint)
        run_with_progress(
            state,
            depth_ablation(
                client,
                model=model,
                system_prompt=system_prompt,
                history=pending["history"],
                prompt=pending["prompt"],
                params=base,
                depths=pending["depths"],
                max_workers=workers,
            ),
            len(pending["depths"]),
            "depths",
            P.child("ablation", "progress"),
        )
        st.rerun()
    if result := st.session_state.get(P("ablation")):
        ablation_results(result, P.child("ablation", "result"))
