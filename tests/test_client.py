"""ChatClient against the loopback fake: what a user of the page would notice."""

from __future__ import annotations

import dataclasses
import http.client
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from chatlab.client import PLACEHOLDER_KEY, Cancel, ChatClient
from chatlab.endpoint import Endpoint
from chatlab.events import Finish, KeyNotice, ReasoningDelta, StreamDone, StreamError, TextDelta, Usage
from chatlab.keys import KeyPool
from chatlab.params import GenerationParams
from chatlab.request import Request, build_request
from chatlab.tokens import count_message_tokens, count_tokens
from tests.fake_openai import FakeOpenAI, RecordedRequest, Reply
from tests.test_keys import FakeClock

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello to the test suite please"},
]
LONG_TEXT = "The quick brown fox jumps over the lazy dog. " * 10


def run(client: ChatClient, model: str = "gpt-4o-mini", params: GenerationParams | None = None) -> list:
    return list(client.stream(build_request(model, MESSAGES, params or GenerationParams())))


def text_of(events: list, choice: int = 0) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta) and e.choice == choice)


def done_of(events: list) -> StreamDone:
    """The StreamDone, after checking it is the one and only last event."""
    assert isinstance(events[-1], StreamDone)
    assert sum(isinstance(e, StreamDone) for e in events) == 1
    return events[-1]


def errors_of(events: list) -> list[StreamError]:
    return [e for e in events if isinstance(e, StreamError)]


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback URL that refuses connections: a port this test keeps bound without listening, so no
    other process on a busy machine can start listening on it meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


# ---- normal replies -------------------------------------------------------------------------------


def test_stream_reassembles_text_and_reports_server_usage(fake_openai, fake_endpoint):
    fake_openai.script(Reply(text=LONG_TEXT, usage_values=(21, 13)))
    events = run(ChatClient(fake_endpoint), params=GenerationParams(temperature=0.3, max_tokens=100))

    assert text_of(events) == LONG_TEXT
    done = done_of(events)
    assert done.usage == Usage(prompt_tokens=21, completion_tokens=13, estimated=False)
    assert done.finish_reasons == {0: "stop"}
    assert not done.interrupted
    assert done.error is None
    assert (done.model, done.response_id, done.system_fingerprint) == (
        "gpt-4o-mini",
        "chatcmpl-fake",
        "fp_fake",
    )
    assert done.timings.ttft_s is not None and done.timings.duration_s >= done.timings.ttft_s
    assert Finish(0, "stop") in events

    body = fake_openai.last_body
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 100
    assert "top_p" not in body and "presence_penalty" not in body and "seed" not in body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == MESSAGES
    assert fake_openai.chat_requests[-1].headers["authorization"] == "Bearer sk-test-1234"


def test_usage_chunk_with_empty_choices_arrives_after_finish(fake_openai, fake_endpoint):
    # The fake sends usage like OpenAI: a last chunk with "choices": [] (reading choices[0] would crash).
    events = run(ChatClient(fake_endpoint))
    usage_events = [e for e in events if isinstance(e, Usage)]
    assert len(usage_events) == 1
    assert events.index(usage_events[0]) > events.index(Finish(0, "stop"))
    assert done_of(events).usage == usage_events[0]


def test_missing_usage_is_estimated(fake_openai, fake_endpoint):
    fake_openai.script(Reply(text=LONG_TEXT, usage=False))
    events = run(ChatClient(fake_endpoint))

    assert not any(isinstance(e, Usage) for e in events)
    usage = done_of(events).usage
    assert usage.estimated
    assert usage.prompt_tokens == count_message_tokens(MESSAGES)
    assert usage.completion_tokens == count_tokens(LONG_TEXT)
    assert 50 < usage.completion_tokens < 200  # ~100 tokens of English


@pytest.mark.parametrize("reason", ["length", "content_filter"])
def test_finish_reason_is_reported(fake_openai, fake_endpoint, reason):
    fake_openai.script(Reply(finish_reason=reason))
    events = run(ChatClient(fake_endpoint))
    assert Finish(0, reason) in events
    done = done_of(events)
    assert done.finish_reasons == {0: reason}
    assert not done.interrupted


