"""Batch comparisons over a real socket: roles × a test set × k samples, checks, intervals, CSV, Cancel."""

from __future__ import annotations

import csv
import io
import threading

import pytest

from chatlab.batch.plan import BatchPane, BatchSpec, estimate_cost, jobs, panes_for, plan_job, problems
from chatlab.batch.run import BatchError, run_batch, start_batch
from chatlab.batch.table import (
    cell_samples,
    failures_frame,
    pane_summary,
    results_grid,
    samples_csv,
    samples_frame,
)
from chatlab.checks import Check, Judge
from chatlab.client import ChatClient
from chatlab.params import GenerationParams
from chatlab.roles import Role
from chatlab.store import Store
from chatlab.store.batches import CANCELLED, FINISHED, BatchRuns
from chatlab.store.testsets import TestSets
from chatlab.testsets import TestCase, TestSet, import_test_set
from chatlab.turn import TurnSettings
from tests.fake_openai import Reply

ROLES = [
    Role(name="Terse", system="Answer {{topic}} questions in one word."),
    Role(name="Chatty", system="Answer {{topic}} questions at length, in ${Style:plain} words."),
    Role(name="Chinese", system="用中文回答{{topic}}问题。"),
]
REPLIES = {
    "Terse": "Paris",
    "Chatty": "Well, the answer you are looking for is Paris, which is the capital of France. " * 2,
    "Chinese": "答案是巴黎。",
}


def twenty_case_csv() -> bytes:
    lines = ["question,topic,__expected1,__set_expected1"]
    for i in range(20):
        expected = "contains: Paris" if i % 2 == 0 else "not-contains: London"
        lines.append(f'"Question {i + 1}: where?",geography,"{expected}",max-chars: 80')
    return ("\n".join(lines) + "\n").encode()


def answer_by_role(request) -> Reply:
    system = request.body["messages"][0]["content"]
    if system.startswith("用中文"):
        return Reply(text=REPLIES["Chinese"])
    return Reply(text=REPLIES["Chatty" if "at length" in system else "Terse"])


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "batch.sqlite3")
    yield s
    s.close()


@pytest.fixture
def client(fake_endpoint):
    c = ChatClient(fake_endpoint)
    yield c
    c.close()


def test_twenty_cases_three_roles_three_samples(store, client, fake_openai) -> None:
    fake_openai.script_fn(answer_by_role)
    test_set = TestSets(store).save(import_test_set(twenty_case_csv(), "geo.csv").test_set)
    spec = BatchSpec(tuple(panes_for(ROLES, model="gpt-4o-mini")), test_set, samples=3)
    assert spec.total == 180 and problems(spec) == []
    estimate = estimate_cost(spec)
    assert estimate.requests == 180 and estimate.prompt_tokens > 0 and estimate.cost_usd is not None
    assert "180 requests" in estimate.note

    run_id = start_batch(store, spec)
    seen = list(run_batch(store, run_id, [client] * 3, spec, max_workers=4))
    assert len(seen) == 180 == len(fake_openai.chat_requests)
    run = BatchRuns(store).get(run_id)
    assert run.status == FINISHED and run.test_set.cases == test_set.cases
    samples = BatchRuns(store).samples(run_id)
    assert len(samples) == 180

    # Each request carried its role's rendered prompt and the case's message.
    bodies = [r.body for r in fake_openai.chat_requests]
    assert {b["messages"][0]["content"] for b in bodies} == {
        "Answer geography questions in one word.",
        "Answer geography questions at length, in plain words.",
        "用中文回答geography问题。",
    }

    summary = pane_summary(run, samples).set_index("label")
    # Terse passes everything; Chatty is too long (max-chars 80) everywhere; Chinese lacks "Paris" on even cases.
    assert summary.loc["Terse", "pass_rate"] == 1.0
    assert summary.loc["Chatty", "pass_rate"] == 0.0
    assert summary.loc["Chinese", "pass_rate"] == 0.5
    for label in ("Terse", "Chatty", "Chinese"):
        low, high = summary.loc[label, "pass_rate_low"], summary.loc[label, "pass_rate_high"]
        assert 0 <= low <= summary.loc[label, "pass_rate"] <= high <= 1 and high - low > 0
        assert summary.loc[label, "completion_tokens_low"] <= summary.loc[label, "completion_tokens"]

    failures = failures_frame(run, samples)
    chatty = failures[failures.label == "Chatty"]
    assert len(chatty) == 60 and set(chatty.check) == {"at most 80 characters"}
    assert chatty.why.iloc[0] == f"The reply has {len(REPLIES['Chatty']):,} characters; the limit is 80."
    chinese = failures[failures.label == "Chinese"]
    assert set(chinese.why) == {"The reply does not contain 'Paris'."} and set(chinese.case) == set(
        range(1, 21, 2)
    )

    grid = results_grid(run, samples)
    assert grid.shape == (20, 3) and grid.iloc[0]["Terse"] == "3/3" and grid.iloc[0]["Chinese"] == "0/3"
    assert [s.reply for s in cell_samples(samples, 2, 1)] == [REPLIES["Chinese"]] * 3

    frame = samples_frame(run, samples)
    rows = list(csv.DictReader(io.StringIO(samples_csv(frame).decode("utf-8-sig"))))
    assert len(rows) == 180  # one row per sample
    assert {(r["label"], r["case"], r["sample"]) for r in rows} == {
        (label, str(c), str(k))
        for label in ("Terse", "Chatty", "Chinese")
        for c in range(1, 21)
        for k in (1, 2, 3)
    }
    failing = next(r for r in rows if r["label"] == "Chinese" and r["case"] == "1")
    assert (
        failing["passed"] == "false"
        and failing["failed_checks"] == "contains 'Paris': The reply does not contain 'Paris'."
    )


