"""What every benchmark shares: the result record, the results table, timing helpers, the fake server.

A benchmark module exposes `run(quick: bool = False) -> list[BenchResult]`; `print_results` draws them.
Benchmarks report, they do not gate: a FAIL line says a figure is over its target, the exit code stays 0.
"""

from __future__ import annotations

import contextlib
import gc
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/, not the repo root, on sys.path
    sys.path.insert(0, str(ROOT))

from tests.fake_openai import FakeOpenAI, Reply  # noqa: E402


@dataclass(frozen=True)
class BenchResult:
    name: str
    figure: float
    baseline: float
    ratio: float  # figure / baseline
    target: str  # e.g. "≤ 1.05"
    passed: bool
    unit: str  # unit of figure and baseline, e.g. "ms"
    note: str = ""


def ratio_result(
    name: str, figure: float, baseline: float, limit: float, unit: str, note: str = ""
) -> BenchResult:
    """A result whose target is figure / baseline ≤ limit."""
    ratio = figure / baseline if baseline > 0 else float("inf")
    return BenchResult(
        name=name,
        figure=figure,
        baseline=baseline,
        ratio=ratio,
        target=f"≤ {limit:g}",
        passed=ratio <= limit,
        unit=unit,
        note=note,
    )


def limit_result(
    name: str, figure: float, baseline: float, limit: float, unit: str, note: str = ""
) -> BenchResult:
    """A result whose target is the figure itself ≤ limit; the baseline is shown beside it for scale."""
    return BenchResult(
        name=name,
        figure=figure,
        baseline=baseline,
        ratio=figure / baseline if baseline > 0 else float("inf"),
        target=f"≤ {limit:,g} {unit}",
        passed=figure <= limit,
        unit=unit,
        note=note,
    )


def print_results(results: Sequence[BenchResult], title: str | None = None) -> None:
    """An aligned table: name, figure, baseline, ratio, target, PASS/FAIL; notes underneath."""
    if title:
        print(f"\n{title}")
    if not results:
        print("(no results)")
        return
    header = ("benchmark", "figure", "baseline", "ratio", "target", "result")
    rows = [
        (
            r.name,
            f"{r.figure:,.1f} {r.unit}",
            f"{r.baseline:,.1f} {r.unit}",
            f"{r.ratio:.3f}",
            r.target,
            "PASS" if r.passed else "FAIL  <-- over target",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    align = ("<", ">", ">", ">", "<", "<")

    def line(cells: Sequence[str]) -> str:
        return "  ".join(f"{c:{a}{w}}" for c, a, w in zip(cells, align, widths, strict=True)).rstrip()

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    for r in results:
        if r.note:
            print(f"  {r.name}: {r.note}")
    failed = [r.name for r in results if not r.passed]
    if failed:
        print(f"FAIL: {len(failed)} of {len(results)} over target: {', '.join(failed)}")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], object], clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds one call of `fn` takes by `clock` (wall time by default; time.process_time counts this
    process's CPU only), after a full collection so no run pays for another's garbage."""
    gc.collect()
    start = clock()
    fn()
    return clock() - start


def alternate(
    variants: dict[str, Callable[[], object]],
    rounds: int,
    warmup: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """Seconds per call of each variant, run in turn (a, b, c, a, b, c, …) so drift hits all alike."""
    for _ in range(warmup):
        for fn in variants.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            times[name].append(timed(fn, clock))
    return times


@contextlib.contextmanager
def fake_server(default: Reply | None = None) -> Iterator[FakeOpenAI]:
    """The loopback fake OpenAI server (tests/fake_openai.py), started for the block and stopped after."""
    fake = FakeOpenAI(default=default).start()
    try:
        yield fake
    finally:
        fake.stop()


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def fake_server_process(
    text: str, chunk_chars: int, startup_s: float = 20.0, extra_args: Sequence[str] = ()
) -> Iterator[str]:
    """The same fake server in its own process (`python -m tests.fake_openai`); yields its base URL.

    For timing a client: a server thread in the measuring process competes with it for the GIL, which
    adds noise and hides the client's own cost behind the server's; a real server is never in-process.
    """
    port = _free_port()
    command = [sys.executable, "-m", "tests.fake_openai", "--port", str(port)]
    command += ["--text", text, "--chunk-chars", str(chunk_chars), *extra_args]
    base_url = f"http://127.0.0.1:{port}/v1"
    # Output to a file, not a PIPE: nobody reads it, and a full pipe would block the server.
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + startup_s
            while True:
                try:
                    with _NO_PROXY.open(f"{base_url}/models", timeout=1):
                        break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise RuntimeError(
                            f"fake server did not start: {log.read().decode()[-2000:]}"
                        ) from None
                    time.sleep(0.05)
            yield base_url
        finally:
            server.terminate()
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
