"""Durability in a real Chromium: the Streamlit process is killed mid-reply and started again.

The user's message and the part of the reply written before the kill are in the history, the reply
marked interrupted (the new process marks replies a dead one left 'streaming'), and it can be found and
reopened from the History page.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from chatlab.store import APP_STOPPED, INTERRUPTED, STREAMING
from tests.browser.harness import StreamlitServer, isolated_env, search_history, submit_chat, wait_until_idle
from tests.fake_openai import FakeOpenAI, Reply

USER_TEXT = "Tell me the lighthouse keeper's story, slowly"
WORD = "onwards"  # the reply is this word over and over; the user's message does not contain it
FULL_REPLY = f"{WORD} " * 1000  # ~50 s at this pace: still streaming whenever the kill comes
INTERRUPTED_NOTE = "The reply ended early"
MESSAGE = "[data-testid=stChatMessage]"
DEADLINE_MS = 60_000  # generous: other test runs may share the two cores


def stored(db_path: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(db_path) as db:
        db.row_factory = sqlite3.Row
        return db.execute(
            "SELECT conversation_id, role, content, status FROM messages ORDER BY seq"
        ).fetchall()


def wait_for_flushed_reply(db_path: Path, words: int, timeout_s: float = DEADLINE_MS / 1000) -> sqlite3.Row:
    """The streaming reply row once it holds at least `words` words (send_turn writes it every 0.3 s)."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = stored(db_path)
        if len(rows) == 2 and rows[1]["status"] == STREAMING and rows[1]["content"].count(WORD) >= words:
            return rows[1]
        if time.monotonic() > deadline:
            raise AssertionError(f"the streaming reply was not written to the database: {rows}")
        time.sleep(0.1)


def search(page, query: str) -> None:
    search_history(page, query, expect=f"1 message match “{query}”", timeout_ms=DEADLINE_MS)


def test_a_reply_cut_by_a_killed_server_is_kept_and_marked_interrupted(page, tmp_path):
    fake = FakeOpenAI(default=Reply(text=FULL_REPLY, chunk_chars=8, delay_s=0.05)).start()
    env = isolated_env(tmp_path, base_url=fake.base_url, api_key="sk-crash-test-1357")
    db_path = Path(env["CHATLAB_DB"])
    first = StreamlitServer(env, log_path=tmp_path / "streamlit-first.log").start()
    second = None
    context = page.context  # the page fixture's: waits default to 60 s
    try:
        page.goto(first.url)
        wait_until_idle(page)
        submit_chat(page, USER_TEXT)
        page.wait_for_function(
            "(word) => [...document.querySelectorAll('[data-testid=stChatMessage]')]"
            ".some(m => (m.innerText.match(new RegExp(word, 'g')) || []).length >= 5)",
            arg=WORD,
            timeout=DEADLINE_MS,
        )
        conversation_id = parse_qs(urlparse(page.url).query)["c"][0]
        # Visible on the page is not yet stored: wait for a write that holds some of it.
        wait_for_flushed_reply(db_path, words=5)

        first.kill()
        user, reply = stored(db_path)
        # The dead process left the reply as it was mid-stream.
        assert reply["status"] == STREAMING and reply["content"].count(WORD) >= 5
        assert (user["role"], user["content"], user["conversation_id"]) == (
            "user",
            USER_TEXT,
            conversation_id,
        )
        partial = reply["content"]
        assert FULL_REPLY.startswith(partial) and len(partial) < len(FULL_REPLY)
        page.close()  # it would only keep trying to reconnect to the dead server

        second = StreamlitServer(env, log_path=tmp_path / "streamlit-second.log").start()
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{second.url}/History")
        wait_until_idle(page)
        # Found by search: a reply is indexed only once it is no longer 'streaming'.
        search(page, WORD)
        expect(page.get_by_test_id("stMainBlockContainer")).to_contain_text(
            "· assistant ·", timeout=DEADLINE_MS
        )
        search(page, "lighthouse keeper")
        page.get_by_role("link", name="Open").first.click()
        page.wait_for_url(f"**/?c={conversation_id}", timeout=DEADLINE_MS)
        wait_until_idle(page)

        # Waits, not snapshots: the page may still be drawing when the idle check passes.
        messages = page.locator(MESSAGE)
        expect(messages).to_have_count(2, timeout=DEADLINE_MS)
        expect(messages.nth(0)).to_contain_text(USER_TEXT, timeout=DEADLINE_MS)
        expect(messages.nth(1)).to_contain_text(partial.strip(), timeout=DEADLINE_MS)
        expect(messages.nth(1)).to_contain_text(INTERRUPTED_NOTE, timeout=DEADLINE_MS)
        expect(messages.nth(1)).to_contain_text(
            APP_STOPPED, timeout=DEADLINE_MS
        )  # why: not the server's fault
        # Retry is offered for the interrupted turn.
        expect(messages.nth(1).locator("button", has_text="Retry").first).to_be_visible(timeout=DEADLINE_MS)

        rows = stored(db_path)
        assert [(r["role"], r["status"]) for r in rows] == [("user", "complete"), ("assistant", INTERRUPTED)]
        assert rows[1]["content"] == partial  # kept exactly as the killed process last wrote it
        assert len(fake.chat_requests) == 1  # reopening did not send anything
        log = second.log_path.read_text(errors="replace")
        assert "Traceback" not in log, log[-5000:]
        assert errors == []
    finally:
        first.stop()
        if second is not None:
            second.stop()
        fake.stop()
