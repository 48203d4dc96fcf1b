"""Uploaded text files (transcripts, role collections, test sets): size, binary files picked by mistake,
and the encodings people's tools write (UTF-8 with or without BOM, UTF-16 with BOM)."""

from __future__ import annotations

# Files people pick by mistake, recognised by their first bytes, so the error can say what they are.
BINARY_SIGNATURES = (
    (
        b"PK\x03\x04",
        "a ZIP archive (an Excel .xlsx workbook, or a 'Download all' zip: unzip it and import its files "
        "one by one)",
    ),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel or Word file (.xls / .doc)"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x1f\x8b", "a gzip archive"),
)


class TextFileError(ValueError):
    """The bytes are not a text file Chat Lab can read; the message says why, for a person."""


def decode_upload(data: bytes, *, max_bytes: int, expected: str) -> str:
    """The text of an uploaded file, or TextFileError.

    `expected` names what the user should upload instead, e.g. "a CSV (UTF-8) or JSON transcript".
    """
    if not data:
        raise TextFileError("The file is empty.")
    if len(data) > max_bytes:
        raise TextFileError(
            f"The file is too large to import ({len(data) / 1024 / 1024:.1f} MB; "
            f"the limit is {max_bytes // 1024 // 1024} MB)."
        )
    for signature, what in BINARY_SIGNATURES:
        if data.startswith(signature):
            raise TextFileError(f"This is {what}, not a text file; import {expected}.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # A byte-order mark makes UTF-16 unambiguous (Notepad's "Unicode", some Excel exports): read it.
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise TextFileError(
                f"The file starts like UTF-16 text but is not valid UTF-16; save it as {expected}."
            ) from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise TextFileError(
                f"This is not a UTF-8 text file (undecodable byte on line {line}, position {exc.start}); "
                f"save it as {expected}."
            ) from None
    if "\x00" in text:
        raise TextFileError("This is not a UTF-8 text file (it contains NUL bytes: binary data or UTF-16?).")
    if not text.strip():
        raise TextFileError("The file is empty.")
    return text
