"""Transcripts: one conversation as a table (one row per message), for downloads and imports.

Three export formats: CSV (flat, opens in Excel), JSON (everything, including each reply's request
record) and Markdown (for reading). CSV and JSON can be imported back; an import always creates a new
conversation, so importing the same file twice never clashes.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import pandas as pd

from chatlab.params import PARAM_NAMES, GenerationParams, ParamError
from chatlab.store import COMPLETE, ERROR, INTERRUPTED, STOPPED, STREAMING, Conversation, Message, Store
from chatlab.usage import describe_reply

FORMAT = "chatlab-transcript"
VERSION = 1
MAX_IMPORT_BYTES = 20 * 1024 * 1024
# Every imported message costs about a kilobyte of Python objects and one INSERT, so a 20 MB file of
# tiny rows ("user,a" repeated) would take gigabytes and minutes. Real conversations hold hundreds.
MAX_IMPORT_MESSAGES = 20_000
ROLES = ("user", "assistant", "system")
STATUSES = (STREAMING, COMPLETE, INTERRUPTED, STOPPED, ERROR)

COLUMNS: list[str] = [
    "conversation_id",
    "conversation_title",
    "seq",
    "turn",
    "created_at",
    "updated_at",
    "role",
    "content",
    "reasoning",
    "choice_index",
    "role_name",
    "system_prompt",
    "model",
    "endpoint_name",
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "max_tokens",
    "n",
    "seed",
    "stop",
    "user",
    "context_depth",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "total_tokens",
    "usage_estimated",
    "ttft_s",
    "duration_s",
    "tokens_per_s",
    "cost_usd",
    "finish_reason",
    "status",
    "error",
    "response_id",
    "system_fingerprint",
]

# Generation parameters spread over their own columns (from Message.params); `stop` is a JSON list as text.
PARAM_COLUMNS = PARAM_NAMES
INT_COLUMNS = frozenset(
    {
        "seq",
        "turn",
        "choice_index",
        "max_tokens",
        "n",
        "seed",
        "context_depth",
        "prompt_tokens",
        "completion_tokens",
        "cached_tokens",
        "total_tokens",
    }
)
FLOAT_COLUMNS = frozenset(
    {
        "temperature",
        "top_p",
        "presence_penalty",
        "frequency_penalty",
        "ttft_s",
        "duration_s",
        "tokens_per_s",
        "cost_usd",
    }
)
BOOL_COLUMNS = frozenset({"usage_estimated"})
TEXT_COLUMNS = frozenset(COLUMNS) - INT_COLUMNS - FLOAT_COLUMNS - BOOL_COLUMNS
DTYPES: dict[str, str] = {
    c: "Int64"
    if c in INT_COLUMNS
    else "Float64"
    if c in FLOAT_COLUMNS
    else "boolean"
    if c in BOOL_COLUMNS
    else "str"
    for c in COLUMNS
}

# Message fields an import carries (everything except the database ids), and their kinds.
_MESSAGE_FIELDS = [f.name for f in fields(Message) if f.name not in ("id", "conversation_id")]
_MESSAGE_INT_FIELDS = frozenset(
    {"seq", "turn", "choice_index", "context_depth", "prompt_tokens", "completion_tokens", "cached_tokens"}
)
_MESSAGE_FLOAT_FIELDS = frozenset({"ttft_s", "duration_s", "tokens_per_s", "cost_usd"})
_MESSAGE_TEXT_FIELDS = frozenset({"role", "content", "reasoning", "status"})  # never None
_MESSAGE_OPTIONAL_TEXT_FIELDS = frozenset(
    {
        "created_at",
        "updated_at",
        "role_name",
        "system_prompt",
        "model",
        "endpoint_name",
        "finish_reason",
        "error",
        "response_id",
        "system_fingerprint",
    }
)
_CONVERSATION_TEXT_FIELDS = (
    "title",
    "kind",
    "created_at",
    "updated_at",
    "role_name",
    "system_prompt",
    "model",
    "endpoint_name",
)

# Cells starting with one of these are treated as formulas by Excel / LibreOffice / Google Sheets.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPE = "'"

# CSV cells can be far larger than the csv module's default limit of 131,072 characters. A cell can never
# hold more characters than the file has bytes, so the import cap is a sufficient limit. Only ever raised.
if csv.field_size_limit() < MAX_IMPORT_BYTES:
    csv.field_size_limit(MAX_IMPORT_BYTES)


class TranscriptError(ValueError):
    """A file that cannot be imported as a transcript; the message says why, for showing to the user."""


@dataclass(frozen=True)
class ImportedTranscript:
    """A parsed transcript, not yet stored: conversation fields, and each message's fields (no ids)."""

    conversation: dict = field(default_factory=dict)
    messages: list[dict] = field(default_factory=list)


