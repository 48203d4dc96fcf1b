"""With no key at all, a newcomer chats with the real local model in a real browser."""

from __future__ import annotations

import os
import signal
import time

import pytest

from chatlab.offline import offline_available
from tests.browser.harness import StreamlitServer, send_chat, wait_until_idle


@pytest.fixture
def keyless_app(tmp_path):
    ok, why = offline_available()
    if not ok:
        if os.environ.get("CHATLAB_REQUIRE_OFFLINE"):
            pytest.fail(why)
        pytest.skip(why)
    env = {
        "CHATLAB_DB": str(tmp_path / "offline.sqlite3"),
        "CHATLAB_SECRETS": str(tmp_path / "none.toml"),
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": "",
        "HTTPS_PROXY": "",
    }
    server = StreamlitServer(env, log_path=tmp_path / "streamlit.log").start()
    yield server
    server.stop()


def llama_children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ")
            except OSError:
                continue
            if b"llama_cpp.server" in cmd and int(entry) != pid:
                found.append(int(entry))
    return found


def test_no_key_chats_with_the_local_model_and_marks_usage_estimated(keyless_app, page):
    page.goto(keyless_app.url)
    wait_until_idle(page, 60_000)
    sidebar = page.locator("[data-testid=stSidebar]")
    assert "Starting the local model" in sidebar.inner_text() or "is running on" in sidebar.inner_text()
    # The status refreshes by itself: no reload, no click.
    sidebar.get_by_text("is running on this machine").wait_for(timeout=60_000)
    send_chat(page, "Name a colour.")
    reply = page.locator("[data-testid=stChatMessage]").nth(1)
    text = reply.inner_text()
    assert "smollm2-135m" in text and "(estimated)" in text
    assert page.errors == []

    # Stopping the app stops its llama.cpp server too: no orphan keeps the port.
    before = llama_children(os.getpid())
    assert before, "the app should have started a llama.cpp server"
    keyless_app.process.send_signal(signal.SIGTERM)
    keyless_app.process.wait(timeout=20)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(pid in llama_children(os.getpid()) for pid in before):
        time.sleep(0.3)
    assert not any(pid in llama_children(os.getpid()) for pid in before)