def test_n_choices_are_separate(fake_openai, fake_endpoint):
    events = run(ChatClient(fake_endpoint), params=GenerationParams(n=3))

    texts = [text_of(events, i) for i in range(3)]
    assert texts[0] == "Hello from the fake server."
    assert len(set(texts)) == 3
    assert done_of(events).finish_reasons == {0: "stop", 1: "stop", 2: "stop"}
    assert fake_openai.last_body["n"] == 3


def test_reasoning_content_is_streamed_before_the_answer(fake_openai, fake_endpoint):
    fake_openai.script(Reply(reasoning="Let me think about greetings.", text="Hello!"))
    events = run(ChatClient(fake_endpoint), model="deepseek-reasoner")

    reasoning = [e for e in events if isinstance(e, ReasoningDelta)]
    assert "".join(e.text for e in reasoning) == "Let me think about greetings."
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert events.index(reasoning[-1]) < first_text
    assert text_of(events) == "Hello!"


def test_reasoning_model_gets_max_completion_tokens_and_no_sampling(fake_openai, fake_endpoint):
    params = GenerationParams(temperature=0.7, top_p=0.9, max_tokens=100)
    events = run(ChatClient(fake_endpoint), model="o3-mini", params=params)

    assert done_of(events).error is None
    body = fake_openai.last_body
    assert body["model"] == "o3-mini"
    assert body["max_completion_tokens"] == 100
    assert "max_tokens" not in body and "temperature" not in body and "top_p" not in body


# ---- errors ---------------------------------------------------------------------------------------


def test_401_is_an_auth_error(fake_openai, fake_endpoint):
    fake_openai.script(Reply(status=401, error_message="Incorrect API key provided: sk-te...1234."))
    events = run(ChatClient(fake_endpoint))

    assert len(events) == 2
    error, done = events
    assert isinstance(error, StreamError)
    assert (error.kind, error.status, error.retryable) == ("auth", 401, False)
    assert error.message == "Incorrect API key provided: sk-te...1234."
    assert done_of(events).error == error
    assert done.interrupted


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"retry-after": "7"}, 7.0), ({"retry-after-ms": "1500"}, 1.5), ({}, None)],
)
def test_429_is_a_rate_limit_with_retry_after(fake_openai, fake_endpoint, headers, expected):
    fake_openai.script(Reply(status=429, headers=headers))
    (error,) = errors_of(run(ChatClient(fake_endpoint)))
    assert (error.kind, error.status, error.retryable) == ("rate_limit", 429, True)
    assert error.retry_after == expected


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (400, "bad_request", False),
        (403, "permission", False),
        (404, "not_found", False),
        (500, "server", True),
        (503, "server", True),
    ],
)
def test_status_errors_map_to_kinds(fake_openai, fake_endpoint, status, kind, retryable):
    fake_openai.script(Reply(status=status))
    events = run(ChatClient(fake_endpoint))
    (error,) = errors_of(events)
    assert (error.kind, error.status, error.retryable) == (kind, status, retryable)
    assert error.message  # the fake's error body message
    assert done_of(events).error == error


def test_timeout_is_reported(fake_openai, fake_endpoint):
    fake_openai.script(Reply(first_delay_s=3))
    endpoint = dataclasses.replace(fake_endpoint, timeout_s=0.3)
    events = run(ChatClient(endpoint))

    (error,) = errors_of(events)
    assert (error.kind, error.retryable) == ("timeout", True)
    assert "0.3 s" in error.message
    assert done_of(events).timings.ttft_s is None


def test_connection_refused_is_reported(refused_url):
    url = refused_url
    events = run(ChatClient(Endpoint(base_url=url, max_retries=0, timeout_s=5)))

    (error,) = errors_of(events)
    assert (error.kind, error.status, error.retryable) == ("connection", None, True)
    assert url in error.message
    done = done_of(events)
    assert done.finish_reasons == {0: None} and done.interrupted


