"""Token probabilities through ChatClient and the loopback fake: streamed as events, and a server that
refuses or ignores them never costs the user the reply."""

from __future__ import annotations

import math

import openai
import pytest

from chatlab.client import ChatClient
from chatlab.events import ParamDropped, StreamDone, StreamError, TextDelta, TokenLogprobs
from chatlab.params import GenerationParams
from chatlab.request import build_request
from tests.fake_openai import IGNORE, LOGPROBS_REFUSAL, REJECT, Reply, token_entry

MESSAGES = [{"role": "user", "content": "Say something"}]
TEXT = "One two three four five six seven."


def run(client: ChatClient, **params) -> list:
    return list(client.stream(build_request("gpt-4o-mini", MESSAGES, GenerationParams(**params))))


def tokens_of(events: list, choice: int = 0) -> list:
    return [t for e in events if isinstance(e, TokenLogprobs) and e.choice == choice for t in e.tokens]


def text_of(events: list, choice: int = 0) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta) and e.choice == choice)


def test_streamed_token_probabilities_arrive_with_the_text(fake_openai, fake_endpoint):
    fake_openai.default = Reply(text=TEXT, chunk_chars=4)
    events = run(ChatClient(fake_endpoint), logprobs=3, n=2)
    assert fake_openai.last_body["logprobs"] is True and fake_openai.last_body["top_logprobs"] == 3
    for choice in (0, 1):
        tokens = tokens_of(events, choice)
        assert "".join(t.token for t in tokens) == text_of(events, choice)
        assert all(len(t.top) == 3 for t in tokens)
        # Every fourth token was the runner-up; the others the likeliest.
        assert [t.top[0][0] != t.token for t in tokens] == [i % 4 == 3 for i in range(len(tokens))]
    # Each TokenLogprobs follows the TextDelta of its chunk.
    first = next(i for i, e in enumerate(events) if isinstance(e, TokenLogprobs))
    assert isinstance(events[first - 1], TextDelta)
    assert events[-1].error is None


def test_no_token_probabilities_unless_asked(fake_openai, fake_endpoint):
    fake_openai.default = Reply(text=TEXT)
    events = run(ChatClient(fake_endpoint), temperature=0.5)
    assert "logprobs" not in fake_openai.last_body
    assert tokens_of(events) == [] and text_of(events) == TEXT


def test_a_server_that_refuses_logprobs_answers_the_request_without_them(fake_openai, fake_endpoint):
    fake_openai.default = Reply(text=TEXT, logprobs=REJECT)
    events = run(ChatClient(fake_endpoint), logprobs=5, seed=1)
    first, second = fake_openai.chat_requests
    assert first.body["logprobs"] is True
    assert "logprobs" not in second.body and "top_logprobs" not in second.body and second.body["seed"] == 1
    dropped = [e for e in events if isinstance(e, ParamDropped)]
    assert len(dropped) == 1 and dropped[0].name == "logprobs"
    assert dropped[0].body == second.body
    assert LOGPROBS_REFUSAL in dropped[0].note and "sent again without it" in dropped[0].note
    done = events[-1]
    assert isinstance(done, StreamDone) and done.error is None and not done.interrupted
    assert text_of(events) == TEXT and tokens_of(events) == []
    assert not any(isinstance(e, StreamError) for e in events)


def test_a_server_that_ignores_logprobs_sends_the_reply_alone(fake_openai, fake_endpoint):
    fake_openai.default = Reply(text=TEXT, logprobs=IGNORE)
    events = run(ChatClient(fake_endpoint), logprobs=5)
    assert len(fake_openai.chat_requests) == 1 and text_of(events) == TEXT
    assert tokens_of(events) == [] and events[-1].error is None


def test_other_refusals_still_reach_the_user(fake_openai, fake_endpoint):
    fake_openai.default = Reply(status=400, error_message="seed is not supported")
    events = run(ChatClient(fake_endpoint), logprobs=5, seed=1)
    assert len(fake_openai.chat_requests) == 1
    errors = [e for e in events if isinstance(e, StreamError)]
    assert errors and errors[0].kind == "bad_request" and errors[0].status == 400


def test_llama_cpp_quirks_are_tidied(fake_openai, fake_endpoint):
    """llama.cpp lists the chosen token although it is outside the top-k, and may list an empty token."""
    quirky = {
        "token": "Hi",
        "logprob": -4.0,
        "top_logprobs": [
            {"token": "Yo", "logprob": -0.1},
            {"token": "", "logprob": -0.2},
            {"token": "Hi", "logprob": -4.0},
        ],
    }
    fake_openai.default = Reply(text="Hi", chunk_chars=8, token_logprobs=[quirky])
    (token,) = tokens_of(run(ChatClient(fake_endpoint), logprobs=2))
    assert token.token == "Hi" and token.logprob == -4.0
    assert token.top == (("Yo", -0.1), ("", -0.2), ("Hi", -4.0))


def test_the_fake_speaks_the_openai_wire_format_without_streaming(fake_openai):
    fake_openai.default = Reply(text="abcdefgh", chunk_chars=4)
    sdk = openai.OpenAI(base_url=fake_openai.base_url, api_key="sk-x", max_retries=0)
    reply = sdk.chat.completions.create(model="m", messages=MESSAGES, logprobs=True, top_logprobs=2)
    content = reply.choices[0].logprobs.content
    assert [t.token for t in content] == ["abcd", "efgh"]
    assert [a.token for a in content[0].top_logprobs] == ["abcd", "alt1"]
    assert math.isclose(content[0].logprob, content[0].top_logprobs[0].logprob)
    assert content[0].bytes == list(b"abcd")
    plain = sdk.chat.completions.create(model="m", messages=MESSAGES)
    assert plain.choices[0].logprobs is None
    fake_openai.default = Reply(logprobs=REJECT)
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.chat.completions.create(model="m", messages=MESSAGES, logprobs=True, top_logprobs=2)
    assert refused.value.param == "logprobs" and refused.value.code == "unsupported_parameter"
    sdk.close()


def test_top_1_leaves_a_chosen_runner_up_unlisted():
    entry = token_entry("x", 3, 1)
    assert [a["token"] for a in entry["top_logprobs"]] == ["alt0"] and entry["logprob"] < -0.2
