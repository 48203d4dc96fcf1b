"""What the app's streaming path costs over the bare openai SDK, reading the same ~4,000-chunk reply.

All three read the same reply from the same loopback fake server (tests/fake_openai.py):
  baseline  openai.OpenAI(...).chat.completions.create(stream=True, include_usage) joining delta.content
  A         chatlab.client.ChatClient.stream — typed events, usage, timings
  B         chatlab.turn.send_turn — A plus the store: the user row, the reply row rewritten as it grows,
            the final row with usage and cost (a temporary SQLite database)
Runs alternate (baseline, A, B, baseline, …) after one warm-up; medians are compared.

    python bench/stream_overhead.py [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench`, `chatlab` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openai  # noqa: E402

from bench.common import BenchResult, alternate, fake_server, median, print_results, ratio_result  # noqa: E402
from chatlab.client import ChatClient  # noqa: E402
from chatlab.endpoint import Endpoint  # noqa: E402
from chatlab.events import TextDelta  # noqa: E402
from chatlab.params import GenerationParams  # noqa: E402
from chatlab.store import Store  # noqa: E402
from chatlab.turn import TurnSettings, send_turn  # noqa: E402
from tests.fake_openai import Reply  # noqa: E402

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
        events = list(self.client.stream(MODEL, self.messages, GenerationParams()))
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
    with tempfile.TemporaryDirectory() as tmp, fake_server(Reply(text=text, chunk_chars=CHUNK_CHARS)) as fake:
        variants = Variants(fake.base_url, Path(tmp) / "bench.sqlite3", text)
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
    base = median(times["baseline"]) * 1000
    chunks = -(-len(text) // CHUNK_CHARS)
    note = f"median of {rounds} alternating runs; {chunks:,} chunks of {CHUNK_CHARS} chars; baseline = raw SDK"
    return [
        ratio_result("stream: ChatClient.stream", median(times["client"]) * 1000, base, LIMIT, "ms", note),
        ratio_result("stream: send_turn (+store)", median(times["pipeline"]) * 1000, base, LIMIT, "ms"),
    ]


def profile(rounds: int = 3) -> str:
    """cProfile of send_turn alone (after a warm-up), top functions by own time and by cumulative time."""
    text = reply_text()
    with tempfile.TemporaryDirectory() as tmp, fake_server(Reply(text=text, chunk_chars=CHUNK_CHARS)) as fake:
        variants = Variants(fake.base_url, Path(tmp) / "bench.sqlite3", text)
        try:
            variants.full_pipeline()
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(rounds):
                variants.full_pipeline()
            profiler.disable()
        finally:
            variants.close()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(30)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds instead of {ROUNDS}")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of send_turn")
    args = parser.parse_args(argv)
    results = run(quick=args.quick)
    print_results(results, title="Streaming overhead (same fake server, same 16,000-char reply)")
    if args.profile:
        print(profile())
    return 0  # a report, not a gate


if __name__ == "__main__":
    sys.exit(main())
