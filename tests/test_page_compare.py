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


def test_a_pane_whose_model_is_not_a_chat_model_says_so_and_names_one_that_is(app_env):
    from tests.fake_models import NOT_A_CHAT_MODEL

    at = compare_page().run()
    at.selectbox(key="compare.model").set_value("fake-model").run()  # the server will say it is not one
    at.multiselect(key="compare.roles").set_value(["Senior Programmer", "Patient Teacher"]).run()
    app_env.script_fn(lambda r: Reply(status=404, error_message=NOT_A_CHAT_MODEL))
    at.chat_input(key="compare.input").set_value("hello").run()
    assert not at.exception
    hint = "fake-model is not a chat model. Pick a chat model instead, for example gpt-4o-mini."
    for pane in panes_of(at, 2):
        assert hint in shown(pane).replace("\\", "")


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


# ---- replies that run on their own, and panes that fail ------------------------------------------------


def role_systems() -> dict[str, str]:
    from chatlab.roles import load_roles_or_default, roles_path

    return {r.name: r.system for r in load_roles_or_default(roles_path())[0]}


EIGHT = [
    "Senior Programmer",
    "Patient Teacher",
    "Concise Answerer",
    "Interviewer",
    "SQL Expert",
    "Creative Storyteller",
    "Debate Opponent",
    "Warm Companion",
]


def panes_of(at: AppTest, count: int) -> list:
    """The pane columns of the main area (the sidebar's parameter rows are columns too)."""
    return list(at.main.columns)[:count]


def walk(node):
    for child in getattr(node, "children", {}).values():
        yield child
        yield from walk(child)


def shown(column) -> str:
    """Every text a pane column shows, one line each."""
    return "\n".join(
        str(getattr(e, "value", "")) for e in walk(column) if isinstance(getattr(e, "value", None), str)
    )


def test_eight_failing_panes_each_show_their_error_and_retry_alone(app_env, monkeypatch):
    import threading

    monkeypatch.setenv("CHATLAB_TIMEOUT", "1")  # the stalled panes time out after a second
    stalled = threading.Event()  # never set: those replies stall until the fake stops
    failures = [
        Reply(status=401),
        Reply(status=500),
        Reply(text="one two three four five six", chunk_chars=4, cut_after=2),
        Reply(text="one two three", hold=stalled),
    ] * 2
    systems = role_systems()
    scripted = {systems[name]: reply for name, reply in zip(EIGHT, failures, strict=True)}
    app_env.script_fn(lambda r: scripted.get(r.body["messages"][0]["content"]))
    at = compare_page().run()
    at.multiselect(key="compare.roles").set_value(EIGHT).run()
    at.chat_input(key="compare.input").set_value("hello").run()
    assert not at.exception
    columns = panes_of(at, 8)
    for index, column in enumerate(columns):
        text = shown(column)
        kind = index % 4
        expected = [
            "Incorrect API key",
            "had an error (500)",
            "The reply ended early",
            "stalled for more than",
        ]
        assert expected[kind] in text, (index, text)
        retry = [e.key for e in walk(column) if getattr(e, "key", None) and ".retry." in e.key]
        assert retry == [f"compare.pane.{index}.retry.1"]  # the pane's own Retry, never a shared key

    app_env.script_fn(None)
    before = len(app_env.chat_requests)
    at.button(key="compare.pane.5.retry.1").click().run()
    assert not at.exception
    assert len(app_env.chat_requests) == before + 1  # only that pane was sent again
    columns = panes_of(at, 8)
    assert "Incorrect API key" in shown(columns[4]) and "stalled for more than" in shown(columns[7])
    assert "had an error (500)" not in shown(columns[5]) and "Hello from the fake server." in shown(
        columns[5]
    )
    assert app_env.chat_requests[-1].body["messages"][0]["content"] == systems[EIGHT[5]]
    table = next(f.value for f in at.dataframe if "Pane" in f.value.columns)
    assert list(table.loc[table["Pane"] == EIGHT[5], "Status"]) == ["complete"]
    assert (table["Status"] == "complete").sum() == 1


def test_a_page_opened_while_a_send_is_arriving_follows_it_without_sending_again(app_env, monkeypatch):
    """What a reload (or a new tab on ?cmp=) does: it finds the send still arriving and follows it."""
    import os
    import threading

    from chatlab.client import ChatClient
    from chatlab.compare import PaneSpec, create_comparison
    from chatlab.endpoint import Endpoint
    from chatlab.live import LiveReply
    from chatlab.store import COMPLETE, Store
    from chatlab.turn import TurnSettings
    from chatlab_ui.compare.sending import start_send
    from chatlab_ui.compare.state import Sampling
    from chatlab_ui.pending import PendingTurn

    release = threading.Event()
    app_env.default = Reply(text="held then finished", chunk_chars=5, hold=release, hold_after=1)
    store = Store(os.environ["CHATLAB_DB"])
    panes = [PaneSpec(TurnSettings(model="gpt-4o-mini", system_prompt=f"You are {n}."), n) for n in "AB"]
    cid = create_comparison(store, panes)
    client = ChatClient(Endpoint(base_url=app_env.base_url, api_keys=("sk-test",), max_retries=0))
    reply = start_send(store, client, cid, panes, PendingTurn(text="Are you there?"), Sampling())
    app_env.wait_for(lambda f: f.in_flight == 2)

    # Let the replies finish only once the page is following them.
    follow = LiveReply.follow
    following = threading.Event()

    def watched(self, *args, **kwargs):
        following.set()
        return follow(self, *args, **kwargs)

    monkeypatch.setattr(LiveReply, "follow", watched)
    threading.Thread(target=lambda: following.wait(30) and release.set(), daemon=True).start()
    at = compare_page()
    at.query_params["cmp"] = cid
    at.run()
    assert not at.exception and following.is_set() and not reply.running
    assert len(app_env.chat_requests) == 2  # followed, not sent again
    for conversation in store.comparison_panes(cid):
        last = store.messages(conversation.id)[-1]
        assert (last.status, last.content) == (COMPLETE, "held then finished")
    assert sum("held then finished" in shown(c) for c in panes_of(at, 2)) == 2
