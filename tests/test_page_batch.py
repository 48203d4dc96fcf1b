"""The Batch runs page under AppTest against the fake server: the Done-when run (a 20-case CSV test set ×
3 roles × 3 samples), problems and the estimate before starting, Cancel that keeps finished samples, a
judge, reopening a stored run."""

from __future__ import annotations

import csv
import io
import os
import threading
from pathlib import Path

from streamlit.testing.v1 import AppTest

from chatlab.batch.table import samples_csv, samples_frame
from chatlab.live import LIVE
from chatlab.roles import Role
from chatlab.roles.custom import CustomRoles
from chatlab.store import Store
from chatlab.store.batches import CANCELLED, FINISHED, BatchRuns
from chatlab.store.testsets import TestSets
from chatlab.testsets import TestCase, TestSet, import_test_set
from tests.fake_openai import Reply
from tests.test_batch import REPLIES, ROLES, answer_by_role, twenty_case_csv
from tests.test_page_testsets import own_keys_only

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "pages/6_Batch_runs.py"


def store() -> Store:
    return Store(os.environ["CHATLAB_DB"])


def add_roles(*roles: Role) -> None:
    custom = CustomRoles(os.environ["CHATLAB_CUSTOM_ROLES"])
    for role in roles:
        custom.save(Role(name=role.name, system=role.system, builtin=False))


def page() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60).switch_page(PAGE)


def opened_run(at: AppTest) -> str:
    value = at.query_params["run"]
    return value[0] if isinstance(value, list) else value


def run_and_wait(at: AppTest) -> tuple[AppTest, str]:
    """Click Run, wait for the run's thread to end (no sleeping), and draw the page again."""
    at.button(key="batch.run").click().run()
    assert not at.exception, at.exception
    run_id = opened_run(at)
    LIVE.get(f"batch.{run_id}").wait(120)
    return at.run(), run_id


def errors(at: AppTest) -> list[str]:
    """The error boxes as drawn (Markdown escapes removed)."""
    return [e.value.replace("\\", "") for e in at.error]


def texts(at: AppTest) -> str:
    return "\n".join(
        m.value for m in [*at.markdown, *at.success, *at.warning, *at.info, *at.error, *at.caption]
    )


