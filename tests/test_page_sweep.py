"""The Parameter sweep page under AppTest, against the fake server."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from chatlab.store import Store

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def sweep_page() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60).switch_page("pages/2_Parameter_sweep.py")


def test_page_loads_and_describes_the_planned_sweep(app_env):
    at = sweep_page().run()
    assert not at.exception
    assert any("4 settings × 5 samples = 20 replies in 20 requests" in c.value for c in at.caption)


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
