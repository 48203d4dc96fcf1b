"""Small multiples: one little line chart per statistic against a swept value, each with its own y scale.

Axes are labelled with plain numbers (",~r": 0, 0.25, 10, 1,200), so a statistic that stays at 0 reads
"0" rather than Vega's "0.000000" for an empty range; whole-number x values (depths) get whole ticks.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

NUMBER = ",~r"


def small_multiples(
    long: pd.DataFrame,
    x: str,
    x_title: str,
    order: list[str],
    *,
    color: str | None = None,
    whole_x: bool = False,
) -> None:
    """Draw `long` (columns: x, 'metric', 'value' and `color` if given), one chart per metric in `order`."""
    if long.empty:
        return
    x_axis = alt.Axis(format="d", tickMinStep=1) if whole_x else alt.Axis(format=NUMBER)
    encoding = {
        "x": alt.X(f"{x}:Q", title=x_title, axis=x_axis),
        "y": alt.Y("value:Q", title=None, axis=alt.Axis(format=NUMBER)),
        "tooltip": [
            alt.Tooltip(f"{x}:Q", title=x_title),
            *([alt.Tooltip(f"{color}:N")] if color else []),
            alt.Tooltip("metric:N", title="statistic"),
            alt.Tooltip("value:Q", format=".4~g"),
        ],
        "color": alt.Color(f"{color}:N", title=color) if color else alt.value("#e4572e"),
    }
    chart = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(**encoding)
        .properties(width=230, height=150)
        .facet(facet=alt.Facet("metric:N", title=None, sort=order), columns=3)
        .resolve_scale(y="independent")
    )
    st.altair_chart(chart)