def test_presets_make_panes_and_problems_are_plain(store) -> None:
    presets = {"cold": GenerationParams(temperature=0), "hot": GenerationParams(temperature=1.2, n=3)}
    panes = panes_for(ROLES[:1], model="m", presets=presets)
    assert [p.label for p in panes] == ["Terse · cold", "Terse · hot"]
    cases = (TestCase("a", {"topic": "x"}), TestCase("b"), TestCase("c"))
    spec = BatchSpec(tuple(panes), TestSet(name="t", cases=cases, checks=(Check("judge", "ok"),)), samples=2)
    assert plan_job(spec, jobs(spec)[1]).body["temperature"] == 1.2
    assert "n" not in plan_job(spec, jobs(spec)[1]).body  # samples are separate requests
    found = problems(spec)
    assert found == [
        "Terse · cold, 2 cases (2, 3): Fill in 'topic': the prompt uses this variable and there is no default.",
        "Terse · hot, 2 cases (2, 3): Fill in 'topic': the prompt uses this variable and there is no default.",
        "The test set has judge checks: choose a judge model.",
    ]
    with pytest.raises(BatchError, match="Fill in 'topic'"):
        start_batch(store, spec)
    assert BatchRuns(store).list() == []
    assert [(j.pane, j.case, j.sample) for j in jobs(spec)[:3]] == [(0, 0, 0), (1, 0, 0), (0, 1, 0)]


def test_cancel_keeps_finished_samples(store, client, fake_openai) -> None:
    release = threading.Event()
    answered = []

    def first_four_then_hold(request) -> Reply:
        answered.append(request)
        return Reply(text="Paris") if len(answered) <= 4 else Reply(text="late", hold=release)

    fake_openai.script_fn(first_four_then_hold)
    test_set = TestSet(name="t", cases=tuple(TestCase(f"q{i}", {"topic": "x"}) for i in range(10)))
    spec = BatchSpec(
        (BatchPane(TurnSettings(model="gpt-4o-mini", system_prompt="{{topic}}"), "A"),), test_set, samples=2
    )
    run_id = start_batch(store, spec)
    cancel = threading.Event()
    got = []
    try:
        for sample in run_batch(store, run_id, [client], spec, max_workers=2, cancel=cancel):
            got.append(sample)
            if len(got) == 4:
                cancel.set()
        stored = BatchRuns(store).samples(run_id)
        assert len(got) == 4 and [s.reply for s in stored] == ["Paris"] * 4
        assert BatchRuns(store).get(run_id).status == CANCELLED
    finally:
        release.set()


