"""The History page under AppTest: list, search with highlights, rename, export, delete with confirmation."""

import os
from pathlib import Path

from streamlit.testing.v1 import AppTest

from chatlab.safe_markdown import escape_markdown
from chatlab.store import Store

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
