"""A comparison's per-turn table: tokens, first token, duration, speed, cost and finish, pane by pane."""

from __future__ import annotations

import streamlit as st

from chatlab.compare import comparison_csv_bytes, comparison_frame
from chatlab.store import Store
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.tables import table_with_csv
from chatlab_ui.usage_view import METRIC_COLUMNS, per_turn_view


def per_turn_table(store: Store, comparison_id: str, keys: PageKeys) -> None:
    """The table (once a turn has been sent) and its CSV, one row per pane per turn."""
    frame = comparison_frame(store, comparison_id)
    if not len(frame):
        return
    st.subheader("Per turn")
    table_with_csv(
        per_turn_view(frame),
        lambda: comparison_csv_bytes(comparison_frame(store, comparison_id)),
        keys,
        label="Download CSV (one row per pane per turn)",
        file_name=f"comparison-{comparison_id}.csv",
        column_config=METRIC_COLUMNS,
    )
