"""Samples and statistics on the Compare page under AppTest, against the fake server: a known difference
between two role prompts is found with an interval that covers it, identical panes show none, the noise
floor, 20 samples × 8 panes within the sidebar's limit, and statistics that a rerun does not recompute."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from chatlab.store import Store
from tests.fake_openai import Reply
from tests.test_page_compare import EIGHT, compare_page, panes_of, role_systems
from tests.test_samples import random_lengths

TWINS = """version: 1
roles:
  - name: Twin A
    system: You describe things in a few plain sentences.
  - name: Twin B
    system: You describe things in a few plain sentences.
"""


def statistics_table(at):
    return next(f.value for f in at.dataframe if "Verdict" in f.value.columns)


def row(table, pane: str, metric: str):
    found = table[(table["Pane"] == pane) & (table["Metric"] == metric)]
    assert len(found) == 1, (pane, metric, table)
    return found.iloc[0]


def interval(text: str) -> tuple[float, float, float]:
    """(value, low, high) from "+41 tokens [33, 49]"."""
    value, low, high = re.fullmatch(r"([+-]?[\d,.]+)\D*\[([-\d,.]+), ([-\d,.]+)\]", text).groups()
    return tuple(float(x.replace(",", "")) for x in (value, low, high))


def markdown(at) -> str:
    """Every Markdown text of the page, with the escapes that keep model text literal taken out."""
    return "\n".join(m.value for m in at.markdown).replace("\\", "")


def sample_run(at, roles: list[str], samples: int, at_once: int, message: str = "Describe the sea."):
    at.multiselect(key="compare.roles").set_value(roles).run()
    at.slider(key="compare.samples").set_value(samples).run()
    at.slider(key="compare.at_once").set_value(at_once).run()
    cost = [c.value for c in at.caption if "The next message" in c.value]
    requests = samples * len(roles)
    assert len(cost) == 1 and f"{requests} requests, {requests} replies" in cost[0]  # said before sending
    at.chat_input(key="compare.input").set_value(message).run(timeout=180)
    assert not at.exception
    return at


def test_twenty_samples_report_a_known_difference_with_an_interval_that_covers_it(app_env):
    systems = role_systems()
    brief, verbose = systems["Concise Answerer"], systems["Creative Storyteller"]
    random_lengths(app_env, {brief: 60, verbose: 100})  # the truth: +40 completion tokens
    at = sample_run(compare_page().run(), ["Concise Answerer", "Creative Storyteller"], samples=20, at_once=8)
    assert len(app_env.chat_requests) == 40

    table = statistics_table(at)
    tokens = row(table, "Creative Storyteller", "Completion tokens")
    diff, low, high = interval(tokens["Difference [95% interval]"])
    assert tokens["n"] == 20 and low <= 40 <= high and diff > 0
    assert tokens["Verdict"].startswith("longer: +") and "(Holm)" in tokens["Verdict"]
    assert row(table, "Concise Answerer", "Completion tokens")["Difference [95% interval]"] == "baseline"
    said = markdown(at)
    assert "**Creative Storyteller** against **Concise Answerer** differs beyond chance" in said
    assert "Completion tokens — longer: +" in said
    assert any("BCa bootstrap" in c.value and "seed 2026" in c.value for c in at.caption)  # the method
    assert "samples per pane** (80% power" in said  # samples needed for a 10% difference
    downloads = {b.proto.label for b in at.get("download_button")}
    assert {"Download samples (CSV)", "Download statistics (CSV)"} <= downloads

    # Another baseline: the differences turn round.
    at.selectbox(key="compare.baseline").set_value(1).run()
    flipped = row(statistics_table(at), "Concise Answerer", "Completion tokens")
    assert interval(flipped["Difference [95% interval]"])[0] == pytest.approx(-diff)


def test_identical_panes_show_no_detectable_difference_and_the_noise_floor_says_how_large_chance_is(
    app_env, tmp_path
):
    Path(os.environ["CHATLAB_CUSTOM_ROLES"]).write_text(TWINS, encoding="utf-8")
    random_lengths(app_env, {"You describe things in a few plain sentences.": 60})
    at = sample_run(compare_page().run(), ["Twin A", "Twin B"], samples=20, at_once=1)
    tokens = row(statistics_table(at), "Twin B", "Completion tokens")
    assert tokens["Verdict"].startswith("no detectable difference with 20 samples each (")
    # In words too. (Timings are noise here, and p-values are corrected across panes, not metrics: one of
    # eleven metrics may cross the line by chance, which the page says.)
    [quiet] = [c.value for c in at.caption if c.value.startswith("No detectable difference in")]
    assert "completion tokens" in quiet and "reply characters" in quiet
    assert any("not across the" in c.value for c in at.caption)

    before = len(app_env.chat_requests)
    at.button(key="compare.noise.run").click().run(timeout=180)
    assert not at.exception
    assert len(app_env.chat_requests) == before + 40  # the baseline twice, 20 samples each
    assert "noise" in at.query_params
    said = markdown(at)
    assert "Completion tokens: by chance alone, the same settings differ by up to ±" in said
    noise = next(f.value for f in at.dataframe if "Chance difference up to" in f.value.columns)
    assert noise.iloc[0]["Samples"] == "20 and 20"
    # The noise run sent the measured turn's message with the baseline's own system prompt.
    systems = {r.body["messages"][0]["content"] for r in app_env.chat_requests[before:]}
    assert systems == {"You describe things in a few plain sentences."}


def test_twenty_samples_on_eight_panes_run_within_the_sidebars_limit(app_env):
    app_env.barrier(4)  # each request waits until four are in flight together: the limit is reached…
    at = sample_run(compare_page().run(), EIGHT, samples=20, at_once=4, message="Hi")
    assert len(app_env.chat_requests) == 160
    assert app_env.peak_in_flight == 4  # …and never passed
    for column in panes_of(at, 8):
        assert "Sample (of 20)" in [e.label for e in column.select_slider]
    store = Store(os.environ["CHATLAB_DB"])
    cid = at.query_params["cmp"][0] if isinstance(at.query_params["cmp"], list) else at.query_params["cmp"]
    from chatlab.samples import samples_frame

    frame = samples_frame(store, cid)
    assert len(frame) == 160 and frame["counted"].all()
    assert set(role_systems()[name] for name in EIGHT) == {
        r.body["messages"][0]["content"] for r in app_env.chat_requests
    }


def test_statistics_are_computed_once_for_replies_that_did_not_change(app_env, monkeypatch):
    import chatlab_ui.compare.statistics_view as view

    calls = []
    real = view.statistics
    monkeypatch.setattr(view, "statistics", lambda *a, **k: calls.append(a) or real(*a, **k))
    app_env.default = Reply(text="Same words every time.")
    at = sample_run(compare_page().run(), ["Concise Answerer", "Interviewer"], samples=4, at_once=8)
    assert len(calls) == 1
    at.run()
    at.selectbox(key="compare.chart_metric").set_value("reply_chars").run()
    assert len(calls) == 1 and not at.exception
    at.selectbox(key="compare.baseline").set_value(1).run()
    assert len(calls) == 2  # another baseline is another table


def test_a_pane_whose_samples_all_failed_retries_with_as_many_samples(app_env):
    systems = role_systems()
    failing = systems["Interviewer"]
    app_env.script_fn(lambda r: Reply(status=500) if r.body["messages"][0]["content"] == failing else None)
    at = sample_run(compare_page().run(), ["Concise Answerer", "Interviewer"], samples=5, at_once=8)
    retry = [b.key for b in at.button if b.key and ".retry." in b.key]
    assert retry == ["compare.pane.1.retry.1"]  # only the pane with no whole sample offers Retry
    app_env.script_fn(None)
    before = len(app_env.chat_requests)
    at.button(key="compare.pane.1.retry.1").click().run(timeout=120)
    assert not at.exception
    again = app_env.chat_requests[before:]
    assert len(again) == 5 and {r.body["messages"][0]["content"] for r in again} == {failing}
    assert [e.label for c in panes_of(at, 2) for e in c.select_slider] == ["Sample (of 5)"] * 2
    assert not [b for b in at.button if b.key and ".retry." in b.key]
