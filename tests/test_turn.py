"""The one path a message takes: request, stream, and the store written as the reply grows."""

import pytest

from chatlab.client import ChatClient
from chatlab.events import StreamDone, TextDelta
from chatlab.params import GenerationParams
from chatlab.store import COMPLETE, ERROR, INTERRUPTED, STOPPED, STREAMING, Store
from chatlab.turn import TurnSettings, send_turn
from tests.fake_openai import Reply


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "turn.sqlite3")


@pytest.fixture
def client(fake_endpoint):
    return ChatClient(fake_endpoint)


SETTINGS = TurnSettings(
    model="gpt-4o-mini", system_prompt="Be brief.", role_name="Concise", context_depth=None
)


def run(events):
    return list(events)


def test_user_message_is_stored_before_the_request_and_the_reply_row_exists(store, client, fake_openai):
    cid = store.create_conversation()
    seen_at_request = []

    def look(request):
        seen_at_request.append([(m.role, m.status, m.content) for m in store.messages(cid)])
        return None  # fall back to the default reply

    fake_openai.script_fn(look)
    run(send_turn(store, client, cid, SETTINGS, "hello there"))
    assert seen_at_request == [[("user", COMPLETE, "hello there"), ("assistant", STREAMING, "")]]
    reply = store.messages(cid)[-1]
    assert (reply.status, reply.content, reply.finish_reason) == (
        COMPLETE,
        "Hello from the fake server.",
        "stop",
    )
    assert store.get_conversation(cid).title == "hello there"


def test_the_reply_is_written_while_it_streams(store, client, fake_openai):
    fake_openai.default = Reply(text="abcdefghij" * 10, chunk_chars=10)
    cid = store.create_conversation()
    grown = []
    for event in send_turn(store, client, cid, SETTINGS, "go", write_interval_s=0):
        if isinstance(event, TextDelta):
            grown.append(len(store.messages(cid)[-1].content))
    assert grown[-1] > grown[0] > 0  # the database saw the reply grow, not only the end


def test_closing_the_stream_early_keeps_the_partial_reply_as_stopped(store, client, fake_openai):
    fake_openai.default = Reply(text="word " * 200, chunk_chars=5, delay_s=0.01)
    cid = store.create_conversation()
    events = send_turn(store, client, cid, SETTINGS, "long please")
    for count, _event in enumerate(events):
        if count == 5:
            break
    events.close()  # what the Stop button (a Streamlit rerun) does
    reply = store.messages(cid)[-1]
    assert reply.status == STOPPED and reply.content.startswith("word word")


def test_every_choice_is_stored_and_usage_sits_on_the_first(store, client, fake_openai):
    cid = store.create_conversation()
    settings = TurnSettings(model="gpt-4o-mini", params=GenerationParams(n=3))
    run(send_turn(store, client, cid, settings, "three ways"))
    replies = [m for m in store.messages(cid) if m.role == "assistant"]
    assert [r.choice_index for r in replies] == [0, 1, 2]
    assert len({r.content for r in replies}) == 3
    assert replies[0].completion_tokens and replies[1].completion_tokens is None
    assert fake_openai.last_body["n"] == 3


def test_a_failed_request_keeps_the_user_message_and_retry_replaces_the_reply(store, client, fake_openai):
    fake_openai.script(Reply(status=500, error_message="upstream exploded"))
    cid = store.create_conversation()
    events = run(send_turn(store, client, cid, SETTINGS, "please work"))
    assert events[-1].error.kind == "server"
    user, reply = store.messages(cid)
    assert (user.content, reply.status, reply.error) == ("please work", ERROR, "upstream exploded")

    run(send_turn(store, client, cid, SETTINGS, retry_turn=1))
    messages = store.messages(cid)
    assert [(m.role, m.status) for m in messages] == [("user", COMPLETE), ("assistant", COMPLETE)]
    assert fake_openai.last_body["messages"][-1] == {"role": "user", "content": "please work"}
    assert [m["role"] for m in fake_openai.last_body["messages"]].count("user") == 1


def test_a_cut_stream_is_stored_as_interrupted_with_its_text(store, client, fake_openai):
    fake_openai.script(Reply(text="0123456789" * 5, chunk_chars=10, cut_after=2))
    cid = store.create_conversation()
    done = run(send_turn(store, client, cid, SETTINGS, "go"))[-1]
    assert isinstance(done, StreamDone) and done.interrupted
    reply = store.messages(cid)[-1]
    assert (reply.status, reply.content, reply.finish_reason) == (INTERRUPTED, "0123456789" * 2, None)


def test_missing_usage_is_estimated_and_marked(store, client, fake_openai):
    fake_openai.script(Reply(text="Some words that the server will not count for us.", usage=False))
    cid = store.create_conversation()
    run(send_turn(store, client, cid, SETTINGS, "count yourself"))
    reply = store.messages(cid)[-1]
    assert reply.usage_estimated is True and reply.completion_tokens > 5 and reply.prompt_tokens > 5


def test_cost_is_computed_for_a_priced_model_and_blank_for_an_unknown_one(store, client, fake_openai):
    fake_openai.default = Reply(usage_values=(1_000_000, 1_000_000))
    cid = store.create_conversation()
    run(send_turn(store, client, cid, SETTINGS, "priced"))
    assert store.messages(cid)[-1].cost_usd == pytest.approx(0.15 + 0.60)
    run(send_turn(store, client, cid, TurnSettings(model="mystery-model"), "unpriced"))
    assert store.messages(cid)[-1].cost_usd is None