def test_a_failed_request_is_a_failed_sample_and_the_run_goes_on(store, client, fake_openai) -> None:
    fake_openai.script(Reply(status=500))
    spec = BatchSpec(
        (BatchPane(TurnSettings(model="gpt-4o-mini"), "A"),),
        TestSet(name="t", cases=(TestCase("a"), TestCase("b")), checks=(Check("contains", "Hello"),)),
    )
    run_id = start_batch(store, spec)
    samples = sorted(run_batch(store, run_id, [client], spec, max_workers=1), key=lambda s: s.case_index)
    assert samples[0].error and not samples[0].passed and samples[0].checks == ()
    assert samples[1].passed and samples[1].checks[0].passed
    failures = failures_frame(BatchRuns(store).get(run_id), samples)
    assert failures.check.tolist() == ["request"]


def test_judge_checks_run_through_the_client_and_keep_their_reasoning(store, client, fake_openai) -> None:
    def reply(request) -> Reply:
        if "Rubric:" in request.body["messages"][-1]["content"]:
            return Reply(text="Friendly enough.\nVERDICT: PASS")
        return Reply(text="Hello friend")

    fake_openai.script_fn(reply)
    judge = Judge(client=client, model="gpt-4o-mini")
    spec = BatchSpec(
        (BatchPane(TurnSettings(model="gpt-4o-mini"), "A"),),
        TestSet(name="t", cases=(TestCase("hi"),), checks=(Check("judge", "Friendly."),)),
    )
    assert estimate_cost(spec, judge).judge_requests == 1
    run_id = start_batch(store, spec, judge=judge)
    (sample,) = run_batch(store, run_id, [client], spec, judge=judge)
    stored = BatchRuns(store).samples(run_id)[0]
    assert sample.passed and stored.checks[0].reasoning == "Friendly enough.\nVERDICT: PASS"
    assert BatchRuns(store).get(run_id).judge == {"model": "gpt-4o-mini"}


def test_statistics_come_from_chatlab_stats_with_the_pass_rate_and_judge_scores(store) -> None:
    """A pane's figures are chatlab.stats' (Wilson for the pass rate, BCa for means, seed and resamples
    stated), failed requests count as failed samples but are not measured, and verdicts speak of the
    pass rate in percentage points."""
    from chatlab.batch.statistics import batch_verdicts, statistics
    from chatlab.checks import CheckResult
    from chatlab.stats import RESAMPLES, SEED
    from chatlab.store.batches import BatchSample

    test_set = TestSets(store).save(TestSet(name="t", cases=tuple(TestCase(f"q{i}") for i in range(10))))
    runs = BatchRuns(store)
    run_id = runs.create(test_set, [{"label": "A"}, {"label": "B"}], 1)
    for case in range(10):
        for pane in (0, 1):
            failed = pane == 1 and case < 8
            score = CheckResult("judge", "judge (1-5): 'ok'", not failed, score=2.0 if failed else 5.0)
            reply = "Paris " * (case + 1 + 5 * pane)
            runs.add_sample(
                run_id,
                BatchSample(pane, case, 0, reply, not failed, (score,), completion_tokens=case + 5 * pane),
            )
    runs.add_sample(run_id, BatchSample(0, 9, 0, "", False, (), error="HTTP 500"))  # replaces case 10 of A
    run, samples = runs.get(run_id), runs.samples(run_id)

    table = statistics(run, samples)
    assert list(dict.fromkeys(table.metric))[:3] == ["passed", "completion_tokens", "reply_chars"]
    assert "score_judge" in set(table.metric) and "similarity" in set(table.metric)
    passed = table[table.metric == "passed"].set_index("group")
    assert passed.loc["A", "n"] == 10 and passed.loc["A", "mean"] == 0.9  # the failed request counts
    assert passed.loc["A", "ci_method"] == "wilson" and passed.loc["B", "mean"] == 0.2
    tokens = table[table.metric == "completion_tokens"].set_index("group")
    assert tokens.loc["A", "n"] == 9  # …but is not measured
    assert tokens.loc["B", "ci_method"] == "bootstrap-bca"
    assert set(table.resamples) == {RESAMPLES} and set(table.seed) == {SEED}
    said = dict(zip(table.metric + "/" + table.group, batch_verdicts(table), strict=True))
    assert said["passed/A"] == "baseline"
    assert said["passed/B"].startswith("passes less often: -70 percentage points [")
    assert said["score_judge/B"].startswith("lower: ")

    summary = pane_summary(run, samples).set_index("label")
    assert summary.loc["B", "pass_rate_low"] == passed.loc["B", "ci_low"]
    assert summary.loc["A", "completion_tokens_high"] == tokens.loc["A", "ci_high"]
