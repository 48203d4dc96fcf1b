"""The Done-when batch on the real offline model: a 20-case CSV × 3 roles × 3 samples, checks and a judge.

SmolLM2-135M answers poorly; what this proves is the path (rendered prompts, llama.cpp's missing usage
counted offline, checks with reasons, intervals, one CSV row per sample), not the model's quality.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest

from chatlab.batch.plan import BatchSpec, panes_for, problems
from chatlab.batch.run import run_batch, start_batch
from chatlab.batch.table import failures_frame, pane_summary, samples_csv, samples_frame
from chatlab.checks import Check, Judge
from chatlab.client import ChatClient
from chatlab.offline import SHIPPED_ALIAS, OfflineServer
from chatlab.params import GenerationParams
from chatlab.roles import Role
from chatlab.store import Store
from chatlab.store.batches import FINISHED, BatchRuns
from chatlab.testsets import TestCase, TestSet, import_test_set
from tests.test_offline import READY_TIMEOUT_S, _require_offline

pytestmark = pytest.mark.offline_model

ROLES = [
    Role(name="Geographer", system="You answer questions about {{topic}} in one short sentence."),
    Role(name="Poet", system="You answer every question about {{topic}} as a two-line poem."),
    Role(name="Teacher", system="You explain {{topic}} to a ${Audience:child}, briefly."),
]


@pytest.fixture(scope="module")
def client() -> Iterator[ChatClient]:
    _require_offline()
    server = OfflineServer().start()
    try:
        if not server.wait_ready(READY_TIMEOUT_S):
            pytest.fail(f"offline server not ready: {server.status().message}\n{server.log_tail(30)}")
        c = ChatClient(server.endpoint())
        yield c
        c.close()
    finally:
        server.stop()


def test_twenty_cases_three_roles_three_samples_offline(tmp_path, client) -> None:
    rows = ["question,topic,__expected1,__set_expected1,__set_expected2"]
    for i in range(20):
        rows.append(
            f'"What is the capital of country number {i + 1}?",geography,"not-contains: ```",max-chars: 400,language: en'
        )
    test_set = import_test_set(("\n".join(rows) + "\n").encode(), "geo.csv").test_set
    # max_tokens keeps 180 replies short: llama.cpp serves one request at a time on 2 shared cores.
    params = GenerationParams(temperature=0.7, max_tokens=3)
    panes = [p for role in ROLES for p in panes_for([role], model=SHIPPED_ALIAS, presets={"": params})]
    spec = BatchSpec(tuple(panes), test_set, samples=3)
    assert problems(spec) == []
    store = Store(tmp_path / "offline.sqlite3")
    run_id = start_batch(store, spec)
    samples = list(run_batch(store, run_id, [client] * 3, spec, max_workers=2))
    run = BatchRuns(store).get(run_id)
    assert run.status == FINISHED and len(samples) == 180
    assert all(s.error is None for s in samples), [s.error for s in samples if s.error][:3]
    assert all(s.usage_estimated for s in samples)  # llama.cpp streams no usage: counted here
    assert "a child, briefly" in samples[-1].request["messages"][0]["content"] or any(
        "to a child, briefly" in s.request["messages"][0]["content"] for s in samples
    )

    summary = pane_summary(run, samples)
    assert list(summary.samples) == [60, 60, 60]
    for _, row in summary.iterrows():
        assert 0 <= row.pass_rate_low <= row.pass_rate <= row.pass_rate_high <= 1
    failures = failures_frame(run, samples)
    assert (failures.why.str.len() > 0).all()  # every failing check says why
    failed = sum(not s.passed for s in samples)
    assert failed == len({(r.label, r.case, r.sample) for r in failures.itertuples()})
    lines = list(csv.DictReader(io.StringIO(samples_csv(samples_frame(run, samples)).decode("utf-8-sig"))))
    assert len(lines) == 180


def test_a_judge_on_the_offline_model_keeps_its_reasoning(tmp_path, client) -> None:
    judge = Judge(client=client, model=SHIPPED_ALIAS, params=GenerationParams(temperature=0, max_tokens=40))
    spec = BatchSpec(
        tuple(panes_for(ROLES[:1], model=SHIPPED_ALIAS, presets={"": GenerationParams(max_tokens=12)})),
        TestSet(name="judged", cases=(TestCase("Capital of France?", {"topic": "geography"}),)),
        samples=1,
    )
    spec = BatchSpec(
        spec.panes,
        TestSet(
            name="judged", cases=spec.test_set.cases, checks=(Check("judge", "Names Paris.", scale="1-5"),)
        ),
    )
    store = Store(tmp_path / "judge.sqlite3")
    run_id = start_batch(store, spec, judge=judge)
    (sample,) = run_batch(store, run_id, [client], spec, judge=judge)
    (result,) = sample.checks
    assert result.reasoning.strip()  # the grader's reply is kept whatever it says
    assert result.passed or result.explanation  # a fail or a missing score is explained
