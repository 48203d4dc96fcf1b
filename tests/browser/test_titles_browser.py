"""Conversation titles are plain text in a real Chromium: a link in a title is never a link on the page.

A title comes from the first message or from an imported file, so it may hold any Markdown. History's
search hits and the Compare pane headers draw it; the History table, the selected conversation's header
and the delete prompt are checked under AppTest (tests/test_page_history.py).
"""

from __future__ import annotations

from chatlab.compare import PaneSpec, create_comparison
from chatlab.safe_markdown import WORD_JOINER
from chatlab.store import Store
from chatlab.turn import TurnSettings
from tests.browser.harness import search_history, wait_until_idle


def hostile_title(tracker: str) -> str:
    return f"[click me]({tracker}/title-link) https://evil.example/bare www.evil.example **loud**"


def links_to(page, *fragments: str) -> list[str]:
    """hrefs in the main area that point where a title said."""
    hrefs = page.locator("[data-testid=stMainBlockContainer] a").evaluate_all("els => els.map(e => e.href)")
    return [h for h in hrefs if any(f in h for f in fragments)]


def test_a_link_in_a_title_is_shown_as_text_not_made_clickable(live_app, page, tmp_path):
    server, fake = live_app
    title = hostile_title(f"http://127.0.0.1:{fake.port}")
    store = Store(tmp_path / "chatlab.sqlite3")  # the app's own database (tests/browser/harness.isolated_env)
    chat = store.create_conversation(title)
    store.add_message(chat, "user", "findme: a message in a conversation with a hostile title")
    settings = TurnSettings(model="fake-model", system_prompt="You are terse.")
    comparison = create_comparison(
        store, [PaneSpec(settings, label=title), PaneSpec(settings, label="Plain")]
    )

    page.goto(f"{server.url}/History")
    wait_until_idle(page)
    search_history(page, "findme", expect="1 message match")
    main = page.get_by_test_id("stMainBlockContainer")
    # Every character shown as written (with an invisible word joiner where a URL would start a link).
    assert title in main.inner_text().replace(WORD_JOINER, "")
    assert links_to(page, "title-link", "evil.example") == []

    page.goto(f"{server.url}/Compare_roles?cmp={comparison}")
    wait_until_idle(page)
    page.get_by_text("**loud**").first.wait_for(timeout=30_000)
    assert links_to(page, "title-link", "evil.example") == []
    assert fake.requests == [] or all("title-link" not in r.path for r in fake.requests)
    assert page.errors == []
