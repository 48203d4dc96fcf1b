"""One sweep's or determinism run's actions on the History page: open it on the sweep page, rename, export
(a sweep: per sample and per statistic; a meter run: its replies), delete with confirmation."""

from __future__ import annotations

import streamlit as st

from chatlab.determinism import load_meter_run, meter_frame
from chatlab.safe_markdown import escape_markdown
from chatlab.store import METER, SWEEP, RunSummary, Store
from chatlab.sweep.saved import export_files, load_sweep
from chatlab.sweep.table import csv_bytes
from chatlab_ui.history.confirm import delete_with_confirmation
from chatlab_ui.history.table import RUN_NAMES, RUN_STATUS, forget_selection, run_contents
from chatlab_ui.navigation import SWEEP as SWEEP_PAGE
from chatlab_ui.notice import keep
from chatlab_ui.page_keys import PageKeys

ADDRESS = {SWEEP: "sweep", METER: "meter"}  # the sweep page's query parameter for each kind


def _delete(store: Store, run: RunSummary, page_keys: PageKeys) -> None:
    """Delete the run and its rows, say what went, and select nothing (the same row would now be another)."""
    store.delete_run(run.kind, run.id)
    st.session_state.pop(page_keys.child("run")("confirm_delete", run.id), None)
    forget_selection(page_keys)
    what = f"Deleted {RUN_NAMES[run.kind]} {_title(run)} and its {run_contents(run)}."
    keep(page_keys("notice"), "success", what)


def _title(run: RunSummary) -> str:
    return f"“{escape_markdown(run.title or '(untitled)')}”"


def _downloads(store: Store, run: RunSummary, keys: PageKeys) -> None:
    """The run's files, built when a button is clicked."""
    if run.kind == METER:
        st.download_button(
            "Download replies CSV",
            data=lambda: csv_bytes(meter_frame(load_meter_run(store, run.id))),
            file_name=f"determinism-{run.id}.csv",
            mime="text/csv",
            on_click="ignore",
            icon=":material/download:",
            key=keys("export", "replies"),
        )
        return
    left, right = st.columns(2)
    for column, part, label in (
        (left, "samples", "Download samples CSV (one row per sample)"),
        (right, "statistics", "Download statistics CSV (one row per setting × metric)"),
    ):
        name = f"sweep-{run.id}-{part}.csv"
        column.download_button(
            label,
            data=lambda name=name: export_files(load_sweep(store, run.id))[name],
            file_name=name,
            mime="text/csv",
            on_click="ignore",
            icon=":material/download:",
            key=keys("export", part),
        )


def run_actions(store: Store, run: RunSummary, page_keys: PageKeys) -> None:
    """The selected run: where it opens, its title, its files, and Delete with a confirmation."""
    keys = page_keys.child("run")
    record = store.get_run(run.kind, run.id)
    if record is None:
        return
    with st.container(border=True):
        st.subheader(escape_markdown(record.title or "(untitled)"))
        status = RUN_STATUS.get(record.status, "complete")
        st.caption(
            f"{RUN_NAMES[run.kind].capitalize()} · {escape_markdown(record.model or 'no model')} · "
            f"{run_contents(run)} · {status} · started {record.created_at[:16].replace('T', ' ')}"
        )
        st.page_link(
            SWEEP_PAGE,
            label="Open on the Parameter sweep page",
            icon=":material/open_in_new:",
            query_params={ADDRESS[run.kind]: run.id},
        )
        title = st.text_input("Title", value=record.title, key=keys("title", run.id))
        if title.strip() and title != record.title:
            st.button(
                "Rename",
                key=keys("rename"),
                icon=":material/edit:",
                on_click=lambda: store.rename_run(run.kind, run.id, title.strip()),
            )
        _downloads(store, run, keys)
        delete_with_confirmation(
            keys,
            run.id,
            lambda: (
                f"Delete {RUN_NAMES[run.kind]} {_title(run)} and its {run_contents(run)}? This cannot be undone."
            ),
            _delete,
            (store, run, page_keys),
        )
