"""The streaming chat client: the official `openai` SDK in, typed events (chatlab.events) out."""

from __future__ import annotations

import dataclasses
import email.utils
import inspect
import socket
import threading
import time
from collections.abc import Iterator

import openai
from openai.resources.chat.completions import Completions
from openai.resources.responses import Responses

from chatlab.endpoint import Endpoint, mask_key
from chatlab.events import (
    Event,
    Finish,
    KeyNotice,
    ParamDropped,
    ReasoningDelta,
    StreamDone,
    StreamError,
    TextDelta,
    Timings,
    TokenLogprobs,
    Usage,
)
from chatlab.keys import KeyPool, NoUsableKey, seconds_text
from chatlab.request import RESPONSES, Request, without_refused
from chatlab.tokenprobs.record import TokenProb, token_prob
from chatlab.tokens import estimate_usage

# Local servers (llama.cpp, Ollama, LM Studio) ignore the key, but the SDK refuses to start without one.
PLACEHOLDER_KEY = "not-needed"

RETRYABLE_KINDS = frozenset({"rate_limit", "server", "timeout", "connection"})

# Refusals that belong to the key, not the request: another key may succeed (429 rests, 401/403 disable).
KEY_FAILURE_KINDS = frozenset({"rate_limit", "auth", "permission"})


def make_openai_client(
    endpoint: Endpoint, api_key: str | None = None, max_retries: int | None = None
) -> openai.OpenAI:
    """An SDK client for this endpoint and key (placeholder key when none), with its proxy if any.

    `max_retries`: the SDK's own retries; by default `endpoint.max_retries`.
    """
    http_client = None
    if endpoint.proxy:
        # SDK 3.x: DefaultHttpxClient is an httpx2.Client subclass with the SDK's own defaults
        # (timeouts, connection limits, redirects); a bare httpx2.Client would lose them.
        http_client = openai.DefaultHttpxClient(proxy=endpoint.proxy)
    return openai.OpenAI(
        api_key=api_key or PLACEHOLDER_KEY,
        base_url=endpoint.base_url,
        timeout=endpoint.timeout_s,
        max_retries=endpoint.max_retries if max_retries is None else max_retries,
        default_headers=dict(endpoint.headers) or None,
        http_client=http_client,
    )


def _retry_after(headers) -> float | None:
    """Seconds to wait from retry-after-ms / retry-after (seconds or an HTTP date), as the SDK reads them."""
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / divisor)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())
    return None


def _body_message(exc: openai.APIError) -> str | None:
    """The server's own error text: the SDK keeps the `error` object of the body in `.body`."""
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str) and message.strip():
            return message.strip()
    elif isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return None


def error_from_exception(exc: BaseException, endpoint: Endpoint, during_stream: bool = False) -> StreamError:
    """Map an SDK (or any) exception to a StreamError with a kind, status and a sentence for a person.

    `during_stream`: the response had started (headers received), so a network failure broke a reply
    rather than preventing it.
    """
    url = endpoint.display_url
    status = getattr(exc, "status_code", None)
    retry_after = None
    # Order matters: APITimeoutError subclasses APIConnectionError, and all status errors subclass APIError.
    if isinstance(exc, openai.APITimeoutError):
        kind = "timeout"
        if during_stream:
            fallback = f"The reply from {url} stalled for more than {endpoint.timeout_s:g} s."
        else:
            fallback = f"No reply from {url} within {endpoint.timeout_s:g} s."
    elif isinstance(exc, openai.APIConnectionError):
        kind = "connection"
        if during_stream:
            fallback = f"The connection to {url} broke during the reply."
        else:
            fallback = f"Could not connect to {url} — is the server running?"
    elif isinstance(exc, openai.AuthenticationError):
        kind, fallback = "auth", f"{url} rejected the API key (401)."
    elif isinstance(exc, openai.PermissionDeniedError):
        kind, fallback = "permission", "This key may not use this model or endpoint (403)."
    elif isinstance(exc, openai.RateLimitError):
        retry_after = _retry_after(exc.response.headers)
        wait = f" Try again in {seconds_text(retry_after)}." if retry_after is not None else ""
        kind, fallback = "rate_limit", f"Rate limited or out of quota (429).{wait}"
    elif isinstance(exc, openai.BadRequestError):
        kind, fallback = "bad_request", "The server rejected the request (400)."
    elif isinstance(exc, openai.NotFoundError):
        kind, fallback = "not_found", "Not found (404): check the model name and the base URL."
    elif isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
        kind, fallback = "server", f"The server failed ({exc.status_code})."
    elif isinstance(exc, openai.APIStatusError):
        kind, fallback = "api", f"The server answered with status {exc.status_code}."
    elif isinstance(exc, openai.APIError):
        # E.g. an SSE event carrying {"error": ...} in the middle of a stream (FACTS).
        kind, fallback = "api", "The server reported an error during the reply."
    elif isinstance(exc, ResponseFailed):
        kind, fallback = "api", str(exc)
    else:
        kind, fallback = "api", f"Unexpected error: {type(exc).__name__}: {exc}"
    message = _body_message(exc) if isinstance(exc, openai.APIError) else None
    # Connection/timeout errors carry only the SDK's generic text; ours names the URL.
    if kind in ("timeout", "connection"):
        message = None
    param, code = getattr(exc, "param", None), getattr(exc, "code", None)
    return StreamError(
        kind=kind,
        message=message or fallback,
        status=status if isinstance(status, int) else None,
        retryable=kind in RETRYABLE_KINDS,
        retry_after=retry_after,
        param=param if isinstance(param, str) else None,
        code=code if isinstance(code, str) else None,
    )


