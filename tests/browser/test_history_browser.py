"""History in a real Chromium: search a past conversation, open it, continue it in the chat."""

from __future__ import annotations

from tests.browser.harness import search_history, send_chat, wait_until_idle


def test_search_history_open_a_conversation_and_continue_it(live_app, page):
    server, fake = live_app
    page.goto(server.url)
    wait_until_idle(page)
    send_chat(page, "Tell me about the lighthouse at Alexandria")

    page.goto(f"{server.url}/History")
    wait_until_idle(page)
    search_history(page, "Alexandria", expect="1 message match")
    page.get_by_role("link", name="Open").first.click()
    page.wait_for_url("**/?c=*", timeout=60_000)
    wait_until_idle(page)
    assert "Alexandria" in page.locator("[data-testid=stChatMessage]").first.inner_text()

    send_chat(page, "And who built it?")
    last = fake.chat_requests[-1].body["messages"]
    assert [m["content"] for m in last if m["role"] == "user"] == [
        "Tell me about the lighthouse at Alexandria",
        "And who built it?",
    ]
    assert page.locator("[data-testid=stChatMessage]").count() == 4
    assert page.errors == []
