"""Charts against a swept value: small multiples (one line per statistic, each with its own y scale) and,
for a sweep's statistics, each metric's mean with its 95% interval as an error bar.

Axes are labelled with plain numbers (",~r": 0, 0.25, 10, 1,200), so a statistic that stays at 0 reads
"0" rather than Vega's "0.000000" for an empty range; whole-number x values (depths) get whole ticks; a
parameter with named choices (reasoning_effort) gets a categorical axis in the choices' own order.
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


PERCENT_AXIS = ".0%"


def interval_chart(
    data: pd.DataFrame,
    x: str,
    *,
    title: str,
    categories: list[str] | None = None,
    color: str | None = None,
    y_format: str = NUMBER,
) -> alt.LayerChart:
    """One metric against `x`: the mean as a point (joined by a line), its 95% interval as an error bar.

    `data` has columns x, `mean`, `ci_low`, `ci_high`, `shown` (the value and interval in words, for the
    tooltip) and `color` if given. `categories`: x is categorical, in this order; else x is a number.
    """
    if categories is not None:
        x_encoding = alt.X(f"{x}:N", title=x, sort=categories, axis=alt.Axis(labelAngle=0))
    else:
        x_encoding = alt.X(f"{x}:Q", title=x, axis=alt.Axis(format=NUMBER))
    encoding = {"x": x_encoding}
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=color)
        if categories is not None:
            encoding["xOffset"] = alt.XOffset(f"{color}:N")
    tooltip = [alt.Tooltip(f"{x}:{'N' if categories is not None else 'Q'}", title=x)]
    tooltip += [alt.Tooltip(f"{color}:N", title=color)] if color else []
    tooltip += [alt.Tooltip("shown:N", title=title)]
    base = alt.Chart(data).encode(**encoding, tooltip=tooltip)
    y_axis = alt.Axis(format=y_format, tickCount=5)
    single = {} if color else {"color": "#e4572e"}  # one series: the house colour; several: by colour
    points = base.mark_line(point=alt.OverlayMarkDef(size=50, **single), **single).encode(
        y=alt.Y("mean:Q", title=None, axis=y_axis)
    )
    # Ticks of a fixed width: on a categorical axis they would otherwise span the whole category.
    bars = base.mark_errorbar(ticks=alt.MarkConfig(size=10), **single).encode(
        y=alt.Y("ci_low:Q", title=None, axis=y_axis), y2="ci_high:Q"
    )
    return alt.layer(bars, points).properties(title=title, height=170)


def chart_grid(charts: list, columns: int = 3) -> None:
    """Draw the charts in rows of `columns`."""
    for start in range(0, len(charts), columns):
        for column, chart in zip(st.columns(columns), charts[start : start + columns], strict=False):
            column.altair_chart(chart, width="stretch")
