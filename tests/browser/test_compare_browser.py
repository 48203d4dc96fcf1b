"""A 3-pane comparison in a real Chromium: three replies stream side by side, then the table."""

from __future__ import annotations

from tests.browser.harness import wait_until_idle


def test_three_panes_stream_side_by_side_and_the_table_appears(live_app, page):
    server, fake = live_app
    fake.barrier(3)  # the fake answers only once all three panes' requests are in flight together
    page.goto(f"{server.url}/Compare_roles")
    wait_until_idle(page)
    assert page.get_by_text("Compare role prompts").count() == 1

    box = page.locator("[data-testid=stChatInput] textarea")
    box.fill("Explain recursion")
    box.press("Enter")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stChatMessage]')]"
        ".filter(m => m.innerText.includes('word by word.')).length >= 3",
        timeout=60_000,
    )
    wait_until_idle(page)
    assert len(fake.chat_requests) == 3
    system_prompts = {r.body["messages"][0]["content"] for r in fake.chat_requests}
    assert len(system_prompts) == 3  # every pane carried its own role
    assert fake.peak_in_flight == 3  # in flight together, not one after another
    # Exactly three replies once the page settled (the streamed drafts are replaced by the stored ones).
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stChatMessage]')]"
        ".filter(m => m.innerText.includes('word by word.')).length === 3",
        timeout=60_000,
    )
    page.get_by_role("heading", name="Per turn").wait_for(timeout=60_000)
    page.get_by_role("button", name="Download CSV (one row per pane per turn)").wait_for(timeout=60_000)
    assert page.locator("[data-testid=stDataFrame]").count() >= 1
    assert "cmp=" in page.url
    assert page.errors == []
