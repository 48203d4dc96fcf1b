"""Download files for stored conversations: one transcript in a format, or many zipped together."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

from chatlab.store import Store
from chatlab.transcript import to_csv_bytes, to_dataframe, to_json_bytes, to_markdown

FORMATS = {"csv": "text/csv", "json": "application/json", "md": "text/markdown"}


def export_conversation(store: Store, conversation_id: str, fmt: str) -> bytes:
    """One conversation as CSV (UTF-8 with BOM), JSON or Markdown."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    conversation = store.get_conversation(conversation_id)
    if conversation is None:
        raise ValueError(f"conversation {conversation_id} does not exist")
    messages = store.messages(conversation_id)
    if fmt == "csv":
        return to_csv_bytes(to_dataframe(conversation, messages))
    if fmt == "json":
        return to_json_bytes(conversation, messages)
    return to_markdown(conversation, messages).encode("utf-8")


def export_archive(store: Store, conversation_ids: Sequence[str], fmt: str) -> bytes:
    """Several conversations, one file each, in a zip (each file imports back on its own)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for conversation_id in conversation_ids:
            archive.writestr(
                f"chatlab-{conversation_id}.{fmt}", export_conversation(store, conversation_id, fmt)
            )
    return buffer.getvalue()