def test_cut_stream_keeps_partial_text_and_is_interrupted(fake_openai, fake_endpoint):
    # The SDK ends a cut stream without an exception (FACTS); only the missing finish_reason tells.
    fake_openai.script(Reply(text=LONG_TEXT, chunk_chars=10, cut_after=3))
    events = run(ChatClient(fake_endpoint))

    assert text_of(events) == LONG_TEXT[:30]
    assert not errors_of(events)
    done = done_of(events)
    assert done.interrupted
    assert done.finish_reasons == {0: None}
    assert done.usage.estimated


def test_cut_chunked_stream_is_a_connection_error_after_partial_text(fake_openai, fake_endpoint):
    # Behind chunked encoding the same cut breaks the framing, and the SDK raises instead.
    fake_openai.script(Reply(text=LONG_TEXT, chunk_chars=10, cut_after=3, chunked=True))
    events = run(ChatClient(fake_endpoint))

    assert text_of(events) == LONG_TEXT[:30]
    (error,) = errors_of(events)
    assert error.kind == "connection"
    assert "during the reply" in error.message
    assert done_of(events).interrupted


def test_error_event_mid_stream_keeps_partial_text(fake_openai, fake_endpoint):
    fake_openai.script(
        Reply(text=LONG_TEXT, chunk_chars=10, stream_error_after=2, error_message="overloaded")
    )
    events = run(ChatClient(fake_endpoint))

    assert text_of(events) == LONG_TEXT[:20]
    (error,) = errors_of(events)
    assert (error.kind, error.status, error.message) == ("api", None, "overloaded")
    first_error = events.index(error)
    assert all(not isinstance(e, TextDelta) for e in events[first_error:])
    done = done_of(events)
    assert done.error == error and done.interrupted


def test_closing_the_stream_early_stops_quietly(fake_openai, fake_endpoint):
    fake_openai.script(Reply(text=LONG_TEXT * 20, chunk_chars=4, delay_s=0.01))
    client = ChatClient(fake_endpoint)
    gen = client.stream(build_request("gpt-4o-mini", MESSAGES, GenerationParams()))

    assert isinstance(next(gen), TextDelta)
    gen.close()  # the Stop button
    with pytest.raises(StopIteration):
        next(gen)
    # The connection was dropped, so the server stops generating.
    fake_openai.wait_for(lambda f: f.disconnects == 1 and f.in_flight == 0)
    # The client is still usable afterwards.
    events = run(client)
    assert text_of(events) == "Hello from the fake server."


@pytest.mark.parametrize("chunked", [False, True], ids=["closed-body", "chunked-body"])
def test_a_cancelled_stream_ends_without_a_summary_that_would_call_it_cut(
    fake_openai, fake_endpoint, monkeypatch, chunked
):
    """Cancel (Stop, from another thread) shuts the socket, then closes the response. A busy machine can run
    the reading thread between the two: it then reads the end of the socket, which for a body framed by the
    connection's close is a clean end of the stream. That is still a stop, never a StreamDone saying the
    server ended the reply early (the page would show 'interrupted' for the user's own Stop)."""
    import chatlab.client as client_module

    def shut_only(response):  # the window between the two steps, held open
        response.response.extensions["network_stream"].get_extra_info("socket").shutdown(socket.SHUT_RDWR)

    monkeypatch.setattr(client_module, "_drop_connection", shut_only)
    never = threading.Event()
    fake_openai.script(
        Reply(text="first words, then silence", chunk_chars=6, hold=never, hold_after=2, chunked=chunked)
    )
    cancel = Cancel()
    events = []
    request = build_request("gpt-4o-mini", MESSAGES, GenerationParams())
    for event in ChatClient(fake_endpoint).stream(request, cancel):
        events.append(event)
        if sum(isinstance(e, TextDelta) for e in events) == 2:
            cancel()  # the read now blocked on the held reply returns at once
    never.set()
    assert text_of(events) == "first words,"
    assert not [e for e in events if isinstance(e, StreamDone | StreamError)]


# ---- client setup ---------------------------------------------------------------------------------


