"""Load in a real Chromium: 20 sessions stream replies at once into one SQLite (WAL) history database.

Every message is stored exactly once, no write fails with "database is locked", and replies the server
cuts mid-stream are kept with the text that arrived, marked interrupted. Run with `-s` to see the counts.

One Chromium, 20 browser contexts, driven with Playwright's async API from a thread of its own: a sync
Playwright cannot be shared between threads, and the conftest's sync one may be alive in this thread.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from playwright.async_api import async_playwright, expect
from sqlalchemy import text

from chatlab.store import COMPLETE, INTERRUPTED
from chatlab.store.db import create_store_engine, database_url
from tests.browser.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    StreamlitServer,
    isolated_env,
    require_chromium,
    send_chat_async,
    wait_until_idle_async,
)
from tests.fake_openai import FakeOpenAI, Reply

SESSIONS = 20
MESSAGES = 3  # per session, one after another; the sessions send at the same time
CHUNK_CHARS = 6
CHUNK_DELAY_S = 0.1  # ~25 chunks a reply: a few seconds each, so the 20 streams overlap
CUT_AFTER = 12  # chunks: a cut reply keeps its first 72 characters, about half
# Deadlines, not measurements: 20 Streamlit sessions and 20 pages share two cores with other test runs.
DEADLINE_MS = 180_000
INTERRUPTED_NOTE = "The reply ended early"
MESSAGE = "[data-testid=stChatMessage]"
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa"


def user_text(session: int, number: int) -> str:
    return f"Session {session:02d} message {number}: tell me something"


def reply_text(session: int, number: int) -> str:
    # The session and message are in the first characters, so even a cut reply is unique.
    return f"Reply to s{session:02d} m{number} begins here, {WORDS}, the end of s{session:02d} m{number}."


@dataclass(frozen=True)
class Expected:
    """What one user message must leave in the database and on its page."""

    session: int
    user: str
    reply: str  # the full reply, or the part sent before the cut
    status: str


@dataclass
class SessionResult:
    conversation_id: str
    shown: list[str]  # inner text of each chat message on the page, in order
    sending_from: float  # time.monotonic() when every session was ready and this one began to send
    errors: list[str] = field(default_factory=list)


def plan(cut_sessions: set[int]) -> dict[str, tuple[Expected, Reply]]:
    """user text -> (what must be stored, how the fake answers it)."""
    out = {}
    for session in range(SESSIONS):
        cut = session in cut_sessions
        for number in range(1, MESSAGES + 1):
            full = reply_text(session, number)
            reply = Reply(
                text=full,
                chunk_chars=CHUNK_CHARS,
                delay_s=CHUNK_DELAY_S,
                cut_after=CUT_AFTER if cut else None,
            )
            stored = full[: CUT_AFTER * CHUNK_CHARS] if cut else full
            assert 0 < len(stored) < len(full) or not cut, "the cut must fall inside the reply"
            expected = Expected(session, user_text(session, number), stored, INTERRUPTED if cut else COMPLETE)
            out[expected.user] = (expected, reply)
    return out


def answer_by_user_text(replies: dict[str, Reply], streams: list[tuple[float, float]]):
    """A fake responder: the reply planned for the request's last user message.

    Notes each stream as (start, end at the earliest): its chunks are sent with a delay between each two.
    """

    def respond(request):
        messages = (request.body or {}).get("messages") or []
        users = [m.get("content") for m in messages if m.get("role") == "user"]
        reply = replies.get(users[-1]) if users else None
        if reply is not None:
            chunks = -(-len(reply.text) // reply.chunk_chars)
            sent = min(chunks, reply.cut_after or chunks)
            start = time.monotonic()
            streams.append((start, start + reply.delay_s * (sent - 1)))
        return reply

    return respond


async def drive_session(browser, url: str, expected: list[Expected], start: asyncio.Barrier) -> SessionResult:
    """Open the chat in a fresh context, wait for every session to be ready, then send its messages."""
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(DEADLINE_MS)  # fill and press too: Playwright's 30 s is short under load
    try:
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            await page.goto(url, timeout=DEADLINE_MS)
            await wait_until_idle_async(page, DEADLINE_MS)
        except BaseException:
            start.abort()  # the others must not wait for a session that will never come
            raise
        await start.wait()  # all sessions start sending together, so their streams overlap
        sending_from = time.monotonic()
        for message in expected:
            await send_chat_async(page, message.user, DEADLINE_MS)
            last = page.locator(MESSAGE).last
            # Markdown drops a trailing space of a cut reply; the rest must be on the page as stored.
            await expect(last).to_contain_text(message.reply.strip(), timeout=DEADLINE_MS)
            if message.status == INTERRUPTED:
                await expect(last).to_contain_text(INTERRUPTED_NOTE, timeout=DEADLINE_MS)
        conversation_id = parse_qs(urlparse(page.url).query)["c"][0]
        shown = await page.locator(MESSAGE).all_inner_texts()
        return SessionResult(conversation_id, shown, sending_from, errors)
    finally:
        await context.close()


async def drive_all(url: str, by_session: list[list[Expected]]) -> list[SessionResult]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            start = asyncio.Barrier(len(by_session))
            return await asyncio.gather(*(drive_session(browser, url, e, start) for e in by_session))
        finally:
            await browser.close()


def streams_at_once(streams: list[tuple[float, float]]) -> int:
    """The most streams that were surely running at the same moment (printed as evidence, never asserted)."""
    return max((sum(s <= start < e for s, e in streams) for start, _ in streams), default=0)


def stored_rows(db_path: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(db_path) as db:
        db.row_factory = sqlite3.Row
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        return db.execute(
            "SELECT conversation_id, seq, turn, role, content, status FROM messages"
            " ORDER BY conversation_id, seq"
        ).fetchall()


def tally(rows: list[sqlite3.Row], planned: dict[str, tuple[Expected, Reply]]) -> dict:
    """Counts of what was stored against what was planned; every problem is listed, not just counted."""
    users = [r for r in rows if r["role"] == "user"]
    replies = [r for r in rows if r["role"] == "assistant"]
    user_counts = Counter(r["content"] for r in users)
    reply_counts = Counter(r["content"] for r in replies)
    by_turn = {(r["conversation_id"], r["turn"]): r["content"] for r in users}
    expected_replies = {e.reply for e, _ in planned.values()}
    wrong = []
    for r in replies:
        expected = planned.get(by_turn.get((r["conversation_id"], r["turn"]), ""), (None,))[0]
        if expected is None or (r["content"], r["status"]) != (expected.reply, expected.status):
            wrong.append((r["conversation_id"], r["turn"], r["status"], r["content"][:60]))
    return {
        "user_messages": len(users),
        "replies": len(replies),
        "complete": sum(r["status"] == COMPLETE for r in replies),
        "interrupted": sum(r["status"] == INTERRUPTED for r in replies),
        "lost_user": sorted(set(planned) - set(user_counts)),
        "duplicated_user": sorted(t for t, n in user_counts.items() if n > 1),
        "lost_replies": sorted(expected_replies - set(reply_counts)),
        "duplicated_replies": sorted(t for t, n in reply_counts.items() if n > 1),
        "wrong_replies": wrong,
        "conversations": len({r["conversation_id"] for r in rows}),
    }


def run_load(tmp_path: Path, cut_sessions: set[int]) -> None:
    """20 sessions send MESSAGES each at once; then check the pages, the database and the server log."""
    require_chromium()
    planned = plan(cut_sessions)
    fake = FakeOpenAI(default=Reply(text="unplanned request")).start()
    streams: list[tuple[float, float]] = []
    fake.script_fn(answer_by_user_text({user: reply for user, (_, reply) in planned.items()}, streams))
    env = isolated_env(tmp_path, base_url=fake.base_url, api_key="sk-load-test-2468")
    server = StreamlitServer(env, log_path=tmp_path / "streamlit.log").start()
    by_session = [[planned[user_text(s, n)][0] for n in range(1, MESSAGES + 1)] for s in range(SESSIONS)]
    began = time.monotonic()
    try:
        with ThreadPoolExecutor(1) as pool:
            results = pool.submit(asyncio.run, drive_all(server.url, by_session)).result()
        db_path = Path(env["CHATLAB_DB"])
        rows = stored_rows(db_path)
        engine = create_store_engine(database_url(db_path))
        with engine.connect() as db:  # the settings every connection of the app's store gets
            busy_timeout_ms = db.execute(text("PRAGMA busy_timeout")).scalar_one()
        engine.dispose()
    finally:
        server.stop()
        fake.stop()
    ended = time.monotonic()
    sending_from = min(r.sending_from for r in results)

    log = server.log_path.read_text(errors="replace")
    counts = tally(rows, planned)
    counts.update(
        requests=len(fake.chat_requests),
        database_is_locked=log.count("database is locked"),
        locked=len(re.findall("locked", log, re.IGNORECASE)),
        tracebacks=log.count("Traceback"),
        busy_timeout_ms=busy_timeout_ms,
    )
    summary = (
        f"sessions={SESSIONS} conversations={counts['conversations']} "
        f"user_messages={counts['user_messages']}/{len(planned)} replies={counts['replies']}/{len(planned)} "
        f"complete={counts['complete']} interrupted={counts['interrupted']} "
        f"lost={len(counts['lost_user']) + len(counts['lost_replies'])} "
        f"duplicated={len(counts['duplicated_user']) + len(counts['duplicated_replies'])} "
        f"wrong={len(counts['wrong_replies'])} requests={counts['requests']} "
        f"'database is locked'={counts['database_is_locked']} 'locked'={counts['locked']} "
        f"tracebacks={counts['tracebacks']} journal_mode=wal busy_timeout={busy_timeout_ms}ms "
        f"streams_at_once>={streams_at_once(streams)} "
        f"wall={ended - began:.0f}s (pages ready after {sending_from - began:.0f}s)"
    )
    print(f"\nload: {summary}")

    cut = len(cut_sessions) * MESSAGES
    assert counts["user_messages"] == counts["replies"] == len(planned) == SESSIONS * MESSAGES, summary
    assert counts["conversations"] == SESSIONS, summary
    assert not counts["lost_user"] and not counts["lost_replies"], f"{summary}\n{counts}"
    assert not counts["duplicated_user"] and not counts["duplicated_replies"], f"{summary}\n{counts}"
    assert not counts["wrong_replies"], f"{summary}\n{counts['wrong_replies']}"
    assert (counts["complete"], counts["interrupted"]) == (len(planned) - cut, cut), summary
    assert counts["requests"] == len(planned), f"each message is sent once: {summary}"
    assert counts["locked"] == 0 and counts["tracebacks"] == 0, f"{summary}\n{log[-5000:]}"
    assert busy_timeout_ms >= 5000, summary

    # Each page shows its own conversation, whole: what the database holds, in order, nothing else.
    by_conversation: dict[str, list[sqlite3.Row]] = {}
    for r in rows:
        by_conversation.setdefault(r["conversation_id"], []).append(r)
    assert len({r.conversation_id for r in results}) == SESSIONS, summary
    for session, (result, expected) in enumerate(zip(results, by_session, strict=True)):
        stored = by_conversation[result.conversation_id]
        assert [(r["turn"], r["role"]) for r in stored] == [
            (n, role) for n in range(1, MESSAGES + 1) for role in ("user", "assistant")
        ], f"session {session}"
        assert [r["content"] for r in stored if r["role"] == "user"] == [e.user for e in expected]
        assert len(result.shown) == 2 * MESSAGES, f"session {session}: {result.shown}"
        for shown, e in zip(result.shown[1::2], expected, strict=True):
            assert e.reply.strip() in shown, f"session {session}: {shown!r}"
            assert (INTERRUPTED_NOTE in shown) == (e.status == INTERRUPTED), f"session {session}: {shown!r}"
        assert result.errors == [], f"session {session}"


def test_twenty_sessions_stream_at_once_and_every_message_is_stored_exactly_once(tmp_path):
    run_load(tmp_path, cut_sessions=set())


def test_replies_cut_mid_stream_in_half_the_sessions_are_stored_partial_and_interrupted(tmp_path):
    run_load(tmp_path, cut_sessions=set(range(1, SESSIONS, 2)))
