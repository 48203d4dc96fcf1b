"""Uploaded text files (chatlab/textfile.py): the encodings people's tools write are read; a binary file
picked by mistake, an empty or oversized file gets a sentence saying what it is and what to upload."""

from __future__ import annotations

import pytest

from chatlab.textfile import TextFileError, decode_upload

EXPECTED = "a CSV (UTF-8) or JSON transcript"


def decode(data: bytes, max_bytes: int = 1024) -> str:
    return decode_upload(data, max_bytes=max_bytes, expected=EXPECTED)


def refusal(data: bytes, max_bytes: int = 1024) -> str:
    with pytest.raises(TextFileError) as info:
        decode(data, max_bytes)
    return str(info.value)


@pytest.mark.parametrize(
    "data",
    [
        "act,prompt\n翻译,你好\n".encode(),
        "\ufeffact,prompt\n翻译,你好\n".encode(),  # Excel's "CSV UTF-8" starts with a BOM
        "act,prompt\n翻译,你好\n".encode("utf-16"),  # Notepad's "Unicode": UTF-16 with a BOM
        b"\xfe\xff" + "act,prompt\n翻译,你好\n".encode("utf-16-be"),
    ],
)
def test_utf8_and_utf16_with_a_byte_order_mark_read_as_the_same_text(data):
    assert decode(data) == "act,prompt\n翻译,你好\n"


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"PK\x03\x04" + bytes(40), "a ZIP archive (an Excel .xlsx workbook"),
        (b"\x89PNG\r\n\x1a\n" + bytes(40), "a PNG image"),
        (b"\xff\xd8\xff\xe0" + bytes(40), "a JPEG image"),
        (b"%PDF-1.7\n", "a PDF document"),
        (b"SQLite format 3\x00" + bytes(40), "an SQLite database"),
        (b"\x1f\x8b\x08" + bytes(40), "a gzip archive"),
    ],
)
def test_a_binary_file_is_named_and_the_right_file_suggested(data, what):
    message = refusal(data)
    assert message.startswith(f"This is {what}") and message.endswith(f"import {EXPECTED}.")


def test_text_that_is_not_utf8_names_the_line_and_the_byte_offset():
    assert "undecodable byte on line 2, position 7" in refusal(b"a,b\ncaf\xe9,\xff\n")


def test_utf16_without_a_byte_order_mark_is_refused_not_misread():
    assert "NUL bytes" in refusal("role,content\nuser,hi\n".encode("utf-16-le"))


def test_a_broken_utf16_file_is_refused():
    assert "not valid UTF-16" in refusal(b"\xff\xfe" + b"\x00\xd8")  # a lone surrogate


@pytest.mark.parametrize("data", [b"", b"   \n\t\n", "\ufeff".encode()])
def test_an_empty_file_says_so(data):
    assert refusal(data) == "The file is empty."


def test_an_oversized_file_is_refused_with_its_size_and_the_limit():
    message = refusal(b"x" * (3 * 1024 * 1024), max_bytes=2 * 1024 * 1024)
    assert message == "The file is too large to import (3.0 MB; the limit is 2 MB)."
