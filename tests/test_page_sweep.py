"""The Parameter sweep page under AppTest, against the fake server."""

import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from chatlab import offline
from chatlab.offline import offline_available
from chatlab.store import FINISHED, METER, SWEEP, Store
from tests.fake_openai import FakeOpenAI, Reply, seeded_replies
from tests.test_sweep import lengths_by_temperature

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def sweep_page() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60).switch_page("pages/2_Parameter_sweep.py")


@pytest.fixture
def openai_like(app_env, monkeypatch):
    """app_env, but the endpoint is a fake with OpenAI's catalogue and its models' behaviours."""
    fake = FakeOpenAI.openai_like().start()
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    try:
        yield fake
    finally:
        fake.stop()


def test_page_loads_and_describes_the_planned_sweep(app_env):
    at = sweep_page().run()
    assert not at.exception
    planned = next(
        c.value for c in at.caption if "4 settings × 5 samples = 20 replies in 20 requests" in c.value
    )
    assert "Estimated: 20 requests, 20 replies: about" in planned  # the cost, before anything runs


def test_a_two_axis_sweep_sends_every_combination_and_shows_statistics(app_env):
    at = sweep_page().run()
    at.text_input(key="sweep.axis1.values.temperature").set_value("0, 1").run()
    at.selectbox(key="sweep.axis2.name").set_value("top_p").run()
    at.text_input(key="sweep.axis2.values.top_p").set_value("0.5 1").run()
    at.slider(key="sweep.samples").set_value(2).run()
    at.button(key="sweep.run").click().run()
    assert not at.exception
    combos = sorted((r.body["temperature"], r.body["top_p"]) for r in app_env.chat_requests)
    assert combos == sorted([(t, p) for t in (0, 1) for p in (0.5, 1) for _ in range(2)])
    assert any("Done: 8 samples" in s.value for s in at.success)
    summary = next(f.value for f in at.dataframe if "Tokens (median)" in f.value.columns)
    assert len(summary) == 4 and set(summary["Samples"]) == {2}


def test_a_bad_value_is_explained_and_the_run_button_is_disabled(app_env):
    at = sweep_page().run()
    at.text_input(key="sweep.axis1.values.temperature").set_value("0, 3").run()
    assert any("temperature" in e.value for e in at.error)
    assert at.button(key="sweep.run").disabled


def test_depth_ablation_replays_the_last_turn_at_each_depth(app_env):
    import os

    store = Store(os.environ["CHATLAB_DB"])
    cid = store.create_conversation("A chat to replay")
    for i in range(3):
        store.add_message(cid, "user", f"question {i}")
        store.add_message(cid, "assistant", f"answer {i}")
    store.add_message(cid, "user", "the last question")
    at = sweep_page().run()
    at.selectbox(key="sweep.ablation.conversation").set_value(cid).run()
    # The stored messages carry no request: the settings come from the replies' own columns.
    at.radio(key="sweep.ablation.as_sent").set_value(False).run()
    at.slider(key="sweep.ablation.max").set_value(3).run()
    at.button(key="sweep.ablation.run").click().run()
    assert not at.exception
    sent = sorted(len(r.body["messages"]) for r in app_env.chat_requests)
    assert sent == [2, 4, 6, 8]  # system + 0..3 whole past turns + the replayed question
    assert any("Done: 4 depths" in s.value for s in at.success)
    assert any("with the page's current settings" in c.value for c in at.caption)


# ---- is the difference real? ---------------------------------------------------------------------------


def charts(at: AppTest) -> dict[str, tuple[dict, pd.DataFrame]]:
    """Every altair chart on the page by its title: its Vega-Lite spec and its data."""
    found = {}
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        data = convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)
        found[spec.get("title")] = (spec, data)
    return found


