"""The chat page under Streamlit's AppTest, talking to the loopback fake server."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chatlab.store import Store
from tests.fake_openai import Reply

TIMEOUT = 30
ROOT = Path(__file__).resolve().parent.parent


def chat_app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)


def send(at: AppTest, text: str) -> AppTest:
    at.chat_input(key="chat.input").set_value(text).run()
    assert not at.exception, at.exception
    return at


def test_page_loads_without_exception(app_env):
    at = chat_app().run()
    assert not at.exception
    assert at.title[0].value.endswith("Chat Lab")
    assert at.selectbox(key="chat.role").value == "Default assistant"


def test_a_chat_turn_streams_stores_and_shows_usage(app_env):
    app_env.default = Reply(text="Bonjour, je suis le serveur.", usage_values=(12, 7))
    at = send(chat_app().run(), "Say hello in French")
    bodies = app_env.chat_requests
    assert len(bodies) == 1
    sent = bodies[0].body
    assert sent["messages"][-1] == {"role": "user", "content": "Say hello in French"}
    assert sent["messages"][0]["role"] == "system"
    assert "temperature" not in sent  # nothing ticked: the server's defaults apply
    assert any("Bonjour" in m.value for m in at.markdown)
    assert any("12 → 7 tokens" in c.value for c in at.caption)
    cid = at.query_params["c"][0] if isinstance(at.query_params["c"], list) else at.query_params["c"]
    stored = Store(app_env_db(at)).messages(cid)
    assert [(m.role, m.status) for m in stored] == [("user", "complete"), ("assistant", "complete")]
    assert stored[1].content == "Bonjour, je suis le serveur."


def app_env_db(at):
    import os

    return os.environ["CHATLAB_DB"]


def test_moving_a_slider_sends_that_parameter_and_depth_limits_history(app_env):
    at = chat_app().run()
    at.select_slider(key="chat.depth").set_value(2)
    at.slider(key="chat.temperature").set_value(0.3).run()
    assert at.checkbox(key="chat.temperature.on").value is True
    for text in ("one", "two", "three"):
        send(at, text)
    last = app_env.chat_requests[-1].body
    assert last["temperature"] == 0.3
    # system + 2 past messages (depth 2) + the new one
    assert [m["role"] for m in last["messages"]] == ["system", "user", "assistant", "user"]
    assert last["messages"][1]["content"] == "two"


def test_picking_a_role_fills_the_system_prompt_and_it_is_sent(app_env):
    at = chat_app().run()
    at.selectbox(key="chat.role").set_value("Senior Programmer").run()
    prompt = at.text_area(key="chat.system_prompt").value
    assert prompt and prompt != "You are a helpful assistant."
    send(at, "hello")
    assert app_env.chat_requests[-1].body["messages"][0] == {"role": "system", "content": prompt}


@pytest.mark.parametrize(
    "reply,shown",
    [
        (Reply(status=401, error_message="Incorrect API key provided"), "Incorrect API key"),
        (Reply(status=429, error_message="Rate limit reached", headers={"retry-after": "1"}), "Rate limit"),
        (Reply(status=500, error_message="The server had an error"), "server had an error"),
    ],
)
def test_an_error_is_shown_in_the_chat_with_retry_and_the_message_is_kept(app_env, reply, shown):
    app_env.script(reply)
    at = send(chat_app().run(), "keep me")
    assert any(shown in e.value for e in at.error)
    assert any(m.value == "keep me" for m in at.markdown)
    retry = at.button(key="chat.retry.1")
    app_env.default = Reply(text="Second time lucky.")
    retry.click().run()
    assert not at.exception
    assert any("Second time lucky." in m.value for m in at.markdown)
    # the retry re-sent the same user message, once, and did not duplicate it
    assert app_env.chat_requests[-1].body["messages"][-1]["content"] == "keep me"
    assert sum(m.value == "keep me" for m in at.markdown) == 1


def usage_frame(at):
    [frame] = [d.value for d in at.dataframe if "Completion tokens" in d.value.columns]
    return frame


def test_the_usage_table_says_which_turns_were_not_billed_and_only_when_one_was(app_env):
    at = send(chat_app().run(), "first")
    assert "Billed" not in usage_frame(at).columns  # every turn billed: no column of blanks
    app_env.script(Reply(status=500, error_message="The server had an error"))
    send(at, "second")
    assert usage_frame(at)["Billed"].tolist() == ["yes", "no (failed before any token)"]


def test_a_cut_stream_keeps_the_partial_reply_marked_interrupted(app_env):
    app_env.script(Reply(text="This reply will be cut off midway through.", chunk_chars=5, cut_after=3))
    at = send(chat_app().run(), "go")
    assert any("This reply wil" in m.value for m in at.markdown)
    assert any("ended early" in c.value for c in at.caption)


def test_an_empty_message_is_not_sent(app_env):
    at = send(chat_app().run(), "   ")
    assert app_env.chat_requests == []
    assert any("Empty message" in i.value for i in at.info)


def test_a_huge_paste_asks_first_with_its_token_estimate(app_env):
    at = send(chat_app().run(), "lorem ipsum " * 90_000)
    assert app_env.chat_requests == []
    assert any("tokens (estimated)" in w.value for w in at.warning)
    at.button(key="chat.confirm.no").click().run()
    assert app_env.chat_requests == [] and not at.warning


def test_reloading_with_the_conversation_id_restores_it(app_env):
    at = send(chat_app().run(), "remember this")
    cid = at.query_params["c"]
    cid = cid[0] if isinstance(cid, list) else cid
    fresh = chat_app()
    fresh.query_params["c"] = cid
    fresh.run()
    assert not fresh.exception
    assert any(m.value == "remember this" for m in fresh.markdown)


def test_a_roles_default_parameters_are_ticked_and_sent(app_env):
    at = chat_app().run()
    at.selectbox(key="chat.role").set_value("JSON Extractor").run()
    assert at.checkbox(key="chat.seed.on").value and at.text_input(key="chat.seed").value == "42"
    send(at, "Alice is 30")
    body = app_env.chat_requests[-1].body
    assert (body["temperature"], body["seed"]) == (0, 42)
    at.selectbox(key="chat.role").set_value("Concise Answerer").run()
    send(at, "why is the sky blue")
    assert app_env.chat_requests[-1].body["max_tokens"] == 200


def test_a_seed_that_is_not_a_number_is_explained_and_not_sent(app_env):
    at = chat_app().run()
    at.text_input(key="chat.seed").set_value("forty-two").run()
    assert any("seed must be a whole number, not 'forty-two'" in e.value for e in at.error)
    # Nothing may go out without the seed the user asked for: the input is closed until it is fixed.
    assert at.chat_input(key="chat.input").disabled
    assert any("Nothing is sent until this is fixed: Seed" in e.value for e in at.error)
    at.text_input(key="chat.seed").set_value("42").run()
    send(at, "hi")
    assert app_env.chat_requests[-1].body["seed"] == 42


def test_a_malformed_roles_file_names_the_line_and_the_app_still_chats(app_env, tmp_path, monkeypatch):
    bad = tmp_path / "roles.yaml"
    bad.write_text("version: 1\nroles:\n  - name: Broken\n    system: [unclosed\n", encoding="utf-8")
    monkeypatch.setenv("CHATLAB_ROLES", str(bad))
    at = chat_app().run()
    assert not at.exception
    warning = next(w.value for w in at.warning if "roles.yaml" in w.value or "line" in w.value)
    assert "line" in warning
    assert at.selectbox(key="chat.role").options == ["Default assistant · en"]
    send(at, "still works?")
    assert app_env.chat_requests[-1].body["messages"][0]["content"] == "You are a helpful assistant."


def keyed_blocks(node, kind: str) -> list:
    """Every container of this kind ("popover", "expander") under `node` that has a key."""
    found = [node] if getattr(node, "type", "") == kind and getattr(node, "key", None) else []
    for child in getattr(node, "children", {}).values():
        found += keyed_blocks(child, kind)
    return found


def open_panel(at: AppTest, key: str) -> AppTest:
    """Open a popover or expander the way a click does: its state turns True and the page reruns."""
    at.session_state[key] = True
    return at.run()


def test_view_code_shows_python_and_curl_without_the_key_and_replay_diffs(app_env):
    app_env.default = Reply(text="The sky is blue because of Rayleigh scattering.")
    at = send(chat_app().run(), "Why is the sky blue?")
    [popover] = [b for b in keyed_blocks(at.main, "popover") if b.key.startswith("chat.code.")]
    assert not at.code  # a closed View code writes no code
    open_panel(at, popover.key)
    code = [c.value for c in at.code]
    python = next(c for c in code if "chat.completions.create" in c)
    assert "Why is the sky blue?" in python and "sk-test-app-0000" not in "\n".join(code)
    assert any(c.startswith("curl") or "curl " in c for c in code)
    reply = next(
        b for b in at.button if b.key and b.key.startswith("chat.replay.") and b.key.endswith(".button")
    )
    app_env.default = Reply(text="The sky is blue because air scatters blue light more.")
    reply.click().run()
    assert not at.exception
    assert app_env.chat_requests[-1].body["messages"] == app_env.chat_requests[0].body["messages"]
    assert any("~~" in m.value and "**" in m.value for m in at.markdown)  # the word diff


def test_new_conversation_starts_empty_and_the_old_one_stays_stored(app_env):
    at = send(chat_app().run(), "first conversation")
    old = at.query_params["c"]
    old = old[0] if isinstance(old, list) else old
    at.button(key="chat.new").click().run()
    assert "c" not in at.query_params
    assert not [m for m in at.markdown if m.value == "first conversation"]
    send(at, "second conversation")
    new = at.query_params["c"]
    new = new[0] if isinstance(new, list) else new
    assert new != old
    store = Store(app_env_db(at))
    assert [m.content for m in store.messages(old)][0] == "first conversation"
    assert app_env.chat_requests[-1].body["messages"][-1]["content"] == "second conversation"
    assert len(app_env.chat_requests[-1].body["messages"]) == 2  # system + the new message: no old history


def downloads_in_sight(node, hidden: bool = False) -> list[str]:
    """Labels of the download buttons under `node` that no closed-by-default expander or popover hides."""
    hidden = hidden or getattr(node, "type", "") in ("expander", "popover")
    found = [] if hidden or getattr(node, "type", "") != "download_button" else [node.proto.label]
    for child in getattr(node, "children", {}).values():
        found += downloads_in_sight(child, hidden)
    return found


def test_the_transcript_downloads_sit_beside_the_conversation(app_env):
    at = chat_app().run()
    assert downloads_in_sight(at.main) == []  # nothing to download before the first message
    send(at, "Download me, 你好")
    assert downloads_in_sight(at.main) == ["Download CSV", "Download JSON", "Download Markdown"]
    assert downloads_in_sight(at.sidebar) == []
    assert at.sidebar.file_uploader(key="chat.transcript.upload") is not None  # import stays in the sidebar


def test_a_long_conversation_draws_its_newest_turns_and_the_rest_on_request(app_env):
    store = Store(app_env_db(None))
    cid = store.create_conversation("Long")
    for turn in range(25):
        store.add_message(cid, "user", f"question {turn}")
        store.add_message(cid, "assistant", f"answer {turn}", model="fake-model")
    at = chat_app()
    at.query_params["c"] = cid
    at.run()
    shown = [m.value for m in at.markdown if m.value.startswith(("question", "answer"))]
    assert shown[0] == "question 5" and shown[-1] == "answer 24" and len(shown) == 40
    at.button(key="chat.older").click().run()
    assert len([m for m in at.markdown if m.value.startswith(("question", "answer"))]) == 50


def test_a_reply_still_streaming_elsewhere_is_read_again_on_every_rerun(app_env):
    # Finished messages are kept between reruns; one that is still arriving (another tab) is not.
    at = chat_app().run()  # the app is up (a reply left streaming by a dead process is marked once, here)
    store = Store(app_env_db(None))
    cid = store.create_conversation("Streaming elsewhere")
    store.add_message(cid, "user", "tell me a story")
    # Streamed by a live process (this one), so the page does not take it for one a dead process left.
    reply = store.add_message(
        cid,
        "assistant",
        "Once upon",
        status="streaming",
        model="fake-model",
        stream_owner=store.stream_owner(),
    )
    at.query_params["c"] = cid
    at.run()
    # Still arriving elsewhere: drawn from the database with a cursor, and it says so.
    assert any(m.value == "Once upon▌" for m in at.markdown)
    assert any("still arriving, streamed by another Chat Lab process" in c.value for c in at.caption)
    store.update_message(reply, content="Once upon a time", status="complete", finish_reason="stop")
    at.run()
    assert any(m.value == "Once upon a time" for m in at.markdown)
