"""One path for a message: build the request, stream it, and write both sides to the store as it goes.

The user's message is stored before the request leaves; the reply is stored empty at once, then
rewritten every `write_interval_s` while it streams and finalised at the end. Whatever stops the
stream (the Stop button, a rerun, a closed tab) closes this generator, and its `finally` stores what
arrived as 'stopped' — so a rerun, a crash or a refresh never loses text the user saw.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass

from chatlab.capabilities import Capabilities
from chatlab.client import Cancel
from chatlab.context import ContextWindow, build_context, conversation_history
from chatlab.events import (
    Event,
    ParamDropped,
    ReasoningDelta,
    StreamDone,
    StreamError,
    TextDelta,
    TokenLogprobs,
    Usage,
)
from chatlab.params import GenerationParams
from chatlab.prices import usage_cost
from chatlab.probe import record_refusal, refused_param, table_name
from chatlab.request import CHAT, Request, build_request
from chatlab.roles.role import Role
from chatlab.roles.variables import Variable, missing_values, prompt_variables, render_prompt
from chatlab.store import COMPLETE, ERROR, INTERRUPTED, STOPPED, STREAMING, Message, Store
from chatlab.tokenprobs.record import ReplyTokens, TokenProb
from chatlab.tokens import estimate_usage

TITLE_CHARS = 60


@dataclass(frozen=True)
class TurnSettings:
    """Everything about the next request except the user's text."""

    model: str
    params: GenerationParams = GenerationParams()
    context_depth: int | None = None  # None: whole history; 0: none
    role_name: str = ""
    system_prompt: str = ""
    few_shot: tuple[dict, ...] = ()
    endpoint_name: str = ""
    capabilities: Capabilities | None = None  # None: the model-family table decides
    protocol: str = CHAT  # or RESPONSES (chatlab.request)
    # Where a parameter the server refuses is recorded (chatlab.probe.endpoint_key); "" records nothing.
    findings_key: str = ""
    # system_prompt and few_shot are templates: their placeholders ({{name}}, ${Name:default}) are filled
    # from `values` (a mapping is accepted) when the request is planned, so the preview, the request sent
    # and the stored reply all hold the rendered text. `variables`: a role's declared defaults/descriptions.
    variables: tuple[Variable, ...] = ()
    values: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.values, Mapping):
            pairs = tuple((str(k), str(v)) for k, v in self.values.items() if v is not None)
            object.__setattr__(self, "values", pairs)

    def prompt_variables(self) -> tuple[Variable, ...]:
        """The variables the system prompt and examples use, with their defaults: the fields to show."""
        return prompt_variables(self.system_prompt, self.few_shot, self.variables)

    def missing_values(self) -> tuple[str, ...]:
        """Variables with neither a value nor a default: sending is refused until they are filled in."""
        return missing_values(self.prompt_variables(), dict(self.values))

    def rendered_prompt(self) -> tuple[str, tuple[dict, ...]]:
        """(system prompt, few-shot messages) with the values filled in; MissingValues (a ValueError with a
        message for the page) when a variable has neither a value nor a default."""
        return render_prompt(self.system_prompt, self.few_shot, dict(self.values), self.variables)


def role_settings(
    role: Role,
    *,
    model: str,
    values: Mapping[str, str] | None = None,
    params: GenerationParams | None = None,
    context_depth: int | None = None,
    endpoint_name: str = "",
    capabilities: Capabilities | None = None,
    protocol: str = CHAT,
    findings_key: str = "",
) -> TurnSettings:
    """What a role sends: its system prompt and examples (filled from `values`), its default parameters
    unless `params` is given."""
    return TurnSettings(
        model=model,
        params=GenerationParams.from_dict(role.default_params()) if params is None else params,
        context_depth=context_depth,
        role_name=role.name,
        system_prompt=role.system,
        few_shot=tuple(role.few_shot_messages()),
        endpoint_name=endpoint_name,
        capabilities=capabilities,
        protocol=protocol,
        findings_key=findings_key,
        variables=role.variables,
        values=dict(values or {}),
    )


def plan_context(stored: Sequence[Message], settings: TurnSettings, user_text: str) -> ContextWindow:
    """The exact messages the next request would send (also what the preview shows).

    Raises MissingValues when a variable of the prompt has neither a value nor a default.
    """
    system_prompt, few_shot = settings.rendered_prompt()
    history = conversation_history(stored)
    window = build_context(
        system_prompt=system_prompt,
        history=history.messages,
        user_text=user_text,
        depth=settings.context_depth,
        few_shot=few_shot,
    )
    notes = history.notes(settings.context_depth, window.history_sent)
    return dataclasses.replace(window, notes=notes + window.notes) if notes else window