class ChatClient:
    """Streams chat completions from one endpoint as typed events.

    With API keys the client owns a `KeyPool` (`self.key_pool`; None when the endpoint has no keys —
    local servers need none, and a placeholder is sent): each request takes the next usable key, and a
    request refused with 429/401/403 before any text arrived is retried at once with the next key
    (a `KeyNotice` event says so). Pass `key_pool` to share one pool or to give it a test clock.
    With more than one key the SDK's own retries are off (they would retry the same rate-limited key);
    with one key they are `endpoint.max_retries`. One SDK client is kept per key, so connections are reused.
    """

    def __init__(self, endpoint: Endpoint, key_pool: KeyPool | None = None):
        self.endpoint = endpoint
        if key_pool is None and endpoint.api_keys:
            key_pool = KeyPool(endpoint.api_keys)
        self.key_pool: KeyPool | None = key_pool
        self.sdk_max_retries = 0 if key_pool is not None and len(key_pool) > 1 else endpoint.max_retries
        self.last_error: StreamError | None = None  # set by list_models() when it fails
        self._clients: dict[str | None, openai.OpenAI] = {}
        self._lock = threading.Lock()

    def openai_client(self, api_key: str | None = None) -> openai.OpenAI:
        """The SDK client for this key (created once per key and kept)."""
        with self._lock:
            client = self._clients.get(api_key)
            if client is None:
                client = self._clients[api_key] = make_openai_client(
                    self.endpoint, api_key, max_retries=self.sdk_max_retries
                )
            return client

    def close(self) -> None:
        """Close the SDK clients and their connections."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def _redact(self, error: StreamError) -> StreamError:
        """The error with any full key of the pool in its message masked (some servers echo the key)."""
        if self.key_pool is None:
            return error
        message = self.key_pool.redact(error.message)
        return error if message == error.message else dataclasses.replace(error, message=message)

    def list_models(self) -> list[str]:
        """Sorted model ids the endpoint offers; [] on any failure, with the reason in `self.last_error`.

        Uses the pool's next usable key (not counted as a chat request) and does not report the outcome
        to the pool: a models listing that fails (some gateways restrict it) must not disable keys that
        chat requests may use.
        """
        try:
            key = self.key_pool.acquire(count=False) if self.key_pool is not None else None
        except NoUsableKey as exc:
            self.last_error = _no_key_error(exc)
            return []
        try:
            page = self.openai_client(key).models.list()
            ids = sorted({m.id for m in page if getattr(m, "id", None)})
        except Exception as exc:  # a dropdown must not crash the page; the reason is kept
            self.last_error = self._redact(error_from_exception(exc, self.endpoint))
            return []
        self.last_error = None
        return ids

    def stream(self, request: Request, cancel: Cancel | None = None) -> Iterator[Event]:
        """Send `request.body` unchanged and yield TextDelta/ReasoningDelta/TokenLogprobs/Usage/Finish (and
        KeyNotice, ParamDropped, StreamError) events, then exactly one StreamDone — unless `cancel` is
        called (from any thread): the connection is dropped and the stream ends at once, without a
        StreamDone, as when its consumer closes it.

        A 400 that names a parameter which only observes the reply (logprobs), before anything was
        yielded, is not the user's problem: the request goes again without it (chatlab.request
        .without_refused) and a ParamDropped event carries the body sent now and why.

        Key failover: a 429 (the key rests) or 401/403 (the key is disabled) before anything was yielded
        is retried at once with the pool's next usable key, at most len(pool) + 1 attempts in all; when no
        key is left the error is StreamError(kind="no_key") with the pool's account of every key. With a
        single key there is nothing to fail over to: the server's own error is yielded, and the pool only
        counts it (it never withholds its only key). Any other error, or one after text was yielded, is
        not retried.
        """
        body = request.body
        messages = request.messages
        pool = self.key_pool
        state = _ReplyState()
        error: StreamError | None = None
        yielded = False  # any reply event went out: from then on no failover (the user saw it)
        key: str | None = None
        started = time.perf_counter()
        read = _responses_events if request.protocol == RESPONSES else _chat_events

        def final_usage() -> Usage:
            if state.usage is not None:
                return state.usage
            # No usage from the server (llama.cpp never sends it; a cut stream loses it): estimate offline.
            return estimate_usage(messages, state.generated())

        if pool is not None:
            try:
                key = pool.acquire()
            except NoUsableKey as exc:
                error = _no_key_error(exc)
        attempts = 0
        max_attempts = len(pool) + 1 if pool is not None else 1
        while error is None:
            attempts += 1
            response = None
            try:
                if cancel is not None and cancel.is_set():
                    return
                client = self.openai_client(key)
                if request.protocol == RESPONSES:
                    response = client.responses.create(**_sdk_arguments(body, _RESPONSES_FIELDS))
                else:
                    response = client.chat.completions.create(**_sdk_arguments(body, _CHAT_FIELDS))
                if cancel is not None:
                    cancel.attach(response)
                for event in read(response, state):
                    yielded = True
                    yield event
            except GeneratorExit:
                # The consumer stopped reading (Stop button): drop the connection, yield nothing more.
                if response is not None:
                    response.close()
                _bill_partial(pool, key, response, final_usage)
                raise
            except Exception as exc:
                # The UI gets a StreamError and a StreamDone, never a traceback.
                if response is not None:
                    response.close()
                if cancel is not None and cancel.is_set():
                    _bill_partial(pool, key, response, final_usage)
                    return  # cancelled from another thread: the closed connection is not an error
                error = self._redact(
                    error_from_exception(exc, self.endpoint, during_stream=response is not None)
                )
            else:
                unfinished = not state.finish or None in state.finish.values()
                if cancel is not None and cancel.is_set() and unfinished:
                    # The dropped connection can read as a clean end of the stream (a server that closes
                    # the body with the connection): it was the user's Stop, not a reply cut by the server.
                    _bill_partial(pool, key, response, final_usage)
                    return
                if pool is not None and key is not None:
                    spent = final_usage()
                    pool.report_success(key, spent.prompt_tokens, spent.completion_tokens)
                break
            # A droppable parameter refused before anything was generated: send again without it.
            dropped = (
                None
                if yielded or error.kind != "bad_request"
                else without_refused(request, error.param, error.message)
            )
            if dropped is not None:
                reason = error.message
                request, body, error = dropped.request, dropped.request.body, None
                max_attempts += 1
                state = _ReplyState()
                yield ParamDropped(dropped.name, dropped.note, dict(body), reason)
                continue
            # The attempt failed: tell the pool, and fail over when the key was the problem.
            if pool is None or key is None:
                break
            if yielded or error.kind not in KEY_FAILURE_KINDS:
                pool.report_error(key, error.message)
                break
            notice = _report_key_failure(pool, key, error)
            if len(pool) == 1 or attempts >= max_attempts:
                break  # nothing to fail over to: the server's own error stands
            try:
                key = pool.acquire()
            except NoUsableKey as no_key:
                error = _no_key_error(no_key)
                break
            # Forget what the failed attempt saw (at most a role chunk: nothing was yielded).
            state = _ReplyState()
            error = None
            yield KeyNotice(f"{notice}; trying key {mask_key(key)}.")
        if error is not None:
            yield error

        duration = time.perf_counter() - started
        # A request refused before anything was generated (4xx, 5xx, no connection) is not billed: no
        # tokens, no cost — an estimate of its prompt would add tokens nobody paid for.
        billed = state.usage is not None or bool(state.generated()) or error is None
        usage = final_usage() if billed else None
        first_token_at = state.first_token_at
        ttft = None if first_token_at is None else first_token_at - started
        after_first = duration - ttft if ttft is not None else 0.0
        tokens_per_s = (
            usage.completion_tokens / after_first
            if usage is not None and after_first > 0 and usage.completion_tokens
            else None
        )
        yield StreamDone(
            usage=usage,
            timings=Timings(ttft_s=ttft, duration_s=duration, tokens_per_s=tokens_per_s),
            # A cut stream ends silently in the SDK: a None here is how we know the reply is incomplete.
            finish_reasons=state.finish or {0: None},
            model=state.model,
            response_id=state.response_id,
            system_fingerprint=state.fingerprint,
            error=error,
        )


def _named_fields(create) -> frozenset[str]:
    """The body fields an SDK create() takes by name."""
    return frozenset(inspect.signature(create).parameters) - {
        "self",
        "extra_headers",
        "extra_query",
        "extra_body",
        "timeout",
    }


# Any other field of a body (a stored request from another tool, a server's own extension) goes through
# extra_body, so the server still gets the body as it is.
_CHAT_FIELDS = _named_fields(Completions.create)
_RESPONSES_FIELDS = _named_fields(Responses.create)


def _sdk_arguments(body: dict, named: frozenset[str]) -> dict:
    arguments = {k: v for k, v in body.items() if k in named}
    extra = {k: v for k, v in body.items() if k not in named}
    if extra:
        arguments["extra_body"] = extra
    return arguments


class Cancel:
    """Stops a stream from another thread: drops its HTTP connection, so a read blocked on a silent server
    returns at once instead of at the next chunk (a held reply, a model thinking for minutes)."""

    def __init__(self) -> None:
        self._set = threading.Event()
        self._lock = threading.Lock()
        self._response = None

    def __call__(self) -> None:
        self._set.set()
        with self._lock:
            response = self._response
        if response is not None:
            _drop_connection(response)

    def is_set(self) -> bool:
        return self._set.is_set()

    def attach(self, response) -> None:
        """The response being read now (closed at once if the stream was cancelled meanwhile)."""
        with self._lock:
            self._response = response
        if self._set.is_set():
            _drop_connection(response)


def _drop_connection(response) -> None:
    """Closes a stream another thread is reading. Closing the httpx response alone does not wake a read
    blocked on the socket, so the socket is shut down first: the blocked read then returns at once."""
    try:
        network_stream = response.response.extensions["network_stream"]
        network_stream.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
    except (AttributeError, KeyError, OSError):
        pass  # already closed, or a transport without a socket: closing below is all there is to do
    response.close()


def _bill_partial(pool: KeyPool | None, key: str | None, response, final_usage) -> None:
    """A stream cut short by its reader: what was generated until then is billed all the same."""
    if pool is not None and key is not None and response is not None:
        spent = final_usage()
        pool.report_success(key, spent.prompt_tokens, spent.completion_tokens)


class _ReplyState:
    """What one attempt of a stream has seen so far (a failed-over attempt starts a new one)."""

    def __init__(self) -> None:
        self.texts: dict[int, list[str]] = {}
        self.reasoning: dict[int, list[str]] = {}
        self.finish: dict[int, str | None] = {}
        self.usage: Usage | None = None
        self.first_token_at: float | None = None
        self.response_id: str | None = None
        self.model: str | None = None
        self.fingerprint: str | None = None

    def generated(self) -> str:
        return "".join("".join(p) for p in (*self.reasoning.values(), *self.texts.values()))

    def text(self, index: int, piece: str) -> TextDelta:
        # Once per streamed chunk: kept to the bone (bench/stream_overhead.py holds the pipeline to 1.05×).
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self.texts[index].append(piece)  # the choice's list is made when the choice is first seen
        return TextDelta(index, piece)

    def thought(self, index: int, piece: str) -> ReasoningDelta:
        self._first_token()
        self.reasoning.setdefault(index, []).append(piece)
        return ReasoningDelta(index, piece)

    def _first_token(self) -> None:
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()


def _chat_events(response, state: _ReplyState) -> Iterator[Event]:
    """Chat Completions chunks → events."""
    for chunk in response:
        if state.response_id is None:
            state.response_id, state.model = chunk.id, chunk.model
            state.fingerprint = chunk.system_fingerprint
        # Usage may come on any chunk (OpenAI: a last chunk with empty choices), so read it always.
        if chunk.usage is not None:
            state.usage = _usage(chunk.usage)
            yield state.usage
        # Never index choices[0]: the usage chunk has "choices": [] (FACTS).
        for choice in chunk.choices:
            index = choice.index
            if index not in state.finish:
                state.finish[index] = None
                state.texts.setdefault(index, [])
            delta = choice.delta
            if delta is not None:
                # reasoning_content (DeepSeek) is not in the typed model; pydantic keeps extras.
                extra = delta.model_extra
                if extra and (piece := extra.get("reasoning_content")):
                    yield state.thought(index, piece)
                if delta.content:
                    yield state.text(index, delta.content)
            # Only when the request asked for logprobs; servers omit the field or send null.
            logprobs = choice.logprobs
            if logprobs is not None and logprobs.content:
                tokens = _token_probs(logprobs.content)
                if tokens:
                    yield TokenLogprobs(index, tokens)
            if choice.finish_reason:
                state.finish[index] = choice.finish_reason
                yield Finish(index, choice.finish_reason)


class ResponseFailed(Exception):
    """The Responses API reported an error event or a failed response mid-stream."""


# response.incomplete's reason → the finish reason Chat Completions would give.
_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


def _responses_events(response, state: _ReplyState) -> Iterator[Event]:
    """Responses API events → the same events as Chat Completions (one choice, index 0)."""
    state.finish.setdefault(0, None)
    state.texts.setdefault(0, [])
    for event in response:
        kind = getattr(event, "type", "")
        if kind == "response.created":
            state.response_id, state.model = event.response.id, event.response.model
        elif kind == "response.output_text.delta" and event.delta:
            yield state.text(0, event.delta)
        elif (
            kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta") and event.delta
        ):
            yield state.thought(0, event.delta)
        elif kind in ("response.completed", "response.incomplete"):
            done = event.response
            if done.usage is not None:
                state.usage = _responses_usage(done.usage)
                yield state.usage
            details = getattr(done, "incomplete_details", None)
            reason = "stop" if kind == "response.completed" else "length"
            if details is not None and getattr(details, "reason", None):
                reason = _INCOMPLETE_REASONS.get(details.reason, details.reason)
            state.finish[0] = reason
            yield Finish(0, reason)
        elif kind == "response.failed":
            problem = getattr(event.response, "error", None)
            raise ResponseFailed(getattr(problem, "message", None) or "The response failed.")
        elif kind == "error":
            raise ResponseFailed(getattr(event, "message", None) or "The server reported an error.")


def _report_key_failure(pool: KeyPool, key: str, error: StreamError) -> str:
    """Tell the pool that `key` was refused (429 rests it, 401/403 disable it); a clause about it."""
    masked = mask_key(key)
    if error.kind == "rate_limit":
        rest = pool.report_rate_limited(key, error.retry_after)
        return f"Key {masked} is rate limited (resting {seconds_text(rest)})"
    pool.report_auth_failure(key, error.status, error.message)
    reason = "invalid key" if error.kind == "auth" else "permission denied"
    status = f"{error.status}, " if error.status else ""
    return f"Key {masked} was rejected ({status}{reason}) and is disabled"


def _no_key_error(exc: NoUsableKey) -> StreamError:
    """The pool had no usable key: no request was sent. Retryable when some key is only resting."""
    return StreamError(
        kind="no_key",
        message=exc.message,
        retryable=exc.retry_after is not None,
        retry_after=exc.retry_after,
    )


def _detail(raw, group: str, name: str) -> int:
    details = getattr(raw, group, None)
    return (getattr(details, name, None) or 0) if details is not None else 0


def _token_probs(content) -> tuple[TokenProb, ...]:
    """The SDK's logprobs.content items as TokenProbs; a malformed item ends the list (the text stays)."""
    tokens = []
    for item in content:
        try:
            if not isinstance(item.token, str):
                break
            top = ((alt.token, alt.logprob) for alt in item.top_logprobs or ())
            tokens.append(token_prob(item.token, item.logprob, top))
        except (AttributeError, TypeError, ValueError):
            break
    return tuple(tokens)


def _usage(raw) -> Usage:
    """Our Usage from the SDK's CompletionUsage (cached and reasoning tokens when the server reports them)."""
    return Usage(
        prompt_tokens=raw.prompt_tokens or 0,
        completion_tokens=raw.completion_tokens or 0,
        cached_tokens=_detail(raw, "prompt_tokens_details", "cached_tokens"),
        reasoning_tokens=_detail(raw, "completion_tokens_details", "reasoning_tokens"),
    )


def _responses_usage(raw) -> Usage:
    """Our Usage from the Responses API's (input/output tokens, with their details)."""
    return Usage(
        prompt_tokens=raw.input_tokens or 0,
        completion_tokens=raw.output_tokens or 0,
        cached_tokens=_detail(raw, "input_tokens_details", "cached_tokens"),
        reasoning_tokens=_detail(raw, "output_tokens_details", "reasoning_tokens"),
    )
