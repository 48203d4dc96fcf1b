"""CSV the way people use it: opened in Excel, LibreOffice or Google Sheets, edited, and read back.

Writing: UTF-8 with a BOM (Excel then reads Chinese correctly), CRLF rows, numbers as numbers, and text
cells a spreadsheet would run as a formula neutralised with a leading apostrophe. Reading: strict, so a
broken file is refused with its line number instead of swallowing the rest of the file into one cell.
"""

from __future__ import annotations

import csv
import io
import math

import pandas as pd

# CSV cells can be far larger than the csv module's default limit of 131,072 characters (some prompts of
# the awesome-chatgpt-prompts collection are). A cell never holds more characters than its file has
# bytes, and no upload Chat Lab reads is larger than this. Raised once, process-wide, never lowered.
FIELD_SIZE_LIMIT = 32 * 1024 * 1024
if csv.field_size_limit() < FIELD_SIZE_LIMIT:
    csv.field_size_limit(FIELD_SIZE_LIMIT)

# Cells starting with one of these are treated as formulas by Excel / LibreOffice / Google Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


class CsvFileError(ValueError):
    """The text is not well-formed CSV; the message names the line."""


def neutralise(text: str) -> str:
    """Prefix a text cell that a spreadsheet would run as a formula (or that starts with the escape) with '.

    Why the apostrophe itself is escaped: the import removes exactly one leading apostrophe from every
    text cell. If only formula-like cells were escaped, a genuine leading apostrophe ("'quoted'") would be
    eaten on import. Escaping every cell that starts with an apostrophe too makes the mapping
    s -> ("'" + s if s starts with = + - @ TAB CR or ' else s) injective, and stripping one leading
    apostrophe is its exact inverse: escaped cells lose the added one, and unescaped cells cannot start
    with an apostrophe. So the CSV round trip is exact for every string.
    """
    return ESCAPE + text if text.startswith((*FORMULA_TRIGGERS, ESCAPE)) else text


def unneutralise(text: str) -> str:
    """The inverse of neutralise for a cell read back from a Chat Lab CSV."""
    return text[1:] if text.startswith(ESCAPE) else text


def _column_kind(dtype) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    return "text"


def _format_cell(value, kind: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if kind == "int":
        return str(int(value))
    if kind == "float":
        return repr(float(value))  # shortest text that parses back to the same float
    if kind == "bool":
        return "true" if bool(value) else "false"
    return neutralise(str(value))


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """The table as CSV: UTF-8 with a BOM, CRLF rows, minimal quoting.

    A column's dtype decides how it is written (give tables nullable Int64/Float64/boolean/str dtypes):
    numbers as plain numbers, so a presence_penalty of -0.5 stays a number; text neutralised.
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([str(c) for c in df.columns])
    kinds = [_column_kind(df[col].dtype) for col in df.columns]
    for values in df.itertuples(index=False, name=None):
        writer.writerow([_format_cell(v, k) for v, k in zip(values, kinds, strict=True)])
    return out.getvalue().encode("utf-8-sig")


def read_rows(text: str, *, max_rows: int | None = None) -> list[tuple[int, list[str]]]:
    """(line number, cells) for every non-blank row; CsvFileError names the line of a malformed one.

    Strict parsing refuses what a lenient reader silently accepts: an unterminated quote would otherwise
    turn everything after it into one cell. `max_rows` stops reading early (the caller reports it) once
    more rows than that were found.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((line, row))
                if max_rows is not None and len(rows) > max_rows:
                    break
            line = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise CsvFileError(
                f'line {line}: a quoted field starts here and is never closed (a missing ").'
            ) from None
        raise CsvFileError(f"line {reader.line_num}: malformed CSV ({exc}).") from None
    return rows
