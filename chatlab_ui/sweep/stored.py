"""Sweeps and meter runs in the history database: stored as they run, reopened from the page's address.

`?sweep=<id>` and `?meter=<id>` name a stored run; the page reopens it (History links there) and puts the
sweep's settings back into the form, so it can be run again. A run in progress sets the address first,
so a reload — or a Cancel, which reruns the page — reopens what was stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import streamlit as st

from chatlab.determinism import load_meter_run
from chatlab.params import CHOICE, PARAMS
from chatlab.roles import Role
from chatlab.roles.variables import variable_key
from chatlab.store import FINISHED, METER, RUNNING, SWEEP, Store
from chatlab.sweep.plan import SweepSpec, grid
from chatlab.sweep.run import run_sweep
from chatlab.sweep.saved import default_title, finish_sweep, load_sweep, save_sample, start_sweep
from chatlab.turn import title_from
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.params_panel import apply_defaults, untick_all
from chatlab_ui.sweep.form import NO_AXIS
from chatlab_ui.sweep.progress import run_with_progress
from chatlab_ui.sweep.state import MeterResults, NoiseResults, NoiseRun, Progress, SweepResults

STOPPED = {RUNNING: "Interrupted (the app stopped while it ran)"}  # else "Cancelled"


def _run(
    store: Store, client, spec: SweepSpec, sweep_id: str, progress: Progress, keys, workers: int
) -> None:
    samples: Iterator = run_sweep(
        client,
        spec,
        max_workers=workers,
        cancel=progress.cancel,
        on_sample=partial(save_sample, store, sweep_id, spec),
    )
    try:
        run_with_progress(progress, samples, "samples", keys)
    finally:  # also when Cancel reruns the page: the stored sweep says it was cancelled
        finish_sweep(store, sweep_id, cancelled=not progress.finished)


def run_stored_sweep(store: Store, client, results: SweepResults, keys: PageKeys, *, workers: int) -> None:
    """Run the results' sweep, each sample stored as it arrives; the page's address names it from the start."""
    results.sweep_id = start_sweep(store, results.spec)
    results.title = default_title(results.spec)
    st.query_params["sweep"] = results.sweep_id
    _run(store, client, results.spec, results.sweep_id, results.progress, keys, workers)


def run_stored_noise(
    store: Store, client, results: SweepResults, run: NoiseRun, keys: PageKeys, *, workers: int
) -> None:
    """Measure the noise floor for `results`: the run's fresh samples, stored as a sweep of their own."""
    setting = next(p.label for p in grid(run.spec))  # the one setting: the baseline
    title = f"Noise floor of {setting}: {title_from(run.spec.prompt)}"
    noise = results.noise = NoiseResults(run.spec, run.baseline, Progress(total=run.spec.total_samples))
    noise.sweep_id = start_sweep(store, run.spec, title=title)
    _run(store, client, run.spec, noise.sweep_id, noise.progress, keys, workers)


def _axis_text(name: str, values: tuple) -> str | list:
    param = PARAMS[name]
    if param.kind == CHOICE:
        return list(values)
    return ", ".join(param.display(v) for v in values if v is not None)


def restore_form(keys: PageKeys, spec: SweepSpec, roles: list[Role]) -> None:
    """Put a stored sweep's prompt, model, system prompt, variables, parameters and axes into the controls
    (before they are drawn). Its conversation context and role examples stay in the stored sweep only."""
    state = st.session_state
    state.setdefault(keys("role"), roles[0].name)  # else the role picker would reset the system prompt
    state[keys("system_prompt")] = spec.system_prompt
    state[keys("model")] = spec.model
    state[keys("prompt")] = spec.prompt
    state[keys("samples")] = spec.samples
    state[keys("use_n")] = spec.use_n
    for key_name, value in spec.values:
        state[keys("var", variable_key(key_name))] = value
    untick_all(keys)
    apply_defaults(keys, spec.base_params.as_dict())
    for number, axis in enumerate((*spec.axes, None)[:2], start=1):
        axis_keys = keys.child(f"axis{number}")
        if axis is None:
            state[axis_keys("name")] = NO_AXIS
            continue
        name, values = axis
        state[axis_keys("name")] = name
        state[axis_keys("values", name)] = _axis_text(name, values)


def _sweep_results(store: Store, sweep_id: str, keys: PageKeys, roles: list[Role]) -> SweepResults | None:
    try:
        saved = load_sweep(store, sweep_id)
    except ValueError as exc:  # a stored spec that no longer passes (e.g. a parameter's range changed)
        st.warning(f"Sweep {sweep_id} cannot be reopened: {exc}")
        return None
    if saved is None:
        st.warning(f"Sweep {sweep_id} was not found (it may have been deleted).")
        return None
    record = saved.record
    progress = Progress(
        total=saved.spec.total_samples,
        items=list(saved.samples),
        finished=record.status == FINISHED,
        stopped=STOPPED.get(record.status, "Cancelled"),
    )
    restore_form(keys, saved.spec, roles)
    return SweepResults(saved.spec, progress, sweep_id=record.id, title=record.title)


def _meter_results(store: Store, run_id: str) -> MeterResults | None:
    report = load_meter_run(store, run_id)
    if report is None:
        st.warning(f"Determinism run {run_id} was not found (it may have been deleted).")
        return None
    record = store.get_run(METER, run_id)
    status = record.status if record else FINISHED
    return MeterResults(report, run_id, finished=status == FINISHED, stopped=STOPPED.get(status, "Cancelled"))


def open_from_address(store: Store, keys: PageKeys, roles: list[Role]) -> None:
    """Reopen the sweep and the meter run the address names, unless they are the ones already shown."""
    for param, kind in (("sweep", SWEEP), ("meter", METER)):
        run_id = st.query_params.get(param)
        state_key = keys("results") if kind == SWEEP else keys("meter", "results")
        shown = st.session_state.get(state_key)
        shown_id = None if shown is None else shown.sweep_id if kind == SWEEP else shown.run_id
        if not run_id or run_id == shown_id:
            continue
        found = _sweep_results(store, run_id, keys, roles) if kind == SWEEP else _meter_results(store, run_id)
        if found is None:
            st.query_params.pop(param, None)
        else:
            st.session_state[state_key] = found
