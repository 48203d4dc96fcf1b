"""Stop in a real Chromium: a slow reply is stopped, the text so far stays, and it is stored as stopped."""

from __future__ import annotations

import os
import threading

from chatlab.store import STOPPED, Store
from tests.browser.harness import wait_until_idle
from tests.fake_openai import Reply


def test_stop_keeps_the_partial_reply_and_the_inputs_come_back(live_app, page, tmp_path):
    server, fake = live_app
    # Ten chunks, then the fake holds the reply open until the test ends: it is still streaming whenever
    # Stop is clicked, however slow the machine.
    never = threading.Event()
    fake.script(Reply(text="slowly " * 400, chunk_chars=7, delay_s=0.05, hold=never, hold_after=10))
    page.goto(server.url)
    wait_until_idle(page)
    box = page.locator("[data-testid=stChatInput] textarea")
    box.fill("Tell me a very long story")
    box.press("Enter")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stChatMessage]')]"
        ".some(m => (m.innerText.match(/slowly/g) || []).length >= 5)",
        timeout=60_000,
    )
    assert box.is_disabled()  # inputs are disabled while the reply streams
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()
    try:
        page.get_by_text("Stopped by you").wait_for(timeout=60_000)
    except Exception:
        page.screenshot(path=str(server.log_path.parent / "stop-failure.png"))  # to see what went wrong
        raise
    wait_until_idle(page)
    assert not box.is_disabled()
    store = Store(os.path.join(str(server.log_path.parent), "chatlab.sqlite3"))
    [conversation] = store.list_conversations()
    reply = store.messages(conversation.id)[-1]
    assert reply.status == STOPPED and 5 <= reply.content.count("slowly") <= 10
    assert page.errors == []
