"""Blind votes cast with the keyboard in a real Chromium: ← → T B vote, U undoes, names show after each
vote, and the votes CSV the page downloads refits to the ratings the page shows."""

from __future__ import annotations

import pytest

from chatlab.batch.plan import BatchSpec, panes_for
from chatlab.batch.run import run_batch, start_batch
from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.rating.leaderboard import leaderboard
from chatlab.rating.sentences import bias_sentence, lead_sentence, rating_sentences
from chatlab.rating.votes import BOTH_BAD, LEFT, RIGHT, TIE, read_votes_csv
from chatlab.roles import Role
from chatlab.store import Store
from chatlab.store.ratings import Ratings
from chatlab.testsets import from_messages
from tests.browser.harness import StreamlitServer, isolated_env, wait_until_idle
from tests.fake_openai import FakeOpenAI, Reply

ROLES = [Role(name="Warm", system="Warm: be kind."), Role(name="Cold", system="Cold: be curt.")]


def by_role(request) -> Reply:
    messages = request.body["messages"]
    return Reply(text=f"{messages[0]['content'][:4]} answer to {messages[-1]['content']}")


@pytest.fixture
def rating_app(tmp_path):
    """An app whose database holds a finished batch run (2 roles × 4 inputs) and a rating of it."""
    fake = FakeOpenAI().start()
    fake.script_fn(by_role)
    env = isolated_env(tmp_path, base_url=fake.base_url, api_key="sk-browser-rating-1")
    store = Store(env["CHATLAB_DB"])
    client = ChatClient(Endpoint(base_url=fake.base_url, api_keys=("sk-x",), max_retries=0))
    spec = BatchSpec(
        tuple(panes_for(ROLES, model="gpt-4o-mini")), from_messages(["a", "b", "c", "d"], "four")
    )
    run_id = start_batch(store, spec)
    list(run_batch(store, run_id, [client, client], spec))
    client.close()
    rating_id = Ratings(store).create(["Warm", "Cold"], seed=5, run_id=run_id, title="Warm vs Cold")
    server = StreamlitServer(env, log_path=tmp_path / "streamlit.log").start()
    try:
        yield server, store, rating_id
    finally:
        server.stop()
        store.close()
        fake.stop()


def test_votes_by_keyboard_reveal_names_undo_and_download(rating_app, page):
    server, store, rating_id = rating_app
    page.goto(f"{server.url}/Blind_rating?rating={rating_id}")
    page.get_by_role("button", name="Left is better").wait_for()
    wait_until_idle(page)
    assert "Which pane wrote which reply is shown here after each vote." in page.inner_text("body")

    for count, key in enumerate(["ArrowLeft", "ArrowRight", "t", "b"], start=1):
        page.keyboard.press(key)
        page.get_by_text(f"{count} of 8 votes").wait_for()
        wait_until_idle(page)
        reveal = page.locator("[data-testid=stAlertContentSuccess]").inner_text()
        assert "Last vote:" in reveal and "Warm" in reveal and "Cold" in reveal
    page.keyboard.press("u")
    page.get_by_text("3 of 8 votes").wait_for()
    wait_until_idle(page)

    votes = Ratings(store).votes(rating_id)
    assert [v.outcome for v in votes] == [LEFT, RIGHT, TIE]
    assert BOTH_BAD not in {v.outcome for v in votes}
    assert all(v.left_reply.endswith(f"answer to {v.input}") for v in votes)  # what was shown is kept

    page.get_by_role("tab", name="Leaderboard").click()
    page.get_by_text("Win matrix").wait_for()
    wait_until_idle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the 3 votes (CSV)").click()
    data = download.value.path().read_bytes()
    again_votes, labels = read_votes_csv(data)
    assert labels == ["Warm", "Cold"] and [v.outcome for v in again_votes] == [LEFT, RIGHT, TIE]
    # Refitted from the file alone, the ratings read exactly as the page wrote them.
    shown = page.inner_text("body")
    again = leaderboard(again_votes, labels, seed=5)
    for sentence in [
        lead_sentence(again),
        *rating_sentences(again),
        bias_sentence(again.position_bias, 0.95),
    ]:
        assert sentence in shown
    assert page.errors == []
