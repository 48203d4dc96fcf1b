"""A batch run's results: what ran, pass rates, the cases × panes grid whose cells open their replies
(each check's result and reason, the judge's reasoning), every failing check, and the per-sample CSV."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from chatlab.batch.table import cell_samples, failures_frame, results_grid, samples_csv, samples_frame
from chatlab.params import GenerationParams
from chatlab.safe_markdown import escape_markdown
from chatlab.store.batches import BatchRunRecord, BatchSample
from chatlab_ui.chat_view import display_text
from chatlab_ui.check_form import code_span
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.stored_list import when
from chatlab_ui.tables import csv_download, table, table_with_csv

S = st.session_state
CASE_COLUMN = "case"
# A check's reason is the point of these tables: give it the room.
WHY_WIDE = {
    "Check": st.column_config.TextColumn(width="medium"),
    "Why": st.column_config.TextColumn(width="large"),
}


def run_header(run: BatchRunRecord) -> None:
    """The run's test set, k, judge, and each pane's settings."""
    judge = f" · judged by {code_span(run.judge['model'])}" if run.judge else ""
    st.markdown(
        f"**{escape_markdown(run.test_set.name)}**: {len(run.test_set.cases):,} cases × "
        f"{len(run.panes)} panes × {run.samples_per_case} samples{judge} · started "
        f"{when(run.created_at)}"
    )
    with st.expander("What each pane sent"):
        table(
            pd.DataFrame(
                {
                    "Pane": run.labels,
                    "Model": [p.get("model") or None for p in run.panes],
                    "Parameters": [GenerationParams.from_dict(p.get("params")).describe() for p in run.panes],
                    "System prompt": [p.get("system_prompt") or None for p in run.panes],
                }
            )
        )


def _open_cell(keys: PageKeys, cell_keys: PageKeys, labels: Sequence[str]) -> None:
    """Callback: a grid cell was clicked; open its case and pane in the cell view (cell_keys)."""
    cells = S[keys("grid")]["selection"]["cells"]
    if cells:
        row, column = cells[0]
        S[cell_keys("case")] = int(row)
        if column in labels:
            S[cell_keys("pane")] = list(labels).index(column)


def grid(run: BatchRunRecord, samples: Sequence[BatchSample], keys: PageKeys, cell_keys: PageKeys) -> None:
    """Cases × panes: passed/samples in each cell; a click opens the cell in the cell view (cell_keys)."""
    st.subheader("Cases × panes")
    st.caption("Each cell: samples that passed every check / samples. Click a cell to read its replies.")
    shown = results_grid(run, samples).reset_index(names=CASE_COLUMN)
    table(
        shown,
        key=keys("grid"),
        on_select=lambda: _open_cell(keys, cell_keys, run.labels),
        selection_mode="single-cell",
        column_config={CASE_COLUMN: st.column_config.TextColumn("Case", width="medium")},
    )


def _checks_table(sample: BatchSample) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Check": [r.label for r in sample.checks],
            "Result": [
                "could not run" if r.error else "passed" if r.passed else "failed" for r in sample.checks
            ],
            "Why": [r.explanation or None for r in sample.checks],
        }
    )


def _sample(sample: BatchSample, keys: PageKeys) -> None:
    with st.container(border=True):
        verdict = ":green[passed]" if sample.passed else ":red[failed]"
        facts = [f"{sample.completion_tokens:,} tokens" if sample.completion_tokens is not None else None]
        facts.append(f"{sample.duration_s:.2f} s" if sample.duration_s is not None else None)
        details = " · ".join(f for f in facts if f)
        st.markdown(f"**Sample {sample.sample + 1}** · {verdict}" + (f" · {details}" if details else ""))
        if sample.error:
            st.error(f"The request failed: {sample.error}", icon=":material/error:")
            return
        st.markdown(display_text(sample.reply) if sample.reply.strip() else "*(an empty reply)*")
        if sample.checks:
            table(_checks_table(sample), key=keys("checks"), column_config=WHY_WIDE)
        for result in (r for r in sample.checks if r.reasoning):
            with st.expander(f"The judge's reasoning ({escape_markdown(result.label)})", expanded=False):
                st.markdown(display_text(result.reasoning))


def cell(run: BatchRunRecord, samples: Sequence[BatchSample], keys: PageKeys) -> None:
    """One case and pane: the case, then every sample's reply with each check's result and reason."""
    cases = run.test_set.cases
    S.setdefault(keys("case"), 0)
    S.setdefault(keys("pane"), 0)
    case_col, pane_col = st.columns([3, 2])
    case = case_col.selectbox(
        "Case",
        range(len(cases)),
        key=keys("case"),
        format_func=lambda i: f"{i + 1}. {' '.join(cases[i].message.split())[:80]}",
    )
    pane = pane_col.selectbox(
        "Pane", range(len(run.labels)), key=keys("pane"), format_func=run.labels.__getitem__
    )
    chosen = cases[case]
    values = ", ".join(f"{k} = {v}" for k, v in chosen.values)
    st.markdown(f"**Message:** {escape_markdown(chosen.message)}")
    if values or chosen.description:
        st.caption(escape_markdown(" · ".join(x for x in (chosen.description, values) if x)))
    checks = run.test_set.checks_for(case)
    st.caption(
        "Checks: "
        + ("; ".join(escape_markdown(c.label) for c in checks) if checks else "none (every reply passes)")
    )
    found = cell_samples(samples, pane, case)
    if not found:
        st.info("No sample of this cell finished.")
    for sample in found:
        _sample(sample, keys.child("sample", sample.sample))


def failures(run: BatchRunRecord, samples: Sequence[BatchSample], keys: PageKeys) -> None:
    """Every failed check (and failed request) with its reason."""
    frame = failures_frame(run, samples)
    st.subheader(f"Every failing check ({len(frame):,})")
    if frame.empty:
        st.caption("No check failed.")
        return
    shown = frame.rename(
        columns={"label": "Pane", "case": "Case", "sample": "Sample", "check": "Check", "why": "Why"}
    ).assign(check_error=lambda d: d.check_error.map({True: "yes", False: None}))
    table_with_csv(
        shown.rename(columns={"check_error": "Could not run"}),
        lambda: samples_csv(frame),
        keys,
        column_config=WHY_WIDE,
        label="Download failing checks CSV",
        file_name=f"batch-{run.id}-failures.csv",
    )


def samples_download(run: BatchRunRecord, samples: Sequence[BatchSample], keys: PageKeys) -> None:
    csv_download(
        f"Download every sample (CSV, {len(samples):,} rows: one per sample)",
        lambda: samples_csv(samples_frame(run, samples)),
        f"batch-{run.id}-samples.csv",
        key=keys("samples_csv"),
        type="primary",
    )
