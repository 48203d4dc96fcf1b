"""A scriptable OpenAI Chat Completions server on 127.0.0.1, for tests and manual runs.

The openai SDK 3.x talks through httpx2, which respx-style mocks do not intercept (FACTS.md), so tests
point the real SDK at this loopback server through `base_url` instead. It runs the SDK's real SSE parser,
error mapping and retries.

    with FakeOpenAI() as fake:
        fake.script(Reply(text="Hi"), Reply(status=429, headers={"retry-after": "2"}))
        ...  # an Endpoint(base_url=fake.base_url, ...)
        fake.requests[-1].body["temperature"]

Tests that need requests to overlap, or a reply to stay open, say so with events instead of timing:
`Reply(hold=event, hold_after=3)` sends three chunks and waits until the test sets `event`;
`fake.barrier(3)` holds each request until three are in flight together; `fake.in_flight` counts the
requests being answered right now (`peak_in_flight` the most at once), and `fake.wait_for(lambda f: …)`
waits until a condition on the fake holds (requests, in-flight, disconnects) without polling.

Standalone: `python -m tests.fake_openai --port 8765 --text "..." --delay 0.01`.

Token probabilities: a request with `logprobs: true` gets `logprobs.content` in the OpenAI wire format,
one token per content chunk (streamed and not), `top_logprobs` alternatives each: every fourth token is
the runner-up, the others the likeliest (`Reply.token_logprobs` scripts the entries instead). A reply
with `logprobs=REJECT` answers such a request 400 as a reasoning model does (error.param "logprobs",
code "unsupported_parameter"); with `logprobs=IGNORE` it never sends any.

Usage counts it reports (when the reply has `usage=True` and no `usage_values`): prompt tokens = the number
of whitespace-separated words across all request message contents; completion tokens = the number of
content chunks sent (reasoning chunks included), summed over choices.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests import fake_models

DEFAULT_TEXT = "Hello from the fake server."
# What a reply does with a request for token probabilities.
ANSWER, REJECT, IGNORE = "answer", "reject", "ignore"
LOGPROBS_REFUSAL = "logprobs is not supported with this model."
DEFAULT_MODELS = ("gpt-4o-mini", "fake-model")

# status -> (type, code, default message), after OpenAI's own error bodies.
_STATUS_ERRORS = {
    400: ("invalid_request_error", None, "Invalid request (fake server)."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided (fake server)."),
    403: ("permission_denied", "permission_denied", "You are not allowed to use this model (fake server)."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist (fake server)."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests (fake server)."),
}


@dataclass
class Reply:
    """How the fake answers one chat completion request."""

    text: str = DEFAULT_TEXT
    chunk_chars: int = 8  # characters per streamed delta
    # The content deltas themselves (choice 0), e.g. one word each to pair with `token_logprobs`; they
    # replace `text` for that choice. None: `text` cut into `chunk_chars` pieces.
    chunks: tuple[str, ...] | None = None
    delay_s: float = 0.0  # sleep between chunks
    first_delay_s: float = 0.0  # sleep before the first chunk (streaming: after the headers)
    usage: bool = True  # send usage (streaming: only when the request asks with include_usage)
    usage_values: tuple[int, int] | None = None  # (prompt, completion) override
    cut_after: int | None = None  # close the connection after this many content chunks, no finish, no [DONE]
    status: int = 200  # anything else: an OpenAI error body with this status
    error_message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers (e.g. retry-after)
    finish_reason: str = "stop"
    ignore_n: bool = False  # streaming: answer one choice whatever `n` asks for, as llama.cpp's server does
    reasoning: str = ""  # streamed first as delta.reasoning_content, like DeepSeek
    stream_error_after: int | None = None  # after this many content chunks send an SSE {"error": ...} event
    chunked: bool = False  # stream with Transfer-Encoding: chunked; a cut then breaks the framing
    id: str = "chatcmpl-fake"
    system_fingerprint: str = "fp_fake"
    # Answer this many words drawn at random — from a generator seeded by the request's `seed` when the
    # model honours it — instead of `text` (see tests/fake_models.py).
    random_words: int = 0
    hold: threading.Event | None = None  # wait until the test sets it, after `hold_after` content chunks
    hold_after: int = 0
    logprobs: str = ANSWER  # ANSWER, REJECT (400 naming logprobs) or IGNORE (never send any)
    # Scripted `logprobs.content` entries, one per content chunk (choice 0; other choices get generated
    # ones); None: generated from the chunk texts.
    token_logprobs: list[dict] | None = None


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # keys lowercased
    body: object | None  # parsed JSON, or None when there was no (valid JSON) body


Responder = Callable[[RecordedRequest], "Reply | None"]

_SEEDED_WORDS = "the a sea ship light keeper night storm bright cold wave harbour rope lamp old long".split()


def seeded_replies(words: int = 24, fingerprint: str = "fp_fake") -> Responder:
    """A responder that samples like a model honouring `seed`: the same seed (and messages) gives the same
    words, no seed gives fresh random ones each time."""
    fresh = random.Random()
    lock = threading.Lock()

    def respond(record: RecordedRequest) -> Reply:
        body = record.body if isinstance(record.body, dict) else {}
        if body.get("seed") is not None:
            rng = random.Random(json.dumps([body["seed"], body.get("messages")], sort_keys=True))
        else:
            with lock:
                rng = random.Random(fresh.random())
        text = " ".join(rng.choice(_SEEDED_WORDS) for _ in range(words)) + "."
        return Reply(text=text, system_fingerprint=fingerprint)

    return respond


def _split(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)]


def token_entry(text: str, position: int, k: int) -> dict:
    """The generated logprobs entry of one content chunk: the chunk is the token; every fourth position
    chose the runner-up. With k = 1 the runner-up is outside the listed top-k, as OpenAI then sends it."""
    # A proper distribution: the j-th likeliest has probability 0.55 · 0.4^j (a little less further on).
    ranked = [math.log(0.55) + j * math.log(0.4) - 0.05 * (position % 5) for j in range(max(k, 2))]
    rank = 1 if position % 4 == 3 else 0
    names = [f"alt{j}" for j in range(len(ranked))]
    names[rank] = text
    top = [{"token": names[j], "logprob": ranked[j], "bytes": None} for j in range(k)]
    return {"token": text, "logprob": ranked[rank], "bytes": list(text.encode()), "top_logprobs": top}


def _top_k(body: dict) -> int | None:
    """The top-k a request asks for, or None when it asks for no token probabilities."""
    if body.get("logprobs") is not True:
        return None
    top = body.get("top_logprobs")
    return top if isinstance(top, int) and not isinstance(top, bool) and top >= 0 else 0


def _prompt_words(body: dict) -> int:
    """Words in the prompt, standing for its tokens: Chat Completions' messages, or the Responses API's
    instructions and input (a plain string or a list of items)."""
    items = body.get("messages")
    if items is None:
        given = body.get("input")
        items = [{"content": given}] if isinstance(given, str) else (given or [])
    total = len(str(body.get("instructions") or "").split())
    for message in items:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):  # content parts
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        total += len(str(content or "").split())
    return total


ALTERNATION_ERROR = "Conversation roles must alternate user/assistant/user/assistant/..."


def _alternates(messages: list) -> bool:
    """An optional system message first, then user/assistant alternating, starting and ending with user."""
    roles = [m.get("role") if isinstance(m, dict) else None for m in messages]
    if roles[:1] == ["system"]:
        roles = roles[1:]
    return (
        bool(roles)
        and all(role == ("user" if i % 2 == 0 else "assistant") for i, role in enumerate(roles))
        and roles[-1] == "user"
    )


class _Stopped(Exception):
    """The fake is shutting down; the handler abandons its reply."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection frees its thread after this long
    server: _Server

    def log_message(self, *args) -> None:
        """Quiet: tests read `fake.requests` instead of a log."""

    # ---- plumbing -------------------------------------------------------------------------------

    def _record(self) -> RecordedRequest:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        self.server.fake._add_request(record)
        return record

    def _send_json(self, status: int, payload: object, extra_headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra_headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error_body(
        self,
        status: int,
        message: str | None,
        extra_headers: dict[str, str] | None = None,
        *,
        param: str | None = None,
        code: str | None = None,
    ):
        default = ("server_error", None, f"The fake server had an error ({status}).")
        err_type, default_code, default_message = _STATUS_ERRORS.get(status, default)
        body = {
            "error": {
                "message": message or default_message,
                "type": err_type,
                "param": param,
                "code": code or default_code,
            }
        }
        self._send_json(status, body, extra_headers)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0 and self.server.fake._stopping.wait(seconds):
            raise _Stopped

    def _hold(self, event: threading.Event) -> None:
        """Wait until the test sets `event`; give up at once when the fake stops."""
        stopping = self.server.fake._stopping
        while not event.wait(0.05):
            if stopping.is_set():
                raise _Stopped

    def _guard(self, handler: Callable[[], None]) -> None:
        if self.server.fake._stopping.is_set():
            # A pooled keep-alive connection outlived stop(): answer nothing, as a stopped server would.
            self.close_connection = True
            return
        try:
            handler()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            # The client went away (Stop pressed, timeout): count it so tests can see the reply was dropped.
            self.close_connection = True
            self.server.fake._count_disconnect()
        except _Stopped:
            self.close_connection = True

    # ---- routes ---------------------------------------------------------------------------------

    def do_GET(self):
        self._guard(self._get)

    def do_POST(self):
        self._guard(self._post)

    def _get(self):
        self._record()
        fake = self.server.fake
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/v1/models":
            if fake.models_status != 200:
                self._send_error_body(fake.models_status, None)
                return
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in fake.models]
            self._send_json(200, {"object": "list", "data": data})
        elif path.startswith("/v1/models/"):
            model = path.rsplit("/", 1)[-1]
            if model in fake.models:
                self._send_json(200, {"id": model, "object": "model", "created": 0, "owned_by": "fake"})
            else:
                self._send_error_body(404, f"The model `{model}` does not exist")
        else:
            self._send_error_body(404, f"Unknown path {self.path}")

    def _post(self):
        record = self._record()
        path = self.path.split("?", 1)[0].rstrip("/")
        if path not in (fake_models.CHAT, fake_models.RESPONSES):
            self._send_error_body(404, f"Unknown path {self.path}")
            return
        fake = self.server.fake
        fake._enter()
        self._answered = False
        try:
            if not fake._pass_barrier():
                self._last_bytes()
                self._send_error_body(
                    500, "The fake's barrier broke: fewer requests arrived together than the test expected."
                )
                return
            self._answer(record, path)
        finally:
            self._last_bytes()

    def _last_bytes(self) -> None:
        """The request stops counting as in flight: called right before the last bytes of its answer go
        out, so a client that has read its whole answer can never find it still counted (a pool of two
        workers never shows three in flight)."""
        if not self._answered:
            self._answered = True
            self.server.fake._leave()

    def _answer(self, record: RecordedRequest, path: str) -> None:
        body = record.body if isinstance(record.body, dict) else {}
        kind = self.server.fake.kinds.get(body.get("model"), fake_models.CHAT_MODEL)
        if refused := fake_models.refusal(kind, path, body):
            self._send_error_body(refused.status, refused.message, param=refused.param, code=refused.code)
            return
        if self.server.fake.strict_alternation and not _alternates(body.get("messages") or []):
            # What vLLM answers for a model whose chat template requires alternation (Llama-2, Mistral,
            # Gemma): the template raises, the server says 400. The request is not answered otherwise.
            self._send_error_body(400, ALTERNATION_ERROR)
            return
        reply = self.server.fake._next_reply(record)
        if reply.logprobs == REJECT and ("logprobs" in body or "top_logprobs" in body):
            # What OpenAI answers a reasoning model's request that asks for token probabilities (FACTS).
            self._send_error_body(400, LOGPROBS_REFUSAL, param="logprobs", code="unsupported_parameter")
            return
        if reply.status != 200:
            self._sleep(reply.first_delay_s)
            self._last_bytes()
            self._send_error_body(reply.status, reply.error_message, reply.headers)
            return
        self._kind = kind
        body = fake_models.honoured(kind, body)  # what the model ignores is as good as absent
        if path == fake_models.RESPONSES:
            self._stream(reply, body, self._responses_events)
        elif body.get("stream"):
            self._stream(reply, body, self._stream_events)
        else:
            self._complete(reply, body)

    # ---- replies --------------------------------------------------------------------------------

    @staticmethod
    def _choice_texts(reply: Reply, n: int, body: dict | None = None) -> list[str]:
        return fake_models.shaped_texts(reply.text, reply.random_words, body or {}, n)

    def _usage(self, reply: Reply, body: dict, completion_chunks: int) -> dict:
        if reply.usage_values is not None:
            prompt, completion = reply.usage_values
        else:
            prompt, completion = _prompt_words(body), completion_chunks
        reasoning = fake_models.reasoning_tokens(self._kind, body)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion + reasoning,
            "total_tokens": prompt + completion + reasoning,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        }

    def _plans(self, reply: Reply, body: dict, n: int) -> tuple[list[list[tuple]], list[str]]:
        """Per choice: the deltas to send (reasoning first, DeepSeek style, then content; a content chunk
        carries its token's logprobs entry when the request asked for them) and the finish reason; a token
        cap (max_tokens …) cuts the content, one chunk per token, and finishes "length"."""
        cap = fake_models.token_cap(body)
        plans, finishes = [], []
        for i, text in enumerate(self._choice_texts(reply, n, body)):
            pieces = (
                list(reply.chunks) if reply.chunks is not None and i == 0 else _split(text, reply.chunk_chars)
            )
            finish = reply.finish_reason
            if cap is not None and len(pieces) > cap:
                pieces, finish = pieces[:cap], "length"
            entries = self._token_entries(reply, body, i, pieces) or [None] * len(pieces)
            steps = [("reasoning_content", p, None) for p in _split(reply.reasoning, reply.chunk_chars)]
            plans.append(steps + [("content", p, e) for p, e in zip(pieces, entries, strict=True)])
            finishes.append(finish)
        return plans, finishes

    @staticmethod
    def _token_entries(reply: Reply, body: dict, choice: int, pieces: list[str]) -> list[dict] | None:
        """The logprobs.content entries of one choice's content chunks; None when none are to be sent."""
        k = _top_k(body)
        if k is None or reply.logprobs != ANSWER:
            return None
        if reply.token_logprobs is not None and choice == 0:
            return [reply.token_logprobs[i % len(reply.token_logprobs)] for i in range(len(pieces))]
        return [token_entry(piece, position, k) for position, piece in enumerate(pieces)]

    def _complete(self, reply: Reply, body: dict) -> None:
        self._sleep(reply.first_delay_s)
        if reply.hold is not None:
            self._hold(reply.hold)
        n = int(body.get("n") or 1)
        plans, finishes = self._plans(reply, body, n)
        choices = []
        for i, steps in enumerate(plans):
            text = "".join(piece for key, piece, _ in steps if key == "content")
            message: dict = {"role": "assistant", "content": text, "refusal": None}
            if reply.reasoning:
                message["reasoning_content"] = reply.reasoning
            entries = [e for key, _, e in steps if key == "content" and e is not None]
            logprobs = {"content": entries, "refusal": None} if entries else None
            choices.append(
                {"index": i, "message": message, "finish_reason": finishes[i], "logprobs": logprobs}
            )
        chunks = sum(len(steps) for steps in plans)
        payload = {
            "id": reply.id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or "fake-model",
            "system_fingerprint": reply.system_fingerprint,
            "choices": choices,
        }
        if reply.usage:
            payload["usage"] = self._usage(reply, body, chunks)
        self._last_bytes()
        self._send_json(200, payload, reply.headers)

    def _stream(self, reply: Reply, body: dict, events) -> None:
        # By default no Content-Length and no chunked encoding: the body ends when the connection closes,
        # so a cut (cut_after) ends the stream cleanly, as FACTS describes (no exception in the SDK).
        # With reply.chunked a cut leaves the chunked framing unfinished, which the SDK reports as an
        # APIConnectionError instead.
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.flush()
        self._cut = False
        events(reply, body)
        if reply.chunked and not self._cut:
            self.wfile.write(b"0\r\n\r\n")  # the last-chunk marker; a cut leaves it out

    def _stream_events(self, reply: Reply, body: dict) -> None:
        n = 1 if reply.ignore_n else int(body.get("n") or 1)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        base = {
            "id": reply.id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model") or "fake-model",
            "system_fingerprint": reply.system_fingerprint,
        }
        prefix = b"data: "
        if reply.chunked:
            raw_write = self.wfile.write

            def write(data: bytes) -> None:
                raw_write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            write = self.wfile.write

        def send(choices: list[dict], **extra) -> None:
            event = {**base, "choices": choices, "usage": None, **extra}
            write(prefix + json.dumps(event).encode() + b"\n\n")

        self._sleep(reply.first_delay_s)
        # The first chunk carries only the role, as OpenAI does.
        send(
            [
                {"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                for i in range(n)
            ]
        )

        # Deltas: reasoning first (DeepSeek style), then content; one chunk per choice per step. A content
        # chunk carries its token's logprobs when the request asked for them.
        plans, finishes = self._plans(reply, body, n)
        sent = 0
        for step in range(max((len(p) for p in plans), default=0)):
            for i, steps in enumerate(plans):
                if step >= len(steps):
                    continue
                if reply.cut_after is not None and sent >= reply.cut_after:
                    self._cut = True
                    self._last_bytes()
                    return  # close abruptly: no finish chunk, no [DONE]
                if reply.stream_error_after is not None and sent >= reply.stream_error_after:
                    error = {
                        "message": reply.error_message or "The fake server failed mid-stream",
                        "type": "server_error",
                        "param": None,
                        "code": None,
                    }
                    self._last_bytes()
                    write(prefix + json.dumps({"error": error}).encode() + b"\n\n")
                    return
                if reply.hold is not None and sent == reply.hold_after:
                    self.wfile.flush()
                    self._hold(reply.hold)
                if sent and reply.delay_s:
                    self._sleep(reply.delay_s)
                key, piece, entry = steps[step]
                choice = {"index": i, "delta": {key: piece}, "finish_reason": None}
                if entry is not None:
                    choice["logprobs"] = {"content": [entry], "refusal": None}
                send([choice])
                sent += 1
        if reply.cut_after is not None and sent >= reply.cut_after:
            self._cut = True
            self._last_bytes()
            return
        for i in range(n):
            send([{"index": i, "delta": {}, "finish_reason": finishes[i]}])
        if reply.usage and include_usage:
            # As OpenAI does: the usage chunk comes last with an empty choices list.
            send([], usage=self._usage(reply, body, sent))
        self._last_bytes()
        write(b"data: [DONE]\n\n")

    def _responses_events(self, reply: Reply, body: dict) -> None:
        """The Responses API's typed event stream: created, text deltas, then completed (or incomplete)."""
        number = 0

        def send(kind: str, **payload) -> None:
            nonlocal number
            event = {"type": kind, "sequence_number": number, **payload}
            number += 1
            self.wfile.write(f"event: {kind}\ndata: {json.dumps(event)}\n\n".encode())

        response = {
            "id": "resp_fake",
            "object": "response",
            "created_at": int(time.time()),
            "model": body.get("model") or "fake-model",
            "status": "in_progress",
            "output": [],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        }
        self._sleep(reply.first_delay_s)
        send("response.created", response=response)
        plans, finishes = self._plans(reply, body, 1)
        sent = 0
        for key, piece, _ in plans[0]:
            if reply.hold is not None and sent == reply.hold_after:
                self.wfile.flush()
                self._hold(reply.hold)
            if reply.cut_after is not None and sent >= reply.cut_after:
                self._cut = True
                return
            if sent and reply.delay_s:
                self._sleep(reply.delay_s)
            kind = (
                "response.reasoning_summary_text.delta"
                if key == "reasoning_content"
                else "response.output_text.delta"
            )
            send(kind, item_id="msg_fake", output_index=0, content_index=0, delta=piece, logprobs=[])
            sent += 1
        usage = self._usage(reply, body, sent)
        done = {
            **response,
            "status": "completed" if finishes[0] == "stop" else "incomplete",
            "incomplete_details": None if finishes[0] == "stop" else {"reason": "max_output_tokens"},
            "usage": {
                "input_tokens": usage["prompt_tokens"],
                "output_tokens": usage["completion_tokens"],
                "total_tokens": usage["total_tokens"],
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": usage["completion_tokens_details"],
            }
            if reply.usage
            else None,
        }
        send("response.completed" if finishes[0] == "stop" else "response.incomplete", response=done)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for handlers sleeping in a long delay
    allow_reuse_address = True
    request_queue_size = 128  # many concurrent clients
    fake: FakeOpenAI


class FakeOpenAI:
    """An OpenAI-compatible server on 127.0.0.1 at a free port, serving from a daemon thread."""

    def __init__(
        self,
        models: Iterable[str] = DEFAULT_MODELS,
        default: Reply | None = None,
        port: int = 0,
        kinds: dict[str, fake_models.ModelKind] | None = None,
    ):
        self.models: list[str] = list(models)
        # How each model behaves (tests/fake_models.py); a model not listed is a plain chat model.
        self.kinds: dict[str, fake_models.ModelKind] = dict(kinds or {})
        self.models_status = 200  # set to e.g. 401 to make GET /v1/models fail
        # Like vLLM serving a model whose chat template requires alternation: anything else gets a 400.
        self.strict_alternation = False
        self.default: Reply = default or Reply()
        self.requests: list[RecordedRequest] = []
        self.disconnects = 0  # replies abandoned because the client hung up mid-way
        self.in_flight = 0  # chat completion requests received and not yet answered in full
        self.peak_in_flight = 0  # the most that were ever answered at once
        self._queue: deque[Reply] = deque()
        self._responder: Responder | None = None
        self._barrier: threading.Barrier | None = None
        # Reentrant: a wait_for condition may read properties that take the lock themselves.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.fake = self
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        """Serve in a daemon thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                daemon=True,
                name="fake-openai",
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; handlers in a delay, a hold or the barrier give up at once."""
        self._stopping.set()
        with self._lock:
            if self._barrier is not None:
                self._barrier.abort()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- scripting ------------------------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next chat completion requests, in order; then `default` applies."""
        with self._lock:
            self._queue.extend(replies)

    def script_fn(self, responder: Responder | None) -> None:
        """Decide per request: called first; returning None falls through to the queue, then `default`."""
        with self._lock:
            self._responder = responder

    def barrier(self, parties: int | None, timeout_s: float = 60.0) -> None:
        """Hold each chat request until `parties` of them are in flight together, then answer them all;
        None removes it. A barrier that waits longer than `timeout_s` breaks, and the requests held at it
        (and every later one) get a 500 that names it, so a test that expected more overlap fails."""
        with self._lock:
            self._barrier = threading.Barrier(parties, timeout=timeout_s) if parties else None

    def _pass_barrier(self) -> bool:
        with self._lock:
            barrier = self._barrier
        if barrier is None:
            return True
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return False
        return True

    def wait_for(self, condition: Callable[[FakeOpenAI], bool], timeout_s: float = 60.0) -> None:
        """Wait until `condition(fake)` holds; re-checked whenever a request arrives, starts or ends, or a
        client hangs up. AssertionError (with the fake's counts) if it does not hold within `timeout_s`."""
        with self._changed:
            if not self._changed.wait_for(lambda: condition(self), timeout=timeout_s):
                raise AssertionError(
                    f"the fake never reached the expected state: {len(self.chat_requests)} chat requests,"
                    f" {self.in_flight} in flight (peak {self.peak_in_flight}), {self.disconnects} disconnects"
                )

    def _next_reply(self, record: RecordedRequest) -> Reply:
        with self._lock:
            responder = self._responder
        if responder is not None:
            reply = responder(record)
            if reply is not None:
                return reply
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    # ---- recording ------------------------------------------------------------------------------

    def _count_disconnect(self) -> None:
        with self._changed:
            self.disconnects += 1
            self._changed.notify_all()

    def _add_request(self, record: RecordedRequest) -> None:
        with self._changed:
            self.requests.append(record)
            self._changed.notify_all()

    def _enter(self) -> None:
        with self._changed:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self._changed.notify_all()

    def _leave(self) -> None:
        with self._changed:
            self.in_flight -= 1
            self._changed.notify_all()

    @classmethod
    def openai_like(cls, **kwargs) -> FakeOpenAI:
        """A fake that lists OpenAI's catalogue, most of it not chat models, with their behaviours."""
        return cls(models=sorted(fake_models.OPENAI_CATALOGUE), kinds=fake_models.OPENAI_CATALOGUE, **kwargs)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The recorded POST /v1/chat/completions and /v1/responses requests, oldest first."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == "POST" and r.path.startswith(("/v1/chat/completions", "/v1/responses"))
            ]

    @property
    def last_body(self) -> dict:
        """The JSON body of the latest chat completion request."""
        chats = self.chat_requests
        if not chats:
            raise AssertionError("the fake received no chat completion request")
        return chats[-1].body  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> None:
    """Serve the default reply forever (for manual runs and screenshots)."""
    parser = argparse.ArgumentParser(description="A fake OpenAI Chat Completions server on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--text", default=DEFAULT_TEXT)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--first-delay", type=float, default=0.0, help="seconds before the first chunk")
    parser.add_argument("--chunk-chars", type=int, default=8)
    parser.add_argument("--reasoning", default="", help="reasoning_content streamed before the text")
    parser.add_argument("--no-usage", action="store_true", help="never send usage (like llama.cpp)")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated model ids")
    parser.add_argument(
        "--strict-alternation", action="store_true", help="answer 400 unless user/assistant alternate (vLLM)"
    )
    parser.add_argument(
        "--logprobs",
        choices=(ANSWER, REJECT, IGNORE),
        default=ANSWER,
        help="what a request for token probabilities gets: them, a 400 (reasoning model), or nothing",
    )
    args = parser.parse_args(argv)
    reply = Reply(
        text=args.text,
        delay_s=args.delay,
        first_delay_s=args.first_delay,
        chunk_chars=args.chunk_chars,
        reasoning=args.reasoning,
        usage=not args.no_usage,
        logprobs=args.logprobs,
    )
    fake = FakeOpenAI(models=[m for m in args.models.split(",") if m], default=reply, port=args.port)
    fake.strict_alternation = args.strict_alternation
    fake.start()
    print(f"Fake OpenAI server at {fake.base_url} (Ctrl+C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
