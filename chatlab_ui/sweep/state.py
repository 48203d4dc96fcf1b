"""The sweep page's state between runs: what a button queued, and the results of the last runs."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from chatlab.determinism import MeterReport, MeterSpec
from chatlab.sweep.ablation import ReplaySource
from chatlab.sweep.plan import SweepSpec, Values
from chatlab.sweep.run import Sample


@dataclass(frozen=True)
class SweepRun:
    """Run sweep was clicked: the next run sends this plan."""

    spec: SweepSpec


@dataclass(frozen=True)
class NoiseRun:
    """Measure the noise floor was clicked: fresh samples of one setting (`spec`, one point), split in two."""

    spec: SweepSpec
    baseline: Values


@dataclass(frozen=True)
class MeterRun:
    """Run the determinism meter was clicked."""

    spec: MeterSpec


@dataclass(frozen=True)
class AblationRun:
    """Run ablation was clicked: replay the source's question after 0, 1, 2 … of its past turns."""

    source: ReplaySource
    turns: tuple[int, ...]


@dataclass
class Progress:
    """A run's results, appended as they arrive; `finished` stays False when Cancel stopped it."""

    total: int
    items: list = field(default_factory=list)
    finished: bool = False
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)  # Cancel sets it
    about: str = ""  # what the run was, in words (an ablation: what it replayed and with which settings)
    stopped: str = "Cancelled"  # how an unfinished run is described ("Interrupted" for a stored one)


@dataclass
class NoiseResults:
    """The fresh samples of the baseline measured against themselves (chatlab.sweep.table.a_versus_a)."""

    spec: SweepSpec
    baseline: Values
    progress: Progress
    sweep_id: str | None = None


@dataclass
class SweepResults:
    """The last sweep: its plan, its samples, where it is stored, its noise floor once measured, and the
    statistics already worked out (`cache`: they take ~80 ms, and every rerun would redo them)."""

    spec: SweepSpec
    progress: Progress
    sweep_id: str | None = None
    title: str = ""
    noise: NoiseResults | None = None
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def samples(self) -> list[Sample]:
        return self.progress.items


@dataclass
class MeterResults:
    """The last determinism-meter run: its report (replies as they came) and where it is stored."""

    report: MeterReport
    run_id: str | None = None
    finished: bool = True
    stopped: str = "Cancelled"
