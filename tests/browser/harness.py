"""Start `streamlit run app.py` on a free port and a headless Debian Chromium to drive it.

Used by the browser tests and by scripts/screenshots.py. The server's output goes to a file, not a
pipe: a full pipe would block it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHATLAB_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialing Google hosts this closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def isolated_env(folder: Path, *, base_url: str, api_key: str) -> dict[str, str]:
    """Environment for an app that talks to `base_url` and keeps every file of its own in `folder`."""
    return {
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_KEY": api_key,
        "CHATLAB_MAX_RETRIES": "0",
        "CHATLAB_DB": str(folder / "chatlab.sqlite3"),
        "CHATLAB_SECRETS": str(folder / "no-secrets.toml"),
        "CHATLAB_CUSTOM_ROLES": str(folder / "custom_roles.yaml"),
        "CHATLAB_PASSWORD": "",  # empty = no lock screen, whatever the developer's shell exports
    }


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


def require_chromium() -> None:
    """Skip the calling test when Chromium is missing (fail instead when CHATLAB_REQUIRE_BROWSER is set)."""
    if chromium_available():
        return
    import pytest

    message = "Chromium is not installed (scripts/install.sh --browser installs Debian's package)"
    if os.environ.get("CHATLAB_REQUIRE_BROWSER"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamlitServer:
    """`python -m streamlit run` with the given environment; `url` once `start()` returns."""

    # A port picked free may be taken by another program before Streamlit binds it (a busy machine):
    # then Streamlit exits at once, and start() tries again on another port.
    PORT_ATTEMPTS = 3

    def __init__(self, env: dict[str, str], script: str = "app.py", log_path: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.script = script
        self.env = {**os.environ, **env}
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="streamlit-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 60) -> StreamlitServer:
        for attempt in range(1, self.PORT_ATTEMPTS + 1):
            if attempt > 1:
                self.port = free_port()
                self.url = f"http://127.0.0.1:{self.port}"
            if self._start_on_port(timeout_s):
                return self
        raise RuntimeError(f"streamlit found no free port in {self.PORT_ATTEMPTS} attempts:\n{self.log()}")

    def _start_on_port(self, timeout_s: float) -> bool:
        """True once this server answers on self.port; False when the port was taken by someone else."""
        if getattr(self, "_log", None):
            self._log.close()
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                self.script,
                "--server.headless",
                "true",
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if f"Port {self.port} is not available" in self.log() or "already in use" in self.log():
                    return False
                raise RuntimeError(f"streamlit exited early:\n{self.log()}")
            # Healthy, and it is ours: our own log names the URL (another program on a port we meant to
            # use would answer the health check too).
            if self._healthy() and f"127.0.0.1:{self.port}" in self.log():
                return True
            time.sleep(0.2)
        raise RuntimeError(f"streamlit did not become healthy in {timeout_s} s:\n{self.log()}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1) as response:
                return response.read().strip() == b"ok"
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        """SIGKILL the server and any children it started, as a crash or an OOM kill would end it."""
        if not self.process or self.process.poll() is not None:
            return
        # Children first (none with the file watcher off and no offline model, but a crash takes them
        # too); read from /proc while the parent still lives, or they would be re-parented and lost.
        for child in descendants(self.process.pid):
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if getattr(self, "_log", None):
            self._log.close()


def descendants(pid: int) -> list[int]:
    """Every descendant of `pid` (Linux /proc; [] elsewhere)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            kids = [int(k) for k in task.read_text().split()]
        except OSError:
            continue
        for kid in kids:
            found += [kid, *descendants(kid)]
    return found


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# The page is drawn and no script run is in progress (a chat input, if any, is enabled).
_IDLE_JS = (
    "() => { const app = document.querySelector('[data-testid=stAppViewContainer]');"
    " const t = document.querySelector('[data-testid=stChatInput] textarea');"
    " return app && document.querySelector('[data-testid=stHeading]')"
    " && !document.querySelector('[data-testid=stStatusWidget]') && (!t || !t.disabled); }"
)
# A reply has finished: the user message and a reply are drawn, no Stop button is left, the input is
# enabled again. The argument is the number of chat messages before Enter was pressed.
_REPLY_DONE_JS = """(before) => {
    const t = document.querySelector('[data-testid=stChatInput] textarea');
    const stop = [...document.querySelectorAll('button')].some(b => b.innerText.trim().endsWith('Stop'));
    return document.querySelectorAll('[data-testid=stChatMessage]').length >= before + 2
        && t && !t.disabled && !stop && !document.querySelector('[data-testid=stStatusWidget]');
}"""
_MESSAGES = "[data-testid=stChatMessage]"
_CHAT_BOX = "[data-testid=stChatInput] textarea"


