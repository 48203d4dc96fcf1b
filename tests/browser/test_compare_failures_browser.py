"""Compare survives failures, in a real Chromium: every pane answering 500, then a cut stream, then Stop
mid-stream — each pane shows its own error and its own Retry, nothing raises, and Retry of one pane fills
only that pane. A reload during a held reply finds it still arriving, then complete."""

from __future__ import annotations

import os
import threading

from playwright.sync_api import expect

from chatlab.store import COMPLETE, STOPPED, Store
from tests.browser.harness import set_slider, wait_until_idle
from tests.fake_openai import Reply

PANES = "[data-testid=stMainBlockContainer] [data-testid=stColumn]"
HELD = "alpha beta gamma delta epsilon zeta eta theta iota kappa"


def pane(page, index: int):
    """Pane `index` of the page (its bordered column: header, thread)."""
    return page.locator(PANES).nth(index)


def retry_button(page, index: int, turn: int):
    """Pane `index`'s own Retry (Streamlit writes a widget's key into a class: dots become dashes)."""
    return page.locator(f".st-key-compare-pane-{index}-retry-{turn}").get_by_role("button", name="Retry")


def settled_retry(page, index: int, turn: int) -> None:
    """Exactly one Retry of that pane and turn (while a rerun replaces the page, the old one may linger)."""
    expect(retry_button(page, index, turn)).to_have_count(1)
    expect(retry_button(page, index, turn)).to_be_visible()


def send(page, text: str) -> None:
    box = page.locator("[data-testid=stChatInput] textarea")
    box.fill(text)
    box.press("Enter")


