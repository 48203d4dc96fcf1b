"""A small batch on the real local model, in a real Chromium: no key, so the app starts SmolLM2 itself;
5 cases × 2 roles × 1 sample, a few tokens each. The page is reloaded right after Run: the run goes on
on its process thread, and the reloaded page follows it to the end."""

from __future__ import annotations

import pytest

from chatlab.store import Store
from chatlab.store.batches import FINISHED, BatchRuns
from chatlab.store.testsets import TestSets
from chatlab.testsets import import_test_set
from tests.browser.harness import StreamlitServer, isolated_env, wait_until_idle
from tests.test_offline import _require_offline

pytestmark = pytest.mark.offline_model

ROLES_YAML = """\
version: 1
roles:
  - name: Geographer
    system: You answer questions about {{topic}} in one short sentence.
    params: {max_tokens: 6, temperature: 0.7}
  - name: Poet
    system: You answer every question about {{topic}} as a short poem.
    params: {max_tokens: 6, temperature: 0.7}
"""
CASES = "question,topic,__set_expected1,__set_expected2\n" + "".join(
    f'"What is the capital of country number {i}?",geography,max-chars: 400,not-contains: ```\n'
    for i in range(1, 6)
)


@pytest.fixture
def offline_app(tmp_path):
    _require_offline()
    (tmp_path / "roles.yaml").write_text(ROLES_YAML)
    env = {
        **isolated_env(tmp_path, base_url="", api_key=""),  # no key: the app starts its own local model
        "HTTPS_PROXY": "",
        "CHATLAB_ROLES": str(tmp_path / "roles.yaml"),
    }
    store = Store(env["CHATLAB_DB"])
    test_set = TestSets(store).save(import_test_set(CASES.encode(), "capitals.csv").test_set)
    server = StreamlitServer(env, log_path=tmp_path / "streamlit.log").start()
    try:
        yield server, store, test_set.id
    finally:
        server.stop()
        store.close()


def test_a_small_batch_on_the_local_model_survives_a_reload(offline_app, page):
    server, store, set_id = offline_app
    page.goto(f"{server.url}/Batch_runs?set={set_id}")
    page.locator("[data-testid=stSidebar]").get_by_text("is running on this machine").wait_for(
        timeout=120_000
    )
    wait_until_idle(page, 60_000)
    samples = page.locator("[data-testid=stSlider]").filter(has_text="Samples per case").get_by_role("slider")
    samples.focus()
    samples.press("Home")  # k = 1
    page.get_by_text("Before starting: 10 requests").wait_for()
    wait_until_idle(page)
    page.get_by_role("button", name="Run").click()
    page.wait_for_url("**/Batch_runs?run=*")
    page.reload()  # only the watching stops; the run goes on in the app's process
    page.get_by_text("Done: 10 samples.").wait_for(timeout=240_000)
    wait_until_idle(page)
    text = page.inner_text("body")
    assert "Pass rate per pane" in text and "Geographer passed" in text and "Poet passed" in text
    assert "Every failing check" in text

    [run] = BatchRuns(store).list()
    samples = BatchRuns(store).samples(run.id)
    assert run.status == FINISHED and len(samples) == 10  # not started again by the reload
    assert all(s.error is None for s in samples), [s.error for s in samples if s.error]
    assert all(s.usage_estimated for s in samples)  # llama.cpp streams no usage: counted offline
    assert all(s.request["max_tokens"] == 6 for s in samples)
    assert {s.request["messages"][0]["content"] for s in samples} == {
        "You answer questions about geography in one short sentence.",
        "You answer every question about geography as a short poem.",
    }
    assert page.errors == []
