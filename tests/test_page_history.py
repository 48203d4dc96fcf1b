"""The History page under AppTest: list, search with highlights, rename, export, delete with confirmation."""

import os
from pathlib import Path

from streamlit.testing.v1 import AppTest

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


def test_page_lists_conversations_and_searches_chinese_and_english(app_env):
    store, weather, _ = seed_store()
    at = history_page().run()
    assert not at.exception
    table = at.dataframe(key="history.table").value
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
    table = at.dataframe(key="history.table")
    row = list(table.value["Title"]).index("Weather chat")
    at.session_state["history.table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
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


def test_imports_lead_the_list_marked_imported_with_their_import_time(app_env):
    from chatlab.transcript import export_conversation, import_transcript

    store, weather, _ = seed_store()
    data = export_conversation(store, weather, "json")
    imports = [import_transcript(store, data, "weather.json") for _ in range(2)]
    at = history_page().run()
    assert not at.exception
    table = at.dataframe(key="history.table").value
    assert list(table["Title"]) == ["Weather chat", "Weather chat", "Code review", "Weather chat"]
    assert list(table["Kind"]) == ["chat · imported", "chat · imported", "chat", "chat"]
    newest = store.get_conversation(imports[-1]).imported_at
    assert table["Updated"].iloc[0] == newest[:16].replace("T", " ")
