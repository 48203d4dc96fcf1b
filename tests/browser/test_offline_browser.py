"""With no key at all, a newcomer chats with the real local model in a real browser."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from chatlab.offline import offline_available
from tests.browser.harness import StreamlitServer, descendants, isolated_env, send_chat, wait_until_idle


@pytest.fixture
def keyless_app(tmp_path):
    ok, why = offline_available()
    if not ok:
        if os.environ.get("CHATLAB_REQUIRE_OFFLINE"):
            pytest.fail(why)
        pytest.skip(why)
    env = {
        **isolated_env(tmp_path, base_url="", api_key=""),  # no key: the app starts its own local model
        "HTTPS_PROXY": "",
    }
    server = StreamlitServer(env, log_path=tmp_path / "streamlit.log").start()
    yield server
    server.stop()


def llama_children(app_pid: int) -> list[int]:
    """The llama.cpp servers this app started: its own descendants only, never another Chat Lab's."""
    found = []
    for pid in descendants(app_pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"llama_cpp.server" in command:
            found.append(pid)
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
    started = llama_children(keyless_app.process.pid)
    assert len(started) == 1, f"the app should have started one llama.cpp server, found {started}"
    keyless_app.process.send_signal(signal.SIGTERM)
    keyless_app.process.wait(timeout=20)
    assert wait_until_gone(started[0], timeout_s=15), "the app's llama.cpp server outlived it"


def wait_until_gone(pid: int, timeout_s: float) -> bool:
    """Whether `pid` ends (or is only a zombie) within `timeout_s`; it is no child of ours to wait() on."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False
