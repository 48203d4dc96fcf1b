"""Reproducing a request outside the app ("View code": Python or curl) and re-sending it ("Replay").

Every stored reply keeps the body it was sent with (`Message.request`, built by chatlab.request); the
next request's body is built the same way before it is sent.
The generated code embeds that body as JSON text, so unicode, newlines and quotes reach the server
exactly as the app sent them. Keys are never written into the code: it reads `$OPENAI_API_KEY`.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.events import Event
from chatlab.request import Request
from chatlab.worddiff import diff_markdown, word_diff

__all__ = ["ReplayError", "curl_code", "diff_markdown", "python_code", "replay", "word_diff"]


def _python_literal(text: str) -> str:
    """`text` (JSON) as a raw triple-quoted Python string that evaluates to exactly `text`.

    JSON has no backslash-quote pairs of its own and never ends in a quote, so a raw string holds it
    unchanged; only a run of three quotes inside a JSON string must go, and `\\u0027` is the JSON escape
    that json.loads turns back into the same quote.
    """
    return "r'''" + text.replace("'''", "''\\u0027") + "'''"


def _public_proxy(proxy: str | None) -> str | None:
    """The proxy URL without any user:password part (code is shared, credentials are not)."""
    if not proxy:
        return None
    parts = urlsplit(proxy)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return proxy


def _quoted(text: object) -> str:
    """A user-supplied value for a comment line: JSON-quoted, so no newline can end the comment."""
    return json.dumps(str(text))


def _title(request: dict, endpoint: Endpoint) -> str:
    return f"Chat Lab request: model {_quoted(request.get('model', '?'))} at {_quoted(endpoint.display_url)}"


def _notes(endpoint: Endpoint, comment: str) -> list[str]:
    """Comment lines about settings the code does not carry (proxy, extra headers)."""
    lines = []
    if proxy := _public_proxy(endpoint.proxy):
        lines.append(f"{comment} This endpoint uses a proxy: export HTTPS_PROXY={_quoted(proxy)}")
    if endpoint.headers:
        names = ", ".join(_quoted(name) for name, _ in endpoint.headers)
        lines.append(f"{comment} This endpoint also sends the headers {names} (values not shown); add them.")
    return lines


def python_code(request: dict, endpoint: Endpoint) -> str:
    """A runnable script (openai SDK) that sends exactly `request` to `endpoint` and streams the reply."""
    needs_key = bool(endpoint.api_keys) or not endpoint.base_url
    if needs_key:
        key_lines = [
            'api_key = os.environ.get("OPENAI_API_KEY")',
            "if not api_key:",
            '    sys.exit("Set OPENAI_API_KEY first, e.g.: export OPENAI_API_KEY=sk-...")',
        ]
    else:  # a local server (llama.cpp, Ollama) ignores the key, but the SDK wants one
        key_lines = ['api_key = os.environ.get("OPENAI_API_KEY") or "not-needed"']
    client_args = "api_key=api_key"
    if endpoint.base_url:
        client_args += f", base_url={json.dumps(endpoint.base_url)}"
    lines = [
        f"# {_title(request, endpoint)}. Needs: pip install openai",
        "",
        "import json",
        "import os",
        "import sys",
        "",
        "from openai import OpenAI",
        "",
        *_notes(endpoint, "#"),
        "# The exact request body Chat Lab sent (kept as JSON so every character survives).",
        f"BODY = json.loads({_python_literal(Request(body=request).to_json())})",
        "",
        *key_lines,
        f"client = OpenAI({client_args})",
        "",
        "stream = client.chat.completions.create(**BODY)",
        "usage = None",
        "more_choices = {}",
        "for chunk in stream:",
        "    if chunk.usage is not None:  # OpenAI sends usage on a last chunk; some servers never do",
        "        usage = chunk.usage",
        '    if not chunk.choices:  # that usage chunk has "choices": []',
        "        continue",
        "    for choice in chunk.choices:",
        "        text = choice.delta.content if choice.delta else None",
        "        if not text:",
        "            continue",
        "        if choice.index == 0:",
        '            print(text, end="", flush=True)',
        "        else:  # n > 1: the other choices are printed at the end",
        '            more_choices[choice.index] = more_choices.get(choice.index, "") + text',
        "print()",
        "for index, text in sorted(more_choices.items()):",
        '    print(f"\\n--- choice {index + 1} ---\\n{text}")',
        "if usage is not None:",
        "    print(",
        '        f"\\n[usage] prompt {usage.prompt_tokens} + completion {usage.completion_tokens}"',
        '        f" = {usage.total_tokens} tokens"',
        "    )",
        "else:",
        '    print("\\n[usage] the server sent none")',
        "",
    ]
    return "\n".join(lines)


def curl_code(request: dict, endpoint: Endpoint) -> str:
    """A curl command that posts exactly `request` to `endpoint` and prints the stream as it arrives."""
    url = endpoint.display_url.rstrip("/") + "/chat/completions"
    body = Request(body=request).to_json()
    # A quoted heredoc passes the body unchanged: no shell expansion, no quoting to get wrong. Indented
    # JSON never has a line that is just "JSON", so the delimiter cannot end it early.
    lines = [
        f"# {_title(request, endpoint)}",
        *_notes(endpoint, "#"),
        "# The key comes from the environment: export OPENAI_API_KEY=...",
        f"curl --no-buffer {shlex.quote(url)} \\",
        '  -H "Authorization: Bearer $OPENAI_API_KEY" \\',
        '  -H "Content-Type: application/json" \\',
        "  --data-binary @- <<'JSON'",
        body,
        "JSON",
        "",
    ]
    return "\n".join(lines)


class ReplayError(ValueError):
    """The stored request cannot be sent again; the message says why."""


def replay(client: ChatClient, request: dict) -> Iterator[Event]:
    """Send a stored request body again, unchanged; yields ChatClient's events."""
    try:
        built = Request.from_body(request)
    except ValueError as exc:
        raise ReplayError(str(exc)) from None
    return client.stream(built)
