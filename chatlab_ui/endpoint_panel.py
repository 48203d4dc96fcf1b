"""Choosing where requests go: a profile or preset, keys typed for this session, proxy; offline status."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.offline import offline_available
from chatlab.profiles import (
    OFFLINE_NAME,
    PRESETS,
    ProfilesError,
    SidebarOverride,
    apply_override,
    configured_profiles,
    default_profile_name,
    from_preset,
    load_secrets,
)
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.resources import forget_failed_model_lists, get_offline_server
from chatlab_ui.tables import table

# One namespace for every page on purpose: the endpoint picked on one page is the one every page uses.
K = PageKeys("endpoint")
OFFLINE_LABEL = "Local demo model (offline)"


def _choices() -> tuple[dict[str, Endpoint | None], str, str | None]:
    """Profile label -> endpoint (None for the offline model), the default label, and a secrets error."""
    error = None
    try:
        secrets = load_secrets()
        profiles = configured_profiles(secrets)
    except ProfilesError as exc:
        secrets, profiles, error = {}, configured_profiles({}), str(exc)
    choices: dict[str, Endpoint | None] = {p.name: p for p in profiles}
    choices[OFFLINE_LABEL] = None
    for preset in PRESETS:
        choices.setdefault(preset.name, from_preset(preset))
    default = default_profile_name(profiles, secrets)
    return choices, (OFFLINE_LABEL if default == OFFLINE_NAME else default), error


def select_endpoint(*, disabled: bool) -> Endpoint:
    """Draw the endpoint picker; returns the endpoint the next request goes to."""
    choices, default, error = _choices()
    if error:
        st.warning(f"{error} — using the environment and the offline model instead.")
    if st.session_state.get(K("profile")) not in choices:
        st.session_state[K("profile")] = default
    label = st.selectbox(
        "Endpoint",
        list(choices),
        key=K("profile"),
        disabled=disabled,
        help="Where requests go. Order of settings: this sidebar > .streamlit/secrets.toml > environment "
        "(OPENAI_API_KEY, OPENAI_BASE_URL, HTTPS_PROXY) > the local demo model.",
    )
    if choices[label] is None:
        return _offline_endpoint()
    with st.expander("Connection", expanded=not choices[label].api_keys and label == "OpenAI"):
        override = SidebarOverride(
            base_url=st.text_input(
                "Base URL",
                key=K("base_url"),
                disabled=disabled,
                placeholder=choices[label].display_url,
                help="Any OpenAI-compatible API: DeepSeek, vLLM, Ollama, llama.cpp…",
            ),
            api_keys=st.text_input(
                "API keys",
                key=K("keys"),
                type="password",
                disabled=disabled,
                help="One key, or several separated by commas (used in turn). Kept only in "
                "this browser tab: never written to disk, the history or exports.",
            ),
            proxy=st.text_input(
                "HTTP(S) proxy",
                key=K("proxy"),
                disabled=disabled,
                placeholder=choices[label].proxy or "http://proxy:3128",
            ),
        )
    endpoint = apply_override(choices[label], override)
    keys = ", ".join(endpoint.masked_keys) if endpoint.api_keys else "no key"
    st.caption(
        f"`{endpoint.display_url}` · {keys}" + (f" · via proxy `{endpoint.proxy}`" if endpoint.proxy else "")
    )
    return endpoint


def _offline_endpoint() -> Endpoint:
    ok, why = offline_available()
    if not ok:
        st.error(f"The local demo model is not available: {why}")
        return Endpoint(name=OFFLINE_NAME, offline=True)
    server = get_offline_server()
    status = server.status()
    if status.state == "ready":
        st.success(
            f"Local demo model **{status.model}** is running on this machine.", icon=":material/computer:"
        )
    elif status.state == "failed":
        st.error(f"The local model failed to start: {status.message}")
    else:
        _starting(server)
    st.caption(
        "A tiny model (135M parameters) for trying parameters without a key or network — its answers are "
        "poor, but temperature, top_p, penalties, seed and stop really change them. To use OpenAI or another "
        "service, pick it above and paste a key, or set `OPENAI_API_KEY` before starting."
    )
    return server.endpoint()


@st.fragment(run_every=1.0)
def _starting(server) -> None:
    """Redraws itself every second while the model loads, then reruns the page to list its model."""
    status = server.status()
    if status.state != "starting":
        forget_failed_model_lists()  # asked while it loaded: ask again now that it answers
        st.rerun(scope="app")
    st.info(f"Starting the local model… ({status.elapsed_s:.0f} s)", icon=":material/hourglass_top:")


OFFLINE_START_TIMEOUT_S = 120


def wait_for_offline(endpoint: Endpoint) -> None:
    """Before a request to the local model, wait (with a spinner) until it has finished starting."""
    if endpoint.offline and endpoint.base_url:
        with st.spinner("Waiting for the local model to finish starting…"):
            get_offline_server().wait_ready(timeout_s=OFFLINE_START_TIMEOUT_S)


def key_table(client: ChatClient) -> None:
    """Per-key requests, tokens, errors and state (keys shown by their last 4 characters only)."""
    pool = getattr(client, "key_pool", None)
    if pool is None:
        return
    for notice in pool.drain_notices():
        st.toast(notice, icon=":material/key:")
    stats = pool.stats()
    if len(stats) < 2 and not any(s.errors for s in stats):
        return
    with st.expander("API keys", icon=":material/key:"):
        table(
            pd.DataFrame(
                {
                    "Key": [s.masked for s in stats],
                    "State": [s.state for s in stats],
                    "Requests": [s.requests for s in stats],
                    "Tokens": [s.prompt_tokens + s.completion_tokens for s in stats],
                    "Errors": [s.errors for s in stats],
                    "Last error": [s.last_error for s in stats],
                }
            ),
        )
