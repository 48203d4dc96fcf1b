"""Choosing a batch run's panes: roles, and optional parameter presets (every role runs with every preset).

A preset is a row of a table: a name, optionally a model, and values for the parameters of Compare's
override table (chatlab.params OVERRIDES), typed as text and read by each parameter's own parser. A role
keeps its default parameters where a preset leaves a cell empty.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from chatlab.batch.plan import BatchPane
from chatlab.params import OVERRIDES, PARAMS, GenerationParams, ParamError
from chatlab.roles import Role
from chatlab.turn import TurnSettings, role_settings
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.tables import MISSING

PRESET, MODEL = "Preset", "Model"
MAX_PANES = 12


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _presets(rows: pd.DataFrame) -> tuple[list[tuple[str, str, dict]], list[str]]:
    """(name, model, parameter values) of each filled row, and what is wrong with the others."""
    presets, problems = [], []
    for number, row in enumerate(rows.to_dict("records"), start=1):
        cells = {column: _text(value) for column, value in row.items()}
        if not any(cells.values()):
            continue
        name = cells[PRESET] or f"preset {number}"
        values = {}
        for param in (PARAMS[n] for n in OVERRIDES):
            if cells.get(param.heading):
                try:
                    values[param.name] = param.parse(cells[param.heading])
                except ParamError as exc:
                    problems.append(f"Preset '{name}': {exc}.")
        presets.append((name, cells[MODEL], values))
    names = [p[0] for p in presets]
    problems += [
        f"Two presets are named '{n}'; name each once." for n in sorted(set(names)) if names.count(n) > 1
    ]
    return presets, problems


def choose_panes(
    keys: PageKeys, roles: list[Role], *, model: str, endpoint_name: str, disabled: bool
) -> tuple[list[BatchPane], list[str]]:
    """Draw the role picker and the presets table; returns the panes and what stops them from running."""
    by_name = {r.name: r for r in roles}
    default = [n for n in by_name if n != "Default assistant"][:2] or list(by_name)[:1]
    chosen = st.multiselect(
        "Roles", list(by_name), default=default, key=keys("roles"), disabled=disabled,
        help="Each role answers every case with its own system prompt (its variables filled from the case).",
    )  # fmt: skip
    st.caption(
        "Optional parameter presets: every role runs once per preset (a pane each); with no role, each preset "
        "is a pane without a system prompt. Empty cells keep the role's own defaults; an empty model is the "
        f"sidebar's ({model})."
    )
    columns = [PRESET, MODEL, *(PARAMS[n].heading for n in OVERRIDES)]
    rows = st.data_editor(
        pd.DataFrame(columns=columns, dtype="str"),
        key=keys("presets"),
        num_rows="dynamic",
        width="stretch",
        disabled=disabled,
        placeholder=MISSING,
        column_config={
            PRESET: st.column_config.TextColumn(help="The preset's name, e.g. cold"),
            MODEL: st.column_config.TextColumn(help=f"Blank: {model}"),
            **{PARAMS[n].heading: st.column_config.TextColumn(help=PARAMS[n].help) for n in OVERRIDES},
        },
    )
    presets, problems = _presets(rows)
    panes = []
    for role in (by_name[n] for n in chosen):
        for name, preset_model, values in presets or [("", "", {})]:
            try:
                params = GenerationParams.from_dict({**role.default_params(), **values})
            except ParamError as exc:
                problems.append(f"{role.name}: {exc}.")
                continue
            settings = role_settings(
                role, model=preset_model or model, params=params, endpoint_name=endpoint_name
            )
            panes.append(BatchPane(settings, f"{role.name} · {name}" if name else role.name))
    if not chosen:  # presets alone: no system prompt, each preset a pane
        for name, preset_model, values in presets:
            settings = TurnSettings(
                model=preset_model or model, params=GenerationParams(**values), endpoint_name=endpoint_name
            )
            panes.append(BatchPane(settings, name))
    if len(panes) > MAX_PANES:
        problems.append(f"{len(panes)} panes: choose at most {MAX_PANES} (roles × presets).")
    return panes, problems
