"""The Compare roles page under AppTest, against the fake server."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.fake_openai import Reply

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def compare_page() -> AppTest:
    """Pages run under the real entry script, as in the browser (page links resolve against app.py)."""
    return AppTest.from_file(APP, default_timeout=30).switch_page("pages/1_Compare_roles.py")


def test_page_loads_with_three_roles_chosen(app_env):
    at = compare_page().run()
    assert not at.exception
    assert len(at.multiselect(key="compare.roles").value) == 3


def test_one_message_reaches_every_pane_with_its_own_system_prompt(app_env):
    at = compare_page().run()
    at.chat_input(key="compare.input").set_value("Introduce yourself").run()
    assert not at.exception
    prompts = sorted(r.body["messages"][0]["content"] for r in app_env.chat_requests)
    assert len(prompts) == 3 and len(set(prompts)) == 3
    assert "cmp" in at.query_params
    table = next(f.value for f in at.dataframe if "Pane" in f.value.columns)
    assert len(table) == 3 and set(table["Status"]) == {"complete"}


def test_a_rate_limited_pane_shows_its_error_and_retries_alone(app_env):
    at = compare_page().run()
    at.multiselect(key="compare.roles").set_value(["Senior Programmer", "Patient Teacher"]).run()
    app_env.script_fn(
        lambda r: (
            Reply(status=429, error_message="Rate limit reached for this pane")
            if "tutor" in r.body["messages"][0]["content"]
            else None
        )
    )
    at.chat_input(key="compare.input").set_value("hello").run()
    assert not at.exception
    assert any("Rate limit reached" in e.value for e in at.error)
    retry = [b for b in at.button if b.key and ".retry." in b.key]
    assert [b.key for b in retry] == ["compare.pane.1.retry.1"]  # the failed pane's own key
    app_env.script_fn(None)
    before = len(app_env.chat_requests)
    retry[0].click().run()
    assert not at.exception
    assert len(app_env.chat_requests) == before + 1  # only the failed pane was sent again
    table = next(f.value for f in at.dataframe if "Pane" in f.value.columns)
    assert set(table["Status"]) == {"complete"}


def test_a_roles_default_parameters_fill_its_pane_and_are_sent(app_env):
    at = compare_page().run()
    at.multiselect(key="compare.roles").set_value(["Creative Storyteller", "JSON Extractor"]).run()
    at.chat_input(key="compare.input").set_value("a dragon").run()
    assert not at.exception
    by_prompt = {r.body["messages"][0]["content"][:20]: r.body for r in app_env.chat_requests}
    temperatures = sorted(body.get("temperature") for body in by_prompt.values())
    assert temperatures == [0, 1.1]


def test_a_comparison_that_lost_a_pane_in_history_is_readable_but_takes_no_message(app_env):
    import os

    from chatlab.store import Store

    at = compare_page().run()
    at.chat_input(key="compare.input").set_value("hello").run()
    cid = at.query_params["cmp"]
    cid = cid[0] if isinstance(cid, list) else cid
    store = Store(os.environ["CHATLAB_DB"])
    store.delete_conversation(store.comparison_panes(cid)[0].id)  # what History's Delete does to one pane
    at.run()
    assert not at.exception
    assert at.chat_input(key="compare.input").disabled
    assert any("a pane of this comparison was deleted" in e.value for e in at.error)
    assert len([m for m in at.chat_message if m.name == "user"]) == 2  # the other panes are still there