def wait_until_idle(page, timeout_ms: int = 30_000) -> None:
    """Wait until the page is drawn and no script run is in progress (a chat input, if any, is enabled)."""
    page.wait_for_function(_IDLE_JS, timeout=timeout_ms)


def settled(page, timeout_ms: int = 30_000) -> None:
    """Idle, and no element left over from the previous run: Streamlit keeps those on screen (marked
    stale) until the new run has drawn past them, and a text the new run drew early is no sign of that."""
    wait_until_idle(page, timeout_ms)
    page.wait_for_function("() => !document.querySelector('[data-stale=true]')", timeout=timeout_ms)


def submit_chat(page, text: str) -> int:
    """Type a message and press Enter, without waiting for the reply; returns how many chat messages were
    drawn before (what wait_for_reply needs)."""
    before = page.locator(_MESSAGES).count()
    box = page.locator(_CHAT_BOX)
    box.fill(text)
    box.press("Enter")
    return before


def wait_for_reply(page, before: int, timeout_ms: int = 60_000) -> None:
    """Wait until the reply to a message submitted when `before` messages were drawn has finished."""
    page.wait_for_function(_REPLY_DONE_JS, arg=before, timeout=timeout_ms)


def send_chat(page, text: str, timeout_ms: int = 60_000) -> None:
    """Type a message, press Enter, and wait until its reply has finished streaming."""
    wait_for_reply(page, submit_chat(page, text), timeout_ms)


# The same two for Playwright's async API: many sessions in one thread (one sync Playwright cannot be
# shared between threads).
async def wait_until_idle_async(page, timeout_ms: int = 30_000) -> None:
    """wait_until_idle for an async Playwright page."""
    await page.wait_for_function(_IDLE_JS, timeout=timeout_ms)


async def send_chat_async(page, text: str, timeout_ms: int = 60_000) -> None:
    """send_chat for an async Playwright page."""
    before = await page.locator(_MESSAGES).count()
    box = page.locator(_CHAT_BOX)
    await box.fill(text)
    await box.press("Enter")
    await page.wait_for_function(_REPLY_DONE_JS, arg=before, timeout=timeout_ms)


def search_history(page, query: str, expect: str | None = None, timeout_ms: int = 60_000) -> None:
    """On the History page: search for `query` and wait for the result line (default: "… match “query”")."""
    box = page.get_by_label("Search every message")
    box.fill(query)
    box.press("Enter")
    page.get_by_text(expect or f"match “{query}”").wait_for(timeout=timeout_ms)


def set_temperature(page, target: float) -> None:
    """Move the chat sidebar's Temperature slider to `target` with the keyboard (moving it ticks its box),
    until the server has the value too: the preview of the next request says "temperature": target.

    A step reruns the page, which may drop a key press or, on a busy machine, let it land late; so the loop
    steps towards the target from whichever side the thumb is on, and is done only when the server agrees.
    """
    from playwright.sync_api import expect

    thumb = page.locator("[data-testid=stSlider]").filter(has_text="Temperature").get_by_role("slider")
    preview = page.locator("[data-testid=stExpander]").filter(has_text="What the next request will send")
    preview.get_by_text("What the next request will send", exact=True).click()
    want = f'"temperature": {target:g}'
    for _ in range(40):
        wait_until_idle(page)
        shown = thumb.input_value()
        if abs(float(shown) - target) < 1e-9:
            try:
                expect(preview).to_contain_text(want, timeout=10_000)
                break
            except AssertionError:
                continue  # not on the server yet: look again
        thumb.focus()
        thumb.press("ArrowLeft" if float(shown) > target else "ArrowRight")
        try:  # the step shows at once, then the page reruns
            expect(thumb).not_to_have_value(shown, timeout=10_000)
        except AssertionError:
            pass  # dropped by a rerun: the loop looks again and presses again
    assert abs(float(thumb.input_value()) - target) < 1e-9
    expect(preview).to_contain_text(want)


def set_slider(page, label: str, key: str, value: int) -> None:
    """Move the slider labelled `label` with the keyboard (`key`: ArrowLeft, ArrowRight, Home, End) until
    it shows `value`, and wait until the page has it."""
    from playwright.sync_api import expect

    slider = page.locator("[data-testid=stSlider]").filter(has_text=label)
    slider.get_by_role("slider").focus()
    slider.get_by_role("slider").press(key)
    for _ in range(40):
        if slider.get_by_test_id("stSliderThumbValue").inner_text() == str(value):
            break
        slider.get_by_role("slider").press(key)
    expect(slider.get_by_test_id("stSliderThumbValue")).to_have_text(str(value))
    wait_until_idle(page)
