"""Transcripts: the table format (schema.py), writing CSV/JSON/Markdown and zips (export.py), and
importing a file back as a new conversation (importer.py)."""

from chatlab.transcript.export import (
    FORMATS,
    export_archive,
    export_conversation,
    param_cells,
    to_dataframe,
    to_json_bytes,
    to_markdown,
)
from chatlab.transcript.importer import import_transcript, read_transcript
from chatlab.transcript.schema import (
    COLUMNS,
    DTYPES,
    MAX_IMPORT_BYTES,
    MAX_IMPORT_MESSAGES,
    ImportedTranscript,
    TranscriptError,
)

__all__ = [
    "COLUMNS",
    "DTYPES",
    "FORMATS",
    "MAX_IMPORT_BYTES",
    "MAX_IMPORT_MESSAGES",
    "ImportedTranscript",
    "TranscriptError",
    "export_archive",
    "export_conversation",
    "import_transcript",
    "param_cells",
    "read_transcript",
    "to_dataframe",
    "to_json_bytes",
    "to_markdown",
]
