"""Charts of a statistics table: each pane's mean with its 95% interval, and each pane's difference from the
baseline with its interval, coloured by whether it is beyond chance."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from chatlab.stats import metric_named

NUMBER = ",~r"  # axis numbers as people write them: 0.05, 12, 1,200 (not 12.000000)


def interval_charts(
    stats: pd.DataFrame, real: pd.Series, metric_name: str, labels: list[str], baseline: int
) -> None:
    """The metric's mean per pane and each pane's difference from the baseline, with 95% error bars."""
    metric = metric_named(metric_name)
    rows = stats[stats["metric"] == metric_name]
    frame = pd.DataFrame(
        {
            "pane": rows["group"].astype(str),
            "mean": rows["mean"].astype(float),
            "low": rows["ci_low"].astype(float),
            "high": rows["ci_high"].astype(float),
            "diff": rows["diff"].astype(float),
            "diff_low": rows["diff_ci_low"].astype(float),
            "diff_high": rows["diff_ci_high"].astype(float),
            "beyond chance": ["yes" if real[i] else "no" for i in rows.index],
        }
    )
    base = alt.Chart(frame).encode(y=alt.Y("pane:N", sort=labels, title=None))
    means = base.mark_rule(strokeWidth=2).encode(
        x=alt.X(
            "low:Q",
            title=f"{metric.label}: mean and 95% interval",
            scale=alt.Scale(zero=False),
            axis=alt.Axis(format=NUMBER),
        ),
        x2="high:Q",
    ) + base.mark_point(filled=True, size=70).encode(
        x="mean:Q", tooltip=["pane", alt.Tooltip("mean:Q", format=".4~g"), "low", "high"]
    )
    others = frame[frame["pane"] != labels[baseline]]
    diff_base = alt.Chart(others).encode(y=alt.Y("pane:N", sort=labels, title=None))
    color = alt.Color(
        "beyond chance:N",
        scale=alt.Scale(domain=["yes", "no"], range=["#c4002b", "#8a8f98"]),
        legend=alt.Legend(title="Beyond chance", orient="bottom"),
    )
    diffs = alt.layer(
        alt.Chart(others).mark_rule(strokeDash=[4, 3], color="#888").encode(x=alt.datum(0)),  # no difference
        diff_base.mark_rule(strokeWidth=2).encode(
            x=alt.X("diff_low:Q", title=f"Difference from {labels[baseline]}", axis=alt.Axis(format=NUMBER)),
            x2="diff_high:Q",
            color=color,
        ),
        diff_base.mark_point(filled=True, size=70).encode(
            x="diff:Q",
            color=color,
            tooltip=["pane", alt.Tooltip("diff:Q", format=".4~g"), "diff_low", "diff_high", "beyond chance"],
        ),
    )
    left, right = st.columns(2)
    # Each pane a row 34 px high, plus the axis (the chart's own height is not kept when layered).
    left.altair_chart(means, height=34 * len(labels) + 60)
    right.altair_chart(diffs, height=34 * len(others) + 100)  # and the legend
