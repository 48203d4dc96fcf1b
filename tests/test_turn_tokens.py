"""Token probabilities through the one path a message takes: stored with the reply, loaded only when
asked, and a reason kept when a reply that asked for them has none."""

from __future__ import annotations

import json

import pytest
import sqlalchemy

from chatlab.client import ChatClient
from chatlab.events import TextDelta
from chatlab.params import GenerationParams
from chatlab.store import Store
from chatlab.transcript import export_conversation, import_transcript
from chatlab.turn import TurnSettings, send_turn
from tests.fake_openai import IGNORE, LOGPROBS_REFUSAL, REJECT, Reply

TEXT = "The lighthouse keeper climbed the stairs at dusk."


@pytest.fixture
def client(fake_endpoint):
    return ChatClient(fake_endpoint)


def settings(model: str = "gpt-4o-mini", **params) -> TurnSettings:
    return TurnSettings(model=model, params=GenerationParams(**params))


def test_a_reply_keeps_its_tokens_apart_from_its_text(store, client, fake_openai):
    fake_openai.default = Reply(text=TEXT, chunk_chars=5)
    cid = store.create_conversation()
    list(send_turn(store, client, cid, settings(logprobs=4, n=2), "go"))
    replies = [m for m in store.messages(cid) if m.role == "assistant"]
    assert len(replies) == 2
    info = store.token_info(cid)
    for reply in replies:
        tokens = store.reply_tokens(reply.id)
        assert tokens.text == reply.content and len(tokens) == -(-len(reply.content) // 5)
        assert tokens.top_k == 4 and info[reply.id].available and info[reply.id].note is None
    # Drawing a conversation never reads them: neither its messages nor its metrics touch the table.
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    sqlalchemy.event.listen(store.engine, "before_cursor_execute", listener)
    try:
        store.messages(cid)
        store.reply_metrics(cid)
    finally:
        sqlalchemy.event.remove(store.engine, "before_cursor_execute", listener)
    assert statements and not any("message_tokens" in s for s in statements)


def test_no_tokens_are_kept_unless_asked(store, client, fake_openai):
    cid = store.create_conversation()
    list(send_turn(store, client, cid, settings(), "go"))
    assert store.token_info(cid) == {}


def test_a_server_that_refuses_logprobs_still_answers_and_the_reason_is_kept(store, client, fake_openai):
    fake_openai.default = Reply(text=TEXT, logprobs=REJECT)
    cid = store.create_conversation()
    list(send_turn(store, client, cid, settings(logprobs=5), "go"))
    reply = store.messages(cid)[-1]
    assert reply.status == "complete" and reply.content == TEXT
    # The stored request is what the server answered: the one without logprobs.
    assert reply.request == fake_openai.last_body and "logprobs" not in reply.request
    (info,) = store.token_info(cid).values()
    assert not info.available and LOGPROBS_REFUSAL in info.note and "sent again without it" in info.note


def test_a_server_that_ignores_logprobs_is_named_as_the_reason(store, client, fake_openai):
    fake_openai.default = Reply(text=TEXT, logprobs=IGNORE)
    cid = store.create_conversation()
    list(send_turn(store, client, cid, settings(logprobs=5), "go"))
    (info,) = store.token_info(cid).values()
    assert info.note == "The server sent no token probabilities: it ignores logprobs."


def test_a_reasoning_model_is_not_asked_and_the_reason_is_the_builders_note(store, client, fake_openai):
    cid = store.create_conversation()
    list(send_turn(store, client, cid, settings("o3-mini", logprobs=5), "go"))
    assert "logprobs" not in fake_openai.last_body
    (info,) = store.token_info(cid).values()
    assert info.note.startswith("logprobs not sent: o3-mini does not accept it")


def test_a_stopped_reply_keeps_the_tokens_that_arrived(store, client, fake_openai):
    fake_openai.default = Reply(text=TEXT, chunk_chars=5, delay_s=0.0)
    cid = store.create_conversation()
    stream = send_turn(store, client, cid, settings(logprobs=2), "go")
    seen = 0
    for event in stream:
        if isinstance(event, TextDelta):
            seen += 1
            if seen == 3:
                break
    stream.close()
    reply = store.messages(cid)[-1]
    assert reply.status == "stopped" and reply.content == TEXT[:15]
    # A chunk's tokens follow its text: stopped in between, the tokens cover all but the last chunk.
    tokens = store.reply_tokens(reply.id)
    assert tokens.text == TEXT[:10]


def test_deleting_a_reply_deletes_its_tokens(store, client, fake_openai):
    cid = store.create_conversation()
    list(send_turn(store, client, cid, settings(logprobs=2), "go"))
    reply = store.messages(cid)[-1]
    store.delete_conversation(cid)
    assert store.reply_tokens(reply.id) is None


def test_json_export_carries_the_tokens_and_an_import_gets_them_back(store, client, fake_openai):
    fake_openai.default = Reply(text="<b>x</b> =1+1 你好 " + TEXT, chunk_chars=3)
    cid = store.create_conversation()
    list(send_turn(store, client, cid, settings(logprobs=3), "go"))
    fake_openai.default = Reply(text=TEXT, logprobs=IGNORE)
    list(send_turn(store, client, cid, settings(logprobs=3), "again"))
    first, second = [m for m in store.messages(cid) if m.role == "assistant"]
    data = export_conversation(store, cid, "json")
    document = json.loads(data)
    exported = [m for m in document["messages"] if m["role"] == "assistant"]
    content = exported[0]["logprobs"]["content"]
    assert "".join(t["token"] for t in content) == first.content
    assert set(content[0]) == {"token", "logprob", "top_logprobs"}
    assert exported[1]["logprobs"] == {"content": None, "note": store.token_info(cid)[second.id].note}
    # One token per line, not one number per line.
    lines = data.decode().splitlines()
    token_lines = [line for line in lines if line.lstrip().startswith('{"token": ')]
    assert len(token_lines) == len(content) and all('"top_logprobs": [{' in line for line in token_lines)

    new_id = import_transcript(store, data, "chat.json")
    copies = [m for m in store.messages(new_id) if m.role == "assistant"]
    assert store.reply_tokens(copies[0].id) == store.reply_tokens(first.id)
    info = store.token_info(new_id)
    assert info[copies[1].id].note == store.token_info(cid)[second.id].note
    assert export_conversation(store, new_id, "json").count(b'"top_logprobs"') == data.count(
        b'"top_logprobs"'
    )


def test_an_import_with_broken_token_data_is_refused_whole(tmp_path):
    store = Store(tmp_path / "import.sqlite3")
    document = {
        "format": "chatlab-transcript",
        "version": 1,
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": "yo",
                "logprobs": {"content": [{"token": "yo", "logprob": "x"}]},
            },
        ],
    }
    from chatlab.transcript import TranscriptError

    with pytest.raises(TranscriptError, match="Message 2: logprobs: token 0"):
        import_transcript(store, json.dumps(document).encode(), "bad.json")
    document["messages"][1]["logprobs"] = "lots"
    with pytest.raises(TranscriptError, match="logprobs must be an object"):
        import_transcript(store, json.dumps(document).encode(), "bad.json")
    assert store.list_conversations() == []
