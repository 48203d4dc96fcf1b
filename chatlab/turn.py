"""One path for a message: build the request, stream it, and write both sides to the store as it goes.

The user's message is stored before the request leaves; the reply is stored empty at once, then
rewritten every `write_interval_s` while it streams and finalised at the end. Whatever stops the
stream (the Stop button, a rerun, a closed tab) closes this generator, and its `finally` stores what
arrived as 'stopped' — so a rerun, a crash or a refresh never loses text the user saw.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from chatlab.capabilities import Capabilities
from chatlab.context import ContextWindow, build_context, history_messages
from chatlab.events import Event, ReasoningDelta, StreamDone, TextDelta
from chatlab.params import GenerationParams
from chatlab.prices import cost_usd
from chatlab.request import Request, build_request
from chatlab.store import COMPLETE, ERROR, INTERRUPTED, STOPPED, STREAMING, Message, Store

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


def plan_context(stored: Sequence[Message], settings: TurnSettings, user_text: str) -> ContextWindow:
    """The exact messages the next request would send (also what the preview shows)."""
    return build_context(
        system_prompt=settings.system_prompt,
        history=history_messages(stored),
        user_text=user_text,
        depth=settings.context_depth,
        few_shot=settings.few_shot,
    )


def plan_request(settings: TurnSettings, window: ContextWindow) -> Request:
    """The request these settings send with this context (the preview shows exactly this)."""
    return build_request(settings.model, window.messages, settings.params, capabilities=settings.capabilities)


def title_from(text: str) -> str:
    line = " ".join(text.split())
    return line[:TITLE_CHARS] + ("…" if len(line) > TITLE_CHARS else "")


def send_turn(
    store: Store,
    client,
    conversation_id: str,
    settings: TurnSettings,
    user_text: str | None = None,
    *,
    retry_turn: int | None = None,
    write_interval_s: float = 0.3,
) -> Iterator[Event]:
    """Send a new user message (or re-send turn `retry_turn`) and yield the reply's events."""
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
        _title_conversation(store, conversation_id, settings, user_text, first=not stored)

    window = plan_context(stored, settings, user_text)
    request = plan_request(settings, window)
    reply_fields = dict(
        turn=turn,
        role_name=settings.role_name,
        system_prompt=settings.system_prompt,
        model=settings.model,
        endpoint_name=settings.endpoint_name,
        params=settings.params.as_dict(),
        context_depth=settings.context_depth,
        request=request.body,
        status=STREAMING,
        stream_owner=store.stream_owner(),  # this process: a sibling starting up leaves the reply alone
    )
    rows = {0: store.add_message(conversation_id, "assistant", "", choice_index=0, **reply_fields)}
    texts: dict[int, list[str]] = defaultdict(list)
    reasoning: dict[int, list[str]] = defaultdict(list)

    def flush(final: dict[int, dict] | None = None) -> None:
        for choice, message_id in rows.items():
            extra = (final or {}).get(choice, {})
            store.update_message(
                message_id, content="".join(texts[choice]), reasoning="".join(reasoning[choice]), **extra
            )

    stream = client.stream(request)
    finished = False
    last_write = time.monotonic()
    try:
        for event in stream:
            if isinstance(event, TextDelta | ReasoningDelta):
                if event.choice not in rows:
                    rows[event.choice] = store.add_message(
                        conversation_id, "assistant", "", choice_index=event.choice, **reply_fields
                    )
                (texts if isinstance(event, TextDelta) else reasoning)[event.choice].append(event.text)
                if time.monotonic() - last_write >= write_interval_s:
                    flush()
                    last_write = time.monotonic()
            elif isinstance(event, StreamDone):
                flush(_final_fields(event, rows, texts, settings.model))
                finished = True
            yield event
    finally:
        stream.close()
        if not finished:
            flush({choice: {"status": STOPPED} for choice in rows})


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
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                cached_tokens=usage.cached_tokens,
                usage_estimated=usage.estimated,
                ttft_s=done.timings.ttft_s,
                duration_s=done.timings.duration_s,
                tokens_per_s=done.timings.tokens_per_s,
                cost_usd=cost_usd(
                    done.model or model, usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens
                ),
            )
        out[choice] = fields
    return out


def _prepare_retry(store: Store, stored: Sequence[Message], retry_turn: int) -> str:
    """Drop the failed reply of a turn and return that turn's user text to send again."""
    user = next((m for m in stored if m.turn == retry_turn and m.role == "user"), None)
    if user is None:
        raise ValueError(f"turn {retry_turn} has no user message to retry")
    store.delete_messages([m.id for m in stored if m.turn == retry_turn and m.role == "assistant"])
    return user.content


def _title_conversation(store: Store, conversation_id: str, settings: TurnSettings, text: str, first: bool):
    changes = {
        "model": settings.model,
        "role_name": settings.role_name,
        "system_prompt": settings.system_prompt,
        "endpoint_name": settings.endpoint_name,
    }
    if first:
        conversation = store.get_conversation(conversation_id)
        if conversation is not None and not conversation.title:
            changes["title"] = title_from(text)
    store.update_conversation(conversation_id, **changes)