def plan_request(settings: TurnSettings, window: ContextWindow) -> Request:
    """The request these settings send with this context (the preview shows exactly this)."""
    return build_request(
        settings.model,
        window.messages,
        settings.params,
        capabilities=settings.capabilities,
        protocol=settings.protocol,
    )


def title_from(text: str) -> str:
    line = " ".join(text.split())
    return line[:TITLE_CHARS] + ("…" if len(line) > TITLE_CHARS else "")


class ReplyStream:
    """The events of one reply, read by whoever shows it (a page, a thread, the terminal).

    Closing it stops the reply: what arrived is stored as 'stopped'. Closed before it was ever read,
    nothing was sent, and the reply's row is marked stopped all the same (never left 'streaming').
    `cancel()` stops it from another thread (the one reading it is blocked on the server): the
    connection is dropped at once, the reading thread's stream ends, and what arrived is stored as
    'stopped' all the same.
    """

    def __init__(
        self,
        events: Generator[Event, None, None],
        on_unread_close: Callable[[], None],
        cancel: Cancel | None = None,
    ):
        self._events = events
        self._on_unread_close = on_unread_close
        self._cancel = cancel
        self._read = self._closed = False

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel()

    def __iter__(self) -> ReplyStream:
        return self

    def __next__(self) -> Event:
        self._read = True
        return next(self._events)

    @property
    def started(self) -> bool:
        """Someone began reading it: the request was sent (or is being sent)."""
        return self._read

    def close(self) -> None:
        if not self._read and not self._closed:
            self._on_unread_close()
        self._closed = True
        self._events.close()


def send_turn(
    store: Store,
    client,
    conversation_id: str,
    settings: TurnSettings,
    user_text: str | None = None,
    *,
    retry_turn: int | None = None,
    write_interval_s: float = 0.3,
) -> ReplyStream:
    """Send a new user message (or re-send turn `retry_turn`); the returned stream yields the reply's events.

    The user's message and the reply's (empty, 'streaming') row are stored before this returns, so a page
    drawn right after shows them; the request leaves when the stream is first read. A variable without a
    value or default raises MissingValues first, and nothing is stored or sent.
    """
    system_prompt, _ = settings.rendered_prompt()  # raises MissingValues before anything is stored
    stored = store.messages(conversation_id)
    if retry_turn is not None:
        user_text = _prepare_retry(store, stored, retry_turn)
        stored = [m for m in stored if m.turn < retry_turn]
        turn = retry_turn
    else:
        if not user_text or not user_text.strip():
            raise ValueError("The message is empty.")
        store.add_message(
            conversation_id,
            "user",
            user_text,
            role_name=settings.role_name,
            model=settings.model,
            endpoint_name=settings.endpoint_name,
        )
        turn = max((m.turn for m in stored), default=0) + 1
        _title_conversation(store, conversation_id, settings, system_prompt, user_text, first=not stored)

    return _send(store, client, conversation_id, settings, stored, user_text, turn, 0, write_interval_s)


def send_sample(
    store: Store,
    client,
    conversation_id: str,
    settings: TurnSettings,
    turn: int,
    choice_index: int,
    *,
    write_interval_s: float = 0.3,
) -> ReplyStream:
    """One more sample of turn `turn`: the same question with the same context as the turn's first reply,
    stored as choice `choice_index` (and the next ones, when `settings.params.n` asks for several).

    The thread goes on from choice 0, so extra samples never change what later turns send. The reply's
    row is stored before this returns, like send_turn's.
    """
    stored = store.messages(conversation_id)
    user = next((m for m in stored if m.turn == turn and m.role == "user"), None)
    if user is None:
        raise ValueError(f"turn {turn} has no user message to sample again")
    earlier = [m for m in stored if m.turn < turn]
    return _send(
        store, client, conversation_id, settings, earlier, user.content, turn, choice_index, write_interval_s
    )


