"""Reading transcripts back: a CSV or JSON file exported by Chat Lab becomes a new conversation.

The file is parsed completely before anything is written; any problem raises TranscriptError with a
message for the user, and nothing is stored.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

from chatlab.csvfile import CsvFileError, read_rows
from chatlab.csvfile import unneutralise as _unneutralise
from chatlab.params import GenerationParams, ParamError
from chatlab.store import COMPLETE, INTERRUPTED, STREAMING, Store, now_iso
from chatlab.textfile import TextFileError, decode_upload
from chatlab.tokenprobs.record import ReplyTokens, from_wire
from chatlab.transcript.schema import (
    _CONVERSATION_TEXT_FIELDS,
    _MESSAGE_FIELDS,
    _MESSAGE_FLOAT_FIELDS,
    _MESSAGE_INT_FIELDS,
    _MESSAGE_TEXT_FIELDS,
    BOOL_COLUMNS,
    COLUMNS,
    FLOAT_COLUMNS,
    FORMAT,
    INT_COLUMNS,
    MAX_IMPORT_BYTES,
    MAX_IMPORT_MESSAGES,
    PARAM_COLUMNS,
    ROLES,
    STATUSES,
    VERSION,
    ImportedTranscript,
    TranscriptError,
)


def _too_many_messages(count: str) -> TranscriptError:
    return TranscriptError(
        f"The transcript holds {count} messages; Chat Lab imports at most {MAX_IMPORT_MESSAGES:,} "
        "per file. Split it into several files."
    )


def read_transcript(data: bytes, filename: str) -> ImportedTranscript:
    """Parse a CSV or JSON transcript (JSON if the name ends in .json or the text starts with '{')."""
    try:
        text = decode_upload(
            data, max_bytes=MAX_IMPORT_BYTES, expected="a CSV (UTF-8) or JSON transcript exported by Chat Lab"
        )
    except TextFileError as exc:
        raise TranscriptError(str(exc)) from None
    if filename.lower().endswith(".json") or text.lstrip().startswith("{"):
        return _read_json(text)
    return _read_csv(text, filename)


def _check_params(params: dict, where: str) -> None:
    try:
        GenerationParams.from_dict(params)
    except (ParamError, TypeError, ValueError) as exc:
        raise TranscriptError(f"{where}: invalid parameter: {exc}") from None


def _finish_messages(messages: list[dict]) -> list[dict]:
    """Fill seq/turn where missing, check roles, seqs and statuses; shared by the CSV and JSON readers."""
    if not messages:
        raise TranscriptError("The transcript holds no messages.")
    seqs = [m.get("seq") for m in messages]
    if all(s is not None for s in seqs):
        if len(set(seqs)) != len(seqs):
            duplicates = sorted({s for s in seqs if seqs.count(s) > 1})
            raise TranscriptError(f"The transcript has duplicate seq values: {duplicates[:10]}.")
    else:
        # Some or all rows lack a seq: number the messages in file order.
        for index, m in enumerate(messages, start=1):
            m["seq"] = index
    last_turn = 0
    for index, m in enumerate(messages, start=1):
        if m["role"] not in ROLES:
            raise TranscriptError(
                f"Message {index}: unknown role {m['role']!r} (expected one of: {', '.join(ROLES)})."
            )
        if m.get("turn") is None:
            m["turn"] = last_turn + 1 if m["role"] == "user" else max(last_turn, 1)
        last_turn = max(last_turn, m["turn"])
        if m.get("choice_index") is None:
            m["choice_index"] = 0
        status = m.get("status") or COMPLETE
        if status not in STATUSES:
            raise TranscriptError(
                f"Message {index}: unknown status {status!r} (expected one of: {', '.join(STATUSES)})."
            )
        # A reply still streaming when exported can never finish now; store it as interrupted.
        m["status"] = INTERRUPTED if status == STREAMING else status
        m.setdefault("params", {})
        _check_params(m["params"], f"Message {index}")
    return messages


# CSV import ---------------------------------------------------------------------------------------------

_CSV_READ_COLUMNS = frozenset(COLUMNS)

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _parse_int(text: str, where: str) -> int | None:
    text = _unneutralise(text).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isfinite(value) and value.is_integer():
        return int(value)
    raise TranscriptError(f"{where}: expected a whole number, got {text!r}.")


def _parse_float(text: str, where: str) -> float | None:
    text = _unneutralise(text).strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise TranscriptError(f"{where}: expected a number, got {text!r}.") from None
    if not math.isfinite(value):
        raise TranscriptError(f"{where}: expected a finite number, got {text!r}.")
    return value


def _parse_bool(text: str, where: str) -> bool:
    lowered = _unneutralise(text).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise TranscriptError(f"{where}: expected true or false, got {text!r}.")


def _parse_stop(text: str, where: str) -> list[str] | None:
    if not text.strip():
        return None
    try:
        stop = json.loads(text)
    except json.JSONDecodeError:
        raise TranscriptError(
            f'{where}: stop must be a JSON list of strings such as ["\\n\\n"], got {text!r}.'
        ) from None
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise TranscriptError(f"{where}: stop must be a JSON list of strings, got {text!r}.")
    return stop or None


def _read_csv(text: str, filename: str) -> ImportedTranscript:
    try:
        numbered = read_rows(text, max_rows=MAX_IMPORT_MESSAGES + 1)  # the header and the messages
    except CsvFileError as exc:
        raise TranscriptError(f"This CSV file cannot be read: {exc}") from None
    if len(numbered) > MAX_IMPORT_MESSAGES + 1:
        raise _too_many_messages(f"more than {MAX_IMPORT_MESSAGES:,}")
    if not numbered:
        raise TranscriptError("The file is empty.")
    header = [h.strip() for h in numbered[0][1]]
    # Counter, not header.count(): a hostile header of a million columns must not take quadratic time.
    duplicates = sorted(h for h, n in Counter(header).items() if h and n > 1)
    if duplicates:
        shown = ", ".join(duplicates[:10]) + (", …" if len(duplicates) > 10 else "")
        raise TranscriptError(f"The CSV header repeats column(s): {shown}.")
    missing = [c for c in ("role", "content") if c not in header]
    if missing:
        found = ", ".join(h for h in header[:12] if h) or "none"
        raise TranscriptError(
            f"The CSV is missing the required column(s): {', '.join(missing)} (found: {found})."
        )
    # Only the columns Chat Lab reads: other columns are ignored, and must not cost memory per row.
    position = {name: i for i, name in enumerate(header) if name in _CSV_READ_COLUMNS}
    records: list[dict[str, str]] = []
    lines: list[int] = []
    for number, (line, row) in enumerate(numbered[1:], start=1):
        if len(row) > len(header) and any(cell.strip() for cell in row[len(header) :]):
            raise TranscriptError(
                f"CSV row {number} (line {line}) has {len(row)} cells but the header has {len(header)}."
            )
        records.append({name: row[i] if i < len(row) else "" for name, i in position.items()})
        lines.append(line)
    if not records:
        raise TranscriptError("The CSV has a header but no messages.")

    conversation_ids = [
        c for c in dict.fromkeys(_unneutralise(r.get("conversation_id", "")) for r in records) if c
    ]
    if len(conversation_ids) > 1:
        shown = ", ".join(conversation_ids[:5]) + (", …" if len(conversation_ids) > 5 else "")
        raise TranscriptError(
            f"This CSV holds {len(conversation_ids)} conversations ({shown}); import one conversation per file."
        )

    messages = []
    for number, (line, record) in enumerate(zip(lines, records, strict=True), start=1):
        where = f"CSV row {number} (line {line})"
        message: dict = {}
        params: dict = {}
        for name in COLUMNS:
            if name in ("conversation_id", "conversation_title", "total_tokens"):
                continue
            raw = record.get(name, "")
            cell_where = f"{where}, column {name!r}"
            if name == "stop":
                value = _parse_stop(_unneutralise(raw), cell_where)
            elif name in INT_COLUMNS:
                value = _parse_int(raw, cell_where)
            elif name in FLOAT_COLUMNS:
                value = _parse_float(raw, cell_where)
            elif name in BOOL_COLUMNS:
                value = _parse_bool(raw, cell_where)
            else:
                value = _unneutralise(raw)
                if name == "role":
                    value = value.strip().lower()
                elif name not in _MESSAGE_TEXT_FIELDS and value == "":
                    value = None
            if name in PARAM_COLUMNS:
                if value is not None:
                    params[name] = value
            else:
                message[name] = value
        message["params"] = params
        message["request"] = None
        messages.append({k: message.get(k) for k in _MESSAGE_FIELDS})
    messages = _finish_messages(messages)

    title = next(
        (_unneutralise(r.get("conversation_title", "")) for r in records if r.get("conversation_title")), ""
    )
    conversation: dict = {
        "id": conversation_ids[0] if conversation_ids else None,
        "title": title or Path(filename).stem,
        "kind": "chat",
        "created_at": min((m["created_at"] for m in messages if m["created_at"]), default=None),
        "updated_at": max((m["updated_at"] for m in messages if m["updated_at"]), default=None),
    }
    # The CSV has no conversation-level settings; the latest message's values are the conversation's.
    for name in ("role_name", "system_prompt", "model", "endpoint_name"):
        conversation[name] = next((m[name] for m in reversed(messages) if m[name]), None)
    return ImportedTranscript(conversation=conversation, messages=messages)


# JSON import --------------------------------------------------------------------------------------------


def _json_value(message: dict, name: str, where: str):
    value = message.get(name)
    if name in _MESSAGE_INT_FIELDS:
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not value.is_integer())
        ):
            raise TranscriptError(f"{where}: {name} must be a whole number, got {value!r}.")
        return int(value)
    if name in _MESSAGE_FLOAT_FIELDS:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise TranscriptError(f"{where}: {name} must be a number, got {value!r}.")
        return float(value)
    if name == "usage_estimated":
        if value is None:
            return False
        if not isinstance(value, bool | int):
            raise TranscriptError(f"{where}: usage_estimated must be true or false, got {value!r}.")
        return bool(value)
    if name == "params":
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise TranscriptError(f"{where}: params must be an object, got {type(value).__name__}.")
        return value
    if name == "notes":
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
            raise TranscriptError(f"{where}: notes must be a list of texts, got {value!r}.")
        return tuple(value)
    if name == "request":
        if value is not None and not isinstance(value, dict):
            raise TranscriptError(f"{where}: request must be an object or null, got {type(value).__name__}.")
        return value
    if name in _MESSAGE_TEXT_FIELDS:
        if value is None and name != "role":
            return "" if name != "status" else None
        if not isinstance(value, str):
            raise TranscriptError(f"{where}: {name} must be a string, got {value!r}.")
        return value
    if value is not None and not isinstance(value, str):
        raise TranscriptError(f"{where}: {name} must be a string or null, got {value!r}.")
    return value


def _read_json(text: str) -> ImportedTranscript:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None
    except RecursionError:
        raise TranscriptError("Invalid JSON: nested too deeply.") from None
    if not isinstance(document, dict):
        raise TranscriptError(
            f"Not a Chat Lab transcript: expected a JSON object, got {type(document).__name__}."
        )
    if document.get("format") != FORMAT:
        raise TranscriptError(
            f'Not a Chat Lab transcript: "format" is {document.get("format")!r}, expected {FORMAT!r}.'
        )
    if document.get("version") != VERSION:
        raise TranscriptError(
            f"Unsupported transcript version {document.get('version')!r} (this Chat Lab reads version {VERSION})."
        )
    conversation = document.get("conversation")
    if conversation is None:
        conversation = {}
    if not isinstance(conversation, dict):
        raise TranscriptError('Wrong transcript shape: "conversation" must be an object.')
    raw_messages = document.get("messages")
    if not isinstance(raw_messages, list):
        raise TranscriptError('Wrong transcript shape: "messages" must be a list.')
    if len(raw_messages) > MAX_IMPORT_MESSAGES:
        raise _too_many_messages(f"{len(raw_messages):,}")

    conv: dict = {"id": conversation.get("id")}
    for name in _CONVERSATION_TEXT_FIELDS:
        value = conversation.get(name)
        if value is not None and not isinstance(value, str):
            raise TranscriptError(f"Conversation: {name} must be a string or null, got {value!r}.")
        conv[name] = value
    conv["title"] = conv["title"] or ""
    conv["kind"] = conv["kind"] or "chat"
    if conv["id"] is not None:
        conv["id"] = str(conv["id"])

    messages = []
    tokens: dict[int, tuple[ReplyTokens | None, str | None]] = {}
    for index, raw in enumerate(raw_messages, start=1):
        where = f"Message {index}"
        if not isinstance(raw, dict):
            raise TranscriptError(
                f"Wrong transcript shape: {where} must be an object, got {type(raw).__name__}."
            )
        if "role" not in raw or "content" not in raw:
            raise TranscriptError(f'{where} is missing "role" or "content".')
        messages.append({name: _json_value(raw, name, where) for name in _MESSAGE_FIELDS})
        if raw.get("logprobs") is not None:
            tokens[len(messages) - 1] = _json_tokens(raw["logprobs"], where)
    return ImportedTranscript(conversation=conv, messages=_finish_messages(messages), tokens=tokens)


def _json_tokens(value, where: str) -> tuple[ReplyTokens | None, str | None]:
    """A message's "logprobs": {"content": [...] or null, "note": text or null}."""
    if not isinstance(value, dict):
        raise TranscriptError(f"{where}: logprobs must be an object, got {type(value).__name__}.")
    content, note = value.get("content"), value.get("note")
    if note is not None and not isinstance(note, str):
        raise TranscriptError(f"{where}: logprobs note must be a string or null, got {note!r}.")
    if content is None:
        return None, note
    if not isinstance(content, list):
        raise TranscriptError(f"{where}: logprobs content must be a list, got {type(content).__name__}.")
    try:
        return ReplyTokens.of(from_wire(content)), note
    except ValueError as exc:
        raise TranscriptError(f"{where}: logprobs: {exc}.") from None


