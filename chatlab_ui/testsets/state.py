"""What the Test sets page's parts share: keys, tabs, the set being edited, the one-shot notice."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import pandas as pd
import streamlit as st

from chatlab.checks import Check
from chatlab.safe_markdown import escape_markdown
from chatlab.testsets import TestSet
from chatlab.testsets.model import CHECKS, DESCRIPTION, MESSAGE
from chatlab_ui.check_form import code_span
from chatlab_ui.notice import keep, show
from chatlab_ui.page_keys import PageKeys

P = PageKeys("testsets")  # every widget and session key of the Test sets page
TAB_KEY = P("tab")
TAB_SETS, TAB_EDIT, TAB_IMPORT = "Test sets", "Create or edit", "Import a file"
TABS = (TAB_SETS, TAB_EDIT, TAB_IMPORT)
LIST = P.child("list")  # the stored sets' table and the set picked below it
PICK = LIST("pick")
S = st.session_state


def empty_frame(variables: tuple[str, ...] = ()) -> pd.DataFrame:
    return pd.DataFrame(columns=[MESSAGE, DESCRIPTION, *variables, CHECKS], dtype="str")


@dataclass(frozen=True)
class Draft:
    """The test set in the editor. `frame` is what a table editor starts from — replaced only when the
    columns change or a check is added to a case, each time under a new `version` (part of the editor's
    key): an editor's output is never fed back as its input (streamlit#7749)."""

    id: str | None = None  # the stored set Save rewrites; None: a new set
    frame: pd.DataFrame = field(default_factory=empty_frame)
    checks: tuple[Check, ...] = ()  # checks for every case
    version: int = 0

    def restarted(self, frame: pd.DataFrame, **changes) -> Draft:
        """A draft whose table editor starts again from `frame`."""
        return replace(self, frame=frame, version=self.version + 1, **changes)


def draft() -> Draft:
    return S.setdefault(P("draft"), Draft())


def set_draft(new: Draft) -> None:
    S[P("draft")] = new


def edited_frame() -> pd.DataFrame:
    """What the table editor held at the end of the last run (its starting frame before it was drawn)."""
    return S.get(P("edited"), draft().frame)


def open_in_editor(test_set: TestSet, *, stored: bool) -> None:
    """Callback: put a set in the editor (a stored one is rewritten by Save) and show the editor."""
    set_draft(
        draft().restarted(test_set.to_frame(), id=test_set.id if stored else None, checks=test_set.checks)
    )
    S.pop(P("edited"), None)
    S[P("name")] = test_set.name
    S[P("description")] = test_set.description
    S[P("variables")] = ", ".join(test_set.variables)
    S[TAB_KEY] = TAB_EDIT


SHOWN_SET_CHECKS = 3  # named in the summary line; more are only counted


def contents(test_set: TestSet) -> str:
    """ "**20** cases · variables: `topic` · 1 check for every case (at most 80 characters), 20 on single
    cases" (Markdown). The checks for every case are named: the cases table does not show them."""
    variables = ", ".join(code_span(v) for v in test_set.variables) or "none"
    own = sum(len(c.checks) for c in test_set.cases)
    every = f"{len(test_set.checks)} check{'s' if len(test_set.checks) != 1 else ''} for every case"
    if test_set.checks:
        named = [escape_markdown(c.label) for c in test_set.checks[:SHOWN_SET_CHECKS]]
        every += f" ({'; '.join(named)}{'; …' if len(test_set.checks) > SHOWN_SET_CHECKS else ''})"
    cases = "case" if len(test_set.cases) == 1 else "cases"
    return f"**{len(test_set.cases):,}** {cases} · variables: {variables} · {every}, {own:,} on single cases"


def notice(kind: Literal["success", "info", "warning", "error"], text: str) -> None:
    """Keep the outcome of an action for show_notice on the next run (escape names in `text`)."""
    keep(P("notice"), kind, text)


def show_notice() -> None:
    show(P("notice"))