def no_exception(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.errors == []


def stored_store(server) -> Store:
    return Store(os.path.join(str(server.log_path.parent), "chatlab.sqlite3"))


def test_every_pane_failing_then_cut_then_stopped_keeps_its_own_error_and_retry(live_app, page):
    server, fake = live_app
    page.goto(f"{server.url}/Compare_roles")
    wait_until_idle(page)

    # 1. Every pane answers 500.
    fake.default = Reply(status=500, error_message="The fake server is down for this pane.")
    send(page, "First question")
    for index in range(3):
        expect(pane(page, index).get_by_text("The fake server is down for this pane.")).to_be_visible()
        settled_retry(page, index, 1)
    wait_until_idle(page)
    no_exception(page)

    # 2. Every stream is cut mid-reply: each keeps its partial text, says why, and offers its own Retry.
    fake.default = Reply(text="one two three four five six seven", chunk_chars=4, cut_after=2)
    send(page, "Second question")
    for index in range(3):
        expect(pane(page, index).get_by_text("The reply ended early")).to_be_visible()
        settled_retry(page, index, 2)
        expect(retry_button(page, index, 1)).to_have_count(0)  # only the latest turn offers Retry
    wait_until_idle(page)
    no_exception(page)

    # 3. Stop mid-stream: every reply is held after two chunks, so it is certainly in flight.
    release = threading.Event()
    fake.default = Reply(text=HELD, chunk_chars=6, hold=release, hold_after=2)
    send(page, "Third question")
    for index in range(3):
        expect(pane(page, index).get_by_text("alpha", exact=False)).to_be_visible()
    fake.wait_for(lambda f: f.in_flight == 3)
    page.get_by_role("button", name="Stop").click()
    # The server stays silent: Stop drops every pane's connection, it does not wait for a next chunk.
    for index in range(3):
        expect(pane(page, index).get_by_text("Stopped by you")).to_be_visible()
        settled_retry(page, index, 3)
    release.set()
    wait_until_idle(page)
    no_exception(page)
    store = stored_store(server)
    cid = page.url.split("cmp=")[1].split("&")[0]
    conversations = store.comparison_panes(cid)
    stopped = [store.messages(c.id)[-1] for c in conversations]
    assert [m.status for m in stopped] == [STOPPED] * 3
    assert all(m.content and len(m.content) < len(HELD) for m in stopped)

    # 4. Retry of pane 1 fills pane 1 only.
    fake.default = Reply(text="A fresh answer for one pane.")
    before = len(fake.chat_requests)
    retry_button(page, 1, 3).click()
    expect(pane(page, 1).get_by_text("A fresh answer for one pane.")).to_be_visible()
    wait_until_idle(page)
    assert len(fake.chat_requests) == before + 1
    for index in (0, 2):
        expect(pane(page, index).get_by_text("Stopped by you")).to_be_visible()
        expect(pane(page, index).get_by_text("A fresh answer for one pane.")).to_have_count(0)
    assert [store.messages(c.id)[-1].status for c in conversations] == [STOPPED, COMPLETE, STOPPED]
    no_exception(page)


def test_a_reload_during_a_held_reply_shows_it_arriving_then_complete(live_app, page):
    server, fake = live_app
    release = threading.Event()
    fake.default = Reply(text=HELD, chunk_chars=6, hold=release, hold_after=2)
    page.goto(f"{server.url}/Compare_roles")
    wait_until_idle(page)
    send(page, "Take your time")
    for index in range(3):
        expect(pane(page, index).get_by_text("alpha", exact=False)).to_be_visible()
    fake.wait_for(lambda f: f.in_flight == 3)
    assert "cmp=" in page.url

    page.reload()
    # Still arriving: the partial text of every pane, the Stop button, the input disabled.
    for index in range(3):
        expect(pane(page, index).get_by_text("alpha", exact=False)).to_be_visible()
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    expect(page.locator("[data-testid=stChatInput] textarea")).to_be_disabled()
    assert fake.in_flight == 3 and len(fake.chat_requests) == 3  # the replies went on; nothing re-sent

    release.set()
    for index in range(3):
        expect(pane(page, index).get_by_text("kappa", exact=False)).to_be_visible()
    page.get_by_role("heading", name="Per turn").wait_for()
    wait_until_idle(page)
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    assert len(fake.chat_requests) == 3
    store = stored_store(server)
    cid = page.url.split("cmp=")[1].split("&")[0]
    assert [store.messages(c.id)[-1].status for c in store.comparison_panes(cid)] == [COMPLETE] * 3
    no_exception(page)


def test_samples_show_progress_and_cancel_keeps_the_finished_ones(live_app, page):
    server, fake = live_app
    release = threading.Event()
    lock = threading.Lock()
    answered = []

    def respond(request):
        # The first twelve requests (samples 1-4 of each pane) answer at once; the rest are held open.
        with lock:
            answered.append(request)
            quick = len(answered) <= 12
        return (
            Reply(text=f"sample reply {len(answered)} " + "word " * len(answered), chunk_chars=8)
            if quick
            else Reply(text=HELD, chunk_chars=6, hold=release, hold_after=1)
        )

    fake.script_fn(respond)
    page.goto(f"{server.url}/Compare_roles")
    wait_until_idle(page)
    set_slider(page, "Samples per pane", "End", 20)
    set_slider(page, "Requests at once", "ArrowLeft", 4)
    # Said before sending: what the run costs, and the limit.
    expect(page.get_by_text("60 requests, 60 replies", exact=False)).to_be_visible()
    expect(page.get_by_text("at most 4 requests run at once", exact=False)).to_be_visible()
    send(page, "Describe the sea")
    expect(page.get_by_text("12 of 60 samples finished")).to_be_visible()
    fake.wait_for(lambda f: f.in_flight == 4)  # the limit: four held, nothing else sent
    assert len(fake.chat_requests) == 16
    page.get_by_role("button", name="Cancel").click()
    # The four held requests are dropped at once, not at their next chunk: the results come while the
    # server is still silent.
    page.get_by_role("heading", name="Is the difference real? (turn 1)").wait_for()
    release.set()
    wait_until_idle(page)
    assert len(fake.chat_requests) == 16  # nothing started after Cancel

    from chatlab.samples import samples_frame

    store = stored_store(server)
    cid = page.url.split("cmp=")[1].split("&")[0]
    frame = samples_frame(store, cid)
    # The twelve finished samples are kept; the four held ones were stopped by Cancel.
    assert int(frame["counted"].sum()) == 12 and len(frame) == 16
    assert list(frame.loc[~frame["counted"], "status"]) == [STOPPED] * 4
    for index in range(3):
        expect(pane(page, index).get_by_text("Sample (of", exact=False)).to_be_visible()
    expect(page.get_by_text("BCa bootstrap", exact=False)).to_be_visible()  # the statistics of what finished
    no_exception(page)
