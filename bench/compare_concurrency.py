"""Do the panes of a comparison really answer at the same time? 8 panes against one reply, same server.

The fake server (tests/fake_openai.py, in its own process so it does not share this process's GIL;
a threading server, one thread per request) takes ~1 s per reply: 0.5 s before the first chunk, then
50 chunks 10 ms apart. Both figures are the wall time of `chatlab.compare.send_to_panes` — requests,
streaming and the store — for a fresh comparison:
  baseline  a comparison of 1 pane
  figure    a comparison of 8 panes (different roles, one shared ChatClient as the page uses)
Run one after another the 8 panes would take 8×; the target is ≤ 1.3×. Runs alternate after a warm-up.

    python bench/compare_concurrency.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench`, `chatlab` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    BenchResult,
    alternate,
    fake_server_process,
    median,
    print_results,
    ratio_result,
)
from chatlab.client import ChatClient  # noqa: E402
from chatlab.compare import PaneSpec, create_comparison, send_to_panes  # noqa: E402
from chatlab.endpoint import Endpoint  # noqa: E402
from chatlab.events import StreamDone  # noqa: E402
from chatlab.store import COMPLETE, Store  # noqa: E402
from chatlab.turn import TurnSettings  # noqa: E402

MODEL = "gpt-4o-mini"
PANES = 8
FIRST_DELAY_S = 0.5
CHUNK_DELAY_S = 0.01
CHUNK_CHARS = 8
REPLY = "The lighthouse keeper climbed the stairs. " * 10  # 420 chars: 53 chunks, ~0.5 s of streaming
LIMIT = 1.3
ROUNDS, QUICK_ROUNDS = 5, 2


def slow_fake_server():
    """The fake server in its own process, taking ~1 s per reply (0.5 s to the first chunk, then chunks)."""
    return fake_server_process(
        REPLY,
        CHUNK_CHARS,
        extra_args=("--first-delay", str(FIRST_DELAY_S), "--delay", str(CHUNK_DELAY_S)),
    )


class Comparisons:
    """Sends one message to a fresh comparison of n panes and checks every pane completed."""

    def __init__(self, base_url: str, db_path: Path):
        self.client = ChatClient(Endpoint(base_url=base_url, api_keys=("sk-bench-0000",), max_retries=0))
        self.store = Store(db_path)

    def close(self) -> None:
        self.client.close()
        self.store.close()

    def send(self, count: int) -> None:
        panes = [
            PaneSpec(TurnSettings(model=MODEL, role_name=f"Role {i}", system_prompt=f"You are role {i}."))
            for i in range(count)
        ]
        comparison_id = create_comparison(self.store, panes)
        done = {}
        for tagged in send_to_panes(
            self.store, [self.client] * count, comparison_id, panes, "Tell me a story."
        ):
            if isinstance(tagged.event, StreamDone):
                done[tagged.index] = tagged.event
        statuses = [self.store.messages(c.id)[-1].status for c in self.store.comparison_panes(comparison_id)]
        if len(done) != count or any(d.error for d in done.values()) or statuses != [COMPLETE] * count:
            raise RuntimeError(f"bad comparison: {len(done)} of {count} panes done, statuses {statuses}")


def run(quick: bool = False) -> list[BenchResult]:
    """Median wall time of 8 panes over that of 1 pane, alternating runs."""
    rounds = QUICK_ROUNDS if quick else ROUNDS
    with tempfile.TemporaryDirectory() as tmp, slow_fake_server() as base_url:
        comparisons = Comparisons(base_url, Path(tmp) / "bench.sqlite3")
        try:
            times = alternate(
                {"one": lambda: comparisons.send(1), "many": lambda: comparisons.send(PANES)}, rounds=rounds
            )
        finally:
            comparisons.close()
    ms = {name: [t * 1000 for t in values] for name, values in times.items()}

    def spread(name: str) -> str:
        return f"{min(ms[name]):,.0f}–{max(ms[name]):,.0f} ms"

    return [
        ratio_result(
            f"compare: {PANES} panes vs 1",
            median(ms["many"]),
            median(ms["one"]),
            LIMIT,
            "ms",
            f"{PANES} panes {spread('many')}, 1 pane {spread('one')}; sequential would be ~{PANES}×; "
            f"median of {rounds} alternating runs; server ~{FIRST_DELAY_S:g} s to first chunk + "
            f"{-(-len(REPLY) // CHUNK_CHARS)} chunks {CHUNK_DELAY_S * 1000:g} ms apart",
        )
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds instead of {ROUNDS}")
    args = parser.parse_args(argv)
    print_results(run(quick=args.quick), title=f"Comparison concurrency ({PANES} panes, ~1 s per reply)")
    return 0  # a report, not a gate


if __name__ == "__main__":
    sys.exit(main())
