"""After a failed turn, every page's next request is one a strict chat template accepts.

The fake server's strict-alternation mode answers 400 like vLLM serving Llama-2, Mistral or Gemma when user
and assistant do not alternate. Before the context fix, a failed reply left its question in the history
and the next request went out as `system, user, user` — refused, and the conversation stayed broken.
"""

from __future__ import annotations

import os

from chatlab.client import ChatClient
from chatlab.compare import PaneSpec, create_comparison, send_to_panes
from chatlab.context import history_messages
from chatlab.store import COMPLETE, ERROR, Store
from chatlab.sweep.ablation import depth_ablation, with_settings
from chatlab.sweep.plan import SweepSpec
from chatlab.sweep.run import run_sweep
from chatlab.turn import TurnSettings, send_turn
from tests.fake_openai import ALTERNATION_ERROR, Reply
from tests.test_app import chat_app, send
from tests.test_page_compare import compare_page

MODEL = "gpt-4o-mini"


def test_the_strict_server_refuses_two_user_messages_in_a_row(fake_openai, fake_endpoint):
    """The fake really is strict: what the app used to send is refused."""
    from chatlab.params import GenerationParams
    from chatlab.request import build_request

    fake_openai.strict_alternation = True
    broken = [{"role": "user", "content": "q1"}, {"role": "user", "content": "q2"}]
    events = list(ChatClient(fake_endpoint).stream(build_request(MODEL, broken, GenerationParams())))
    assert events[-1].error is not None and events[-1].error.status == 400
    assert ALTERNATION_ERROR in events[-1].error.message


def _conversation_with_a_failed_turn(store: Store, client: ChatClient, fake_openai, depth: int | None) -> str:
    cid = store.create_conversation("with a failure")
    settings = TurnSettings(model=MODEL, system_prompt="Be brief.", context_depth=depth)
    list(send_turn(store, client, cid, settings, "one"))
    fake_openai.script(Reply(status=500))
    list(send_turn(store, client, cid, settings, "two"))
    assert store.messages(cid)[-1].status == ERROR
    return cid


def test_the_next_turn_after_a_500_succeeds_at_every_depth(tmp_path, fake_openai, fake_endpoint):
    client = ChatClient(fake_endpoint)
    for depth in (None, 0, 1, 2, 3, 4):
        store = Store(tmp_path / f"d{depth}.sqlite3")
        cid = _conversation_with_a_failed_turn(store, client, fake_openai, depth)
        fake_openai.strict_alternation = True
        settings = TurnSettings(model=MODEL, system_prompt="Be brief.", context_depth=depth)
        list(send_turn(store, client, cid, settings, "three"))
        assert store.messages(cid)[-1].status == COMPLETE, (depth, fake_openai.last_body["messages"])
        fake_openai.strict_alternation = False


def test_compare_panes_go_on_after_a_failed_turn(tmp_path, fake_openai, fake_endpoint):
    store = Store(tmp_path / "c.sqlite3")
    panes = [
        PaneSpec(TurnSettings(model=MODEL, system_prompt=f"You are pane {i}.", context_depth=None))
        for i in range(3)
    ]
    comparison = create_comparison(store, panes)
    clients = [ChatClient(fake_endpoint)] * 3
    fake_openai.script_fn(
        lambda r: Reply(status=500) if "pane 1" in r.body["messages"][0]["content"] else None
    )
    list(send_to_panes(store, clients, comparison, panes, "first"))
    fake_openai.script_fn(None)
    fake_openai.strict_alternation = True
    list(send_to_panes(store, clients, comparison, panes, "second"))
    for conversation in store.comparison_panes(comparison):
        assert store.messages(conversation.id)[-1].status == COMPLETE


def test_a_sweep_and_an_ablation_over_a_conversation_with_a_failed_turn(tmp_path, fake_openai, fake_endpoint):
    client = ChatClient(fake_endpoint)
    store = Store(tmp_path / "s.sqlite3")
    cid = _conversation_with_a_failed_turn(store, client, fake_openai, None)
    list(send_turn(store, client, cid, TurnSettings(model=MODEL), "three"))
    fake_openai.strict_alternation = True
    spec = SweepSpec(
        model=MODEL,
        history=tuple(history_messages(store.messages(cid))),
        prompt="Again",
        axes=(("temperature", (0.0, 1.0)),),
        samples=2,
    )
    assert all(s.ok for s in run_sweep(client, spec, max_workers=2))
    source = with_settings(
        store.messages(cid),
        model=MODEL,
        system_prompt="S",
        few_shot=(),
        params=spec.base_params,
        role_name="",
    )
    assert all(r.error is None for r in depth_ablation(client, source, range(source.turns_available + 1)))


def test_the_chat_page_recovers_from_a_500_against_a_strict_server(app_env):
    at = send(chat_app().run(), "one")
    app_env.script(Reply(status=500))
    send(at, "two")
    assert any("500" in e.value or "failed" in e.value for e in at.error)
    app_env.strict_alternation = True
    send(at, "three")
    assert not any(ALTERNATION_ERROR in e.value for e in at.error)
    store = Store(os.environ["CHATLAB_DB"])
    cid = at.query_params["c"][0] if isinstance(at.query_params["c"], list) else at.query_params["c"]
    assert store.messages(cid)[-1].status == COMPLETE
    assert [m["role"] for m in app_env.last_body["messages"]] == ["system", "user", "assistant", "user"]


def test_the_compare_page_recovers_from_a_500_against_a_strict_server(app_env):
    at = compare_page().run()
    at.multiselect(key="compare.roles").set_value(["Senior Programmer", "Patient Teacher"]).run()
    app_env.script_fn(lambda r: Reply(status=500) if "tutor" in r.body["messages"][0]["content"] else None)
    at.chat_input(key="compare.input").set_value("hello").run()
    app_env.script_fn(None)
    app_env.strict_alternation = True
    at.chat_input(key="compare.input").set_value("and now?").run()
    assert not at.exception
    table = next(f.value for f in at.dataframe if "Pane" in f.value.columns)
    last_turn = table[table["Turn"] == 2]
    assert set(last_turn["Status"]) == {"complete"}