def test_twenty_cases_three_roles_three_samples_done_when(app_env):
    """The issue's Done-when on the page: pass rates with intervals, every failing check's reason, and a
    samples CSV with one row per sample."""
    app_env.script_fn(answer_by_role)
    add_roles(*ROLES)
    TestSets(store()).save(import_test_set(twenty_case_csv(), "geo.csv").test_set)
    at = page().run()
    assert not at.exception
    at.multiselect(key="batch.panes.roles").set_value(["Terse", "Chatty", "Chinese"]).run()
    assert at.slider(key="batch.samples").value == 3
    assert not at.error  # nothing stops it
    assert any("**Before starting:** 180 requests" in i.value for i in at.info)

    at, run_id = run_and_wait(at)
    assert not at.exception, at.exception
    assert len(app_env.chat_requests) == 180
    assert "Done: 180 samples." in [s.value for s in at.success]

    rates = next(d.value for d in at.dataframe if "Pass rate [95% interval]" in d.value.columns)
    shown = dict(zip(rates["Pane"], rates["Pass rate [95% interval]"], strict=True))
    assert shown["Terse"].startswith("100% [") and shown["Chatty"].startswith("0% [")
    assert shown["Chinese"].startswith("50% [")
    said = texts(at)
    assert "**Chinese** passed 30 of 60 samples: 50% (95% interval 38% to 62%)." in said

    failing = next(d.value for d in at.dataframe if "Why" in d.value.columns and "Pane" in d.value.columns)
    assert len(failing) == 60 + 30 and (failing["Why"].str.len() > 0).all()
    assert set(failing[failing.Pane == "Chatty"].Why) == {
        f"The reply has {len(REPLIES['Chatty']):,} characters; the limit is 80."
    }
    assert set(failing[failing.Pane == "Chinese"].Why) == {"The reply does not contain 'Paris'."}

    figures = next(d.value for d in at.dataframe if list(d.value.columns)[:2] == ["Metric", "Terse"])
    figures = figures.set_index("Metric")
    chars = len(REPLIES["Chatty"])
    assert figures.loc["Reply characters", "Chatty"] == f"{chars} characters [{chars}, {chars}]"  # no spread
    assert figures.loc["Pass rate", "Terse"].startswith("100% [")
    assert {"Completion tokens", "Latency", "Distinct-2", "Pairwise similarity"} <= set(figures.index)
    verdicts = next(d.value for d in at.dataframe if "Against the baseline" in d.value.columns)
    said_about = dict(
        zip(verdicts.Pane + "/" + verdicts.Metric, verdicts["Against the baseline"], strict=True)
    )
    assert said_about["Chatty/Pass rate"].startswith("passes less often: -100 percentage points")
    assert said_about["Chatty/Reply characters"].startswith("longer: +")
    assert any("95% intervals: means and their differences by BCa bootstrap" in c.value for c in at.caption)

    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download every sample (CSV, 180 rows: one per sample)" in labels
    runs = BatchRuns(store())
    rows = list(
        csv.DictReader(
            io.StringIO(
                samples_csv(samples_frame(runs.get(run_id), runs.samples(run_id))).decode("utf-8-sig")
            )
        )
    )
    assert len(rows) == 180

    own_keys_only(at, "batch")
    # A cell opens its replies, each with its checks' results and reasons.
    at.selectbox(key="batch.run.cell.case").select(0)
    at.selectbox(key="batch.run.cell.pane").select(2).run()
    assert sum(m.value == REPLIES["Chinese"] for m in at.markdown) == 3
    checks = [d.value for d in at.dataframe if list(d.value.columns) == ["Check", "Result", "Why"]]
    assert len(checks) == 3 and checks[0]["Result"].tolist() == ["passed", "failed"]

    # Reloading the page (a new session) with the run's URL reopens it from the database.
    again = page()
    again.query_params["run"] = run_id
    again.run()
    assert not again.exception and "Done: 180 samples." in [s.value for s in again.success]


def test_problems_come_first_and_block_the_run(app_env):
    add_roles(Role(name="Needs topic", system="Talk about {{topic}}."))
    TestSets(store()).save(TestSet(name="plain", cases=(TestCase("hi"), TestCase("yo"))))
    at = page().run()
    at.multiselect(key="batch.panes.roles").set_value(["Needs topic"]).run()
    [problem] = errors(at)
    assert problem.startswith("Nothing can start yet:\n- Needs topic, 2 cases (1, 2): Fill in 'topic'")
    assert at.button(key="batch.run").disabled
    at.multiselect(key="batch.panes.roles").set_value([]).run()
    assert "Choose at least one role or parameter preset" in errors(at)[0]


def test_presets_make_panes_and_a_bad_value_is_named(app_env):
    add_roles(ROLES[0])
    TestSets(store()).save(TestSet(name="plain", cases=(TestCase("hi", {"topic": "x"}),)))
    at = page().run()
    at.multiselect(key="batch.panes.roles").set_value(["Terse"]).run()
    [presets] = [e for e in at.data_editor if e.key == "batch.panes.presets"]
    at.session_state[presets.key] = {
        "edited_rows": {},
        "added_rows": [{"Preset": "cold", "Temperature": "0"}, {"Preset": "hot", "Temperature": "3"}],
        "deleted_rows": [],
    }
    at.run()
    assert any("Preset 'hot': temperature must be between 0 and 2, got 3." in e for e in errors(at))
    at.session_state[presets.key] = {
        "edited_rows": {},
        "added_rows": [{"Preset": "cold", "Temperature": "0"}, {"Preset": "hot", "Temperature": "1.5"}],
        "deleted_rows": [],
    }
    at.slider(key="batch.samples").set_value(1)
    at, run_id = run_and_wait(at.run())
    sent = sorted(r.body["temperature"] for r in app_env.chat_requests)
    assert sent == [0, 1.5]
    assert BatchRuns(store()).get(run_id).labels == ["Terse · cold", "Terse · hot"]