def test_the_stored_request_record_is_what_the_server_received(store, client, fake_openai):
    cid = store.create_conversation()
    settings = TurnSettings(
        model="gpt-4o-mini",
        params=GenerationParams(temperature=0.2, seed=5),
        system_prompt="S",
        context_depth=2,
    )
    run(send_turn(store, client, cid, settings, "first"))
    run(send_turn(store, client, cid, settings, "second"))
    record = store.messages(cid)[-1].request
    received = fake_openai.last_body
    assert record["messages"] == received["messages"]
    assert (record["temperature"], record["seed"]) == (received["temperature"], received["seed"])
    assert [m["role"] for m in received["messages"]] == ["system", "user", "assistant", "user"]


@pytest.mark.parametrize("reason", ["length", "content_filter"])
def test_length_and_content_filter_finishes_are_recorded(store, client, fake_openai, reason):
    fake_openai.script(Reply(finish_reason=reason))
    cid = store.create_conversation()
    run(send_turn(store, client, cid, SETTINGS, "go"))
    reply = store.messages(cid)[-1]
    assert (reply.status, reply.finish_reason) == (COMPLETE, reason)


def test_an_empty_message_is_refused_before_anything_is_stored(store, client, fake_openai):
    cid = store.create_conversation()
    with pytest.raises(ValueError, match="empty"):
        run(send_turn(store, client, cid, SETTINGS, "  \n "))
    assert store.count_messages(cid) == 0 and fake_openai.chat_requests == []


def test_totals_after_a_failure_a_stop_and_a_reply_are_what_was_billed(tmp_path, client, fake_openai):
    """A 500 is not billed; a stopped reply counts its prompt and the text that arrived (estimated);
    a complete reply counts the server's own usage. The usage table's totals and the CSV agree."""
    from chatlab.csvfile import to_csv_bytes
    from chatlab.tokens import estimate_usage
    from chatlab.transcript import to_dataframe
    from chatlab.usage import totals, turn_usage

    store = Store(tmp_path / "bill.sqlite3")
    cid = store.create_conversation()
    settings = TurnSettings(model="gpt-4o-mini", context_depth=None)
    fake_openai.script(
        Reply(status=500),
        Reply(text="A long answer that the user stops half way through.", chunk_chars=4, delay_s=0.01),
        Reply(text="Short.", usage_values=(42, 7)),
    )
    run(send_turn(store, client, cid, settings, "first"))
    failed = store.messages(cid)[-1]
    assert failed.status == ERROR and failed.prompt_tokens is None and failed.cost_usd is None

    stopping = send_turn(store, client, cid, settings, "second")
    arrived = []
    for event in stopping:
        if isinstance(event, TextDelta):
            arrived.append(event.text)
            if len(arrived) == 3:
                break
    stopping.close()  # what the Stop button does
    stopped = store.messages(cid)[-1]
    assert stopped.status == STOPPED and stopped.content == "".join(arrived) and stopped.usage_estimated
    estimate = estimate_usage(stopped.request["messages"], stopped.content)
    assert (stopped.prompt_tokens, stopped.completion_tokens) == (
        estimate.prompt_tokens,
        estimate.completion_tokens,
    )
    assert stopped.cost_usd is not None and stopped.cost_usd > 0

    run(send_turn(store, client, cid, settings, "third"))
    complete = store.messages(cid)[-1]
    assert (complete.prompt_tokens, complete.completion_tokens, complete.usage_estimated) == (42, 7, False)

    sums = totals(turn_usage(store.reply_metrics(cid)))
    assert sums.prompt_tokens == 42 + estimate.prompt_tokens
    assert sums.completion_tokens == 7 + estimate.completion_tokens
    assert sums.cost_usd == pytest.approx(stopped.cost_usd + complete.cost_usd) and sums.estimated

    conversation = store.get_conversation(cid)
    frame = to_dataframe(conversation, store.messages(cid))
    csv_text = to_csv_bytes(frame).decode("utf-8-sig")
    import csv
    import io

    rows = [r for r in csv.DictReader(io.StringIO(csv_text)) if r["role"] == "assistant"]
    assert sum(int(r["prompt_tokens"] or 0) for r in rows) == sums.prompt_tokens
    assert sum(int(r["completion_tokens"] or 0) for r in rows) == sums.completion_tokens
    assert [r["prompt_tokens"] for r in rows][0] == ""  # the failed request: empty, not 0 and not an estimate


def test_a_reply_closed_before_it_is_read_is_stopped_not_left_streaming(store, client, fake_openai):
    cid = store.create_conversation()
    stream = send_turn(store, client, cid, TurnSettings(model="gpt-4o-mini"), "hello")
    assert [m.role for m in store.messages(cid)] == ["user", "assistant"]  # stored before any read
    stream.close()
    assert store.messages(cid)[-1].status == STOPPED
    assert fake_openai.chat_requests == []  # nothing was sent


def test_a_turn_over_the_responses_api_is_planned_sent_and_stored_as_such(store, client, fake_openai):
    from chatlab.request import RESPONSES

    cid = store.create_conversation()
    settings = TurnSettings(model="gpt-4o-mini", system_prompt="Be brief.", protocol=RESPONSES)
    run(send_turn(store, client, cid, settings, "hello"))
    sent = fake_openai.requests[-1]
    assert sent.path == "/v1/responses" and sent.body["input"][-1] == {"role": "user", "content": "hello"}
    reply = store.messages(cid)[-1]
    assert reply.status == COMPLETE and reply.request == sent.body and reply.content
