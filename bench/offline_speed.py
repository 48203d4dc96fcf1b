"""Offline model speed: the app's streaming path vs the bare openai SDK, both against the real llama.cpp server.

  cold start  OfflineServer().start() → wait_ready() → first TextDelta of a ChatClient.stream reply
              (a fresh server process; the model file is in the OS page cache after the first run)
  baseline    openai.OpenAI(...).chat.completions.create(stream=True) against the same server, joining
              delta.content
  app         chatlab.client.ChatClient(server.endpoint()).stream(...) — what the page uses

Same prompt, temperature 0, seed, max_tokens=128 on both sides, run alternately (baseline, app, …) after
one warm-up of each. Tokens are counted the same way for both: chatlab.tokens.count_tokens (o200k_base)
of the final text — the server sends no usage when streaming. Rate = tokens / seconds from the first
content token to the end of the stream (decode speed; prompt processing and connection set-up excluded).
Medians are compared; the target is app / baseline ≥ 0.9.

    python bench/offline_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `chatlab` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openai  # noqa: E402

from bench.common import BenchResult, median, print_results  # noqa: E402
from chatlab.client import ChatClient  # noqa: E402
from chatlab.events import StreamDone, TextDelta  # noqa: E402
from chatlab.offline import OfflineServer, offline_available  # noqa: E402
from chatlab.params import GenerationParams  # noqa: E402
from chatlab.request import build_request  # noqa: E402
from chatlab.tokens import count_tokens  # noqa: E402

PROMPT = "Write a long story about a lighthouse keeper and a storm."
MAX_TOKENS = 128
SEED = 42
ROUNDS, QUICK_ROUNDS = 3, 1
RATIO_TARGET = 0.9  # app tokens/s ÷ raw SDK tokens/s must be at least this
COLD_START_BUDGET_S = 15.0  # start() → first reply token
READY_TIMEOUT_S = 120.0


class Readers:
    """The two readers of one server; each call streams one reply and returns (text, seconds after 1st token)."""

    def __init__(self, server: OfflineServer):
        self.model = server.alias
        self.messages = [{"role": "user", "content": PROMPT}]
        self.params = GenerationParams(temperature=0, seed=SEED, max_tokens=MAX_TOKENS)
        endpoint = server.endpoint()
        # The same SDK settings ChatClient uses for this endpoint (placeholder key, timeout, no retries).
        self.sdk = openai.OpenAI(
            base_url=endpoint.base_url,
            api_key="not-needed",
            timeout=endpoint.timeout_s,
            max_retries=endpoint.max_retries,
        )
        self.client = ChatClient(endpoint)

    def close(self) -> None:
        self.sdk.close()
        self.client.close()

    def baseline(self) -> tuple[str, float]:
        stream = self.sdk.chat.completions.create(
            model=self.model,
            messages=self.messages,
            stream=True,
            stream_options={"include_usage": True},
            temperature=0,
            seed=SEED,
            max_tokens=MAX_TOKENS,
        )
        parts: list[str] = []
        first = None
        for chunk in stream:
            for choice in chunk.choices:
                content = choice.delta.content if choice.delta else None
                if content:
                    if first is None:
                        first = time.perf_counter()
                    parts.append(content)
        end = time.perf_counter()
        return "".join(parts), end - first if first is not None else 0.0

    def app(self) -> tuple[str, float]:
        parts: list[str] = []
        first = None
        done = None
        for event in self.client.stream(build_request(self.model, self.messages, self.params)):
            if isinstance(event, TextDelta):
                if first is None:
                    first = time.perf_counter()
                parts.append(event.text)
            elif isinstance(event, StreamDone):
                done = event
        end = time.perf_counter()
        if done is None or done.error is not None:
            raise RuntimeError(f"app stream failed: {done.error if done else 'no StreamDone'}")
        return "".join(parts), end - first if first is not None else 0.0


def cold_start() -> tuple[OfflineServer, float, float]:
    """A fresh server: (server, seconds start→ready, seconds start→first reply token)."""
    started = time.perf_counter()
    server = OfflineServer().start()
    if not server.wait_ready(READY_TIMEOUT_S):
        message = server.status().message
        tail = server.log_tail(20)
        server.stop()
        raise RuntimeError(f"offline server not ready: {message}\n{tail}")
    ready = time.perf_counter() - started
    client = ChatClient(server.endpoint())
    first = None
    try:
        messages = [{"role": "user", "content": "Say hello."}]
        for event in client.stream(
            build_request(server.alias, messages, GenerationParams(temperature=0, max_tokens=8))
        ):
            if first is None and isinstance(event, TextDelta):
                first = time.perf_counter() - started
    finally:
        client.close()
    if first is None:
        server.stop()
        raise RuntimeError("the first reply had no text")
    return server, ready, first


def run(quick: bool = False) -> list[BenchResult]:
    ok, why = offline_available()
    if not ok:
        raise RuntimeError(why)
    rounds = QUICK_ROUNDS if quick else ROUNDS
    server, ready_s, first_token_s = cold_start()
    readers = Readers(server)
    rates: dict[str, list[float]] = {"baseline": [], "app": []}
    tokens: dict[str, list[int]] = {"baseline": [], "app": []}
    texts: dict[str, set[str]] = {"baseline": set(), "app": set()}
    try:
        readers.baseline()  # warm-up, one each
        readers.app()
        for _ in range(rounds):
            for name, read in (("baseline", readers.baseline), ("app", readers.app)):
                text, seconds = read()
                n = count_tokens(text)
                tokens[name].append(n)
                texts[name].add(text)
                rates[name].append(n / seconds if seconds > 0 else 0.0)
    finally:
        readers.close()
        server.stop()

    base, app = median(rates["baseline"]), median(rates["app"])
    ratio = app / base if base > 0 else 0.0
    same = (
        "identical replies"
        if texts["app"] == texts["baseline"] and len(texts["app"]) == 1
        else "replies DIFFER"
    )
    speed_note = (
        f"median of {rounds} alternating runs (after 1 warm-up each); tokens = count_tokens(final text), "
        f"o200k estimate, {median(tokens['app']):.0f} per reply; rate over first token → end; "
        f"temperature 0, seed {SEED}, max_tokens {MAX_TOKENS}; {same}; baseline = raw openai SDK"
    )
    return [
        BenchResult(
            name="offline: ChatClient.stream tokens/s",
            figure=app,
            baseline=base,
            ratio=ratio,
            target=f"≥ {RATIO_TARGET:g}",
            passed=ratio >= RATIO_TARGET,
            unit="tok/s",
            note=speed_note,
        ),
        BenchResult(
            name="offline: cold start → 1st token",
            figure=first_token_s,
            baseline=COLD_START_BUDGET_S,
            ratio=first_token_s / COLD_START_BUDGET_S,
            target="≤ 1 (of budget)",
            passed=first_token_s <= COLD_START_BUDGET_S,
            unit="s",
            note=f"baseline column = the {COLD_START_BUDGET_S:g} s budget; start() → ready took {ready_s:.2f} s, "
            f"the first reply's first token {first_token_s - ready_s:.2f} s more",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} round instead of {ROUNDS}")
    args = parser.parse_args(argv)
    results = run(quick=args.quick)
    print_results(results, title="Offline model speed (llama.cpp server, SmolLM2-135M)")
    return 0  # a report, not a gate


if __name__ == "__main__":
    sys.exit(main())
