"""The one request builder: model + messages + parameters + what the model accepts → the exact JSON body.

The client sends this body unchanged, the store records it with the reply, the request preview shows it,
View code prints it and Replay sends it again. Every change the builder makes to what the user set (a
parameter left out, renamed, or sent although it has no effect) comes back as a note in plain words.

Two protocols: Chat Completions (POST /v1/chat/completions, `messages`) and the Responses API (POST
/v1/responses, `input`), which OpenAI now recommends and some models are served only by. The same
parameter table maps onto both; a parameter the Responses API lacks (n, seed, stop, penalties) is left
out with a note.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from chatlab.capabilities import Capabilities, capabilities_for
from chatlab.params import IGNORED, PARAMS, REJECTED, RENAMED, GenerationParams, Support

CHAT, RESPONSES = "chat", "responses"
PROTOCOLS = {CHAT: "Chat Completions (/v1/chat/completions)", RESPONSES: "Responses (/v1/responses)"}

# Every streamed Chat Completions request asks for usage: OpenAI then sends it on a last chunk (FACTS);
# servers that ignore the option (llama.cpp) send none, and the client estimates instead.
STREAM_OPTIONS = {"include_usage": True}


@dataclass(frozen=True)
class Request:
    """A request as it is sent: the JSON body, and notes on what was changed from the user's settings."""

    body: dict
    notes: tuple[str, ...] = ()

    @property
    def protocol(self) -> str:
        return RESPONSES if "input" in self.body and "messages" not in self.body else CHAT

    @property
    def model(self) -> str:
        return self.body["model"]

    @property
    def messages(self) -> list[dict]:
        """The conversation sent, as role/content messages (the Responses API calls it `input`)."""
        return self.body["input" if self.protocol == RESPONSES else "messages"]

    @property
    def path(self) -> str:
        return "/responses" if self.protocol == RESPONSES else "/chat/completions"

    def to_json(self, indent: int | None = 2) -> str:
        """The body as JSON text, non-ASCII kept readable (lone surrogates escaped, so it always encodes)."""
        text = json.dumps(self.body, ensure_ascii=False, indent=indent)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(self.body, ensure_ascii=True, indent=indent)
        return text

    @classmethod
    def from_body(cls, body: dict) -> Request:
        """A stored body, to send again exactly as it was (Replay); ValueError if it is not a request."""
        if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
            raise ValueError("The stored request has no model.")
        if not isinstance(body.get("messages", body.get("input")), list):
            raise ValueError("The stored request has no messages.")
        if body.get("stream") is not True:
            raise ValueError("Chat Lab replays streamed requests only; use View code to send this one.")
        return cls(body=dict(body))


def build_request(
    model: str,
    messages: Sequence[dict],
    params: GenerationParams,
    *,
    capabilities: Capabilities | None = None,
    protocol: str = CHAT,
    stream: bool = True,
) -> Request:
    """The body for these settings in `protocol`, following what the model accepts."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}")
    caps = capabilities or capabilities_for(model)
    conversation = [dict(m) for m in messages]
    body: dict = {"model": model, ("input" if protocol == RESPONSES else "messages"): conversation}
    notes: list[str] = []
    chosen = params.as_dict()
    for name, value in chosen.items():
        support = caps.support(name)
        reason = caps.reason(name)
        why = f" ({reason})" if reason else ""
        if support.unless is not None and chosen.get(support.unless[0]) == support.unless[1]:
            support = Support()  # e.g. GPT-5.1 takes temperature with reasoning_effort "none"
        if support.status == REJECTED:
            lifted = f" unless {support.unless[0]} is {support.unless[1]!r}" if support.unless else ""
            notes.append(f"{name} not sent: {model} does not accept it{lifted}{why}.")
            continue
        wire = name
        if support.status == RENAMED:
            if support.renamed_to in chosen:
                notes.append(
                    f"{name} not sent: {support.renamed_to} is set too, and is the one {model} takes."
                )
                continue
            wire = support.renamed_to
            notes.append(f"{name} sent as {wire}{why}.")
        elif support.status == IGNORED:
            notes.append(f"{name} is sent, but {model} ignores it{why}.")
        if protocol == RESPONSES:
            _put_responses(body, name, value, notes)
        else:
            body.update(PARAMS[wire].body_fields(value) if wire in PARAMS else {wire: value})
    if stream:
        body["stream"] = True
        if protocol == CHAT:
            body["stream_options"] = dict(STREAM_OPTIONS)
    return Request(body=body, notes=tuple(notes))


def _put_responses(body: dict, name: str, value, notes: list[str]) -> None:
    """Place a parameter where the Responses API wants it ("reasoning.effort" is nested), or say it has none."""
    path = PARAMS[name].responses
    if path is None:
        notes.append(f"{name} not sent: {PARAMS[name].responses_missing}.")
        return
    *parents, leaf = path.split(".")
    target = body
    for key in parents:
        target = target.setdefault(key, {})
    if leaf in target:
        notes.append(f"{name} not sent: {path} is already set by another parameter.")
        return
    target[leaf] = value


@dataclass(frozen=True)
class Dropped:
    """The request again without a parameter the server refused: which one, and the note saying why."""

    request: Request
    name: str
    note: str


def without_refused(request: Request, field: str | None, message: str = "") -> Dropped | None:
    """The request again without a droppable parameter the server refused (a 400 naming it), or None.

    `field` is the error's `param`; servers that leave it out are matched on a field named in `message`.
    The new request keeps the old notes and adds one saying what was left out and why.
    """
    for param in PARAMS.values():
        if not param.droppable or not any(f in request.body for f in param.fields):
            continue
        named = field in param.fields if field else any(_names(message, f) for f in param.fields)
        if not named:
            continue
        body = {k: v for k, v in request.body.items() if k not in param.fields}
        reason = f": {message.strip()}" if message.strip() else ""
        note = f"{param.name} not sent: the server refused it{reason} (sent again without it)."
        return Dropped(replace(request, body=body, notes=(*request.notes, note)), param.name, note)
    return None


def _names(message: str, field: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(field)}(?![\w])", message) is not None


def params_of(body: dict) -> GenerationParams:
    """The generation parameters a stored Chat Completions body carries, by their table names."""
    values = {}
    renames = {
        support.renamed_to: name
        for name, param in PARAMS.items()
        for support in param.families.values()
        if support.status == RENAMED and support.renamed_to
    }
    wired = {f for param in PARAMS.values() if param.wire for f in param.wire.fields}
    for key, value in body.items():
        name = key if key in PARAMS else renames.get(key)
        if name in PARAMS and name not in values and key not in wired:
            values[name] = value
    for name, param in PARAMS.items():
        if param.wire is not None:
            values[name] = param.wire.read(body)
    return GenerationParams.from_dict(values)
