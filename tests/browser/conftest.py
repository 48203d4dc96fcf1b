"""Fixtures for tests that drive the real app in a real Chromium (marker: browser)."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from tests.browser.harness import StreamlitServer, chromium_available, isolated_env, launch_chromium
from tests.fake_openai import FakeOpenAI, Reply

# Waits, not measurements: generous, because other test runs (or another Chat Lab) may share the cores.
TIMEOUT_MS = 60_000
expect.set_options(timeout=TIMEOUT_MS)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium():
    if not chromium_available():
        message = "Chromium is not installed (scripts/install.sh --browser installs Debian's package)"
        if os.environ.get("CHATLAB_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def live_app(tmp_path):
    """The chat app served by `streamlit run`, talking to a loopback fake OpenAI server."""
    fake = FakeOpenAI(
        default=Reply(
            text="A streamed reply from the fake server, word by word.", chunk_chars=6, delay_s=0.01
        )
    ).start()
    server = StreamlitServer(
        isolated_env(tmp_path, base_url=fake.base_url, api_key="sk-browser-test-9876"),
        log_path=tmp_path / "streamlit.log",
    ).start()
    try:
        yield server, fake
    finally:
        server.stop()
        fake.stop()


@pytest.fixture
def page(chromium, tmp_path):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.errors = errors
    yield page
    context.close()