def _send(
    store: Store,
    client,
    conversation_id: str,
    settings: TurnSettings,
    stored: Sequence[Message],
    user_text: str,
    turn: int,
    first_choice: int,
    write_interval_s: float,
) -> ReplyStream:
    """Plan the request from the history before the turn, store the reply's first row, return its stream."""
    system_prompt, _ = settings.rendered_prompt()  # what the reply was sent with: variables filled in
    window = plan_context(stored, settings, user_text)
    request = plan_request(settings, window)
    reply_fields = dict(
        turn=turn,
        role_name=settings.role_name,
        system_prompt=system_prompt,
        model=settings.model,
        endpoint_name=settings.endpoint_name,
        params=settings.params.as_dict(),
        context_depth=settings.context_depth,
        request=request.body,
        notes=(*window.notes, *request.notes),
        status=STREAMING,
        stream_owner=store.stream_owner(),  # this process: a sibling starting up leaves the reply alone
    )
    first_row = store.add_message(conversation_id, "assistant", "", choice_index=first_choice, **reply_fields)
    cancel = Cancel()
    events = _stream_reply(
        store,
        client,
        conversation_id,
        settings,
        request,
        first_row,
        reply_fields,
        write_interval_s,
        first_choice,
        cancel,
    )
    return ReplyStream(
        events, on_unread_close=lambda: store.update_message(first_row, status=STOPPED), cancel=cancel
    )


def _stream_reply(
    store: Store,
    client,
    conversation_id: str,
    settings: TurnSettings,
    request: Request,
    first_row: int,
    reply_fields: dict,
    write_interval_s: float,
    first_choice: int = 0,
    cancel: Cancel | None = None,
) -> Generator[Event, None, None]:
    """Stream the request, rewriting the reply's rows as it grows; the finally stores what arrived.

    The request's choice c is stored as choice_index first_choice + c (samples of a turn, chatlab.compare).
    """
    rows = {0: first_row}
    texts: dict[int, list[str]] = defaultdict(list)
    reasoning: dict[int, list[str]] = defaultdict(list)
    tokens: dict[int, list[TokenProb]] = defaultdict(list)  # kept once the reply ends, not at each flush
    reply_fields = dict(reply_fields)
    dropped: str | None = None  # why the server was sent the request again without a parameter

    def flush(final: dict[int, dict] | None = None) -> None:
        for choice, message_id in rows.items():
            extra = (final or {}).get(choice, {})
            store.update_message(
                message_id, content="".join(texts[choice]), reasoning="".join(reasoning[choice]), **extra
            )

    stream = client.stream(request, cancel)
    finished = False
    may_retry = True  # a parameter the server refuses is taken out and the request sent again, once
    started = last_write = time.monotonic()
    try:
        while not finished:
            refused: tuple[str, StreamError] | None = None
            for event in stream:
                if isinstance(event, TextDelta | ReasoningDelta):
                    if event.choice not in rows:
                        rows[event.choice] = store.add_message(
                            conversation_id,
                            "assistant",
                            "",
                            choice_index=first_choice + event.choice,
                            **reply_fields,
                        )
                    (texts if isinstance(event, TextDelta) else reasoning)[event.choice].append(event.text)
                    if time.monotonic() - last_write >= write_interval_s:
                        flush()
                        last_write = time.monotonic()
                elif isinstance(event, TokenLogprobs):
                    tokens[event.choice].extend(event.tokens)
                elif isinstance(event, ParamDropped):
                    # The client sent the request again without a parameter that only observes the reply
                    # (logprobs): what was stored as sent is no longer what the server got.
                    dropped = event.note
                    _record_change(store, rows, reply_fields, event.body, event.note)
                elif isinstance(event, StreamError) and may_retry and not texts and not reasoning:
                    name = table_name(refused_param(event, request.body) or "")
                    if name is not None and name in settings.params.as_dict():
                        refused = (name, event)
                        continue  # not shown: the request goes out again without it
                elif isinstance(event, StreamDone) and refused is not None:
                    break
                elif isinstance(event, StreamDone):
                    flush(_final_fields(event, rows, texts, settings.model))
                    _save_tokens(store, rows, texts, tokens, settings, request, dropped)
                    finished = True
                yield event
            if finished or refused is None:
                break
            stream.close()
            name, error = refused
            request, note = _without(settings, request, name, error)
            _record_change(store, rows, reply_fields, request.body, note)
            if settings.findings_key:
                record_refusal(
                    store, settings.findings_key, settings.model, settings.protocol, name, error.message
                )
            may_retry = False
            yield ParamDropped(name, note, request.body, error.message)
            stream = client.stream(request, cancel)
    finally:
        stream.close()
        if not finished:
            # Stopped (or the process is closing the stream): the request was sent and text came back,
            # so it is billed — count its prompt and what arrived, as an estimate.
            generated = "".join("".join(parts) for parts in (*texts.values(), *reasoning.values()))
            usage = estimate_usage(request.messages, generated)
            stopped = {choice: {"status": STOPPED} for choice in rows}
            stopped[0].update(_usage_fields(usage, settings.model), duration_s=time.monotonic() - started)
            flush(stopped)
            _save_tokens(store, rows, texts, tokens, settings, request, dropped)


