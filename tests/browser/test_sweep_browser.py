"""The Parameter sweep in a real Chromium: Cancel mid-sweep keeps what finished, stored as cancelled; History
lists the sweep and its link reopens it on the sweep page with its statistics and error bars."""

from __future__ import annotations

import threading
import time

from chatlab.store import CANCELLED, SWEEP, Store
from tests.browser.harness import settled, wait_until_idle
from tests.fake_openai import Reply

ROW_PX = 35  # the height of a st.dataframe header and row


def wait_until(condition, timeout_s: float = 30.0) -> None:
    """Wait for a condition another process makes true (here: the app writing the store)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def test_a_cancelled_sweep_is_kept_and_history_reopens_it(live_app, page):
    server, fake = live_app
    hold = threading.Event()
    answered = []

    def two_then_hold(request):
        answered.append(request)
        return None if len(answered) <= 2 else Reply(text="too late", hold=hold)

    fake.script_fn(two_then_hold)
    store = Store(server.env["CHATLAB_DB"])
    try:
        page.goto(f"{server.url}/Parameter_sweep")
        wait_until_idle(page)
        page.get_by_role("button", name="Run sweep").click()
        page.get_by_text("2 of 20 samples").wait_for()
        fake.wait_for(lambda f: f.in_flight >= 1)  # a held request is open when Cancel is clicked
        page.get_by_role("button", name="Cancel").click()
        page.get_by_text("Cancelled: 2 of 20 samples finished and are kept below.").wait_for()
        # Cancel ends the run without waiting for the held replies: it is stored as cancelled meanwhile.
        wait_until(lambda: [r.status for r in store.list_runs(SWEEP)] == [CANCELLED])
    finally:
        hold.set()  # the held requests end; nobody listens to them any more
    wait_until_idle(page)
    assert "sweep=" in page.url
    [run] = store.list_runs(SWEEP)
    assert run.stored == 2

    page.goto(f"{server.url}/History")
    wait_until_idle(page)
    page.get_by_label("Show").click()
    page.get_by_role("option", name="Sweeps").click()
    page.get_by_text("1 run.").wait_for()
    settled(page)  # the list of everything, drawn before Sweeps was chosen, is gone: the grid is the runs'
    grid = page.locator("[data-testid=stDataFrame]").first.bounding_box()
    page.mouse.click(grid["x"] + 16, grid["y"] + ROW_PX + ROW_PX / 2)  # the first row's selection box
    page.get_by_role("link", name="Open on the Parameter sweep page").click()
    page.wait_for_url(f"**/Parameter_sweep?sweep={run.id}")
    wait_until_idle(page)
    page.get_by_text("Cancelled: 2 of 20 samples finished and are kept below.").wait_for()
    page.get_by_role("heading", name="Is the difference real?").wait_for()
    page.locator("[data-testid=stVegaLiteChart]").first.wait_for()  # the means, with their error bars
    assert page.errors == []
