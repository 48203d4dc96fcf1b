"""The Compare page's sidebar: where requests go, the defaults for new panes, samples and their pace."""

from __future__ import annotations

import streamlit as st

from chatlab.request import CHAT
from chatlab.samples import MAX_SAMPLES
from chatlab.store import Store
from chatlab_ui.compare.sending import model_capabilities
from chatlab_ui.compare.state import Sampling, SidebarChoice
from chatlab_ui.endpoint_panel import key_table, select_endpoint
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.params_panel import depth_control, parameter_controls
from chatlab_ui.pickers import model_picker
from chatlab_ui.resources import get_client

MAX_AT_ONCE = 16
DEFAULT_AT_ONCE = 8  # every pane of a one-sample message at the same time


def new_comparison() -> None:
    st.query_params.pop("cmp", None)
    st.query_params.pop("noise", None)


def sampling_controls(keys: PageKeys, *, disabled: bool) -> Sampling:
    """Samples per pane, requests at once, and whether to ask for several samples per request (`n`)."""
    st.session_state.setdefault(keys("samples"), 1)
    st.session_state.setdefault(keys("at_once"), DEFAULT_AT_ONCE)
    samples = st.slider(
        "Samples per pane",
        1,
        MAX_SAMPLES,
        key=keys("samples"),
        disabled=disabled,
        help="Replies per pane to each message. With several, the page shows each metric's mean with its "
        "95% interval and whether a difference between panes is real.",
    )
    at_once = st.slider(
        "Requests at once",
        1,
        MAX_AT_ONCE,
        key=keys("at_once"),
        disabled=disabled,
        help="At most this many requests run at the same time, across every pane (rate limits, a local "
        "server that answers one at a time).",
    )
    use_n = st.checkbox(
        "Ask for several samples per request (n)",
        key=keys("use_n"),
        disabled=disabled or samples == 1,
        help="Fewer requests, and the prompt is billed once per request. Servers that ignore n (llama.cpp) "
        "are asked again for the missing samples.",
    )
    return Sampling(samples=samples, max_workers=at_once, use_n=use_n and samples > 1)


def compare_sidebar(keys: PageKeys, store: Store, *, busy: bool) -> SidebarChoice:
    """Draw the sidebar (inside `with st.sidebar`); returns what it holds."""
    st.button(
        "New comparison",
        key=keys("new"),
        icon=":material/add:",
        on_click=new_comparison,
        disabled=busy,
        width="stretch",
    )
    endpoint = select_endpoint(disabled=busy)
    client = get_client(endpoint)
    model = model_picker(keys, client, endpoint, disabled=busy)
    depth = depth_control(keys, disabled=busy)
    with st.expander("Shared parameters", expanded=False):
        # Each control says when the sidebar's model refuses, ignores or renames its parameter.
        capabilities = model_capabilities(store, endpoint, model, CHAT)
        shared = parameter_controls(keys, disabled=busy, capabilities=capabilities)
    with st.expander("Samples", expanded=True, icon=":material/stacks:"):
        sampling = sampling_controls(keys, disabled=busy)
    key_table(client)
    return SidebarChoice(endpoint, client, model, depth, shared, sampling)