def test_cancel_keeps_the_finished_samples(app_env):
    release = threading.Event()
    answered = []

    def three_then_hold(request) -> Reply:
        answered.append(request)
        return Reply(text="Paris") if len(answered) <= 3 else Reply(text="late", hold=release)

    app_env.script_fn(three_then_hold)
    add_roles(ROLES[0])
    TestSets(store()).save(
        TestSet(name="ten", cases=tuple(TestCase(f"q{i}", {"topic": "x"}) for i in range(10)))
    )
    at = page().run()
    at.multiselect(key="batch.panes.roles").set_value(["Terse"])
    at.slider(key="batch.samples").set_value(1)
    at.slider(key="batch.workers").set_value(2).run()
    try:
        at.button(key="batch.run").click().run()
        run_id = opened_run(at)
        runs = BatchRuns(store())
        app_env.wait_for(lambda fake: len(fake.chat_requests) >= 5)  # 3 answered, 2 held
        at.run()
        [bar] = at.get("progress")
        assert bar.proto.text == "3 of 10 samples · 3 passed every check so far"
        at.button(key="batch.run.progress.cancel").click().run()
        assert LIVE.get(f"batch.{run_id}").wait(30)
        at.run()
        assert runs.get(run_id).status == CANCELLED
        assert [s.reply for s in runs.samples(run_id)] == ["Paris"] * 3
        assert "Cancelled: 3 of 10 samples finished and are kept below." in [w.value for w in at.warning]
    finally:
        release.set()


def test_a_judge_check_for_every_case_grades_through_the_judge_model(app_env):
    def reply(request) -> Reply:
        if "Rubric:" in request.body["messages"][-1]["content"]:
            return Reply(text="Polite and short.\nSCORE: 4")
        return Reply(text="Hello, friend.")

    app_env.script_fn(reply)
    add_roles(ROLES[0])
    TestSets(store()).save(TestSet(name="one", cases=(TestCase("hi", {"topic": "x"}),)))
    at = page().run()
    at.multiselect(key="batch.panes.roles").set_value(["Terse"])
    at.slider(key="batch.samples").set_value(1)
    at.toggle(key="batch.judge.add").set_value(True).run()
    assert any("The judge check for every case needs a rubric." in e for e in errors(at))
    at.text_area(key="batch.judge.check.value.rubric").input("Is polite.")
    at.radio(key="batch.judge.check.scale").set_value("1-5").run()
    assert not at.error and any("1 judge requests" in i.value for i in at.info)
    at, run_id = run_and_wait(at)
    [sample] = BatchRuns(store()).samples(run_id)
    [result] = sample.checks
    assert result.passed and result.score == 4.0 and result.reasoning == "Polite and short.\nSCORE: 4"
    assert BatchRuns(store()).get(run_id).status == FINISHED
    at.selectbox(key="batch.run.cell.pane").select(0).run()
    assert any(e.label.startswith("The judge's reasoning") for e in at.expander)


def test_presets_alone_compare_parameters_without_a_role(app_env):
    TestSets(store()).save(TestSet(name="plain", cases=(TestCase("hi"),)))
    at = page().run()
    at.multiselect(key="batch.panes.roles").set_value([]).run()
    [presets] = [e for e in at.data_editor if e.key == "batch.panes.presets"]
    at.session_state[presets.key] = {
        "edited_rows": {},
        "added_rows": [{"Preset": "short", "Max tokens": "16"}, {"Preset": "long", "Max tokens": "512"}],
        "deleted_rows": [],
    }
    at.slider(key="batch.samples").set_value(1)
    at, run_id = run_and_wait(at.run())
    bodies = sorted(app_env.chat_requests, key=lambda r: r.body["max_tokens"])
    assert [b.body["max_tokens"] for b in bodies] == [16, 512]
    assert all(b.body["messages"] == [{"role": "user", "content": "hi"}] for b in bodies)
    assert BatchRuns(store()).get(run_id).labels == ["short", "long"]
