"""chatlab.live: a reply goes on when nobody watches it, a late watcher catches up, only Stop stops it."""

from __future__ import annotations

import threading

import pytest

from chatlab.client import ChatClient
from chatlab.events import StreamDone, TextDelta
from chatlab.live import LiveReplies
from chatlab.store import COMPLETE, STOPPED, STREAMING, Store
from chatlab.turn import TurnSettings, send_turn
from tests.fake_openai import Reply

SETTINGS = TurnSettings(model="gpt-4o-mini")


@pytest.fixture
def live():
    return LiveReplies()


def text_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_a_reply_nobody_watches_is_finished_and_stored(tmp_path, fake_openai, fake_endpoint, live):
    """What a reload does to a page: the watcher goes away mid-reply; the reply does not."""
    store = Store(tmp_path / "l.sqlite3")
    cid = store.create_conversation()
    release = threading.Event()
    fake_openai.script(Reply(text="one two three four five six", chunk_chars=4, hold=release))
    reply = live.start(cid, lambda: send_turn(store, ChatClient(fake_endpoint), cid, SETTINGS, "hi"))
    # Stored at once: a page drawn now shows the question and a reply still arriving.
    assert [m.role for m in store.messages(cid)] == ["user", "assistant"]
    assert store.messages(cid)[-1].status == STREAMING
    watcher = reply.follow()
    release.set()
    next(watcher)  # the page saw the first event, then was reloaded
    watcher.close()
    assert reply.wait(10)
    final = store.messages(cid)[-1]
    assert (final.status, final.content) == (COMPLETE, "one two three four five six")
    # A page opened afterwards still finds it and reads every event from the start.
    late = list(live.get(cid).follow())
    assert text_of(late) == final.content and isinstance(late[-1], StreamDone)


def test_stop_keeps_what_arrived_as_stopped(tmp_path, fake_openai, fake_endpoint, live):
    store = Store(tmp_path / "s.sqlite3")
    cid = store.create_conversation()
    fake_openai.script(Reply(text="x" * 400, chunk_chars=2, delay_s=0.02))
    reply = live.start(cid, lambda: send_turn(store, ChatClient(fake_endpoint), cid, SETTINGS, "hi"))
    for event in reply.follow():
        if isinstance(event, TextDelta):
            reply.stop()
            break
    assert reply.wait(10)
    stopped = store.messages(cid)[-1]
    assert stopped.status == STOPPED and 0 < len(stopped.content) < 400
    assert stopped.usage_estimated and stopped.prompt_tokens  # billed: the prompt and what arrived


def test_one_reply_at_a_time_per_conversation(tmp_path, fake_openai, fake_endpoint, live):
    store = Store(tmp_path / "o.sqlite3")
    cid = store.create_conversation()
    release = threading.Event()
    fake_openai.script(Reply(text="slow", hold=release))
    client = ChatClient(fake_endpoint)
    reply = live.start(cid, lambda: send_turn(store, client, cid, SETTINGS, "first"))
    with pytest.raises(RuntimeError, match="still arriving"):
        live.start(cid, lambda: send_turn(store, client, cid, SETTINGS, "second"))
    assert [m.content for m in store.messages(cid) if m.role == "user"] == ["first"]  # nothing else stored
    release.set()
    assert reply.wait(10)
    live.start(cid, lambda: send_turn(store, client, cid, SETTINGS, "second")).wait(10)
    assert [m.content for m in store.messages(cid) if m.role == "user"] == ["first", "second"]


def test_a_stream_that_raises_is_reported_not_lost(live):
    def broken():
        yield TextDelta(0, "a")
        raise RuntimeError("bug")

    reply = live.start("k", broken)
    assert reply.wait(5)
    assert isinstance(reply.failure, RuntimeError) and text_of(reply.events) == "a"


def test_stop_ends_a_reply_the_server_holds_silent(tmp_path, fake_openai, fake_endpoint, live):
    """Stop must not wait for the next chunk: a held reply (a model thinking for minutes) stops now."""
    store = Store(tmp_path / "h.sqlite3")
    cid = store.create_conversation()
    never = threading.Event()
    fake_openai.script(Reply(text="first words, then silence", chunk_chars=6, hold=never, hold_after=2))
    reply = live.start(cid, lambda: send_turn(store, ChatClient(fake_endpoint), cid, SETTINGS, "hi"))
    seen = []
    for event in reply.follow():
        if isinstance(event, TextDelta):
            seen.append(event.text)
            if len(seen) == 2:
                reply.stop()
    assert reply.wait(10)  # without the cancel it would hang until `never` is set
    stopped = store.messages(cid)[-1]
    assert (stopped.status, stopped.content) == (STOPPED, "".join(seen))
