"""The preview is what is sent: 'What the next request will send' shows the body the server then receives.

On the chat page and on every Compare pane, with parameters ticked and a history of several turns, the
preview's JSON (json.loads of its code block) equals the body the loopback fake recorded for the next
message — the new message itself being the only placeholder.
"""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from chatlab_ui.request_preview import PLACEHOLDER

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def send(at: AppTest, page: str, text: str) -> AppTest:
    at.chat_input(key=f"{page}.input").set_value(text).run()
    assert not at.exception, at.exception
    return at


def previews(at: AppTest, page: str) -> list[dict]:
    """Open the preview as a click does; the JSON bodies it shows, in order (one per Compare pane)."""
    at.session_state[f"{page}.preview"] = True
    at.run()
    assert not at.exception, at.exception
    return [json.loads(c.value) for c in at.code if c.language == "json"]


def as_sent(preview: dict, text: str) -> dict:
    """The preview with its placeholder replaced by the message typed next (nothing else may differ)."""
    assert preview["messages"][-1] == {"role": "user", "content": PLACEHOLDER}
    return {**preview, "messages": [*preview["messages"][:-1], {"role": "user", "content": text}]}


def tick(at: AppTest, page: str) -> None:
    """Send temperature, top_p, max_tokens, seed and a stop sequence."""
    at.slider(key=f"{page}.temperature").set_value(0.35)
    at.slider(key=f"{page}.top_p").set_value(0.8)
    at.select_slider(key=f"{page}.max_tokens").set_value(256)
    at.text_input(key=f"{page}.seed").set_value("7")
    at.checkbox(key=f"{page}.seed.on").check()
    at.text_area(key=f"{page}.stop").set_value("END")
    at.checkbox(key=f"{page}.stop.on").check()
    at.run()


def test_the_chat_preview_is_the_body_the_server_receives(app_env):
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.selectbox(key="chat.role").set_value("Senior Programmer").run()  # a system prompt and few-shot
    tick(at, "chat")
    at.select_slider(key="chat.depth").set_value(3).run()
    for text in ("first question", "second question", "third question"):
        send(at, "chat", text)

    [preview] = previews(at, "chat")
    send(at, "chat", "fourth question, 第四")
    received = app_env.chat_requests[-1].body
    assert as_sent(preview, "fourth question, 第四") == received
    assert {"temperature", "top_p", "max_tokens", "seed", "stop"} <= set(received)
    assert [m["content"] for m in received["messages"] if m["role"] == "user"][-2:] == [
        "third question",
        "fourth question, 第四",
    ]


def test_every_compare_pane_previews_the_body_it_then_sends(app_env):
    at = AppTest.from_file(APP, default_timeout=30).switch_page("pages/1_Compare_roles.py").run()
    at.multiselect(key="compare.roles").set_value(["Senior Programmer", "Patient Teacher"]).run()
    tick(at, "compare")
    for text in ("first question", "second question"):
        send(at, "compare", text)

    shown = previews(at, "compare")
    assert len(shown) == 2
    before = len(app_env.chat_requests)
    send(at, "compare", "third question")
    received = {r.body["messages"][0]["content"]: r.body for r in app_env.chat_requests[before:]}
    assert len(received) == 2
    for preview in shown:
        body = received[preview["messages"][0]["content"]]  # the pane with this system prompt
        assert as_sent(preview, "third question") == body
        # Shared parameters, or the role's own defaults filled into the pane (Senior Programmer: 0.2).
        assert {"temperature", "top_p", "max_tokens", "seed", "stop"} <= set(body)
        assert len([m for m in body["messages"] if m["role"] == "user"]) >= 3  # its own thread went too
