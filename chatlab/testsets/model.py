"""A test set: a named table of cases (a user message, values for the roles' variables, optional checks),
plus checks that apply to every case. Built from a table editor's frame or read from a file (files.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from chatlab.checks import Check, CheckError, check_cell, parse_shorthand
from chatlab.roles.variables import is_variable_name, variable_key

MAX_CASES = 10_000
MAX_NAME_CHARS = 80
# The table editor's columns besides one per variable.
MESSAGE, DESCRIPTION, CHECKS = "message", "description", "checks"


class TestSetError(ValueError):
    """A test set that cannot be used as given; the message names the row or line and what to fix."""

    __test__ = False  # not a pytest test class


@dataclass(frozen=True)
class TestCase:
    """One case: the user's message, values for variables (by name), and checks of its own."""

    __test__ = False

    message: str
    values: tuple[tuple[str, str], ...] = ()
    checks: tuple[Check, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.values, Mapping):
            object.__setattr__(self, "values", tuple(self.values.items()))
        object.__setattr__(self, "values", tuple((str(k), str(v)) for k, v in self.values if str(v) != ""))
        object.__setattr__(self, "checks", tuple(self.checks))

    def value_map(self) -> dict[str, str]:
        return dict(self.values)

    def to_dict(self) -> dict:
        """As stored and written to JSONL."""
        out: dict = {"message": self.message}
        if self.description:
            out["description"] = self.description
        if self.values:
            out["vars"] = dict(self.values)
        if self.checks:
            out["checks"] = [c.to_dict() for c in self.checks]
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> TestCase:
        return cls(
            message=data["message"],
            values=tuple((data.get("vars") or {}).items()),
            checks=tuple(Check.from_dict(c) for c in data.get("checks") or ()),
            description=data.get("description") or "",
        )


@dataclass(frozen=True)
class TestSet:
    """A named list of cases and the checks every case gets; `id` is set once stored."""

    __test__ = False

    name: str
    cases: tuple[TestCase, ...]
    checks: tuple[Check, ...] = ()
    description: str = ""
    id: str | None = None
    created_at: str = field(default="", compare=False)
    updated_at: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        name = " ".join((self.name or "").split())
        if not name:
            raise TestSetError("Give the test set a name.")
        if len(name) > MAX_NAME_CHARS:
            raise TestSetError(f"The name is longer than {MAX_NAME_CHARS} characters.")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "cases", tuple(self.cases))
        object.__setattr__(self, "checks", tuple(self.checks))
        if not self.cases:
            raise TestSetError("A test set needs at least one case.")
        if len(self.cases) > MAX_CASES:
            raise TestSetError(
                f"A test set holds at most {MAX_CASES:,} cases; this one has {len(self.cases):,}."
            )
        for i, case in enumerate(self.cases, start=1):
            if not case.message.strip():
                raise TestSetError(f"Case {i} has no message.")
            for name, _value in case.values:
                if not is_variable_name(name):
                    raise TestSetError(f"Case {i}: {name!r} cannot be a variable name (start with a letter).")

    @property
    def variables(self) -> tuple[str, ...]:
        """Variable names the cases give values for, in order of first appearance (ignoring case)."""
        seen: dict[str, str] = {}
        for case in self.cases:
            for name, _ in case.values:
                seen.setdefault(variable_key(name), name)
        return tuple(seen.values())

    def checks_for(self, index: int) -> tuple[Check, ...]:
        """The checks case `index` is held to: the set's, then its own."""
        return (*self.checks, *self.cases[index].checks)

    def to_frame(self) -> pd.DataFrame:
        """The table editor's frame: message, description, one column per variable, checks (one a line)."""
        columns = [MESSAGE, DESCRIPTION, *self.variables, CHECKS]
        rows = []
        for case in self.cases:
            values = {variable_key(k): v for k, v in case.values}
            row = {MESSAGE: case.message, DESCRIPTION: case.description, CHECKS: checks_text(case.checks)}
            row.update({name: values.get(variable_key(name), "") for name in self.variables})
            rows.append(row)
        return pd.DataFrame(rows, columns=columns, dtype="str")


def checks_text(checks: Iterable[Check]) -> str:
    """Checks one a line, as the table editor and the CSV cells show them."""
    return "\n".join(check_cell(c) for c in checks)


def parse_checks_text(text: str, where: str) -> tuple[Check, ...]:
    """Checks written one a line (shorthand or JSON); TestSetError names `where`."""
    out = []
    for line in (text or "").splitlines():
        if line.strip():
            try:
                out.append(parse_shorthand(line))
            except CheckError as exc:
                raise TestSetError(f"{where}: {exc}") from None
    return tuple(out)


def _cell(value) -> str:
    # A cell never typed in is None or NaN, not "" (st.data_editor).
    return value if isinstance(value, str) else ""


def from_frame(
    frame: pd.DataFrame, name: str, *, checks: Sequence[Check] = (), description: str = ""
) -> TestSet:
    """A test set from the table editor: a `message` column, optional `description` and `checks` (one a
    line) columns, and one column per variable. Empty rows are dropped; TestSetError names the row."""
    columns = [str(c) for c in frame.columns]
    if MESSAGE not in columns:
        raise TestSetError("The table needs a 'message' column: the user's message for each case.")
    variables = [c for c in columns if c not in (MESSAGE, DESCRIPTION, CHECKS)]
    for column in variables:
        if not is_variable_name(column.strip()):
            raise TestSetError(
                f"Column {column!r} cannot be a variable: a name starts with a letter and holds letters, "
                "digits, _, - or spaces."
            )
    cases = []
    for row_number, row in enumerate(frame.to_dict("records"), start=1):
        cells = {str(k): _cell(v) for k, v in row.items()}
        if not any(v.strip() for v in cells.values()):
            continue
        where = f"Row {row_number}"
        if not cells[MESSAGE].strip():
            raise TestSetError(f"{where} has no message.")
        cases.append(
            TestCase(
                message=cells[MESSAGE],
                values=tuple((v.strip(), cells[v]) for v in variables),
                checks=parse_checks_text(cells.get(CHECKS, ""), where),
                description=cells.get(DESCRIPTION, "").strip(),
            )
        )
    return TestSet(name=name, cases=tuple(cases), checks=tuple(checks), description=description)


def from_messages(messages: Sequence[str], name: str) -> TestSet:
    """A test set of free inputs (one case a message, no values, no checks), e.g. for a blind rating."""
    return TestSet(name=name, cases=tuple(TestCase(m) for m in messages if m.strip()))
