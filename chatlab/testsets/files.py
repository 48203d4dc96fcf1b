"""Test sets as files: CSV (columns named after variables; promptfoo's `__expected` columns) and JSONL.

CSV columns, by header (case-insensitive for the special ones):
- the message: `message` (also `user_message`, `user`); failing those the first of `input`, `prompt`,
  `question`, `query` — promptfoo's examples name it so — which then also stays a variable of that name;
- `__expected`, `__expected1`, `__expected2`, …: a check for that row ("contains: Paris", "is-json",
  "llm-rubric: …", or a check as a JSON object);
- `__set_expected1`, …: checks for every case (Chat Lab's export writes them on every row);
- `__description`; `__prefix` / `__suffix` (added before / after the message, as promptfoo does);
- every other column is a variable; promptfoo's `vars.topic` is the variable `topic`. Other `__` columns
  (`__metric`, `__threshold`, `__metadata…`) are left out and reported in the import's notes.

JSONL: one case a line, `{"message": …, "vars": {…}, "checks": […], "description": …}` (promptfoo's
`assert` is read as `checks`, and a case without `message` takes it from its vars as above); one line may
hold `{"set_checks": […]}`. Errors name the file, the line and what to fix; nothing is half-imported.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePath

import pandas as pd

from chatlab.checks import Check, CheckError, check_cell, parse_shorthand
from chatlab.csvfile import ESCAPE, FORMULA_TRIGGERS, CsvFileError, read_rows, to_csv_bytes
from chatlab.roles.variables import is_variable_name, variable_key
from chatlab.testsets.model import MAX_CASES, TestCase, TestSet, TestSetError
from chatlab.textfile import TextFileError, decode_upload

MAX_FILE_BYTES = 20 * 1024 * 1024
MESSAGE_COLUMNS = ("message", "user_message", "user")  # only the message
MESSAGE_VARIABLES = ("input", "prompt", "question", "query")  # the message, and a variable too
_EXPECTED = re.compile(r"__expected(\d*)")
_SET_EXPECTED = re.compile(r"__set_expected(\d*)")
_VARS_PREFIX = re.compile(r"^vars?[.:]", re.IGNORECASE)


@dataclass(frozen=True)
class TestSetImport:
    """What a file held: the test set, and notes on what was left out."""

    __test__ = False

    test_set: TestSet
    notes: tuple[str, ...] = ()


def import_test_set(data: bytes, filename: str, *, name: str | None = None) -> TestSetImport:
    """A test set from an uploaded CSV or JSONL file (named after the file unless `name` is given)."""
    try:
        text = decode_upload(data, max_bytes=MAX_FILE_BYTES, expected="a CSV or JSONL file (UTF-8)")
    except TextFileError as exc:
        raise TestSetError(f"{filename}: {exc}") from None
    name = name or PurePath(filename).stem
    suffix = PurePath(filename).suffix.lower()
    is_jsonl = suffix in (".jsonl", ".json", ".ndjson") or (
        suffix != ".csv" and text.lstrip().startswith("{")
    )
    return _from_jsonl(text, filename, name) if is_jsonl else _from_csv(text, filename, name)


def _restore(cell: str) -> str:
    """Undo csvfile.neutralise on a cell Chat Lab wrote; any other leading apostrophe is kept."""
    if cell.startswith(ESCAPE) and cell[1:].startswith((*FORMULA_TRIGGERS, ESCAPE)):
        return cell[1:]
    return cell


def _check(cell: str, where: str) -> Check:
    try:
        return parse_shorthand(cell)
    except CheckError as exc:
        raise TestSetError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class _Columns:
    message: int
    variables: tuple[tuple[int, str], ...]
    expected: tuple[int, ...]
    set_expected: tuple[int, ...]
    description: int | None
    prefix: int | None
    suffix: int | None
    notes: tuple[str, ...]


def _columns(header: list[str], where: str) -> _Columns:
    names = [_VARS_PREFIX.sub("", h.strip()) for h in header]
    lowered = [n.lower() for n in names]
    seen: dict[str, int] = {}
    for i, n in enumerate(lowered):
        if n in seen:
            raise TestSetError(f"{where}: the column '{names[i]}' appears twice")
        seen[n] = i
    message = next((seen[c] for c in MESSAGE_COLUMNS if c in seen), None)
    keep_as_variable = False
    if message is None:
        message = next((seen[c] for c in MESSAGE_VARIABLES if c in seen), None)
        keep_as_variable = True
    if message is None:
        raise TestSetError(
            f"{where}: no message column; name the column with the user's message 'message' "
            f"(or one of {', '.join(MESSAGE_COLUMNS[1:] + MESSAGE_VARIABLES)}). Found: {', '.join(names)}"
        )
    variables, expected, set_expected, notes = [], [], [], []
    special = {"__description": None, "__prefix": None, "__suffix": None}
    for i, (n, low) in enumerate(zip(names, lowered, strict=True)):
        if i == message and not keep_as_variable:
            continue
        if _EXPECTED.fullmatch(low):
            expected.append(i)
        elif _SET_EXPECTED.fullmatch(low):
            set_expected.append(i)
        elif low in special:
            special[low] = i
        elif low.startswith("__"):
            notes.append(f"The column '{n}' was left out: Chat Lab does not use it.")
        elif not is_variable_name(n):
            raise TestSetError(
                f"{where}: the column '{n}' cannot be a variable; a name starts with a letter and holds "
                "letters, digits, _, - or spaces"
            )
        else:
            variables.append((i, n))
    return _Columns(
        message,
        tuple(variables),
        tuple(expected),
        tuple(set_expected),
        special["__description"],
        special["__prefix"],
        special["__suffix"],
        tuple(notes),
    )


def _from_csv(text: str, filename: str, name: str) -> TestSetImport:
    try:
        rows = read_rows(text, max_rows=MAX_CASES + 1)
    except CsvFileError as exc:
        raise TestSetError(f"{filename} {exc}") from None
    if len(rows) > MAX_CASES + 1:
        raise TestSetError(f"{filename}: more than {MAX_CASES:,} cases; split the file")
    if len(rows) < 2:
        raise TestSetError(f"{filename}: no cases; expected a header line and one case a line")
    header_line, header = rows[0]
    columns = _columns(header, f"{filename} line {header_line}")
    cases = []
    set_checks: dict[int, tuple[Check, int]] = {}
    for line, raw in rows[1:]:
        where = f"{filename} line {line}"
        if len(raw) != len(header):
            raise TestSetError(
                f"{where}: expected {len(header)} fields, found {len(raw)}; "
                "is a field with a comma or line break missing its quotes?"
            )
        row = [_restore(c) for c in raw]
        message = row[columns.message]
        if not message.strip():
            raise TestSetError(f"{where}: the message ('{header[columns.message].strip()}') is empty")
        if columns.prefix is not None:
            message = row[columns.prefix] + message
        if columns.suffix is not None:
            message = message + row[columns.suffix]
        checks = tuple(
            _check(row[i], f"{where}, column {header[i].strip()}") for i in columns.expected if row[i].strip()
        )
        for i in columns.set_expected:
            if row[i].strip():
                check = _check(row[i], f"{where}, column {header[i].strip()}")
                first = set_checks.setdefault(i, (check, line))
                if first[0] != check:
                    raise TestSetError(
                        f"{where}, column {header[i].strip()}: differs from line {first[1]}; "
                        "a check for every case must be the same on every row"
                    )
        cases.append(
            TestCase(
                message=message,
                values=tuple((n, row[i]) for i, n in columns.variables),
                checks=checks,
                description=row[columns.description].strip() if columns.description is not None else "",
            )
        )
    test_set = TestSet(name=name, cases=tuple(cases), checks=tuple(c for c, _ in set_checks.values()))
    return TestSetImport(test_set, columns.notes)


def _message_from(record: dict, values: dict, where: str) -> str:
    message = record.get("message")
    if message is None:
        keys = {k.lower(): k for k in values}
        key = next((keys[c] for c in (*MESSAGE_COLUMNS, *MESSAGE_VARIABLES) if c in keys), None)
        if key is None:
            raise TestSetError(f"{where}: no 'message' (nor an input, prompt or question among its vars)")
        message = values[key] if key.lower() in MESSAGE_VARIABLES else values.pop(key)
    if not isinstance(message, str) or not message.strip():
        raise TestSetError(f"{where}: 'message' must be non-empty text")
    return message


def _checks_of(items, where: str) -> tuple[Check, ...]:
    if items is None:
        return ()
    if isinstance(items, str | dict):
        items = [items]
    if not isinstance(items, list):
        raise TestSetError(f"{where}: checks must be a list")
    out = []
    for item in items:
        try:
            out.append(parse_shorthand(item) if isinstance(item, str) else Check.from_dict(item))
        except CheckError as exc:
            raise TestSetError(f"{where}: {exc}") from None
    return tuple(out)


def _from_jsonl(text: str, filename: str, name: str) -> TestSetImport:
    cases: list[TestCase] = []
    set_checks: tuple[Check, ...] = ()
    notes: list[str] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{filename} line {line_number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TestSetError(f"{where}: invalid JSON at column {exc.colno}: {exc.msg}") from None
        except RecursionError:
            raise TestSetError(f"{where}: the JSON is nested too deeply") from None
        if not isinstance(record, dict):
            raise TestSetError(f"{where}: expected a JSON object, got {type(record).__name__}")
        if "set_checks" in record:
            set_checks += _checks_of(record["set_checks"], where)
            continue
        if len(cases) >= MAX_CASES:
            raise TestSetError(f"{filename}: more than {MAX_CASES:,} cases; split the file")
        values = record.get("vars") or {}
        if not isinstance(values, dict):
            raise TestSetError(f"{where}: 'vars' must be an object of variable names to values")
        values = {str(k): _value_text(v, where) for k, v in values.items()}
        for key in values:
            if not is_variable_name(key):
                raise TestSetError(f"{where}: {key!r} cannot be a variable name (start with a letter)")
        message = _message_from(record, values, where)
        description = record.get("description") or ""
        checks = _checks_of(record.get("checks", record.get("assert")), where)
        unknown = set(record) - {"message", "vars", "checks", "assert", "description"}
        if unknown:
            note = f"Fields left out: {', '.join(sorted(unknown))}."
            if note not in notes:
                notes.append(note)
        cases.append(
            TestCase(
                message=message, values=tuple(values.items()), checks=checks, description=str(description)
            )
        )
    if not cases:
        raise TestSetError(f"{filename}: no cases; expected one JSON object a line")
    return TestSetImport(TestSet(name=name, cases=tuple(cases), checks=set_checks), tuple(notes))


def _value_text(value, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


# Export ---------------------------------------------------------------------------------------------


def export_frame(test_set: TestSet) -> pd.DataFrame:
    """The CSV's table: message, __description, a column per variable, __expected…, __set_expected…."""
    variables = test_set.variables
    most = max((len(c.checks) for c in test_set.cases), default=0)
    columns = ["message", "__description", *variables]
    columns += [f"__expected{i}" for i in range(1, most + 1)]
    columns += [f"__set_expected{i}" for i in range(1, len(test_set.checks) + 1)]
    set_cells = [check_cell(c) for c in test_set.checks]
    rows = []
    for case in test_set.cases:
        values = {variable_key(k): v for k, v in case.values}
        cells = [case.message, case.description, *(values.get(variable_key(v), "") for v in variables)]
        cells += [check_cell(c) for c in case.checks] + [""] * (most - len(case.checks))
        rows.append(cells + set_cells)
    return pd.DataFrame(rows, columns=columns, dtype="str")


def export_csv(test_set: TestSet) -> bytes:
    """The test set as CSV (UTF-8 with BOM, formula cells neutralised); import_test_set reads it back."""
    return to_csv_bytes(export_frame(test_set))


def export_jsonl(test_set: TestSet) -> bytes:
    """The test set as JSONL: a `set_checks` line when it has any, then one case a line."""
    lines = []
    if test_set.checks:
        lines.append(json.dumps({"set_checks": [c.to_dict() for c in test_set.checks]}, ensure_ascii=False))
    lines += [json.dumps(case.to_dict(), ensure_ascii=False) for case in test_set.cases]
    return ("\n".join(lines) + "\n").encode("utf-8")