def _save_tokens(
    store: Store,
    rows: dict[int, int],
    texts: dict[int, list[str]],
    tokens: dict[int, list[TokenProb]],
    settings: TurnSettings,
    request: Request,
    dropped: str | None,
) -> None:
    """Keep each choice's token probabilities when they were asked for, or why there are none."""
    if settings.params.logprobs is None:
        return
    # Why a reply with text has none: the builder left them out, the server refused them, or ignored them.
    builder = next((n for n in request.notes if n.startswith("logprobs ")), None)
    why = dropped or builder or "The server sent no token probabilities: it ignores logprobs."
    for choice, message_id in rows.items():
        if tokens[choice]:
            store.save_reply_tokens(message_id, ReplyTokens.of(tokens[choice]))
        elif texts[choice]:
            store.save_reply_tokens(message_id, None, note=why)


def _record_change(store: Store, rows: dict[int, int], reply_fields: dict, body: dict, note: str) -> None:
    """The request went out again changed: store the body the server got now, and the note saying why."""
    reply_fields["request"], reply_fields["notes"] = body, (*reply_fields["notes"], note)
    for message_id in rows.values():
        store.update_message(message_id, request=body, notes=reply_fields["notes"])


def _without(settings: TurnSettings, request: Request, name: str, error: StreamError) -> tuple[Request, str]:
    """The same request without a parameter the server refused, and a note saying so."""
    request = build_request(
        settings.model,
        request.messages,
        settings.params.without(name),
        capabilities=settings.capabilities,
        protocol=settings.protocol,
    )
    return (
        request,
        f"{name} was refused by the server ({error.message}); the request was sent again without it.",
    )


def _final_fields(done: StreamDone, rows: dict, texts: dict, model: str) -> dict[int, dict]:
    """Per choice: status, finish reason, and (on the first choice) the turn's usage and timings."""
    usage = done.usage
    out = {}
    for choice in rows:
        reason = done.finish_reasons.get(choice)
        if done.error is not None:
            status = INTERRUPTED if texts[choice] else ERROR
        elif reason is None:
            status = INTERRUPTED
        else:
            status = COMPLETE
        fields = {
            "status": status,
            "finish_reason": reason,
            "error": done.error.message if done.error else None,
            "response_id": done.response_id,
            "system_fingerprint": done.system_fingerprint,
        }
        if choice == 0:
            fields.update(
                _usage_fields(usage, done.model or model),
                ttft_s=done.timings.ttft_s,
                duration_s=done.timings.duration_s,
                tokens_per_s=done.timings.tokens_per_s,
            )
        out[choice] = fields
    return out


def _usage_fields(usage: Usage | None, model: str) -> dict:
    """A reply's usage columns; all empty when the request was not billed (it failed before any token)."""
    if usage is None:
        return dict(
            prompt_tokens=None,
            completion_tokens=None,
            cached_tokens=None,
            usage_estimated=False,
            cost_usd=None,
        )
    return dict(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        # Counted locally (the server sent no usage): nothing is known of its prompt cache.
        cached_tokens=None if usage.estimated else usage.cached_tokens,
        reasoning_tokens=usage.reasoning_tokens or None,
        usage_estimated=usage.estimated,
        cost_usd=usage_cost(model, usage),
    )


def _prepare_retry(store: Store, stored: Sequence[Message], retry_turn: int) -> str:
    """Drop the failed reply of a turn and return that turn's user text to send again."""
    user = next((m for m in stored if m.turn == retry_turn and m.role == "user"), None)
    if user is None:
        raise ValueError(f"turn {retry_turn} has no user message to retry")
    store.delete_messages([m.id for m in stored if m.turn == retry_turn and m.role == "assistant"])
    return user.content


def _title_conversation(
    store: Store, conversation_id: str, settings: TurnSettings, system_prompt: str, text: str, first: bool
):
    changes = {
        "model": settings.model,
        "role_name": settings.role_name,
        "system_prompt": system_prompt,
        "endpoint_name": settings.endpoint_name,
    }
    if first:
        conversation = store.get_conversation(conversation_id)
        if conversation is not None and not conversation.title:
            changes["title"] = title_from(text)
    store.update_conversation(conversation_id, **changes)
