"""The access password in a real Chromium: lock screen, wrong and right password, page links, new visitors."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.harness import StreamlitServer, isolated_env, send_chat, wait_until_idle
from tests.fake_openai import FakeOpenAI, Reply

PASSWORD = "tide-pool 潮汐 7341"
CHAT_BOX = "[data-testid=stChatInput] textarea"


@pytest.fixture
def locked_app(tmp_path):
    """The app with CHATLAB_PASSWORD set, talking to a loopback fake OpenAI server."""
    fake = FakeOpenAI(default=Reply(text="The tide comes in twice a day.", chunk_chars=6)).start()
    env = isolated_env(tmp_path, base_url=fake.base_url, api_key="sk-browser-lock-5555")
    server = StreamlitServer({**env, "CHATLAB_PASSWORD": PASSWORD}, log_path=tmp_path / "streamlit.log")
    try:
        yield server.start(), fake
    finally:
        server.stop()
        fake.stop()


def password_field(page):
    # exact: the field's eye button is labelled "Show password"
    return page.get_by_label("Password", exact=True)


def expect_lock_screen(page) -> None:
    wait_until_idle(page, 60_000)
    password_field(page).wait_for(timeout=30_000)
    assert page.get_by_role("heading", name="Chat Lab").is_visible()
    assert page.get_by_text("is protected").is_visible()
    assert page.locator(CHAT_BOX).count() == 0
    assert page.locator("[data-testid=stSidebar]").count() == 0
    assert page.locator("[data-testid=stChatMessage]").count() == 0


def test_the_password_unlocks_this_tab_only_and_is_never_shown(locked_app, chromium, page):
    server, fake = locked_app
    page.goto(server.url)
    expect_lock_screen(page)
    assert fake.requests == []

    password_field(page).fill("tide-pool")
    page.get_by_role("button", name="Unlock").click()
    page.get_by_text("That password is not correct.").wait_for(timeout=30_000)
    wait_until_idle(page)
    assert password_field(page).input_value() == ""  # a wrong guess is cleared from the field
    assert page.locator(CHAT_BOX).count() == 0

    password_field(page).fill(PASSWORD)
    password_field(page).press("Enter")
    page.locator(CHAT_BOX).wait_for(timeout=60_000)
    wait_until_idle(page, 60_000)
    send_chat(page, "When does the tide come in?")
    assert "twice a day" in page.locator("[data-testid=stChatMessage]").last.inner_text()
    conversation = parse_qs(urlparse(page.url).query)["c"][0]

    # Page links switch pages inside the same session: no second password prompt.
    page.locator("[data-testid=stSidebar]").get_by_role("link", name="History").click()
    page.get_by_label("Search every message").wait_for(timeout=60_000)
    wait_until_idle(page)
    assert password_field(page).count() == 0
    page.locator("[data-testid=stSidebar]").get_by_role("link", name="Chat").click()
    page.locator(CHAT_BOX).wait_for(timeout=60_000)
    assert password_field(page).count() == 0
    assert PASSWORD not in page.content()

    # Another visitor (a fresh browser context) following a deep link meets the lock screen.
    other = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        stranger = other.new_page()
        stranger.goto(f"{server.url}/?c={conversation}")
        expect_lock_screen(stranger)
        assert "When does the tide come in?" not in stranger.content()
        stranger.goto(f"{server.url}/History")
        expect_lock_screen(stranger)
        assert PASSWORD not in stranger.content()
    finally:
        other.close()

    assert PASSWORD not in server.log_path.read_text(errors="replace")
    assert all(PASSWORD not in str(r.body) for r in fake.requests)
    assert page.errors == []


def test_a_fresh_servers_first_visit_to_a_deep_link_meets_the_lock_screen(locked_app, page):
    # Until app.py has run once, Streamlit would execute a pages/ file by itself (navigation.require_frame).
    server, fake = locked_app
    page.goto(f"{server.url}/History")
    expect_lock_screen(page)
    assert page.get_by_label("Search every message").count() == 0
    password_field(page).fill(PASSWORD)
    password_field(page).press("Enter")
    page.get_by_label("Search every message").wait_for(timeout=60_000)
    wait_until_idle(page)
    assert urlparse(page.url).path == "/History"
    assert fake.requests == []  # History asks the endpoint nothing
    assert page.errors == []
