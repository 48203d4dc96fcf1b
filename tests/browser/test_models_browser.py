"""Models as they are today, in a real Chromium against a server that lists OpenAI's catalogue: a newcomer's
first message goes to a chat model, reasoning models answer with the sidebar's parameters (the preview
says what was left out), and a model served only by the Responses API chats, streams and stops."""

from __future__ import annotations

import json
import os
import threading

import pytest
from playwright.sync_api import expect

from chatlab.store import STOPPED, Store
from tests.browser.harness import (
    StreamlitServer,
    isolated_env,
    send_chat,
    set_temperature,
    submit_chat,
    wait_until_idle,
)
from tests.fake_openai import FakeOpenAI, Reply


@pytest.fixture
def openai_app(tmp_path):
    fake = FakeOpenAI.openai_like(default=Reply(text="Hi! I am a chat model.", chunk_chars=4)).start()
    server = StreamlitServer(
        isolated_env(tmp_path, base_url=fake.base_url, api_key="sk-newcomer-1234"),
        log_path=tmp_path / "streamlit.log",
    ).start()
    try:
        yield server, fake
    finally:
        server.stop()
        fake.stop()


def pick_model(page, model: str) -> None:
    """Type a model id into the sidebar's model box (it takes any id), until the next request has it."""
    box = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Model")
    box.click()
    page.keyboard.type(model)
    page.keyboard.press("Enter")
    wait_until_idle(page)
    expect(open_preview(page)).to_contain_text(f'"model": "{model}"')


def open_preview(page):
    preview = page.locator("[data-testid=stExpander]").filter(has_text="What the next request will send")
    if not preview.locator("[data-testid=stCode]").count():
        preview.get_by_text("What the next request will send", exact=True).click()
    return preview


def test_a_newcomer_who_types_hello_gets_a_reply(openai_app, page):
    server, fake = openai_app
    page.goto(server.url)
    wait_until_idle(page)
    expect(page.get_by_text("Started on gpt-4o-mini").first).to_be_visible()  # not babbage-002
    send_chat(page, "Hello")
    assert fake.last_body["model"] == "gpt-4o-mini"
    expect(page.locator("[data-testid=stChatMessage]").nth(1)).to_contain_text("Hi! I am a chat model.")
    assert page.errors == []


@pytest.mark.parametrize("model", ["gpt-5-mini", "o4-mini"])
def test_a_reasoning_model_answers_and_the_preview_says_what_was_left_out(openai_app, page, model):
    server, fake = openai_app
    page.goto(server.url)
    wait_until_idle(page)
    set_temperature(page, 0.7)  # a sampling parameter the user ticked
    pick_model(page, model)
    preview = open_preview(page)
    expect(preview).to_contain_text(f"temperature not sent: {model} does not accept it")
    send_chat(page, "Hello")
    sent = fake.last_body
    assert sent["model"] == model and "temperature" not in sent
    reply = page.locator("[data-testid=stChatMessage]").nth(1)
    expect(reply).to_contain_text("Hi! I am a chat model.")
    expect(reply).to_contain_text("of them reasoning")  # reasoning tokens, shown as such
    expect(reply).to_contain_text("temperature not sent")  # the reply keeps the note
    assert page.errors == []


def test_a_responses_only_model_chats_streams_stops_and_exports(openai_app, page, tmp_path):
    server, fake = openai_app
    page.goto(server.url)
    wait_until_idle(page)
    pick_model(page, "gpt-5-pro")
    send_chat(page, "Hello over chat completions")
    expect(page.get_by_text("served only by the Responses API").first).to_be_visible()  # the 404, explained
    responses = page.get_by_test_id("stSidebar").get_by_role("radio", name="Responses")
    responses.click()
    expect(responses).to_have_attribute("aria-checked", "true")
    wait_until_idle(page)
    expect(open_preview(page)).to_contain_text('"input": [')  # the next request goes to /v1/responses
    send_chat(page, "Hello over responses")
    assert fake.requests[-1].path == "/v1/responses"
    expect(page.locator("[data-testid=stChatMessage]").last).to_contain_text("Hi! I am a chat model.")

    never = threading.Event()
    fake.script(Reply(text="a long answer " * 50, chunk_chars=7, hold=never, hold_after=3))
    submit_chat(page, "And a long one")
    expect(page.locator("[data-testid=stChatMessage]").last).to_contain_text("a long answer")
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()
    expect(page.get_by_text("Stopped by you").first).to_be_visible()
    wait_until_idle(page)
    never.set()

    with page.expect_download() as download:
        page.get_by_role("button", name="JSON").click()
    document = json.loads(download.value.path().read_text(encoding="utf-8"))
    replies = [m for m in document["messages"] if m["role"] == "assistant"]
    assert replies[-2]["request"]["input"][-1]["content"] == "Hello over responses"
    assert replies[-1]["status"] == STOPPED
    store = Store(os.path.join(str(server.log_path.parent), "chatlab.sqlite3"))
    assert store.messages(document["conversation"]["id"])[-1].status == STOPPED
    assert page.errors == []
