"""`python -m bench` stays runnable: every benchmark it lists exists and the table marks misses.

No benchmark runs here: figures are reports (bench/), the test suite checks behaviour only.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

from bench.__main__ import BENCHMARKS
from bench.common import ROOT, print_results, ratio_result


def test_every_listed_benchmark_has_a_run_function():
    for name in BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        assert callable(getattr(module, "run", None)), f"bench/{name}.py has no run()"


def test_the_table_says_which_figure_is_over_its_target(capsys):
    print_results(
        [
            ratio_result("fast enough", 100, 100, 1.05, "ms"),
            ratio_result("too slow", 300, 100, 1.05, "ms", "three times the baseline"),
        ]
    )
    out = capsys.readouterr().out
    assert "fast enough" in out and "PASS" in out
    assert "too slow" in out and "FAIL" in out and "three times the baseline" in out
    assert "1 of 2 over target: too slow" in out


def test_the_command_line_offers_every_benchmark():
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    for name in BENCHMARKS:
        assert name in result.stdout
