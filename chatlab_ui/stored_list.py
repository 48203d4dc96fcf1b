"""Stored things on the evaluation pages (test sets, batch runs, ratings): a table of them, and one picked
by name below it — with an Open button when picking one is not enough to show it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from chatlab_ui.page_keys import PageKeys
from chatlab_ui.tables import table


def when(stamp: str) -> str:
    """A stored ISO time as people read it: '2026-12-01 16:58'."""
    return stamp[:16].replace("T", " ")


def pick_stored(
    shown: pd.DataFrame,
    ids: Sequence[str],
    name: Callable[[str], str],
    *,
    label: str,
    keys: PageKeys,
    on_open: Callable[[str], None] | None = None,
) -> str:
    """The table (keys("table")), a select box of the same rows (keys("pick")), and Open (keys("open"))
    when `on_open` is given; returns the id picked."""
    table(shown, key=keys("table"))
    if on_open is None:
        return st.selectbox(label, list(ids), key=keys("pick"), format_func=name)
    pick, go = st.columns([4, 1], vertical_alignment="bottom")
    chosen = pick.selectbox(label, list(ids), key=keys("pick"), format_func=name)
    go.button(
        "Open",
        key=keys("open"),
        on_click=on_open,
        args=(chosen,),
        icon=":material/open_in_new:",
        width="stretch",
    )
    return chosen
