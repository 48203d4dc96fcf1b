"""chatlab.probe: what an endpoint and model really do with each parameter, found by asking."""

from __future__ import annotations

import pytest

from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.params import ACCEPTED, IGNORED, PARAMS, REJECTED, RENAMED, GenerationParams
from chatlab.probe import UNTESTED, estimate, run_probe, stored_capabilities
from chatlab.request import RESPONSES, build_request
from chatlab.store import COMPLETE, Store
from chatlab.turn import TurnSettings, send_turn
from tests.fake_models import REASONING_MODEL, ModelKind
from tests.fake_openai import FakeOpenAI, Reply

COUNT = " ".join(str(i) for i in range(1, 31))


@pytest.fixture
def fake():
    server = FakeOpenAI(
        models=["plain", "reasoner", "sloppy"],
        kinds={
            "reasoner": REASONING_MODEL,
            # Like llama-cpp-python and some gateways: takes these without effect.
            "sloppy": ModelKind(
                ignores=frozenset({"n", "seed", "stop", "max_tokens", "max_completion_tokens"})
            ),
        },
    ).start()
    try:
        yield server
    finally:
        server.stop()


def client_for(fake: FakeOpenAI) -> ChatClient:
    return ChatClient(Endpoint(name="fake", base_url=fake.base_url, api_keys=("sk-probe",), max_retries=0))


def counting_and_varied(fake: FakeOpenAI) -> None:
    """The count prompt gets a count; the open question gets words drawn at random (seeded if honoured)."""

    def answer(request) -> Reply | None:
        asked = (request.body.get("messages") or request.body.get("input"))[-1]["content"]
        if "Count" in asked:
            return Reply(text=COUNT, chunk_chars=3)
        return Reply(random_words=6) if "unusual" in asked else None

    fake.script_fn(answer)


def statuses(report) -> dict[str, str]:
    return {name: f.status for name, f in report.findings.items()}


def test_a_plain_chat_model_takes_everything_and_honours_it(fake):
    counting_and_varied(fake)
    report = run_probe(client_for(fake), "plain")
    assert report.failure is None
    assert set(statuses(report).values()) == {ACCEPTED}, statuses(report)
    assert "equal seeds repeated" in report.findings["seed"].detail
    assert report.requests == len(fake.chat_requests)


def test_a_reasoning_model_rejects_sampling_and_renames_max_tokens(fake):
    counting_and_varied(fake)
    found = run_probe(client_for(fake), "reasoner")
    got = statuses(found)
    assert (
        got["temperature"] == REJECTED
        and "Only the default (1) value" in found.findings["temperature"].detail
    )
    for name in ("top_p", "presence_penalty", "frequency_penalty", "stop"):
        assert got[name] == REJECTED, name
    assert got["max_tokens"] == RENAMED and found.findings["max_tokens"].renamed_to == "max_completion_tokens"
    assert got["max_completion_tokens"] == ACCEPTED and got["reasoning_effort"] == ACCEPTED
    # logprobs is refused too (the client sends it again without): the finding is the server's own words,
    # not the reply note wrapped around them, and the control's note reads as one sentence.
    assert got["logprobs"] == REJECTED
    detail = found.findings["logprobs"].detail
    assert "logprobs" in detail and "sent again" not in detail and "not sent" not in detail
    note = found.capabilities().control_note("logprobs")
    assert note.startswith("reasoner does not accept logprobs (found on ") and ".)" not in note
    # The request builder follows the findings, for a model whose name no table knows.
    caps = found.capabilities()
    request = build_request(
        "reasoner",
        [{"role": "user", "content": "hi"}],
        GenerationParams(temperature=0.3, max_tokens=9),
        capabilities=caps,
    )
    assert "temperature" not in request.body and request.body["max_completion_tokens"] == 9
    assert any("found on" in note and "temperature" in note for note in request.notes)


def test_parameters_a_server_ignores_are_called_ignored(fake):
    counting_and_varied(fake)
    got = statuses(run_probe(client_for(fake), "sloppy"))
    for name in ("n", "seed", "stop", "max_tokens", "max_completion_tokens"):
        assert got[name] == IGNORED, (name, got[name])
    assert got["temperature"] == ACCEPTED


def test_a_model_that_does_not_answer_is_reported_and_nothing_else_is_sent():
    with FakeOpenAI.openai_like() as openai:
        report = run_probe(client_for(openai), "babbage-002")
    assert "not a chat model" in report.failure and report.requests == 1
    assert set(statuses(report).values()) == {UNTESTED}


def test_the_responses_api_says_which_knobs_it_lacks():
    with FakeOpenAI.openai_like() as openai:
        counting_and_varied(openai)
        report = run_probe(client_for(openai), "gpt-5-pro", protocol=RESPONSES)
    got = statuses(report)
    for name in ("n", "seed", "stop", "presence_penalty"):
        assert got[name] == REJECTED and "Responses API" in report.findings[name].detail
    assert got["max_tokens"] == ACCEPTED and got["reasoning_effort"] == ACCEPTED


def test_the_cost_is_known_before_it_runs():
    requests, tokens, cost = estimate("gpt-4o-mini")
    assert requests >= 8 and 0 < tokens < 2_000 and 0 < cost < 0.01
    assert estimate("my-local-model")[2] is None  # no price known: no made-up figure


def test_a_refusal_met_in_a_chat_is_retried_once_without_it_and_remembered(tmp_path, fake):
    store = Store(tmp_path / "r.sqlite3")
    client = client_for(fake)
    settings = TurnSettings(
        model="reasoner", params=GenerationParams(temperature=0.3), findings_key="fake url"
    )
    cid = store.create_conversation()
    events = list(send_turn(store, client, cid, settings, "hello"))
    reply = store.messages(cid)[-1]
    assert reply.status == COMPLETE and "temperature" not in reply.request
    assert any("temperature was refused by the server" in n for n in reply.notes)
    assert [type(e).__name__ for e in events].count("ParamDropped") == 1
    assert [r.body.get("temperature") for r in fake.chat_requests] == [0.3, None]
    # Next time it is left out up front, and the preview says why.
    caps = stored_capabilities(store, "fake url", "reasoner", "chat")
    list(
        send_turn(
            store,
            client,
            cid,
            TurnSettings(model="reasoner", params=settings.params, capabilities=caps),
            "again",
        )
    )
    assert len(fake.chat_requests) == 3 and "temperature" not in fake.last_body
    assert any("temperature not sent" in n for n in store.messages(cid)[-1].notes)


def test_only_one_retry_and_only_for_a_named_parameter(tmp_path, fake):
    store = Store(tmp_path / "o.sqlite3")
    fake.script(Reply(status=400, error_message="Something else is wrong."))
    cid = store.create_conversation()
    list(
        send_turn(
            store,
            client_for(fake),
            cid,
            TurnSettings(model="plain", params=GenerationParams(temperature=0.3)),
            "hi",
        )
    )
    assert len(fake.chat_requests) == 1 and store.messages(cid)[-1].error == "Something else is wrong."


def test_every_parameter_gets_a_finding():
    assert set(PARAMS) >= {"temperature", "seed", "n", "stop", "max_tokens"}