def test_no_key_sends_a_placeholder_and_endpoint_headers(fake_openai, fake_endpoint):
    endpoint = dataclasses.replace(fake_endpoint, api_keys=(), headers=(("X-Team", "lab"),))
    client = ChatClient(endpoint)
    assert client.key_pool is None
    run(client)
    headers = fake_openai.chat_requests[-1].headers
    assert headers["authorization"] == f"Bearer {PLACEHOLDER_KEY}"
    assert headers["x-team"] == "lab"


def test_list_models(fake_openai, fake_endpoint):
    fake_openai.models = ["zeta", "alpha", "gpt-4o-mini"]
    client = ChatClient(fake_endpoint)
    assert client.list_models() == ["alpha", "gpt-4o-mini", "zeta"]
    assert client.last_error is None

    fake_openai.models_status = 401
    assert client.list_models() == []
    assert client.last_error is not None and client.last_error.kind == "auth"


def test_list_models_when_server_is_down(refused_url):
    client = ChatClient(Endpoint(base_url=refused_url, max_retries=0))
    assert client.list_models() == []
    assert client.last_error is not None and client.last_error.kind == "connection"


# ---- proxy ----------------------------------------------------------------------------------------


class _ForwardProxy(ThreadingHTTPServer):
    """A plain HTTP forward proxy: takes absolute-URI requests and relays them, streaming the answer."""

    daemon_threads = True
    block_on_close = False

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.seen: list[str] = []  # request lines, e.g. "POST http://127.0.0.1:PORT/v1/chat/completions"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # the relayed body ends when the connection closes

    def log_message(self, *args) -> None:
        pass

    def do_GET(self):
        self._forward()

    def do_POST(self):
        self._forward()

    def _forward(self) -> None:
        self.server.seen.append(f"{self.command} {self.path}")
        target = urlsplit(self.path)  # absolute URI: this is what makes it a proxy request
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")
        }
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        try:
            upstream.request(self.command, target.path or "/", body=body, headers=headers)
            reply = upstream.getresponse()
            self.send_response(reply.status)
            for key, value in reply.getheaders():
                if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                    self.send_header(key, value)
            self.send_header("Connection", "close")
            self.end_headers()
            while piece := reply.read1(65536):
                self.wfile.write(piece)
                self.wfile.flush()
        finally:
            upstream.close()


def test_requests_go_through_the_configured_proxy(fake_openai, fake_endpoint):
    proxy = _ForwardProxy()
    thread = threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        endpoint = dataclasses.replace(fake_endpoint, proxy=proxy.url)
        events = run(ChatClient(endpoint))
    finally:
        proxy.shutdown()
        proxy.server_close()

    assert text_of(events) == "Hello from the fake server."
    assert done_of(events).error is None
    assert proxy.seen == [f"POST {fake_openai.base_url}/chat/completions"]
    assert len(fake_openai.chat_requests) == 1


# ---- key pool: rotation and failover --------------------------------------------------------------

KEY_A, KEY_B, KEY_C = "sk-alpha-key-AAAA", "sk-bravo-key-BBBB", "sk-charlie-key-CCCC"


def key_of(request: RecordedRequest) -> str:
    return request.headers["authorization"].removeprefix("Bearer ")


def keys_seen(fake: FakeOpenAI) -> list[str]:
    return [key_of(r) for r in fake.chat_requests]


def answer_by_key(statuses: dict[str, int], echo_key: bool = False):
    """A responder: each key gets its status (200 when not listed); 429s say retry-after: 30."""

    def respond(request: RecordedRequest) -> Reply:
        key = key_of(request)
        status = statuses.get(key, 200)
        if status == 429:
            return Reply(status=429, headers={"retry-after": "30"})
        if status != 200:
            # Some servers echo the whole key back; ours must not pass it on.
            return Reply(
                status=status, error_message=f"Incorrect API key provided: {key}" if echo_key else None
            )
        return Reply(text=f"Hello from {key[-4:]}", usage_values=(11, 7))

    return respond


def notices_of(events: list) -> list[str]:
    return [e.message for e in events if isinstance(e, KeyNotice)]