def plain(markdown: str) -> str:
    """Markdown as it reads: escapes dropped (the page escapes what a model or a user wrote)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    """The first table on the page that has this column."""
    return next(f.value for f in at.dataframe if column in f.value.columns)


def run_sweep_page(at: AppTest, values: str, samples: int) -> AppTest:
    at.text_input(key="sweep.axis1.values.temperature").set_value(values).run()
    at.slider(key="sweep.samples").set_value(samples).run()
    return at.button(key="sweep.run").click().run()


def test_a_temperature_sweep_shows_error_bars_and_differences_from_the_baseline_with_p_values(app_env):
    """The statistics issue's Done-when, on the page."""
    lengths_by_temperature(app_env, {0.0: 40, 0.8: 41, 1.6: 70})
    at = run_sweep_page(sweep_page().run(), "0, 0.8, 1.6", 10)
    assert not at.exception
    assert any("Done: 30 samples" in s.value for s in at.success)

    # Error bars: each charted metric's mean between the bounds of its 95% interval.
    spec, data = charts(at)["Completion tokens"]
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["errorbar", "line"]
    assert spec["layer"][0]["encoding"]["y2"] == {"field": "ci_high"}
    assert spec["layer"][0]["encoding"]["x"]["type"] == "quantitative"  # a number, not a category
    assert data["temperature"].tolist() == [0.0, 0.8, 1.6]
    assert ((data["ci_low"] < data["mean"]) & (data["mean"] < data["ci_high"])).all()
    assert {"Latency (s)", "Distinct-1 (unique words)", "Pairwise similarity"} <= set(charts(at))

    # Per setting, the difference from the baseline with its interval and the Holm-corrected p-value.
    differences = frame_with(at, "Verdict").set_index(["Setting", "Metric"])
    assert set(differences.index.get_level_values("Setting")) == {"temperature=0.8", "temperature=1.6"}
    longer = differences.loc[("temperature=1.6", "Completion tokens")]
    assert longer["Verdict"].startswith("longer: +") and longer["Verdict"].endswith("(Holm)")
    assert longer["p (Holm)"] in ("p < 0.001", "p = 0.001") or longer["p (Holm)"].startswith("p = 0.00")
    assert differences.loc[("temperature=0.8", "Completion tokens"), "Verdict"].startswith(
        "no detectable difference with 10 samples each"
    )
    # … in sentences too, with the method and seed beside the intervals.
    said = "\n".join(m.value for m in at.markdown)
    assert "Compared with **temperature\\=0** (the baseline)" in said
    assert "Completion tokens — longer\\: \\+30 tokens" in said
    assert any("seed 2026" in c.value and "Holm" in c.value for c in at.caption)
    means = frame_with(at, "Completion tokens")
    assert means["Baseline"].tolist()[0] == "baseline" and "tokens [" in means["Completion tokens"][0]
    needed = frame_with(at, "Samples per setting to show a 10% difference").set_index("Metric")
    assert needed.loc["Completion tokens", "Samples per setting to show a 10% difference"] > 0

    # Another baseline: every difference is taken from it.
    at.selectbox(key="sweep.result.baseline").set_value("temperature=1.6").run()
    differences = frame_with(at, "Verdict").set_index(["Setting", "Metric"])
    assert set(differences.index.get_level_values("Setting")) == {"temperature=0", "temperature=0.8"}
    assert differences.loc[("temperature=0", "Completion tokens"), "Verdict"].startswith("shorter: -")

    # Stored as it ran, and named in the address.
    store = Store(os.environ["CHATLAB_DB"])
    [stored] = store.list_runs(SWEEP)
    assert stored.stored == 30 and stored.status == FINISHED and at.query_params["sweep"] == stored.id
    assert {b.key for b in at.get("download_button")} >= {
        "sweep.result.statistics.download",
        "sweep.result.samples.download",
    }


def test_a_failed_sample_among_good_ones_is_reported_and_left_out(app_env):
    calls = []

    def one_fails(request):
        calls.append(request)
        return Reply(status=500, error_message="boom") if len(calls) == 3 else None

    app_env.script_fn(one_fails)
    at = run_sweep_page(sweep_page().run(), "0, 1", 4)
    assert not at.exception
    assert any(
        w.value.startswith("1 of 8 samples failed and are left out of the statistics") for w in at.warning
    )
    samples = frame_with(at, "Reply")
    assert samples["Error"].notna().sum() == 1
    assert any("Settings have different numbers of successful replies (3 to 4)" in i.value for i in at.info)
    said = plain("\n".join(m.value for m in at.markdown))
    assert re.search(r"temperature=1\*\*: too few replies to tell \((3 and 4|4 and 3)\)", said)


def test_the_noise_floor_runs_fresh_samples_of_the_baseline_and_says_what_chance_does(app_env):
    lengths_by_temperature(app_env, {0.0: 40, 1.0: 60})
    at = run_sweep_page(sweep_page().run(), "0, 1", 4)
    before = len(app_env.chat_requests)
    assert any("8 fresh replies of temperature\\=0" in c.value for c in at.caption)  # with its cost
    at.button(key="sweep.result.noise.run").click().run()
    assert not at.exception
    fresh = [r.body["temperature"] for r in app_env.chat_requests[before:]]
    assert fresh == [0.0] * 8
    said = "\n".join(m.value for m in at.markdown)
    assert "by chance alone, the same settings differ by up to ±" in said
    floor = frame_with(at, "Chance difference (±)").set_index("Metric")
    assert floor.loc["Completion tokens", "Chance difference (±)"].endswith("tokens")
    titles = [r.title for r in Store(os.environ["CHATLAB_DB"]).list_runs(SWEEP)]
    assert titles[0].startswith("Noise floor of temperature=0: ")


