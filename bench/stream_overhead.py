"""What the app's streaming path costs over the bare openai SDK, reading the same ~4,000-chunk reply.

All three read the same reply from the same loopback fake server (tests/fake_openai.py, run in its own
process so that it does not share this process's GIL):
  baseline  openai.OpenAI(...).chat.completions.create(stream=True, include_usage) joining delta.content
  A         chatlab.client.ChatClient.stream — typed events, usage, timings
  B         chatlab.turn.send_turn — A plus the store: the user row, the reply row rewritten as it grows,
            the final row with usage and cost (a temporary SQLite database)
Runs alternate (baseline, A, B, baseline, …) after one warm-up; medians are compared.

    python bench/stream_overhead.py [--quick] [--profile]

When a ratio is over target (or with --profile) a cProfile of send_turn says which code owns the time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench`, `chatlab` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openai  # noqa: E402

from bench.common import (  # noqa: E402
    BenchResult,
    alternate,
    fake_server_process,
    median,
    print_results,
    ratio_result,
)
from chatlab.client import ChatClient  # noqa: E402
from chatlab.endpoint import Endpoint  # noqa: E402
from chatlab.events import TextDelta  # noqa: E402
from chatlab.params import GenerationParams  # noqa: E402
from chatlab.request import build_request  # noqa: E402
from chatlab.store import Store  # noqa: E402
from chatlab.turn import TurnSettings, send_turn  # noqa: E402

MODEL = "gpt-4o-mini"
API_KEY = "sk-bench-0000"
REPLY_CHARS = 16_000
CHUNK_CHARS = 4  # 4,000 content chunks, about one token each, as a real stream sends them
PROMPT = "Tell me a long story about a lighthouse keeper."
LIMIT = 1.05
ROUNDS, QUICK_ROUNDS = 7, 3

_WORDS = (
    "the a keeper light sea storm night ship harbour rope lamp oil stairs window wave rock gull "
    "morning letter boat island wind salt fog bell quiet long old small bright cold tide came saw "
    "climbed waited watched carried remembered and but then while because after before under over"
).split()


def reply_text(chars: int = REPLY_CHARS, seed: int = 0) -> str:
    """Plausible prose of exactly `chars` characters (words, commas, sentences)."""
    rng = random.Random(seed)
    parts: list[str] = []
    length = 0
    while length < chars:
        sentence = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 18)))
        sentence = sentence[0].upper() + sentence[1:] + rng.choice([".", ".", ",", "!", "?"]) + " "
        parts.append(sentence)
        length += len(sentence)
    return "".join(parts)[:chars]


class Variants:
    """The three readers, sharing one server; each call reads one whole reply and checks it."""

    def __init__(self, base_url: str, db_path: Path, expected: str):
        self.expected = expected
        self.messages = [{"role": "user", "content": PROMPT}]
        # Same client settings on both sides; each keeps its SDK client between runs, as the app does.
        self.sdk = openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)
        self.client = ChatClient(Endpoint(base_url=base_url, api_keys=(API_KEY,), max_retries=0))
        self.store = Store(db_path)
        self.settings = TurnSettings(model=MODEL)

    def close(self) -> None:
        self.sdk.close()
        self.client.close()
        self.store.close()

    def baseline(self) -> None:
        stream = self.sdk.chat.completions.create(
            model=MODEL,
            messages=self.messages,
            stream=True,
            stream_options={"include_usage": True},
        )
        parts = []
        usage = None
        for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            if chunk.choices:  # the usage chunk has "choices": []
                content = chunk.choices[0].delta.content
                if content:
                    parts.append(content)
        self._check("".join(parts), usage is not None)

    def client_stream(self) -> None:
        events = list(self.client.stream(build_request(MODEL, self.messages, GenerationParams())))
        done = events[-1]
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        self._check(text, not done.usage.estimated)

    def full_pipeline(self) -> None:
        # A fresh conversation each run, so the request (and the history read) is the same every time.
        cid = self.store.create_conversation()
        for _ in send_turn(self.store, self.client, cid, self.settings, PROMPT):
            pass
        stored = self.store.messages(cid)
        self._check(stored[-1].content, stored[-1].prompt_tokens is not None)

    def _check(self, text: str, has_usage: bool) -> None:
        if text != self.expected or not has_usage:
            raise RuntimeError(f"bad read: {len(text)} of {len(self.expected)} chars, usage={has_usage}")


def run(quick: bool = False) -> list[BenchResult]:
    """Medians of baseline / ChatClient.stream / send_turn, and their ratios to the baseline."""
    text = reply_text()
    rounds = QUICK_ROUNDS if quick else ROUNDS
    with tempfile.TemporaryDirectory() as tmp, fake_server_process(text, CHUNK_CHARS) as base_url:
        variants = Variants(base_url, Path(tmp) / "bench.sqlite3", text)
        try:
            times = alternate(
                {
                    "baseline": variants.baseline,
                    "client": variants.client_stream,
                    "pipeline": variants.full_pipeline,
                },
                rounds=rounds,
            )
        finally:
            variants.close()
    ms = {name: [t * 1000 for t in values] for name, values in times.items()}
    base = median(ms["baseline"])

    def spread(name: str) -> str:
        return f"{min(ms[name]):,.0f}–{max(ms[name]):,.0f} ms"

    chunks = -(-len(text) // CHUNK_CHARS)
    return [
        ratio_result(
            "stream: ChatClient.stream",
            median(ms["client"]),
            base,
            LIMIT,
            "ms",
            f"runs {spread('client')}; min/min ratio {min(ms['client']) / min(ms['baseline']):.3f}; "
            f"baseline (raw SDK) runs {spread('baseline')}; median of {rounds} alternating runs of "
            f"{chunks:,} chunks of {CHUNK_CHARS} chars",
        ),
        ratio_result(
            "stream: send_turn (+store)",
            median(ms["pipeline"]),
            base,
            LIMIT,
            "ms",
            f"runs {spread('pipeline')}; min/min ratio {min(ms['pipeline']) / min(ms['baseline']):.3f}",
        ),
    ]


def profile(rounds: int = 3) -> pstats.Stats:
    """cProfile of send_turn alone (after a warm-up), `rounds` full replies."""
    text = reply_text()
    with tempfile.TemporaryDirectory() as tmp, fake_server_process(text, CHUNK_CHARS) as base_url:
        variants = Variants(base_url, Path(tmp) / "bench.sqlite3", text)
        try:
            variants.full_pipeline()
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(rounds):
                variants.full_pipeline()
            profiler.disable()
        finally:
            variants.close()
    return pstats.Stats(profiler)


# Code that owns its time; everything else (builtins, stdlib, typing, pydantic, json) is charged to
# whoever called it, so `isinstance` inside the SDK's model building counts as SDK time.
_OWNERS = (
    ("/chatlab/store.py", "chatlab store (SQLite writes)"),
    ("/chatlab/", "chatlab (ChatClient.stream + send_turn)"),
    ("/site-packages/openai/", "openai SDK (SSE parsing, chunk models)"),
    ("/site-packages/httpx2/", "HTTP transport (httpx2 and below)"),
    ("/site-packages/httpcore", "HTTP transport (httpx2 and below)"),
    ("/site-packages/h11/", "HTTP transport (httpx2 and below)"),
    ("/bench/", "benchmark harness"),
)


def time_by_owner(stats: pstats.Stats) -> dict[str, float]:
    """Own time of every profiled function, summed by the code that owns it (see _OWNERS)."""
    entries = stats.stats  # type: ignore[attr-defined]  # {func: (cc, nc, tt, ct, callers)}
    memo: dict[tuple, dict[str, float]] = {}

    def owner_of(func: tuple) -> str | None:
        filename = func[0]
        return next((name for marker, name in _OWNERS if marker in filename), None)

    def shares(func: tuple, visiting: frozenset) -> dict[str, float]:
        """How a function's time splits between owners (summing to 1; empty if only reached in a cycle)."""
        owner = owner_of(func)
        if owner is not None:
            return {owner: 1.0}
        if func in memo:
            return memo[func]
        out: dict[str, float] = defaultdict(float)
        total = 0.0
        for caller, edge in entries.get(func, (0, 0, 0, 0, {}))[4].items():
            if caller in visiting:  # recursion (isinstance -> __instancecheck__ -> isinstance)
                continue
            split = shares(caller, visiting | {func})
            if split:
                total += edge[2]
                for name, share in split.items():
                    out[name] += share * edge[2]
        result = {name: value / total for name, value in out.items()} if total else {}
        if not visiting:  # a split found inside a cycle may be partial: keep only top-level answers
            memo[func] = result or {"other": 1.0}
            return memo[func]
        return result

    spent: dict[str, float] = defaultdict(float)
    for func, (_cc, _nc, tt, _ct, _callers) in entries.items():
        for name, share in shares(func, frozenset()).items():
            spent[name] += tt * share
    return dict(sorted(spent.items(), key=lambda item: -item[1]))


def profile_summary(stats: pstats.Stats) -> str:
    spent = time_by_owner(stats)
    total = sum(spent.values()) or 1.0
    lines = ["Where send_turn's time goes (cProfile; its overhead inflates call-heavy code):"]
    lines += [f"  {share / total:6.1%}  {name}" for name, share in spent.items() if share / total >= 0.0005]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds instead of {ROUNDS}")
    parser.add_argument("--profile", action="store_true", help="also print the full cProfile of send_turn")
    args = parser.parse_args(argv)
    results = run(quick=args.quick)
    print_results(results, title="Streaming overhead (same fake server, same 16,000-char reply)")
    if args.profile or not all(r.passed for r in results):
        stats = profile()
        print()
        print(profile_summary(stats))
        if args.profile:
            out = io.StringIO()
            stats.stream = out  # type: ignore[attr-defined]
            stats.sort_stats("tottime").print_stats(20)
            stats.sort_stats("cumulative").print_stats(30)
            print(out.getvalue())
    return 0  # a report, not a gate


if __name__ == "__main__":
    sys.exit(main())