def test_keys_rotate_per_request(fake_openai, fake_endpoint):
    endpoint = dataclasses.replace(fake_endpoint, api_keys=(KEY_A, KEY_B, KEY_C))
    client = ChatClient(endpoint)
    for _ in range(6):
        assert done_of(run(client)).error is None
    assert keys_seen(fake_openai) == [KEY_A, KEY_B, KEY_C, KEY_A, KEY_B, KEY_C]
    assert [s.requests for s in client.key_pool.stats()] == [2, 2, 2]
    assert all(s.completion_tokens > 0 and s.prompt_tokens > 0 for s in client.key_pool.stats())


def test_sdk_retries_are_off_with_several_keys(fake_endpoint):
    several = ChatClient(dataclasses.replace(fake_endpoint, api_keys=(KEY_A, KEY_B), max_retries=3))
    one = ChatClient(dataclasses.replace(fake_endpoint, api_keys=(KEY_A,), max_retries=3))
    none = ChatClient(dataclasses.replace(fake_endpoint, api_keys=(), max_retries=3))
    assert several.openai_client(KEY_A).max_retries == 0
    assert one.openai_client(KEY_A).max_retries == 3
    assert none.openai_client(None).max_retries == 3


def test_failover_past_a_rate_limited_and_a_rejected_key(fake_openai, fake_endpoint):
    clock = FakeClock()
    # max_retries=2 on the endpoint: the SDK's own retries would show as repeated requests with KEY_A.
    endpoint = dataclasses.replace(fake_endpoint, api_keys=(KEY_A, KEY_B, KEY_C), max_retries=2)
    client = ChatClient(endpoint, key_pool=KeyPool(endpoint.api_keys, clock=clock))
    statuses = {KEY_A: 429, KEY_B: 401}
    fake_openai.script_fn(answer_by_key(statuses))

    events = run(client)

    assert keys_seen(fake_openai) == [KEY_A, KEY_B, KEY_C]
    assert notices_of(events) == [
        "Key …AAAA is rate limited (resting 30 s); trying key …BBBB.",
        "Key …BBBB was rejected (401, invalid key) and is disabled; trying key …CCCC.",
    ]
    assert text_of(events) == "Hello from CCCC"
    assert not errors_of(events)
    done = done_of(events)
    assert done.error is None and not done.interrupted
    assert done.usage == Usage(11, 7)
    # The notices come before any text.
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(i < first_text for i, e in enumerate(events) if isinstance(e, KeyNotice))

    a, b, c = client.key_pool.stats()
    assert (a.requests, a.rate_limited, a.errors, a.state) == (1, 1, 1, "resting 30 s")
    assert (b.requests, b.errors, b.state) == (1, 1, "disabled: invalid key")
    assert b.last_error == "Incorrect API key provided (fake server)."
    assert (c.requests, c.prompt_tokens, c.completion_tokens, c.errors, c.state) == (1, 11, 7, 0, "ready")
    assert client.key_pool.drain_notices() == [
        "Key …AAAA is rate limited; resting 30 s.",
        "Key …BBBB was disabled (invalid key): Incorrect API key provided (fake server).",
    ]

    # The next request skips the resting and the disabled key.
    events = run(client)
    assert notices_of(events) == []
    assert text_of(events) == "Hello from CCCC"
    assert keys_seen(fake_openai)[3:] == [KEY_C]

    # Once retry-after has passed, KEY_A is back in the rotation (and now it works).
    clock.advance(30)
    statuses.pop(KEY_A)
    assert client.key_pool.stats()[0].state == "ready"
    assert text_of(run(client)) == "Hello from AAAA"
    assert text_of(run(client)) == "Hello from CCCC"
    assert keys_seen(fake_openai)[4:] == [KEY_A, KEY_C]
    assert [s.requests for s in client.key_pool.stats()] == [2, 1, 3]


