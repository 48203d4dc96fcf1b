"""How much of a difference chance alone makes: samples needed for a 10% difference, and the noise floor.

The noise floor runs the baseline setting again with fresh samples and splits them in two halves — the
same settings twice (chatlab.sweep.table.a_versus_a) — so every difference between the halves is chance
(chatlab.stats.noise_floor says how large it gets, and how many samples a 10% difference needs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pandas as pd
import streamlit as st

from chatlab.safe_markdown import escape_markdown
from chatlab.stats import MIN_SAMPLES, format_difference, metric_named, noise_floor
from chatlab.sweep.plan import MAX_SAMPLES, SweepSpec, Values, estimate_cost, grid
from chatlab.sweep.table import a_versus_a
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.sweep.progress import run_status
from chatlab_ui.sweep.state import NoiseRun, SweepResults
from chatlab_ui.sweep.statistics import NEEDED, RELATIVE, samples_needed
from chatlab_ui.tables import table

COUNTS = {NEEDED: st.column_config.NumberColumn(format="localized")}  # 2,288, not 2288


def noise_spec(spec: SweepSpec, baseline: Values) -> SweepSpec:
    """The baseline setting alone, with twice the sweep's samples (at least MIN_SAMPLES per half)."""
    samples = min(MAX_SAMPLES, max(2 * spec.samples, 2 * MIN_SAMPLES))
    return dataclasses.replace(
        spec, axes=tuple((name, (value,)) for name, value in baseline), samples=samples
    )


def label(spec: SweepSpec, values: Values) -> str:
    """The setting's label as the tables show it ("temperature=0.4")."""
    return next((p.label for p in grid(spec) if p.values == values), str(values))


def _floor(results: SweepResults) -> pd.DataFrame:
    """noise_floor of the measured halves (cached with the results)."""
    noise = results.noise
    key = ("noise", noise.baseline, len(noise.progress.items))
    if key not in results.cache:
        results.cache[key] = noise_floor(a_versus_a(noise.progress.items, noise.spec), RELATIVE)
    return results.cache[key]


def _noise_table(floor: pd.DataFrame, keys: PageKeys) -> None:
    rows = []
    for _, r in floor.iterrows():
        metric = metric_named(r["metric"])
        value = None if pd.isna(r["floor"]) else float(r["floor"])
        relative = None if pd.isna(r["floor_relative"]) else float(r["floor_relative"])
        rows.append(
            {
                "Metric": metric.label,
                "Chance difference (±)": None
                if value is None
                else format_difference(metric, value).lstrip("+"),
                "Of the mean": None if relative is None else f"{relative:.0%}",
                NEEDED: None if pd.isna(r["samples_needed"]) else int(r["samples_needed"]),
            }
        )
    frame = pd.DataFrame(rows, columns=["Metric", "Chance difference (±)", "Of the mean", NEEDED])
    table(frame.astype({NEEDED: "Int64"}), key=keys("noise", "table"), column_config=COUNTS)


def noise_section(
    results: SweepResults,
    baseline: Values,
    stats: pd.DataFrame,
    keys: PageKeys,
    *,
    queue: Callable[[NoiseRun], None],
    busy: bool,
) -> None:
    """Samples needed from this sweep's spread, the button that measures the noise floor, and its result."""
    st.caption(
        f"From the spread of these replies: how many samples per setting a difference of {RELATIVE:.0%} of the "
        "baseline's mean would take to show (80% power, α = 0.05). “—”: unknown (no spread measured, or more "
        "than 10,000)."
    )
    table(samples_needed(results, baseline, stats), key=keys("needed"), column_config=COUNTS)
    spec = noise_spec(results.spec, baseline)
    st.caption(
        f"**Noise floor**: {spec.samples} fresh replies of {escape_markdown(label(results.spec, baseline))}, split into two "
        f"halves of the same settings; whatever differs between them is chance. "
        f"Estimated: {estimate_cost(spec).describe()}"
    )
    st.button(
        "Measure the noise floor",
        key=keys("noise", "run"),
        icon=":material/equalizer:",
        on_click=queue,
        args=(NoiseRun(spec, baseline),),
        disabled=busy,
    )
    noise = results.noise
    if noise is None:
        return
    run_status(noise.progress, "samples")
    if noise.baseline != baseline:
        st.caption(
            f"Measured on {escape_markdown(label(results.spec, noise.baseline))}, the baseline at the time."
        )
    floor = _floor(results)
    if floor.empty:
        return
    st.markdown("\n".join(f"- {escape_markdown(s)}" for s in floor["summary"]))
    _noise_table(floor, keys)
