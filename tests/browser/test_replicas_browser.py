"""Two app processes on one history database, as replicas behind a proxy would run.

The first streams a reply the fake server holds open; the second starts (its first page run is where an
app marks replies of dead processes interrupted) and opens the same conversation. The reply stays
'streaming' and shows as still arriving, then completes in the first process's page. On SQLite (one file)
and on PostgreSQL.
"""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from chatlab.store import COMPLETE, STREAMING, Store
from tests.browser.harness import StreamlitServer, isolated_env, submit_chat, wait_for_reply, wait_until_idle
from tests.fake_openai import FakeOpenAI, Reply

REPLY = "The keeper climbed the stairs, lit the lamp, and waited for the ships."
HELD_AFTER = 3  # chunks sent before the fake holds the reply open
CHUNK = 8
MESSAGE = "[data-testid=stChatMessage]"
STILL_ARRIVING = "still arriving"  # chatlab_ui.chat_view's note for a 'streaming' reply
DEADLINE_MS = 60_000


@pytest.fixture(params=["sqlite", "postgres"])
def shared_db(request, tmp_path) -> dict[str, str]:
    """Environment naming one database for both app processes."""
    if request.param == "sqlite":
        return {"CHATLAB_DB": str(tmp_path / "shared.sqlite3")}
    server = request.getfixturevalue("postgres_server")
    name = server.create_database()
    request.addfinalizer(lambda: server.drop_database(name))
    return {"CHATLAB_DB_URL": server.url(name)}


def stored_reply(env: dict[str, str], conversation_id: str):
    """The conversation's reply as the database holds it (the URL wins over the file, as in the app)."""
    url = env.get("CHATLAB_DB_URL")
    store = Store(url=url) if url else Store(env["CHATLAB_DB"])
    try:
        return store.messages(conversation_id)[-1]
    finally:
        store.close()


def test_a_second_app_process_leaves_the_first_ones_live_reply_streaming(page, tmp_path, shared_db):
    release = threading.Event()
    fake = FakeOpenAI(
        default=Reply(text=REPLY, chunk_chars=CHUNK, hold=release, hold_after=HELD_AFTER)
    ).start()
    env = {**isolated_env(tmp_path, base_url=fake.base_url, api_key="sk-replica-test-1122"), **shared_db}
    first = StreamlitServer(env, log_path=tmp_path / "streamlit-first.log").start()
    second = None
    context = page.context  # the page fixture's: waits default to 60 s
    try:
        page.goto(first.url)
        wait_until_idle(page)
        before = submit_chat(page, "Tell me about the lighthouse")
        # The first chunk: the page redraws a stream at most every 50 ms, so a held stream may show less
        # than the fake sent.
        expect(page.locator(MESSAGE).last).to_contain_text(REPLY[:CHUNK], timeout=DEADLINE_MS)
        fake.wait_for(lambda f: f.in_flight == 1)  # held open mid-reply
        conversation_id = parse_qs(urlparse(page.url).query)["c"][0]

        second = StreamlitServer(env, log_path=tmp_path / "streamlit-second.log").start()
        other = context.new_page()
        other.goto(f"{second.url}/?c={conversation_id}")
        wait_until_idle(other)
        shown = other.locator(MESSAGE)
        expect(shown).to_have_count(2, timeout=DEADLINE_MS)
        expect(shown.nth(1)).to_contain_text(STILL_ARRIVING, timeout=DEADLINE_MS)
        reply = stored_reply(env, conversation_id)
        assert reply.status == STREAMING and reply.error is None  # the second start left it alone

        release.set()
        wait_for_reply(page, before, DEADLINE_MS)
        expect(page.locator(MESSAGE).last).to_contain_text(REPLY, timeout=DEADLINE_MS)
        reply = stored_reply(env, conversation_id)
        assert (reply.status, reply.content) == (COMPLETE, REPLY)
        other.reload()
        wait_until_idle(other)
        expect(other.locator(MESSAGE).nth(1)).to_contain_text(REPLY, timeout=DEADLINE_MS)
        expect(other.locator(MESSAGE).nth(1)).not_to_contain_text(STILL_ARRIVING, timeout=DEADLINE_MS)
        for server in (first, second):
            assert "Traceback" not in server.log(), server.log()
    finally:
        release.set()
        first.stop()
        if second is not None:
            second.stop()
        fake.stop()