def test_all_keys_exhausted_is_a_no_key_error(fake_openai, fake_endpoint):
    endpoint = dataclasses.replace(fake_endpoint, api_keys=(KEY_A, KEY_B, KEY_C))
    client = ChatClient(endpoint, key_pool=KeyPool(endpoint.api_keys, clock=FakeClock()))
    fake_openai.script_fn(answer_by_key({KEY_A: 429, KEY_B: 401, KEY_C: 403}))

    events = run(client)

    assert keys_seen(fake_openai) == [KEY_A, KEY_B, KEY_C]
    assert len(notices_of(events)) == 2
    assert isinstance(events[-2], StreamError) and isinstance(events[-1], StreamDone)
    (error,) = errors_of(events)
    assert error.kind == "no_key"
    assert error.message == (
        "All 3 API keys are unusable: …AAAA resting for 30 s (rate limited), …BBBB disabled (invalid key), "
        "…CCCC disabled (permission denied)."
    )
    assert (error.retryable, error.retry_after, error.status) == (True, 30, None)
    done = done_of(events)
    assert done.error == error and done.interrupted
    assert text_of(events) == ""

    # With nothing usable, the next request does not reach the server at all.
    events = run(client)
    assert len(fake_openai.chat_requests) == 3
    assert [type(e) for e in events] == [StreamError, StreamDone]
    assert events[0].kind == "no_key"


def test_all_keys_rejected_is_a_no_key_error_that_waiting_will_not_fix(fake_openai, fake_endpoint):
    endpoint = dataclasses.replace(fake_endpoint, api_keys=(KEY_A, KEY_B))
    client = ChatClient(endpoint)
    fake_openai.script_fn(answer_by_key({KEY_A: 401, KEY_B: 401}))
    (error,) = errors_of(run(client))
    assert error.kind == "no_key"
    assert (
        error.message
        == "All 2 API keys are unusable: …AAAA disabled (invalid key), …BBBB disabled (invalid key)."
    )
    assert (error.retryable, error.retry_after) == (False, None)


@pytest.mark.parametrize(
    "reply",
    [Reply(status=429, headers={"retry-after": "7"}), Reply(status=401), Reply(status=403)],
)
def test_a_single_key_keeps_the_servers_error_and_the_next_request_still_goes_out(
    fake_openai, fake_endpoint, reply
):
    client = ChatClient(fake_endpoint)
    fake_openai.script(reply)

    events = run(client)
    (error,) = errors_of(events)
    assert error.status == reply.status  # the server's own error: nothing to fail over to
    assert notices_of(events) == []

    assert done_of(run(client)).error is None  # the only key is never withheld
    assert len(fake_openai.chat_requests) == 2
    (s,) = client.key_pool.stats()
    assert (s.requests, s.errors, s.state) == (2, 1, "ready")


@pytest.mark.parametrize(
    "reply",
    [
        Reply(status=500),
        Reply(status=400),
        Reply(text=LONG_TEXT, chunk_chars=10, stream_error_after=2),  # after text: the user saw it
    ],
)
def test_other_errors_are_not_retried_with_another_key(fake_openai, fake_endpoint, reply):
    endpoint = dataclasses.replace(fake_endpoint, api_keys=(KEY_A, KEY_B))
    client = ChatClient(endpoint)
    fake_openai.script(reply)

    events = run(client)

    assert keys_seen(fake_openai) == [KEY_A]
    assert notices_of(events) == []
    (error,) = errors_of(events)
    a, b = client.key_pool.stats()
    assert (a.requests, a.errors, a.last_error, a.state) == (1, 1, error.message, "ready")
    assert b.requests == 0


def test_a_broken_stream_after_text_is_not_retried(fake_openai, fake_endpoint):
    # The user already saw the text: another key would repeat it.
    endpoint = dataclasses.replace(fake_endpoint, api_keys=(KEY_A, KEY_B))
    client = ChatClient(endpoint)
    fake_openai.script(Reply(text=LONG_TEXT, chunk_chars=10, cut_after=2, chunked=True))
    events = run(client)
    assert text_of(events) == LONG_TEXT[:20]
    assert errors_of(events)[0].kind == "connection"
    assert keys_seen(fake_openai) == [KEY_A]