def test_a_reasoning_effort_sweep_charts_reasoning_tokens_cost_and_latency_per_value(openai_like):
    at = sweep_page().run()
    at.selectbox(key="sweep.model").set_value("o4-mini").run()
    # The model's capabilities: temperature is refused, so sweeping it is refused with a reason.
    assert any("o4-mini does not accept temperature" in c.value for c in at.caption)
    assert any("Sweeping temperature is pointless" in e.value for e in at.error)
    assert at.button(key="sweep.run").disabled
    at.selectbox(key="sweep.axis1.name").set_value("reasoning_effort").run()
    assert at.multiselect(key="sweep.axis1.values.reasoning_effort").value == ["low", "medium", "high"]
    at.button(key="sweep.run").click().run()  # 5 samples each: enough for a p-value below 0.05
    assert not at.exception

    bodies = [r.body for r in openai_like.chat_requests]
    assert sorted({b["reasoning_effort"] for b in bodies}) == ["high", "low", "medium"]
    assert not any("temperature" in b for b in bodies) and len(bodies) == 15
    drawn = charts(at)
    assert {"Reasoning tokens", "Cost per request ($)", "Latency (s)"} <= set(drawn)
    spec, data = drawn["Reasoning tokens"]
    x = spec["layer"][1]["encoding"]["x"]
    assert x["type"] == "nominal" and x["sort"] == ["low", "medium", "high"]  # a category, in its order
    assert data.set_index("reasoning_effort")["mean"].to_dict() == {"low": 32, "medium": 64, "high": 128}
    cost = drawn["Cost per request ($)"][1]
    assert cost["mean"].is_monotonic_increasing and cost["mean"].iloc[0] > 0
    summary = frame_with(at, "Reasoning tokens (mean)")
    assert summary["Reasoning tokens (mean)"].tolist() == [32, 64, 128]
    differences = frame_with(at, "Verdict").set_index(["Setting", "Metric"])
    assert differences.loc[("reasoning_effort=high", "Reasoning tokens"), "Verdict"].startswith(
        "more reasoning: +96 tokens"
    )


# ---- role variables, stored sweeps --------------------------------------------------------------------


def test_role_variables_get_fields_a_missing_value_blocks_the_run_and_the_sweep_reopens(app_env):
    at = sweep_page().run()
    at.text_area(key="sweep.system_prompt").set_value(
        "Review {{language}} code for ${Team:the core team}."
    ).run()
    assert at.text_input(key="sweep.var.team").value == "the core team"  # filled with its default
    assert at.text_input(key="sweep.var.language").value == ""
    assert any(e.value.startswith("Fill in \\'language\\'") for e in at.error)
    assert at.button(key="sweep.run").disabled and app_env.chat_requests == []

    at.text_input(key="sweep.var.language").set_value("Rust").run()
    at.text_input(key="sweep.axis1.values.temperature").set_value("0, 1").run()
    at.slider(key="sweep.samples").set_value(2).run()
    at.button(key="sweep.run").click().run()
    assert not at.exception
    systems = {r.body["messages"][0]["content"] for r in app_env.chat_requests}
    assert systems == {"Review Rust code for the core team."}

    # A new session opens the stored sweep from its address, its settings back in the form.
    sweep_id = at.query_params["sweep"]
    again = sweep_page()
    again.query_params["sweep"] = sweep_id
    again.run()
    assert not again.exception
    assert any("Stored as “temperature" in c.value for c in again.caption)
    assert frame_with(again, "Tokens (median)")["temperature"].tolist() == [0, 1]
    assert again.text_input(key="sweep.var.language").value == "Rust"
    assert again.text_input(key="sweep.axis1.values.temperature").value == "0, 1"
    assert again.slider(key="sweep.samples").value == 2
    missing = sweep_page()
    missing.query_params["sweep"] = "no-such-sweep"
    missing.run()
    assert any("was not found" in w.value for w in missing.warning) and not missing.exception


# ---- the determinism meter ----------------------------------------------------------------------------


