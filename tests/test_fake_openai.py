"""The loopback fake itself: recording, scripting, errors, concurrency."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.fake_openai import FakeOpenAI, Reply


def post(fake: FakeOpenAI, body: dict, headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/v1/chat/completions",
            body=json.dumps(body),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def sse_events(raw: bytes) -> list:
    out = []
    for block in raw.decode().split("\n\n"):
        if block.startswith("data: "):
            data = block[len("data: ") :]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


CHAT = {"model": "m", "messages": [{"role": "user", "content": "one two three"}]}


def test_records_requests_with_lowercased_headers(fake_openai):
    post(fake_openai, {**CHAT, "temperature": 0.5}, {"Authorization": "Bearer sk-x", "X-Custom": "1"})
    (record,) = fake_openai.requests
    assert (record.method, record.path) == ("POST", "/v1/chat/completions")
    assert record.headers["authorization"] == "Bearer sk-x"
    assert record.headers["x-custom"] == "1"
    assert record.body["temperature"] == 0.5


def test_non_streaming_completion(fake_openai):
    status, headers, raw = post(fake_openai, {**CHAT, "n": 2})
    assert status == 200 and headers["content-type"] == "application/json"
    data = json.loads(raw)
    assert data["object"] == "chat.completion" and data["model"] == "m"
    assert [c["message"]["content"] for c in data["choices"]] == [
        "Hello from the fake server.",
        "Hello from the fake server. [choice 1]",
    ]
    assert data["usage"]["prompt_tokens"] == 3  # words in the request messages


def test_streaming_wire_format(fake_openai):
    fake_openai.script(Reply(text="abcdefghij", chunk_chars=4))
    status, headers, raw = post(
        fake_openai, {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    )
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    events = sse_events(raw)
    assert events[-1] == "[DONE]"
    usage_chunk = events[-2]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] == 3
    contents = [c["choices"][0]["delta"].get("content") for c in events[:-2] if c["choices"]]
    assert "".join(filter(None, contents)) == "abcdefghij"
    assert events[-3]["choices"][0]["finish_reason"] == "stop"


def test_no_usage_chunk_unless_asked(fake_openai):
    _, _, raw = post(fake_openai, {**CHAT, "stream": True})
    assert all(e == "[DONE]" or e["choices"] for e in sse_events(raw))


def test_scripted_replies_in_order_then_default(fake_openai):
    fake_openai.script(Reply(text="first"), Reply(text="second"))
    texts = [json.loads(post(fake_openai, CHAT)[2])["choices"][0]["message"]["content"] for _ in range(3)]
    assert texts == ["first", "second", "Hello from the fake server."]


def test_status_reply_has_openai_error_body_and_headers(fake_openai):
    fake_openai.script(Reply(status=429, error_message="slow down", headers={"retry-after": "2"}))
    status, headers, raw = post(fake_openai, CHAT)
    assert status == 429
    assert headers["retry-after"] == "2"
    error = json.loads(raw)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"] == "slow down"


def test_script_fn_decides_by_authorization(fake_openai):
    def by_key(record):
        return Reply(status=401) if record.headers.get("authorization") == "Bearer bad" else None

    fake_openai.script_fn(by_key)
    assert post(fake_openai, CHAT, {"Authorization": "Bearer bad"})[0] == 401
    assert post(fake_openai, CHAT, {"Authorization": "Bearer good"})[0] == 200


def test_models_and_unknown_paths(fake_openai):
    conn = http.client.HTTPConnection("127.0.0.1", fake_openai.port, timeout=10)
    conn.request("GET", "/v1/models")
    data = json.loads(conn.getresponse().read())
    assert [m["id"] for m in data["data"]] == ["gpt-4o-mini", "fake-model"]
    conn.request("GET", "/v1/nothing")
    resp = conn.getresponse()
    assert resp.status == 404 and "error" in json.loads(resp.read())
    conn.close()


def test_survives_concurrent_clients_and_disconnects(fake_openai):
    fake_openai.default = Reply(text="x" * 400, chunk_chars=4, delay_s=0.001)
    # A few clients hang up mid-stream.
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", fake_openai.port), timeout=10) as sock:
            body = json.dumps({**CHAT, "stream": True}).encode()
            sock.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + b"Content-Length: %d\r\n\r\n" % len(body)
                + body
            )
            sock.recv(256)
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: post(fake_openai, {**CHAT, "stream": True}), range(40)))
    assert all(status == 200 and sse_events(raw)[-1] == "[DONE]" for status, _, raw in results)
    assert len(fake_openai.chat_requests) == 45


def test_stop_closes_its_own_socket_and_thread():
    # Its own socket, not "is the port free": on a busy machine another process may take the port at once.
    fake = FakeOpenAI().start()
    thread = fake._thread
    fake.stop()
    assert fake._server.socket.fileno() == -1 and not thread.is_alive()


def test_a_held_reply_sends_its_first_chunks_then_waits_for_the_test(fake_openai):
    release = threading.Event()
    fake_openai.script(Reply(text="abcdefgh", chunk_chars=2, hold=release, hold_after=2))
    conn = http.client.HTTPConnection("127.0.0.1", fake_openai.port, timeout=10)
    conn.request("POST", "/v1/chat/completions", body=json.dumps({**CHAT, "stream": True}))
    response = conn.getresponse()
    seen = b""
    while seen.count(b'"content"') < 3:  # the role chunk, then two content chunks
        seen += response.read1(4096)
    fake_openai.wait_for(lambda f: f.in_flight == 1)
    assert b'"ef"' not in seen  # held: the rest comes only once released
    release.set()
    seen += response.read()
    conn.close()
    contents = [c["choices"][0]["delta"].get("content") for c in sse_events(seen)[:-1] if c["choices"]]
    assert "".join(filter(None, contents)) == "abcdefgh"
    fake_openai.wait_for(lambda f: f.in_flight == 0)


def test_the_barrier_answers_only_when_enough_requests_are_in_flight_together(fake_openai):
    fake_openai.barrier(3)
    with ThreadPoolExecutor(max_workers=3) as pool:
        first = [pool.submit(post, fake_openai, CHAT) for _ in range(2)]
        fake_openai.wait_for(lambda f: f.in_flight == 2)
        assert not any(future.done() for future in first)  # two of three: held at the barrier
        third = pool.submit(post, fake_openai, CHAT)
        assert [future.result()[0] for future in [*first, third]] == [200, 200, 200]
    assert fake_openai.peak_in_flight == 3


def test_a_barrier_that_never_fills_fails_the_requests_loudly(fake_openai):
    fake_openai.barrier(2, timeout_s=0.5)
    status, _, raw = post(fake_openai, CHAT)
    assert status == 500 and "barrier" in json.loads(raw)["error"]["message"]


def test_wait_for_gives_up_with_the_fakes_counts(fake_openai):
    with pytest.raises(AssertionError, match="0 chat requests, 0 in flight"):
        fake_openai.wait_for(lambda f: len(f.chat_requests) == 1, timeout_s=0.1)