def test_stopping_a_reply_counts_it_for_its_key(fake_openai, fake_endpoint):
    endpoint = dataclasses.replace(fake_endpoint, api_keys=(KEY_A, KEY_B))
    client = ChatClient(endpoint)
    fake_openai.script(Reply(text=LONG_TEXT * 5, chunk_chars=4, delay_s=0.01))
    gen = client.stream(build_request("gpt-4o-mini", MESSAGES, GenerationParams()))
    assert isinstance(next(gen), TextDelta)
    gen.close()
    a, _ = client.key_pool.stats()
    assert (a.requests, a.errors, a.state) == (1, 0, "ready")
    assert a.prompt_tokens > 0 and a.completion_tokens >= 1


def test_list_models_uses_a_pool_key_without_counting_it_or_taking_a_chat_turn(fake_openai, fake_endpoint):
    endpoint = dataclasses.replace(fake_endpoint, api_keys=(KEY_A, KEY_B))
    client = ChatClient(endpoint)
    assert client.list_models() == ["fake-model", "gpt-4o-mini"]
    assert client.list_models() == ["fake-model", "gpt-4o-mini"]
    model_requests = [r for r in fake_openai.requests if r.path.startswith("/v1/models")]
    assert [key_of(r) for r in model_requests] == [KEY_A, KEY_A]
    assert [s.requests for s in client.key_pool.stats()] == [0, 0]
    list(client.stream(build_request("gpt-4o-mini", [{"role": "user", "content": "hi"}], GenerationParams())))
    assert key_of(fake_openai.chat_requests[-1]) == KEY_A  # the chat rotation starts where it was

    # A failing listing does not touch the keys' state (chat requests decide that).
    fake_openai.models_status = 401
    assert client.list_models() == []
    assert client.last_error.kind == "auth"
    assert [s.state for s in client.key_pool.stats()] == ["ready", "ready"]


def test_list_models_with_no_usable_key(fake_openai, fake_endpoint):
    client = ChatClient(dataclasses.replace(fake_endpoint, api_keys=(KEY_A, KEY_B)))
    client.key_pool.report_auth_failure(KEY_A, 401, "bad")
    client.key_pool.report_rate_limited(KEY_B, 30)
    assert client.list_models() == []
    assert client.last_error.kind == "no_key"
    assert fake_openai.requests == []


def test_concurrent_streams_through_one_client_spread_over_the_keys(fake_openai, fake_endpoint):
    keys = ("sk-k1-0001", "sk-k2-0002", "sk-k3-0003")
    endpoint = dataclasses.replace(fake_endpoint, api_keys=keys)
    client = ChatClient(endpoint)
    fake_openai.default = Reply(text=LONG_TEXT, chunk_chars=20, delay_s=0.005, usage_values=(5, 3))
    start = threading.Barrier(16)

    def one(_: int) -> list:
        start.wait()
        return run(client)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, range(16)))

    for events in results:
        assert text_of(events) == LONG_TEXT
        assert done_of(events).error is None
    seen = keys_seen(fake_openai)
    assert len(seen) == 16
    stats = client.key_pool.stats()
    for key, s in zip(keys, stats, strict=True):
        assert abs(seen.count(key) - 16 / len(keys)) <= 1
        assert s.requests == seen.count(key)
        assert (s.prompt_tokens, s.completion_tokens) == (5 * s.requests, 3 * s.requests)
    assert sum(s.requests for s in stats) == 16


# ---- key pool: secrets ----------------------------------------------------------------------------

CANARY = "sk-CANARY-SECRET-0000-abcd"