def test_the_determinism_meter_reports_identity_divergence_and_fingerprints_and_is_stored(app_env):
    app_env.script_fn(seeded_replies())
    at = sweep_page().run()
    at.slider(key="sweep.meter.runs").set_value(3).run()
    assert any("6 requests to gpt\\-4o\\-mini" in c.value for c in at.caption)
    at.button(key="sweep.meter.run").click().run()
    assert not at.exception
    bodies = [r.body for r in app_env.chat_requests]
    assert sorted(b.get("seed") or 0 for b in bodies) == [0, 0, 0, 42, 42, 42]
    [verdict] = [plain(s.value) for s in at.success if "identical" in s.value]
    assert verdict.startswith(
        "Seed is honoured: all 3 replies with seed 42 were byte-identical; without a seed"
    )
    arms = frame_with(at, "With seed 42").set_index("")
    assert arms.loc["Byte-identical"].tolist() == ["3 of 3 (100%)", "1 of 3 (33%)"]
    assert arms.loc["system_fingerprint"].tolist() == ["fp_fake", "fp_fake"]
    where = next(m.value for m in at.markdown if m.value.startswith("**Without a seed**"))
    assert "first differ at character" in where and "(token " in where
    first, second = [c.value for c in at.code][-2:]
    assert first != second  # the diverging texts, side by side

    [stored] = Store(os.environ["CHATLAB_DB"]).list_runs(METER)
    assert stored.stored == 6 and at.query_params["meter"] == stored.id
    again = sweep_page()
    again.query_params["meter"] = stored.id
    again.run()
    assert [plain(s.value) for s in again.success if "identical" in s.value] == [verdict]


def test_a_seed_that_is_not_a_number_blocks_the_meter(app_env):
    at = sweep_page().run()
    at.text_input(key="sweep.meter.seed").set_value("forty-two").run()
    assert any("seed must be a whole number" in e.value for e in at.error)
    assert at.button(key="sweep.meter.run").disabled


@pytest.mark.offline_model
def test_the_determinism_meter_against_the_offline_model(app_env, monkeypatch):
    """No key: the app starts its local llama.cpp model. With a fixed seed its replies are identical; without
    one, at temperature 1, the page says where they part."""
    ok, why = offline_available()
    if not ok:
        if os.environ.get("CHATLAB_REQUIRE_OFFLINE") == "1":
            pytest.fail(f"CHATLAB_REQUIRE_OFFLINE=1 but {why}")
        pytest.skip(why)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "")
    monkeypatch.setattr(offline, "_server", None)  # this test's own server, stopped at its end
    try:
        at = sweep_page().run()
        at.checkbox(key="sweep.temperature.on").check().run()
        assert at.slider(key="sweep.temperature").value == 1.0
        at.checkbox(key="sweep.max_tokens.on").check().run()
        at.select_slider(key="sweep.max_tokens").set_value(32).run()
        at.slider(key="sweep.meter.runs").set_value(3).run()
        at.text_input(key="sweep.meter.seed").set_value("1234").run()
        at.button(key="sweep.meter.run").click().run(timeout=900)  # waits for the model to start
        assert not at.exception
        [verdict] = [plain(s.value) for s in at.success if "identical" in s.value]
        assert verdict.startswith("Seed is honoured: all 3 replies with seed 1234 were byte-identical")
        arms = frame_with(at, "With seed 1234").set_index("")
        assert arms.loc["Byte-identical", "With seed 1234"] == "3 of 3 (100%)"
        assert int(arms.loc["Different replies", "Without a seed"]) > 1
        where = plain(next(m.value for m in at.markdown if m.value.startswith("**Without a seed**")))
        assert re.search(r"replies \d and \d first differ at character [\d,]+ \(token [\d,]+\)", where)
        first, second = [c.value for c in at.code][-2:]
        assert first != second
        model = Store(os.environ["CHATLAB_DB"]).list_runs(METER)[0].model
        assert model == offline.SHIPPED_ALIAS
    finally:
        if offline._server is not None:
            offline._server.stop()


def test_statistics_are_worked_out_once_per_baseline_not_on_every_rerun(app_env, monkeypatch):
    import chatlab_ui.sweep.statistics as page_statistics

    baselines = []
    real = page_statistics.statistics

    def counted(samples, spec, baseline=None):
        baselines.append(baseline)
        return real(samples, spec, baseline)

    monkeypatch.setattr(page_statistics, "statistics", counted)
    at = run_sweep_page(sweep_page().run(), "0, 1", 4)
    assert baselines == [(("temperature", 0.0),)]
    at.text_area(key="sweep.prompt").set_value("Another prompt, not yet run").run()  # any rerun
    at.run()
    assert len(baselines) == 1
    at.selectbox(key="sweep.result.baseline").set_value("temperature=1").run()
    at.selectbox(key="sweep.result.baseline").set_value("temperature=0").run()
    assert baselines == [(("temperature", 0.0),), (("temperature", 1.0),)]  # the first one was kept
