"""Writing transcripts: a conversation as a table, CSV, JSON or Markdown; many conversations as a zip."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict

import pandas as pd

from chatlab.csvfile import to_csv_bytes
from chatlab.store import COMPLETE, Conversation, Message, Store
from chatlab.tokenprobs.record import ReplyTokens, to_wire
from chatlab.transcript.schema import COLUMNS, DTYPES, FORMAT, PARAM_COLUMNS, VERSION
from chatlab.usage import describe_reply

# The download formats and their MIME types: the one table every download button and archive reads.
FORMATS = {"csv": "text/csv", "json": "application/json", "md": "text/markdown"}


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


def to_json_bytes(
    conversation: Conversation,
    messages: list[Message],
    tokens: Mapping[int, ReplyTokens] | None = None,
    token_notes: Mapping[int, str] | None = None,
) -> bytes:
    """Everything: the conversation and every Message field, including params and the request record.

    A reply with token probabilities (`tokens`, by message id) gets "logprobs": {"content": [...]} in
    OpenAI's wire shape, one token per line; one that asked for them in vain gets {"content": null,
    "note": why} (`token_notes`).
    """
    tokens, token_notes = tokens or {}, token_notes or {}
    nonce = uuid.uuid4().hex  # a placeholder no message text can hold by chance or on purpose
    rendered: dict[str, str] = {}
    records = []
    for m in messages:
        record = asdict(m)
        if m.id in tokens or m.id in token_notes:
            # A placeholder, replaced below: indented JSON would spend a line on every number.
            placeholder = f"logprobs-{nonce}-{m.id}"
            rendered[json.dumps(placeholder)] = _logprobs_json(tokens.get(m.id), token_notes.get(m.id))
            record["logprobs"] = placeholder
        records.append(record)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "conversation": asdict(conversation),
        "messages": records,
    }
    text = json.dumps(document, ensure_ascii=False, indent=2)
    for placeholder, value in rendered.items():
        text = text.replace(placeholder, value, 1)
    return (text + "\n").encode("utf-8")


def _logprobs_json(tokens: ReplyTokens | None, note: str | None) -> str:
    """{"content": [...], "note": ...} with one token per line, at the depth it takes in a message."""
    if not tokens:
        return json.dumps({"content": None, "note": note}, ensure_ascii=False)
    pad = " " * 8  # a message's keys are at 6 spaces in the indented document
    lines = ",\n".join(f"{pad}  {_json_line(t)}" for t in to_wire(tokens.tokens))
    return f'{{\n{pad}"content": [\n{lines}\n{pad}],\n{pad}"note": {json.dumps(note)}\n{pad[2:]}}}'


def _json_line(value) -> str:
    """JSON with text kept readable, unless it holds a lone surrogate (then escaped, so it encodes)."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value)
    return text


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


def _turn_roles(messages: list[Message]) -> dict[int, tuple[str, str | None]]:
    """Each turn's role and system prompt, from its reply (which records what was sent) or its message."""
    roles: dict[int, tuple[str, str | None]] = {}
    for m in messages:
        if m.role_name and (m.turn not in roles or m.role == "assistant" and roles[m.turn][1] is None):
            roles[m.turn] = (m.role_name, m.system_prompt or None)
    return roles


def to_markdown(conversation: Conversation, messages: list[Message]) -> str:
    """A readable transcript: header (model, role, system prompt), then one section per message.

    Message content is included verbatim (it is usually Markdown already). An assistant heading names the
    choice (1-based) only when its turn produced several choices. When the role changed during the
    conversation, the header lists the roles and each turn where one takes over names it, with its
    system prompt.
    """
    lines = [f"# {conversation.title or 'Untitled conversation'}", ""]
    model = conversation.model or next((m.model for m in messages if m.model), None)
    turn_roles = _turn_roles(messages)
    sequence = [name for name, _ in turn_roles.values()]
    switches = [name for index, name in enumerate(sequence) if index == 0 or name != sequence[index - 1]]
    several_roles = len(switches) > 1
    role = " → ".join(switches) if several_roles else conversation.role_name
    if conversation.imported_at:
        dates = [
            ("Imported", conversation.imported_at),
            ("Originally created", conversation.original_created_at),
            ("Originally updated", conversation.original_updated_at),
        ]
    else:
        dates = [("Created", conversation.created_at)]
    header = [
        ("Model", model),
        ("Roles" if several_roles else "Role", role),
        ("Endpoint", conversation.endpoint_name),
        *dates,
        ("Messages", str(len(messages))),
    ]
    lines += [f"- **{label}:** {value}" for label, value in header if value]
    lines.append("")
    if conversation.system_prompt and not several_roles:
        lines += ["**System prompt:**", "", conversation.system_prompt, ""]
    choices_per_turn: dict[int, int] = {}
    for m in messages:
        if m.role == "assistant":
            choices_per_turn[m.turn] = choices_per_turn.get(m.turn, 0) + 1
    last_params: dict | None = None
    current_role: str | None = None
    for m in messages:
        turn_role = turn_roles.get(m.turn)
        if several_roles and turn_role and turn_role[0] != current_role:
            current_role, system_prompt = turn_role
            lines += [f"## Role: {current_role}", ""]
            if system_prompt:
                lines += ["**System prompt:**", "", system_prompt, ""]
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
        notes = {i: info.note for i, info in store.token_info(conversation_id).items() if info.note}
        return to_json_bytes(conversation, messages, store.conversation_tokens(conversation_id), notes)
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
