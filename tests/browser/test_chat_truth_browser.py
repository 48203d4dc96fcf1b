"""What is sent is what the page says, in a real Chromium: a field that is not valid blocks sending instead
of dropping every parameter, and a reload does not stop a reply."""

from __future__ import annotations

import os
import threading

from playwright.sync_api import expect

from chatlab.store import COMPLETE, Store
from tests.browser.harness import send_chat, set_temperature, submit_chat, wait_until_idle
from tests.fake_openai import Reply


def sidebar(page):
    return page.get_by_test_id("stSidebar")


def test_an_invalid_stop_field_never_sends_a_request_without_temperature(live_app, page):
    server, fake = live_app
    page.goto(server.url)
    wait_until_idle(page)
    bar = sidebar(page)
    set_temperature(page, 0.2)  # moving a control ticks its box
    stops = bar.get_by_role("textbox", name="Stop sequences")
    stops.fill("a\nb\nc\nd\ne")
    stops.press("Control+Enter")
    expect(bar.get_by_text("stop takes at most 4 strings, got 5").first).to_be_visible()
    expect(page.get_by_text("Nothing is sent until this is fixed").first).to_be_visible()
    box = page.locator("[data-testid=stChatInput] textarea")
    expect(box).to_be_disabled()
    assert fake.chat_requests == []  # nothing went out with the server's defaults instead
    stops.fill("a\nb\nc\nd")
    stops.press("Control+Enter")
    expect(box).to_be_enabled()
    send_chat(page, "hello")
    [request] = fake.chat_requests
    assert request.body["temperature"] == 0.2 and request.body["stop"] == ["a", "b", "c", "d"]
    assert page.errors == []


def test_a_reload_during_a_slow_reply_shows_it_finish_complete(live_app, page):
    server, fake = live_app
    release = threading.Event()
    fake.script(Reply(text="part one, part two, and the end.", chunk_chars=5, hold=release, hold_after=2))
    page.goto(server.url)
    wait_until_idle(page)
    submit_chat(page, "Tell me slowly")
    expect(page.get_by_text("part one").first).to_be_visible()
    page.reload()  # the tab goes away and comes back mid-reply
    expect(page.get_by_text("part one").first).to_be_visible()
    expect(page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop")).to_be_visible()
    release.set()
    expect(page.get_by_text("part one, part two, and the end.").first).to_be_visible()
    wait_until_idle(page)
    expect(page.get_by_text("Stopped by you")).to_have_count(0)
    store = Store(os.path.join(str(server.log_path.parent), "chatlab.sqlite3"))
    [conversation] = store.list_conversations()
    reply = store.messages(conversation.id)[-1]
    assert (reply.status, reply.content) == (COMPLETE, "part one, part two, and the end.")
    assert len(fake.chat_requests) == 1  # the reload did not send it again
    assert page.errors == []
