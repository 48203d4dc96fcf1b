"""Test sets: cases with variable values and checks (model.py), read from and written to files (files.py).
They are stored by chatlab.store.testsets and run by chatlab.batch."""

from chatlab.testsets.files import MESSAGE_COLUMNS, TestSetImport, export_csv, export_jsonl, import_test_set
from chatlab.testsets.model import TestCase, TestSet, TestSetError, checks_text, from_frame, from_messages

__all__ = [
    "MESSAGE_COLUMNS",
    "TestCase",
    "TestSet",
    "TestSetError",
    "TestSetImport",
    "checks_text",
    "export_csv",
    "export_jsonl",
    "from_frame",
    "from_messages",
    "import_test_set",
]
