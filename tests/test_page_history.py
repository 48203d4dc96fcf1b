"""The History page under AppTest: list, search with highlights, rename, export, delete with confirmation."""

import io
import os
import re
from functools import partial
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from chatlab.client import ChatClient
from chatlab.determinism import MeterSpec, finish_meter_run, run_meter, save_reply, start_meter_run
from chatlab.endpoint import Endpoint
from chatlab.safe_markdown import escape_markdown
from chatlab.store import SWEEP, Store
from chatlab.sweep.plan import SweepSpec
from chatlab.sweep.run import run_sweep
from chatlab.sweep.saved import export_files, finish_sweep, load_sweep, save_sample, start_sweep
from tests.fake_openai import Reply, seeded_replies

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def history_page() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30).switch_page("pages/3_History.py")


def seed_store() -> tuple[Store, str, str]:
    store = Store(os.environ["CHATLAB_DB"])
    weather = store.create_conversation("Weather chat")
    store.add_message(weather, "user", "今天天气很好, isn't it sunny?")
    store.add_message(
        weather,
        "assistant",
        "Yes, a *sunny* day.",
        model="gpt-4o-mini",
        prompt_tokens=10,
        completion_tokens=5,
        cost_usd=0.0001,
    )
    code = store.create_conversation("Code review")
    store.add_message(code, "user", "Review my recursion")
    return store, weather, code


def plain(markdown: str) -> str:
    """Markdown as it reads, escapes dropped."""
    return re.sub(r"\\(.)", r"\1", markdown)


def history_table(at: AppTest):
    """The conversation table (its key names the filter and a generation; see history/table.py)."""
    return next(f for f in at.dataframe if f.key and f.key.startswith("history.table."))