def test_canary_key_never_appears_in_our_output(fake_openai, fake_endpoint):
    endpoint = dataclasses.replace(fake_endpoint, api_keys=(CANARY, KEY_B))
    client = ChatClient(endpoint)
    # The server echoes the whole key in its 401 message, and then KEY_B is rate limited.
    fake_openai.script_fn(answer_by_key({CANARY: 401, KEY_B: 429}, echo_key=True))
    first = run(client)
    second = run(client)  # no key left
    fake_openai.script_fn(None)

    single = ChatClient(dataclasses.replace(fake_endpoint, api_keys=(CANARY,)))
    fake_openai.script(Reply(status=401, error_message=f"Incorrect API key provided: {CANARY}"))
    third = run(single)

    errors = errors_of(first) + errors_of(second) + errors_of(third)
    assert [e.kind for e in errors] == ["no_key", "no_key", "auth"]
    assert errors[-1].message == "Incorrect API key provided: …abcd"  # the server's text, key masked
    texts = [e.message for e in errors] + notices_of(first)
    texts += [repr(e) for e in first + second + third]
    for pool in (client.key_pool, single.key_pool):
        texts += [repr(pool), str(pool)]
        texts += [str(v) for s in pool.stats() for v in dataclasses.astuple(s)]
        texts += pool.notices_since(0)[0]
    texts += [repr(endpoint), repr(client.last_error)]
    assert any("…abcd" in t for t in texts)
    for text in texts:
        assert "CANARY-SECRET" not in text, text


# The Responses API and reasoning models ----------------------------------------------------------------


@pytest.fixture
def openai_like():
    fake = FakeOpenAI.openai_like().start()
    try:
        yield fake
    finally:
        fake.stop()


def _client(fake: FakeOpenAI) -> ChatClient:
    return ChatClient(
        Endpoint(base_url=fake.base_url, api_keys=("sk-test-1234",), max_retries=0, timeout_s=5)
    )


def test_a_responses_only_model_streams_through_the_responses_api(openai_like):
    from chatlab.request import RESPONSES, build_request

    openai_like.default = Reply(text="Answered by the Responses API.", usage_values=(9, 5))
    request = build_request(
        "gpt-5-pro", MESSAGES, GenerationParams(reasoning_effort="high", max_tokens=64), protocol=RESPONSES
    )
    events = list(_client(openai_like).stream(request))
    assert text_of(events) == "Answered by the Responses API."
    done = done_of(events)
    assert done.error is None and done.finish_reasons == {0: "stop"}
    # The model's reasoning tokens (twice its usual at "high") are counted in the completion, and apart.
    assert (done.usage.prompt_tokens, done.usage.completion_tokens, done.usage.reasoning_tokens) == (
        9,
        5 + 256,
        256,
    )
    sent = openai_like.requests[-1]
    assert sent.path == "/v1/responses" and sent.body["reasoning"] == {"effort": "high"}
    assert sent.body["max_output_tokens"] == 64 and sent.body["input"] == MESSAGES


def test_a_capped_responses_reply_finishes_with_length(openai_like):
    from chatlab.request import RESPONSES, build_request

    openai_like.default = Reply(text=LONG_TEXT, chunk_chars=5)
    request = build_request("gpt-4.1-mini", MESSAGES, GenerationParams(max_tokens=3), protocol=RESPONSES)
    done = done_of(list(_client(openai_like).stream(request)))
    assert done.finish_reasons == {0: "length"} and not done.interrupted


def test_the_catalogue_answers_like_openai(openai_like):
    from chatlab.request import build_request

    client = _client(openai_like)
    assert client.list_models()[0] == "babbage-002"
    not_chat = done_of(list(client.stream(build_request("babbage-002", MESSAGES, GenerationParams()))))
    assert not_chat.error.status == 404 and "not a chat model" in not_chat.error.message
    responses_only = done_of(list(client.stream(build_request("gpt-5-pro", MESSAGES, GenerationParams()))))
    assert (
        responses_only.error.status == 404
        and "only supported in v1/responses" in responses_only.error.message
    )
    # Sending max_tokens to a reasoning model by hand (a stored body, say) gets the API's 400.
    refused = done_of(
        list(
            client.stream(
                Request(body={"model": "o4-mini", "messages": MESSAGES, "max_tokens": 5, "stream": True})
            )
        )
    )
    assert refused.error.status == 400 and "max_completion_tokens" in refused.error.message
    # Built by Chat Lab, the same settings are sent in the form the model takes, and it answers.
    fine = done_of(
        list(
            client.stream(build_request("o4-mini", MESSAGES, GenerationParams(max_tokens=5, temperature=0.2)))
        )
    )
    assert fine.error is None and fine.usage.reasoning_tokens == 64
