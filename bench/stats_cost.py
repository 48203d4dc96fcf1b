"""What the statistics add to a page of 160 samples: intervals, differences and p-values for 8 settings ×
20 samples × 12 metrics (chatlab.sweep.table.statistics), target ≤ 100 ms.

Printed beside what the sweep page already computes for the same samples (summarize + samples_frame), and
with the CPU time it takes: on a shared machine the wall time also measures everyone else's load.
The samples are made up, no server is involved: replies of 40–160 words with random lengths, latencies,
costs, refusals and a judge's score, so every metric has spread (no shortcut for equal values).

    python bench/stats_cost.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench`, `chatlab` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BenchResult, alternate, median, print_results  # noqa: E402
from chatlab.params import GenerationParams  # noqa: E402
from chatlab.stats import RESAMPLES, compare_groups  # noqa: E402
from chatlab.sweep.plan import SweepSpec, grid  # noqa: E402
from chatlab.sweep.run import Sample  # noqa: E402
from chatlab.sweep.table import samples_frame, statistics, summarize  # noqa: E402

SETTINGS, SAMPLES = 8, 20
TARGET_MS = 100.0
ROUNDS, QUICK_ROUNDS = 15, 5
_WORDS = (
    "the a keeper light sea storm night ship harbour rope lamp oil stairs window wave rock gull morning "
    "letter boat island wind salt fog bell quiet long old small bright cold tide model answer prompt"
).split()


def page() -> tuple[SweepSpec, list[Sample]]:
    """A temperature sweep of SETTINGS settings × SAMPLES samples, with seeded made-up replies."""
    spec = SweepSpec(
        model="gpt-4o-mini",
        prompt="Tell me about the sea.",
        base_params=GenerationParams(max_tokens=512),
        axes=(("temperature", tuple(round(0.2 * i, 1) for i in range(SETTINGS))),),
        samples=SAMPLES,
    )
    rng = random.Random(2026)
    samples = []
    for i, point in enumerate(grid(spec)):
        for k in range(SAMPLES):
            words = max(5, int(rng.gauss(60 + 12 * i, 20)))
            text = " ".join(rng.choice(_WORDS[: 10 + 3 * i]) for _ in range(words))
            if rng.random() < 0.05 * i / SETTINGS:
                text = "I'm sorry, but I can't help with that. " + text
            samples.append(
                Sample(
                    values=point.values,
                    index=k,
                    text=text,
                    finish_reason="length" if rng.random() < 0.05 else "stop",
                    prompt_tokens=12,
                    completion_tokens=words,
                    usage_estimated=False,
                    ttft_s=rng.gammavariate(2, 0.05),
                    duration_s=rng.gammavariate(2, 0.4),
                    tokens_per_s=rng.gauss(50, 5),
                    cost_usd=(12 * 0.15 + words * 0.6) / 1e6,
                    error=None,
                    refusal=text.startswith("I'm sorry"),
                )
            )
    return spec, samples


def run(quick: bool = False) -> list[BenchResult]:
    spec, samples = page()
    frame = samples_frame(samples, spec)
    frame["score_judge"] = [random.Random(k).gauss(3, 1) for k in range(len(frame))]  # a 12th metric
    labels = [p.label for p in grid(spec)]
    times = alternate(
        {
            "statistics": lambda: compare_groups(frame, "setting", groups=labels),
            "page": lambda: (summarize(samples, spec), samples_frame(samples, spec)),
            "sweep statistics": lambda: statistics(samples, spec),
        },
        rounds=QUICK_ROUNDS if quick else ROUNDS,
    )
    ms = {name: [t * 1000 for t in values] for name, values in times.items()}
    figure, baseline = median(ms["statistics"]), median(ms["page"])
    cpu = []
    for _ in range(QUICK_ROUNDS):
        started = time.thread_time()
        compare_groups(frame, "setting", groups=labels)
        cpu.append((time.thread_time() - started) * 1000)
    metrics = compare_groups(frame, "setting", groups=labels)["metric"].nunique()
    return [
        BenchResult(
            name=f"statistics of {SETTINGS * SAMPLES} samples",
            figure=figure,
            baseline=baseline,
            ratio=figure / baseline,
            target=f"≤ {TARGET_MS:g} ms",
            passed=figure <= TARGET_MS,
            unit="ms",
            note=f"{SETTINGS} settings × {SAMPLES} samples × {metrics} metrics, {RESAMPLES:,} resamples; "
            f"baseline: the sweep page's summary and sample tables of the same samples; "
            f"{min(ms['statistics']):,.0f}–{max(ms['statistics']):,.0f} ms over {len(ms['statistics'])} runs, "
            f"CPU {median(cpu):,.0f} ms (this thread's time: what other processes on the machine do not change); "
            f"sweep.table.statistics (its sample table included): {median(ms['sweep statistics']):,.0f} ms",
        )
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds instead of {ROUNDS}")
    args = parser.parse_args(argv)
    print_results(run(quick=args.quick), title="What the statistics cost a page")
    return 0  # a report, not a gate


if __name__ == "__main__":
    sys.exit(main())
