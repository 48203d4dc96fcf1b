"""ChatClient against the loopback fake: what a user of the page would notice."""

from __future__ import annotations

import dataclasses
import http.client
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from chatlab.client import PLACEHOLDER_KEY, ChatClient
from chatlab.endpoint import Endpoint
from chatlab.events import Finish, ReasoningDelta, StreamDone, StreamError, TextDelta, Usage
from chatlab.params import GenerationParams
from chatlab.tokens import count_message_tokens, count_tokens
from tests.fake_openai import Reply

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello to the test suite please"},
]
LONG_TEXT = "The quick brown fox jumps over the lazy dog. " * 10


def run(client: ChatClient, model: str = "gpt-4o-mini", params: GenerationParams | None = None) -> list:
    return list(client.stream(model, MESSAGES, params or GenerationParams()))


def text_of(events: list, choice: int = 0) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta) and e.choice == choice)


def done_of(events: list) -> StreamDone:
    """The StreamDone, after checking it is the one and only last event."""
    assert isinstance(events[-1], StreamDone)
    assert sum(isinstance(e, StreamDone) for e in events) == 1
    return events[-1]


def errors_of(events: list) -> list[StreamError]:
    return [e for e in events if isinstance(e, StreamError)]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- normal replies -------------------------------------------------------------------------------


def test_stream_reassembles_text_and_reports_server_usage(fake_openai, fake_endpoint):
    fake_openai.script(Reply(text=LONG_TEXT, usage_values=(21, 13)))
    events = run(ChatClient(fake_endpoint), params=GenerationParams(temperature=0.3, max_tokens=50))

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
    assert body["max_tokens"] == 50
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


def test_connection_refused_is_reported():
    url = f"http://127.0.0.1:{closed_port()}/v1"
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
    gen = client.stream("gpt-4o-mini", MESSAGES, GenerationParams())

    assert isinstance(next(gen), TextDelta)
    gen.close()  # the Stop button
    with pytest.raises(StopIteration):
        next(gen)
    # The connection was dropped, so the server stops generating (liveness only, generous limit).
    deadline = time.monotonic() + 10
    while fake_openai.disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake_openai.disconnects == 1
    # The client is still usable afterwards.
    events = run(client)
    assert text_of(events) == "Hello from the fake server."


# ---- client setup ---------------------------------------------------------------------------------


def test_key_provider_picks_the_key_per_request(fake_openai, fake_endpoint):
    keys = iter(["sk-first", "sk-second"])
    client = ChatClient(fake_endpoint, key_provider=lambda: next(keys))
    run(client)
    run(client)
    seen = [r.headers["authorization"] for r in fake_openai.chat_requests]
    assert seen == ["Bearer sk-first", "Bearer sk-second"]


def test_no_key_sends_a_placeholder_and_endpoint_headers(fake_openai, fake_endpoint):
    endpoint = dataclasses.replace(fake_endpoint, api_keys=(), headers=(("X-Team", "lab"),))
    run(ChatClient(endpoint))
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


def test_list_models_when_server_is_down():
    client = ChatClient(Endpoint(base_url=f"http://127.0.0.1:{closed_port()}/v1", max_retries=0))
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
