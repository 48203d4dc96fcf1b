"""CSV as people use it (chatlab/csvfile.py): what Excel opens correctly, what it would run as a formula,
and a strict reader that names the line of a broken file."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from chatlab.csvfile import CsvFileError, neutralise, read_rows, to_csv_bytes, unneutralise

BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_run_gets_an_apostrophe(prefix):
    assert neutralise(f"{prefix}SUM(A1)") == f"'{prefix}SUM(A1)"


@pytest.mark.parametrize("text", ["", "plain", "'quoted'", "''", "'", "=1+1", "-1 打折", "a=b", "@", "\t"])
def test_neutralising_then_reading_back_gives_every_string_unchanged(text):
    assert unneutralise(neutralise(text)) == text
    assert not neutralise(text).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_the_file_opens_in_excel_as_utf8_with_numbers_as_numbers():
    frame = pd.DataFrame(
        {
            "text": pd.Series(["你好", "=HYPERLINK(x)", None], dtype="str"),
            "penalty": pd.Series([-0.5, 0.1 + 0.2, None], dtype="Float64"),
            "tokens": pd.Series([3, None, 7], dtype="Int64"),
            "estimated": pd.Series([True, False, None], dtype="boolean"),
        }
    )
    data = to_csv_bytes(frame)
    assert data.startswith(BOM) and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows == [
        ["text", "penalty", "tokens", "estimated"],
        ["你好", "-0.5", "3", "true"],  # a negative number is a number, not a neutralised formula
        ["'=HYPERLINK(x)", "0.30000000000000004", "", "false"],  # floats exactly, formulas escaped
        ["", "", "7", ""],  # missing values are empty cells
    ]


def test_rows_come_with_the_line_they_start_on_blank_rows_skipped():
    text = 'a,b\r\n\r\n"two\nlines",x\r\nlast,y\r\n'
    assert read_rows(text) == [(1, ["a", "b"]), (3, ["two\nlines", "x"]), (5, ["last", "y"])]


def test_an_unclosed_quote_names_the_line_it_starts_on():
    with pytest.raises(CsvFileError, match="line 3: a quoted field starts here and is never closed"):
        read_rows('a,b\nok,1\n"never closed,2\nmore,3\n')


def test_a_cell_larger_than_pythons_default_limit_reads():
    # Some awesome-chatgpt-prompts rows exceed the csv module's default 131,072-character field limit.
    giant = "x" * 300_000
    assert read_rows(f"act,prompt\nBig,{giant}\n")[1][1] == ["Big", giant]


def test_reading_stops_once_more_rows_than_asked_were_found():
    text = "".join(f"row{n},1\n" for n in range(1000))
    rows = read_rows(text, max_rows=10)
    assert len(rows) == 11 and rows[-1] == (11, ["row10", "1"])