def select(at: AppTest, title: str) -> AppTest:
    """Select the row of this title, as a click on the table does."""
    table = history_table(at)
    row = list(table.value["Title"]).index(title)
    at.session_state[table.key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


def test_page_lists_conversations_and_searches_chinese_and_english(app_env):
    store, weather, _ = seed_store()
    at = history_page().run()
    assert not at.exception
    table = history_table(at).value
    assert set(table["Title"]) == {"Weather chat", "Code review"}
    at.text_input(key="history.query").set_value("天气").run()
    assert not at.exception
    assert any(":orange-background[**天气**]" in m.value for m in at.markdown)
    at.text_input(key="history.query").set_value("sunny").run()
    assert any("**sunny**" in m.value for m in at.markdown)
    at.text_input(key="history.query").set_value('"* AND OR (').run()  # search syntax is not interpreted
    assert not at.exception


def test_rename_and_delete_with_confirmation(app_env):
    store, weather, code = seed_store()
    at = history_page().run()
    select(at, "Weather chat")
    assert not at.exception
    at.text_input(key=f"history.title.{weather}").set_value("Sunny day chat").run()
    at.button(key="history.rename").click().run()
    assert store.get_conversation(weather).title == "Sunny day chat"
    at.button(key="history.delete").click().run()
    assert any("cannot be undone" in w.value for w in at.warning)
    assert store.get_conversation(weather) is not None  # nothing deleted before confirming
    at.button(key="history.delete.yes").click().run()
    assert store.get_conversation(weather) is None and store.count_messages(weather) == 0
    assert store.get_conversation(code) is not None
    # It says what it deleted, and selects nothing: the row that moved up is not offered for deletion.
    assert [s.value for s in at.success] == ["Deleted “Sunny day chat” and its 2 messages."]
    assert not at.subheader and "history.delete" not in [b.key for b in at.button]
    assert list(history_table(at).value["Title"]) == ["Code review"]


def test_titles_are_plain_text_and_missing_values_show_a_dash(app_env):
    store = Store(os.environ["CHATLAB_DB"])
    title = "[click me](http://127.0.0.1:9/x) **bold** <b>html</b>"
    cid = store.create_conversation(title)
    store.add_message(cid, "user", "a message without a model")
    at = history_page().run()
    table = history_table(at)
    assert table.proto.placeholder == "—" and table.value["Model"].isna().all()
    select(at, title)
    shown = at.subheader[0].value
    assert shown == escape_markdown(title)  # shown verbatim: not a link, not bold
    at.button(key="history.delete").click().run()
    assert escape_markdown(title) in at.warning[0].value
    at.button(key="history.delete.yes").click().run()
    assert at.success[0].value.startswith(f"Deleted “{escape_markdown(title)}”")


def test_imports_lead_the_list_marked_imported_with_their_import_time(app_env):
    from chatlab.transcript import export_conversation, import_transcript

    store, weather, _ = seed_store()
    data = export_conversation(store, weather, "json")
    imports = [import_transcript(store, data, "weather.json") for _ in range(2)]
    at = history_page().run()
    assert not at.exception
    table = history_table(at).value
    assert list(table["Title"]) == ["Weather chat", "Weather chat", "Code review", "Weather chat"]
    assert list(table["Kind"]) == ["chat · imported", "chat · imported", "chat", "chat"]
    newest = store.get_conversation(imports[-1]).imported_at
    assert table["Updated"].iloc[0] == newest[:16].replace("T", " ")


# ---- sweeps and determinism runs ----------------------------------------------------------------------


def seed_runs(fake) -> tuple[Store, str, str]:
    """A stored sweep of 8 samples (one failed) and a stored determinism run of 4 replies, made for real
    against the fake server, beside a chat."""
    store, _, _ = seed_store()
    client = ChatClient(Endpoint(base_url=fake.base_url, api_keys=("sk-test",), max_retries=0))
    calls = []

    def one_fails(request):
        calls.append(request)
        return Reply(status=500, error_message="boom") if len(calls) == 2 else None

    fake.script_fn(one_fails)
    spec = SweepSpec(
        model="gpt-4o-mini", prompt="Tell me about cats", axes=(("temperature", (0.0, 1.0)),), samples=4
    )
    sweep_id = start_sweep(store, spec)
    list(run_sweep(client, spec, max_workers=1, on_sample=partial(save_sample, store, sweep_id, spec)))
    finish_sweep(store, sweep_id)
    fake.script_fn(seeded_replies())
    meter = MeterSpec(model="gpt-4o-mini", messages=({"role": "user", "content": "Tell a story."},), runs=2)
    meter_id = start_meter_run(store, meter)
    run_meter(client, meter, on_reply=partial(save_reply, store, meter_id))
    finish_meter_run(store, meter_id, cancelled=True)
    client.close()
    return store, sweep_id, meter_id


def test_sweeps_and_determinism_runs_are_listed_beside_conversations(app_env):
    store, sweep_id, meter_id = seed_runs(app_env)
    at = history_page().run()
    assert not at.exception
    table = history_table(at).value.set_index("Title")
    assert table.loc["temperature: Tell me about cats", "Kind"] == "sweep"
    assert table.loc["temperature: Tell me about cats", "Contents"] == "8 samples, 1 failed"
    assert table.loc["Determinism: Tell a story.", "Kind"] == "determinism run · cancelled"
    assert table.loc["Determinism: Tell a story.", "Contents"] == "4 replies"
    assert table.loc["Weather chat", "Contents"] == "2 messages"
    assert any(c.value.startswith("2 conversations and 2 runs.") for c in at.caption)
    at.selectbox(key="history.kind").set_value("Sweeps").run()
    assert list(history_table(at).value["Title"]) == ["temperature: Tell me about cats"]
    at.text_input(key="history.query").set_value("cats").run()
    assert any("Search reads the messages of chats and comparisons" in i.value for i in at.info)
    at.text_input(key="history.query").set_value("").run()
    at.selectbox(key="history.kind").set_value("Chats").run()
    assert "sweep" not in set(history_table(at).value["Kind"])


def test_a_sweep_opens_on_the_sweep_page_renames_exports_and_deletes_with_confirmation(app_env):
    store, sweep_id, _ = seed_runs(app_env)
    at = history_page().run()
    select(at, "temperature: Tell me about cats")
    assert plain(at.subheader[0].value) == "temperature: Tell me about cats"
    [link] = at.get("page_link")
    assert link.proto.page == "Parameter_sweep" and link.proto.query_string == f"sweep={sweep_id}"
    downloads = {b.key: b.proto.label for b in at.get("download_button") if b.key.startswith("history.run.")}
    assert set(downloads) == {"history.run.export.samples", "history.run.export.statistics"}
    # What the statistics download holds: one row per setting × metric, differences on the other setting.
    stats = pd.read_csv(
        io.BytesIO(export_files(load_sweep(store, sweep_id))[f"sweep-{sweep_id}-statistics.csv"])
    )
    for column in (
        "n",
        "mean",
        "ci_low",
        "ci_high",
        "diff",
        "diff_ci_low",
        "diff_ci_high",
        "p_value",
        "p_holm",
    ):
        assert column in stats.columns
    assert (
        stats.loc[stats["baseline"], "diff"].isna().all()
        and stats.loc[~stats["baseline"], "diff"].notna().any()
    )

    at.text_input(key=f"history.run.title.{sweep_id}").set_value("Cats at two temperatures").run()
    at.button(key="history.run.rename").click().run()
    assert store.get_run(SWEEP, sweep_id).title == "Cats at two temperatures"

    at.button(key="history.run.delete").click().run()
    assert plain(at.warning[0].value) == (
        "Delete sweep “Cats at two temperatures” and its 8 samples, 1 failed? This cannot be undone."
    )
    assert store.get_run(SWEEP, sweep_id) is not None  # nothing deleted before confirming
    at.button(key="history.run.delete.yes").click().run()
    assert store.get_run(SWEEP, sweep_id) is None and store.run_rows(SWEEP, sweep_id) == []
    assert [plain(s.value) for s in at.success] == [
        "Deleted sweep “Cats at two temperatures” and its 8 samples, 1 failed."
    ]
    assert "Cats at two temperatures" not in list(history_table(at).value["Title"])
    assert not at.subheader  # nothing selected after a delete


def test_a_determinism_run_opens_on_the_meter_and_exports_its_replies(app_env):
    store, _, meter_id = seed_runs(app_env)
    at = history_page().run()
    select(at, "Determinism: Tell a story.")
    [link] = at.get("page_link")
    assert link.proto.query_string == f"meter={meter_id}"
    assert [b.key for b in at.get("download_button") if b.key.startswith("history.run.")] == [
        "history.run.export.replies"
    ]
    assert any("cancelled" in c.value for c in at.caption)
