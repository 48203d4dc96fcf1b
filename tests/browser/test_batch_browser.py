"""A batch run's grid in a real Chromium: clicking a cell opens that case and pane's replies below, each
with its checks (AppTest cannot click a cell of st.dataframe)."""

from __future__ import annotations

import pytest

from chatlab.batch.plan import BatchSpec, panes_for
from chatlab.batch.run import run_batch, start_batch
from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.store import Store
from chatlab.store.testsets import TestSets
from chatlab.testsets import import_test_set
from tests.browser.harness import StreamlitServer, isolated_env, wait_until_idle
from tests.fake_openai import FakeOpenAI
from tests.test_batch import REPLIES, ROLES, answer_by_role, twenty_case_csv


@pytest.fixture
def batch_app(tmp_path):
    """An app whose database holds a finished 20 cases × 3 roles × 1 sample run."""
    fake = FakeOpenAI().start()
    fake.script_fn(answer_by_role)
    env = isolated_env(tmp_path, base_url=fake.base_url, api_key="sk-browser-batch-1")
    store = Store(env["CHATLAB_DB"])
    test_set = TestSets(store).save(import_test_set(twenty_case_csv(), "geo.csv").test_set)
    client = ChatClient(Endpoint(base_url=fake.base_url, api_keys=("sk-x",), max_retries=0))
    spec = BatchSpec(tuple(panes_for(ROLES, model="gpt-4o-mini")), test_set)
    run_id = start_batch(store, spec)
    list(run_batch(store, run_id, [client] * 3, spec))
    client.close()
    server = StreamlitServer(env, log_path=tmp_path / "streamlit.log").start()
    try:
        yield server, run_id
    finally:
        server.stop()
        store.close()
        fake.stop()


def test_clicking_a_grid_cell_opens_its_replies(batch_app, page):
    server, run_id = batch_app
    page.goto(f"{server.url}/Batch_runs?run={run_id}")
    page.get_by_text("Cases × panes").wait_for()
    wait_until_idle(page)
    grid = page.locator(".st-key-batch-run-grid [data-testid=stDataFrame]")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    row = 35  # Streamlit's default row height (the header row is as tall)
    page.mouse.click(box["x"] + 40, box["y"] + row * 2.5)  # case 2, in its first column
    page.get_by_text("Message: Question 2: where?").wait_for()
    wait_until_idle(page)
    assert REPLIES["Chinese"] not in page.inner_text("body")  # the first pane (Terse) is open
    for _ in range(3):  # the selected cell moves right to the Chinese pane, as a click there would
        page.keyboard.press("ArrowRight")
        wait_until_idle(page)
    page.get_by_text(REPLIES["Chinese"]).first.wait_for()
    assert "Message: Question 2: where?" in page.inner_text("body")
    assert page.errors == []
