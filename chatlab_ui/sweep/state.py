"""The sweep page's state between runs: a run the Run button queued, and the results of the last run."""

from __future__ import annotations

from dataclasses import dataclass, field

from chatlab.sweep.ablation import ReplaySource
from chatlab.sweep.plan import SweepSpec
from chatlab.sweep.run import Sample


@dataclass(frozen=True)
class SweepRun:
    """Run sweep was clicked: the next run sends this plan."""

    spec: SweepSpec


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
    about: str = ""  # what the run was, in words (an ablation: what it replayed and with which settings)


@dataclass(frozen=True)
class SweepResults:
    """The last sweep: its plan and its samples (an ablation keeps just its Progress of AblationResults)."""

    spec: SweepSpec
    progress: Progress

    @property
    def samples(self) -> list[Sample]:
        return self.progress.items