# Export ------------------------------------------------------------------------------------------------


def _total_tokens(message: Message) -> int | None:
    if message.prompt_tokens is None and message.completion_tokens is None:
        return None
    return (message.prompt_tokens or 0) + (message.completion_tokens or 0)


def param_cells(params: dict | None) -> dict:
    """A reply's stored params spread over PARAM_COLUMNS: unset is None, `stop` is a JSON list as text."""
    params = params or {}
    cells = {}
    for name in PARAM_COLUMNS:
        value = params.get(name)
        if name == "stop":
            stop = [value] if isinstance(value, str) else value
            cells[name] = json.dumps(list(stop), ensure_ascii=False) if stop else None
        else:
            cells[name] = None if value is None or value == "" else value
    return cells


def _row(conversation: Conversation, message: Message) -> dict:
    row = {
        "conversation_id": conversation.id,
        "conversation_title": conversation.title,
        "total_tokens": _total_tokens(message),
        **param_cells(message.params),
    }
    for name in COLUMNS:
        if name not in row:
            row[name] = getattr(message, name)
    return row


def to_dataframe(conversation: Conversation, messages: list[Message]) -> pd.DataFrame:
    """One row per message in COLUMNS order; nullable Int64/Float64/boolean and str columns (unset is NA)."""
    rows = [_row(conversation, m) for m in messages]
    return pd.DataFrame(
        {name: pd.Series([r[name] for r in rows], dtype=DTYPES[name]) for name in COLUMNS},
        columns=COLUMNS,
    )


def _column_kind(name: str, dtype) -> str:
    if name in INT_COLUMNS or (name not in TEXT_COLUMNS and pd.api.types.is_integer_dtype(dtype)):
        return "int"
    if name in FLOAT_COLUMNS or (name not in TEXT_COLUMNS and pd.api.types.is_float_dtype(dtype)):
        return "float"
    if name in BOOL_COLUMNS or (name not in TEXT_COLUMNS and pd.api.types.is_bool_dtype(dtype)):
        return "bool"
    return "text"


def _neutralise(text: str) -> str:
    """Prefix a text cell that a spreadsheet would run as a formula (or that starts with the escape) with '.

    Why the apostrophe itself is escaped: the import removes exactly one leading apostrophe from every
    text cell. If only formula-like cells were escaped, a genuine leading apostrophe ("'quoted'") would be
    eaten on import. Escaping every cell that starts with an apostrophe too makes the mapping
    s -> ("'" + s if s starts with = + - @ TAB CR or ' else s) injective, and stripping one leading
    apostrophe is its exact inverse: escaped cells lose the added one, and unescaped cells cannot start
    with an apostrophe. So the CSV round trip is exact for every string.
    """
    return _ESCAPE + text if text.startswith((*_FORMULA_TRIGGERS, _ESCAPE)) else text


def _unneutralise(text: str) -> str:
    return text[1:] if text.startswith(_ESCAPE) else text


