"""Run every benchmark and print one table:  .venv/bin/python -m bench [--quick]

Each figure is printed beside a baseline measured in the same run. Benchmarks are reports, not tests:
the exit code is 0 even when a figure misses its target (the table says FAIL).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BenchResult, print_results  # noqa: E402

BENCHMARKS = (
    "stream_overhead",
    "browser_stream",
    "rerun_cost",
    "compare_concurrency",
    "offline_speed",
    "history_scale",
    "token_view",
    "stats_cost",
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds: a rough figure in less time")
    parser.add_argument("only", nargs="*", choices=[*BENCHMARKS, []], help="run only these benchmarks")
    args = parser.parse_args(argv)
    results: list[BenchResult] = []
    for name in args.only or BENCHMARKS:
        print(f"running {name}…", file=sys.stderr, flush=True)
        try:
            results += importlib.import_module(f"bench.{name}").run(quick=args.quick)
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            print(f"{name}: could not run (see the error above)", file=sys.stderr)
    print_results(results, title="Chat Lab benchmarks (figure vs a baseline measured in the same run)")


if __name__ == "__main__":
    main()
