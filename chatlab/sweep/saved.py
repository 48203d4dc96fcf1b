"""A sweep in the history database: stored before its first request, each sample written as it arrives,
reopened from History as its spec and samples (so every table, chart and CSV comes back the same).

    sweep_id = start_sweep(store, spec)
    for sample in run_sweep(client, spec, on_sample=partial(save_sample, store, sweep_id, spec)): ...
    finish_sweep(store, sweep_id, cancelled=cancel.is_set())
"""

from __future__ import annotations

from dataclasses import dataclass

from chatlab.csvfile import to_csv_bytes
from chatlab.params import GenerationParams
from chatlab.roles.variables import Variable
from chatlab.store import CANCELLED, FINISHED, ROW_FIELDS, SWEEP, RunRecord, Store
from chatlab.sweep.plan import SweepSpec, grid
from chatlab.sweep.run import Sample
from chatlab.sweep.table import samples_frame, statistics
from chatlab.turn import title_from


def spec_to_dict(spec: SweepSpec) -> dict:
    """The spec as JSON-able data (spec_from_dict reads it back)."""
    return {
        "model": spec.model,
        "system_prompt": spec.system_prompt,
        "few_shot": [dict(m) for m in spec.few_shot],
        "history": [dict(m) for m in spec.history],
        "prompt": spec.prompt,
        "base_params": spec.base_params.as_dict(),
        "axes": [[name, list(values)] for name, values in spec.axes],
        "samples": spec.samples,
        "use_n": spec.use_n,
        "variables": [v.to_dict() for v in spec.variables],
        "values": dict(spec.values),
    }


def spec_from_dict(data: dict) -> SweepSpec:
    """A stored spec, checked again (ValueError when it no longer passes)."""
    return SweepSpec(
        model=data["model"],
        system_prompt=data.get("system_prompt", ""),
        few_shot=tuple(data.get("few_shot") or ()),
        history=tuple(data.get("history") or ()),
        prompt=data["prompt"],
        base_params=GenerationParams.from_dict(data.get("base_params")),
        axes=tuple((name, tuple(values)) for name, values in data["axes"]),
        samples=data.get("samples", 3),
        use_n=bool(data.get("use_n", False)),
        variables=tuple(Variable(**v) for v in data.get("variables") or ()),
        values=dict(data.get("values") or {}),
    )


def default_title(spec: SweepSpec) -> str:
    """ "temperature × top_p: Tell me about cats" """
    return f"{' × '.join(spec.axis_names)}: {title_from(spec.prompt)}"


def start_sweep(store: Store, spec: SweepSpec, title: str = "") -> str:
    """Store the sweep (running) before it sends anything; returns its id."""
    return store.create_run(SWEEP, spec_to_dict(spec), title=title or default_title(spec), model=spec.model)


# Fields a stored sample row shares with Sample, by name (`setting`, `sample` and `values` are mapped apart).
_SAMPLE_FIELDS = tuple(f for f in ROW_FIELDS[SWEEP] if f not in ("setting", "sample", "values"))


def save_sample(store: Store, sweep_id: str, spec: SweepSpec, sample: Sample) -> None:
    """Store one sample as it arrives (fits run_sweep's on_sample)."""
    setting = next((i for i, p in enumerate(grid(spec)) if p.values == sample.values), -1)
    row = {name: getattr(sample, name) for name in _SAMPLE_FIELDS}
    row.update(setting=setting, sample=sample.index, values=[[name, value] for name, value in sample.values])
    store.add_run_row(SWEEP, sweep_id, row)


def finish_sweep(store: Store, sweep_id: str, *, cancelled: bool = False) -> None:
    store.finish_run(SWEEP, sweep_id, CANCELLED if cancelled else FINISHED)


@dataclass(frozen=True)
class SavedSweep:
    """A sweep reopened from the store."""

    record: RunRecord
    spec: SweepSpec
    samples: list[Sample]


def load_sweep(store: Store, sweep_id: str) -> SavedSweep | None:
    """The sweep's spec and samples as they were run; None when there is no such sweep."""
    record = store.get_run(SWEEP, sweep_id)
    if record is None:
        return None
    samples = [
        Sample(
            values=tuple((name, value) for name, value in row["values"]),
            index=row["sample"],
            **{name: row[name] for name in _SAMPLE_FIELDS},
        )
        for row in store.run_rows(SWEEP, sweep_id)
    ]
    return SavedSweep(record, spec_from_dict(record.spec), samples)


def export_files(saved: SavedSweep) -> dict[str, bytes]:
    """The sweep's two CSVs by file name: per sample, and per setting × metric (chatlab.stats)."""
    stem = f"sweep-{saved.record.id}"
    return {
        f"{stem}-samples.csv": to_csv_bytes(samples_frame(saved.samples, saved.spec)),
        f"{stem}-statistics.csv": to_csv_bytes(statistics(saved.samples, saved.spec)),
    }