def _format_cell(value, kind: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if kind == "int":
        return str(int(value))
    if kind == "float":
        return repr(float(value))  # shortest text that parses back to the same float
    if kind == "bool":
        return "true" if bool(value) else "false"
    return _neutralise(str(value))


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """The table as CSV: UTF-8 with a BOM (Excel then reads Chinese correctly), CRLF rows, minimal quoting.

    Text cells that a spreadsheet would run as a formula get a leading apostrophe (see _neutralise);
    numeric cells are written as plain numbers, so a presence_penalty of -0.5 stays a number.
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    names = [str(c) for c in df.columns]
    writer.writerow(names)
    kinds = [_column_kind(name, df[col].dtype) for name, col in zip(names, df.columns, strict=True)]
    for values in df.itertuples(index=False, name=None):
        writer.writerow([_format_cell(v, k) for v, k in zip(values, kinds, strict=True)])
    return out.getvalue().encode("utf-8-sig")


def to_json_bytes(conversation: Conversation, messages: list[Message]) -> bytes:
    """Everything: the conversation and every Message field, including params and the request record."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "conversation": asdict(conversation),
        "messages": [asdict(m) for m in messages],
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _meta_line(message: Message) -> str:
    """The same line the chat shows under a reply, plus status and error when the reply did not complete."""
    parts = [describe_reply(message)]
    if message.status != COMPLETE:
        parts.append(f"status: {message.status}")
    if message.error:
        parts.append(f"error: {message.error}")
    return " · ".join(parts)


def _params_text(params: dict) -> str:
    return ", ".join(
        f"{k}={json.dumps(v, ensure_ascii=False) if k in ('stop', 'user') else v}" for k, v in params.items()
    )


def to_markdown(conversation: Conversation, messages: list[Message]) -> str:
    """A readable transcript: header (model, role, system prompt), then one section per message.

    Message content is included verbatim (it is usually Markdown already). An assistant heading names the
    choice (1-based) only when its turn produced several choices.
    """
    lines = [f"# {conversation.title or 'Untitled conversation'}", ""]
    model = conversation.model or next((m.model for m in messages if m.model), None)
    header = [
        ("Model", model),
        ("Role", conversation.role_name),
        ("Endpoint", conversation.endpoint_name),
        ("Created", conversation.created_at),
        ("Messages", str(len(messages))),
    ]
    lines += [f"- **{label}:** {value}" for label, value in header if value]
    lines.append("")
    if conversation.system_prompt:
        lines += ["**System prompt:**", "", conversation.system_prompt, ""]
    choices_per_turn: dict[int, int] = {}
    for m in messages:
        if m.role == "assistant":
            choices_per_turn[m.turn] = choices_per_turn.get(m.turn, 0) + 1
    last_params: dict | None = None
    for m in messages:
        if m.role == "user":
            lines.append("### 🧑 User")
        elif m.role == "system":
            lines.append("### ⚙️ System")
        else:
            label = [x for x in (m.model or conversation.model,) if x]
            if choices_per_turn.get(m.turn, 0) > 1 or m.choice_index:
                label.append(f"choice {m.choice_index + 1}")
            lines.append("### 🤖 Assistant" + (f" ({', '.join(label)})" if label else ""))
        lines.append("")
        meta = (
            _meta_line(m)
            if m.role == "assistant"
            else ("" if m.status == COMPLETE else f"status: {m.status}")
        )
        if meta:
            lines += [f"*{meta}*", ""]
        if m.role == "assistant" and m.params and m.params != last_params:
            lines += [f"*Parameters: {_params_text(m.params)}*", ""]
        if m.role == "assistant":
            last_params = m.params
        if m.reasoning:
            lines += ["<details><summary>Reasoning</summary>", "", m.reasoning, "", "</details>", ""]
        lines += [m.content, ""]
    return "\n".join(lines)


# Import ------------------------------------------------------------------------------------------------


# Files people pick by mistake, recognised by their first bytes, so the error can say what they are.
_BINARY_SIGNATURES = (
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


def _decode(data: bytes) -> str:
    if not data:
        raise TranscriptError("The file is empty.")
    if len(data) > MAX_IMPORT_BYTES:
        raise TranscriptError(
            f"The file is too large to import ({len(data) / 1024 / 1024:.1f} MB; "
            f"the limit is {MAX_IMPORT_BYTES // 1024 // 1024} MB)."
        )
    for signature, what in _BINARY_SIGNATURES:
        if data.startswith(signature):
            raise TranscriptError(
                f"This is {what}, not a text file; import a CSV (UTF-8) or JSON transcript exported by Chat Lab."
            )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # A byte-order mark makes UTF-16 unambiguous (Notepad's "Unicode", some Excel exports): read it.
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise TranscriptError(
                "The file starts like UTF-16 text but is not valid UTF-16; save it as CSV (UTF-8) or JSON."
            ) from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise TranscriptError(
                f"This is not a UTF-8 text file (undecodable byte at position {exc.start}); "
                "export the transcript as CSV (UTF-8) or JSON."
            ) from None
    if "\x00" in text:
        raise TranscriptError(
            "This is not a UTF-8 text file (it contains NUL bytes: binary data or UTF-16?)."
        )
    if not text.strip():
        raise TranscriptError("The file is empty.")
    return text


def _too_many_messages(count: str) -> TranscriptError:
    return TranscriptError(
        f"The transcript holds {count} messages; Chat Lab imports at most {MAX_IMPORT_MESSAGES:,} "
        "per file. Split it into several files."
    )


def read_transcript(data: bytes, filename: str) -> ImportedTranscript:
    """Parse a CSV or JSON transcript (JSON if the name ends in .json or the text starts with '{')."""
    text = _decode(data)
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
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            if not row:
                continue
            if len(rows) > MAX_IMPORT_MESSAGES:  # the header and MAX_IMPORT_MESSAGES rows are read
                raise _too_many_messages(f"more than {MAX_IMPORT_MESSAGES:,}")
            rows.append(row)
    except csv.Error as exc:
        raise TranscriptError(f"This CSV file cannot be read: {exc}.") from None
    if not rows:
        raise TranscriptError("The file is empty.")
    header = [h.strip() for h in rows[0]]
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
    for number, row in enumerate(rows[1:], start=1):
        if len(row) > len(header) and any(cell.strip() for cell in row[len(header) :]):
            raise TranscriptError(f"CSV row {number} has {len(row)} cells but the header has {len(header)}.")
        records.append({name: row[i] if i < len(row) else "" for name, i in position.items()})
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
    for number, record in enumerate(records, start=1):
        where = f"CSV row {number}"
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
    for index, raw in enumerate(raw_messages, start=1):
        where = f"Message {index}"
        if not isinstance(raw, dict):
            raise TranscriptError(
                f"Wrong transcript shape: {where} must be an object, got {type(raw).__name__}."
            )
        if "role" not in raw or "content" not in raw:
            raise TranscriptError(f'{where} is missing "role" or "content".')
        messages.append({name: _json_value(raw, name, where) for name in _MESSAGE_FIELDS})
    return ImportedTranscript(conversation=conv, messages=_finish_messages(messages))


# Storing an import --------------------------------------------------------------------------------------


def import_transcript(store: Store, data: bytes, filename: str) -> str:
    """Parse the file completely, then store it as a NEW conversation; returns the new conversation id.

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
    if conv.get("updated_at"):
        meta["updated_at"] = conv["updated_at"]
    cid = store.create_conversation(
        conv.get("title") or "", kind=conv.get("kind") or "chat", created_at=conv.get("created_at"), **meta
    )
    try:
        store.add_messages_bulk(cid, [dict(m) for m in imported.messages])
        if conv.get("updated_at"):
            # Adding messages moves updated_at; keep the imported conversation's own value.
            store.update_conversation(cid, updated_at=conv["updated_at"])
    except BaseException:
        store.delete_conversation(cid)
        raise
    return cid
