"""Sweeps and meter runs in the history database: written as they run, listed, reopened, renamed, deleted,
exported — on SQLite and PostgreSQL (the `store` fixture runs each test on both)."""

from __future__ import annotations

import threading
from functools import partial

import pandas as pd
import pytest

from chatlab.client import ChatClient
from chatlab.determinism import (
    MeterSpec,
    finish_meter_run,
    load_meter_run,
    meter_frame,
    run_meter,
    save_reply,
    start_meter_run,
)
from chatlab.params import GenerationParams
from chatlab.store import CANCELLED, FINISHED, METER, RUNNING, SWEEP
from chatlab.store.migrations import applied_migrations
from chatlab.sweep.plan import SweepSpec
from chatlab.sweep.run import run_sweep
from chatlab.sweep.saved import export_files, finish_sweep, load_sweep, save_sample, start_sweep
from chatlab.sweep.table import csv_bytes, samples_frame, statistics, summarize
from tests.fake_openai import Reply, seeded_replies


@pytest.fixture
def client(fake_endpoint):
    client = ChatClient(fake_endpoint)
    yield client
    client.close()


def sweep_spec() -> SweepSpec:
    return SweepSpec(
        model="gpt-4o-mini",
        system_prompt="Be brief.",
        few_shot=({"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}),
        prompt="Tell me about cats",
        base_params=GenerationParams(max_tokens=64, stop=("END",)),
        axes=(("temperature", (0.0, 1.0)), ("top_p", (0.5, None))),
        samples=4,
    )


def test_a_sweep_is_written_as_it_runs_and_reopens_the_same(store, client, fake_openai):
    fake_openai.script_fn(
        lambda r: Reply(status=500) if r.body.get("top_p") == 0.5 and r.body["temperature"] else None
    )
    spec = sweep_spec()
    sweep_id = start_sweep(store, spec)
    assert store.get_run(SWEEP, sweep_id).status == RUNNING
    samples = list(run_sweep(client, spec, on_sample=partial(save_sample, store, sweep_id, spec)))
    finish_sweep(store, sweep_id)

    saved = load_sweep(store, sweep_id)
    assert saved.record.status == FINISHED and saved.record.title == "temperature × top_p: Tell me about cats"
    assert saved.spec == spec
    key = lambda s: (repr(s.values), s.index)  # noqa: E731
    assert sorted(saved.samples, key=key) == sorted(samples, key=key)
    pd.testing.assert_frame_equal(summarize(saved.samples, spec), summarize(samples, spec))
    pd.testing.assert_frame_equal(statistics(saved.samples, spec), statistics(samples, spec))
    files = export_files(saved)
    assert files[f"sweep-{sweep_id}-samples.csv"] == csv_bytes(samples_frame(samples, spec))
    assert files[f"sweep-{sweep_id}-statistics.csv"] == csv_bytes(statistics(samples, spec))

    [summary] = store.list_runs(SWEEP)
    assert (summary.id, summary.stored, summary.errors) == (sweep_id, 16, 4)
    assert summary.cost_usd == pytest.approx(sum(s.cost_usd for s in samples if s.cost_usd is not None))


def test_a_sweep_keeps_its_role_variables_and_their_values(store):
    from chatlab.roles.variables import Variable

    spec = SweepSpec(
        model="gpt-4o-mini",
        system_prompt="You review {{language}} code for ${Team}.",
        prompt="Review this",
        axes=(("temperature", (0.0, 1.0)),),
        variables=(Variable("language", "Python", "The language"), Variable("Team")),
        values={"Team": "the platform team"},
    )
    sweep_id = start_sweep(store, spec)
    assert load_sweep(store, sweep_id).spec == spec  # a required value is not lost on the way


def test_a_meter_run_is_stored_and_reopens_with_the_same_verdict(store, client, fake_openai):
    fake_openai.script_fn(seeded_replies())
    spec = MeterSpec(
        model="gpt-4o-mini",
        messages=({"role": "user", "content": "Tell a story."},),
        params=GenerationParams(temperature=1.0),
        runs=3,
    )
    run_id = start_meter_run(store, spec)
    report = run_meter(client, spec, on_reply=partial(save_reply, store, run_id))
    finish_meter_run(store, run_id)

    again = load_meter_run(store, run_id)
    assert again.verdict == report.verdict and again.seed_honoured is True
    assert again.replies == report.replies and again.spec == spec
    pd.testing.assert_frame_equal(meter_frame(again), meter_frame(report))
    [summary] = store.list_runs(METER)
    assert (summary.title, summary.stored, summary.status) == ("Determinism: Tell a story.", 6, FINISHED)


def test_runs_are_listed_newest_first_renamed_and_deleted_with_their_rows(store):
    spec = sweep_spec()
    sweep_id = start_sweep(store, spec, title="first")
    meter_id = store.create_run(METER, {"model": "m"}, title="second", model="m")
    store.add_run_row(METER, meter_id, {"seeded": True, "sample": 0, "text": "x", "error": "boom"})
    assert [(r.kind, r.title) for r in store.list_runs()] == [(METER, "second"), (SWEEP, "first")]
    store.rename_run(SWEEP, sweep_id, "renamed")
    store.finish_run(SWEEP, sweep_id, CANCELLED)
    record = store.get_run(SWEEP, sweep_id)
    assert (record.title, record.status, record.model) == ("renamed", CANCELLED, "gpt-4o-mini")
    assert store.list_runs(METER)[0].errors == 1 and store.list_runs(METER)[0].cost_usd is None

    store.delete_run(METER, meter_id)
    assert store.get_run(METER, meter_id) is None and store.run_rows(METER, meter_id) == []
    assert [r.id for r in store.list_runs()] == [sweep_id]
    with pytest.raises(ValueError, match="unknown run kind"):
        store.get_run("chat", sweep_id)
    with pytest.raises(TypeError, match="unknown sweep row fields"):
        store.add_run_row(SWEEP, sweep_id, {"colour": "red"})
    assert load_sweep(store, "nope") is None and load_meter_run(store, "nope") is None


def test_the_migration_is_recorded(store):
    assert "m011_sweeps_and_meter_runs" in applied_migrations(store.engine)


def test_a_cancelled_meter_run_keeps_its_replies(store, client, fake_openai):
    fake_openai.script_fn(seeded_replies())
    spec = MeterSpec(model="gpt-4o-mini", messages=({"role": "user", "content": "Hi"},), runs=5)
    run_id = start_meter_run(store, spec)
    cancel = threading.Event()

    def keep(reply):
        save_reply(store, run_id, reply)
        if len(store.run_rows(METER, run_id)) == 2:
            cancel.set()

    run_meter(client, spec, cancel=cancel, on_reply=keep)
    finish_meter_run(store, run_id, cancelled=True)
    report = load_meter_run(store, run_id)
    assert len(report.replies) == 2 and store.get_run(METER, run_id).status == CANCELLED