# Storing an import --------------------------------------------------------------------------------------


def import_transcript(store: Store, data: bytes, filename: str) -> str:
    """Parse the file completely, then store it as a NEW conversation; returns the new conversation id.

    The conversation is made now: it is dated, and sorts in the history, by the time of the import, and
    is marked imported; the dates the file carried stay in original_created_at / original_updated_at
    (an export of an earlier import keeps its first original dates). Messages keep their own dates.
    Nothing is written when the file is invalid. The messages go in with one transaction; should that
    fail, the freshly created (empty) conversation is removed again.
    """
    imported = read_transcript(data, filename)
    conv = imported.conversation
    meta = {
        k: conv[k]
        for k in ("role_name", "system_prompt", "model", "endpoint_name")
        if conv.get(k) is not None
    }
    stamp = now_iso()
    cid = store.create_conversation(
        conv.get("title") or "",
        kind=conv.get("kind") or "chat",
        created_at=stamp,
        imported_at=stamp,
        original_created_at=conv.get("original_created_at") or conv.get("created_at"),
        original_updated_at=conv.get("original_updated_at") or conv.get("updated_at"),
        **meta,
    )
    try:
        ids = store.add_messages_bulk(cid, [dict(m) for m in imported.messages])
        for index, (tokens, note) in imported.tokens.items():
            store.save_reply_tokens(ids[index], tokens, note=note)
        # Adding messages moves updated_at to the newest message's date when that is later (a file from a
        # clock ahead of ours): the import's time is what the history sorts by.
        store.update_conversation(cid, updated_at=stamp)
    except BaseException:
        store.delete_conversation(cid)
        raise
    return cid
