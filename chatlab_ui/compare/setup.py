"""Choosing the panes of a comparison: roles or ad-hoc prompts, with per-pane model and parameter overrides."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import streamlit as st

from chatlab.compare import PaneSpec
from chatlab.params import CHOICE, FLOAT, INT, OVERRIDES, PARAMS, GenerationParams, ParamError
from chatlab.roles import Role
from chatlab.roles.variables import MissingValues
from chatlab.safe_markdown import escape_markdown
from chatlab.store import Store
from chatlab.turn import TurnSettings
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.tables import MISSING

MAX_PANES = 8
MISSING_PANE = "a pane of this comparison was deleted in History; start a new comparison to go on"
# An empty override cell keeps the shared value from the sidebar.
OVERRIDE_COLUMNS = {PARAMS[name].heading: name for name in OVERRIDES}


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value == ""


def _default_roles(roles: list[Role]) -> list[str]:
    names = [r.name for r in roles if r.name != "Default assistant"]
    return names[:3] if len(names) >= 2 else [r.name for r in roles][:2]


def _row(name: str, system: str, defaults: dict) -> dict:
    """One table row; a role's default parameters fill its override cells, so they are visible and editable."""
    cells = {column: defaults.get(param) for column, param in OVERRIDE_COLUMNS.items()}
    return {"Pane": name, "System prompt": system, "Model": "", **cells, "Depth": None}


def _override_column(name: str):
    """The table column of a parameter, generated from its declaration (chatlab.params)."""
    param = PARAMS[name]
    if param.kind == CHOICE:
        return st.column_config.SelectboxColumn(param.heading, options=list(param.choices), help=param.help)
    if param.kind == INT and param.high > 2**53:  # a seed: any whole number, no slider range to show
        return st.column_config.NumberColumn(param.heading, step=1, help=param.help)
    if param.kind in (FLOAT, INT):
        return st.column_config.NumberColumn(
            param.heading, min_value=param.low, max_value=param.high, step=param.step, help=param.help
        )
    return st.column_config.TextColumn(param.heading, help=param.help)


def _variable_fields(keys: PageKeys, label: str, settings: TurnSettings, disabled: bool) -> dict[str, str]:
    """A field per variable of the pane's prompt, filled with its default; returns the values typed."""
    variables = settings.prompt_variables()
    if not variables:
        return {}
    st.markdown(f"**{escape_markdown(label)}** — the prompt's variables")
    values = {}
    columns = st.columns(min(len(variables), 3))
    for index, variable in enumerate(variables):
        column = columns[index % len(columns)]
        key = keys("var", label, variable.key)
        st.session_state.setdefault(key, variable.default or "")
        values[variable.name] = column.text_input(
            variable.name,
            key=key,
            disabled=disabled,
            help=variable.description or None,
            placeholder="required: no default" if variable.required else f"default: {variable.default}",
        )
    return values


def pane_setup(
    keys: PageKeys,
    roles: list[Role],
    *,
    model: str,
    shared: GenerationParams,
    depth: int | None,
    disabled: bool,
) -> tuple[list[PaneSpec], list[str]]:
    """Draw the pane chooser; returns one PaneSpec per pane, and what is not valid (nothing is sent then)."""
    by_name = {r.name: r for r in roles}
    chosen = st.multiselect(
        "Roles to compare",
        list(by_name),
        default=_default_roles(roles),
        max_selections=MAX_PANES,
        key=keys("roles"),
        disabled=disabled,
    )
    adhoc = st.text_area(
        "Ad-hoc system prompt (optional — adds a pane)",
        key=keys("adhoc"),
        height=80,
        disabled=disabled,
        placeholder="e.g. You answer like a pirate.",
    )
    rows = [_row(name, by_name[name].system, by_name[name].default_params()) for name in chosen]
    if adhoc.strip() and len(rows) < MAX_PANES:
        rows.append(_row("Ad-hoc prompt", adhoc.strip(), {}))
    if not rows:
        return [], []
    st.caption(
        "Each role's own default parameters are filled in. Blank cells use the sidebar's model, shared "
        "parameters and context depth."
    )
    # A new key whenever the pane list changes; the editor's output is read, never fed back
    # (feeding it back loses every second edit: streamlit#7749).
    table = st.data_editor(
        pd.DataFrame(rows),
        key=keys("panes", abs(hash(tuple(r["Pane"] for r in rows) + (adhoc,)))),
        hide_index=True,
        width="stretch",
        placeholder=MISSING,  # a blank override: the sidebar's value applies
        disabled=["Pane"] if not disabled else True,
        column_config={
            "System prompt": st.column_config.TextColumn(width="large"),
            "Model": st.column_config.TextColumn(help=f"Blank: {model}"),
            **{column: _override_column(name) for column, name in OVERRIDE_COLUMNS.items()},
            "Depth": st.column_config.NumberColumn(min_value=0, step=1, help="Context depth; blank: sidebar"),
        },
    )
    panes, problems = [], []
    for row in table.to_dict("records"):
        overrides = {
            param: row[column] for column, param in OVERRIDE_COLUMNS.items() if not _blank(row[column])
        }
        try:
            params = shared.replace(**overrides)
        except ParamError as exc:
            problems.append(f"{row['Pane']}: {exc} — fix the cell to send")
            continue
        role = by_name.get(row["Pane"])
        settings = TurnSettings(
            model=(row["Model"] or "").strip() or model,
            params=params,
            context_depth=depth if _blank(row["Depth"]) else int(row["Depth"]),
            role_name=row["Pane"],
            system_prompt=row["System prompt"] or "",
            few_shot=tuple(role.few_shot_messages()) if role else (),
            variables=role.variables if role else (),
        )
        settings = dataclasses.replace(
            settings, values=_variable_fields(keys, row["Pane"], settings, disabled)
        )
        if missing := settings.missing_values():
            problems.append(f"{row['Pane']}: {str(MissingValues(missing)).rstrip('.')}")
        panes.append(PaneSpec(settings=settings, label=row["Pane"]))
    return panes, problems  # the page says them once, beside the input they block


def open_comparison(store: Store) -> str | None:
    """The comparison the URL names (?cmp=), or None for a new one (a stale id says so and is dropped)."""
    comparison_id = st.query_params.get("cmp")
    if comparison_id and store.get_comparison(comparison_id) is None:
        st.warning(f"Comparison {comparison_id} was not found; starting a new one.")
        st.query_params.pop("cmp", None)
        return None
    return comparison_id or None


def complete_panes(store: Store, comparison_id: str) -> bool:
    """Whether a stored comparison still has every pane it was made with (panes 0…n-1, none deleted)."""
    indices = [c.pane_index for c in store.comparison_panes(comparison_id)]
    return indices == list(range(len(indices)))
