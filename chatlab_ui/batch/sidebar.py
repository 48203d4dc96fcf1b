"""The sidebar of the pages that send many requests to one endpoint (Batch runs, Blind rating's free inputs):
endpoint, model, a concurrency limit, the key table."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab_ui.endpoint_panel import key_table, select_endpoint
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.pickers import model_picker
from chatlab_ui.resources import get_client

MAX_WORKERS = 8


@dataclass(frozen=True)
class BatchSidebar:
    endpoint: Endpoint
    client: ChatClient
    model: str
    workers: int  # requests at once


def batch_sidebar(keys: PageKeys) -> BatchSidebar:
    """Draw the sidebar (inside `with st.sidebar`); returns what it holds."""
    endpoint = select_endpoint(disabled=False)
    client = get_client(endpoint)
    model = model_picker(keys, client, endpoint, disabled=False)
    workers = st.slider(
        "Requests at once",
        1,
        MAX_WORKERS,
        1 if endpoint.offline else 4,  # the local model answers one request at a time
        key=keys("workers"),
        help="Concurrency limit (judge requests count too). The local model answers one request at a time.",
    )
    key_table(client)
    return BatchSidebar(endpoint, client, model, workers)
