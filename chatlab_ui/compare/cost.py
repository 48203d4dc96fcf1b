"""What the next message will cost, said before it is sent (chatlab.samples.estimate_samples)."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from chatlab.compare import PaneSpec
from chatlab.roles.variables import MissingValues
from chatlab.samples import estimate_samples
from chatlab.store import Store
from chatlab_ui.compare.state import Sampling


def next_message_cost(
    store: Store, comparison_id: str | None, panes: Sequence[PaneSpec], sampling: Sampling
) -> None:
    """A caption: requests, replies, tokens and dollars of the next message (its own tokens left out)."""
    try:
        estimate = estimate_samples(
            store, comparison_id, panes, "", samples=sampling.samples, use_n=sampling.use_n
        )
    except MissingValues:
        return  # the page already says which variables to fill in
    each = "1 reply" if sampling.samples == 1 else f"{sampling.samples} samples"
    st.caption(
        f":material/payments: The next message, {each} per pane × {len(panes)} panes: "
        f"{estimate.describe()} Your message's own tokens come on top; at most "
        f"{sampling.max_workers} requests run at once."
    )
