"""The token view in a real Chromium: a real offline-model reply (llama.cpp + SmolLM2, no key) switches
to its tokens, hovering one shows its alternatives with their probabilities, and the what-if at
temperature 0 marks the tokens greedy decoding would change. A server that refuses logprobs still
answers, and the page says why there is no token view.

The page is tests/token_view_app.py (the component alone; the chat pages are wired to it separately).
"""

from __future__ import annotations

import math
import os

import pytest

from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.offline import SHIPPED_ALIAS, OfflineServer, offline_available
from chatlab.params import GenerationParams
from chatlab.store import Store
from chatlab.tokenprobs.whatif import reweigh
from chatlab.turn import TurnSettings, send_turn
from chatlab_ui.token_view import _percent, _shown
from tests.browser.harness import StreamlitServer, wait_until_idle
from tests.fake_openai import REJECT, FakeOpenAI, Reply

PROMPT = "Tell me a short story about a cat."
SPANS = ".clt-view span"


def _require_offline() -> None:
    ok, why = offline_available()
    if not ok:
        if os.environ.get("CHATLAB_REQUIRE_OFFLINE"):
            pytest.fail(why)
        pytest.skip(why)


def _page_server(tmp_path, db) -> StreamlitServer:
    env = {"CHATLAB_DB": str(db), "CHATLAB_PASSWORD": "", "OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}
    return StreamlitServer(env, script="tests/token_view_app.py", log_path=tmp_path / "streamlit.log").start()


@pytest.fixture
def offline_reply(tmp_path):
    """A reply of the real local model through the one path (send_turn), with top-5 probabilities; at
    temperature 1.4 it takes a less likely token somewhere, so greedy decoding would change it."""
    _require_offline()
    db = tmp_path / "tokens.sqlite3"
    store = Store(db)
    server = OfflineServer().start()
    try:
        assert server.wait_ready(90), server.log_tail(30)
        client = ChatClient(server.endpoint())
        for seed in (5, 6, 7, 8, 9):
            cid = store.create_conversation()
            params = GenerationParams(logprobs=5, temperature=1.4, seed=seed, max_tokens=80)
            list(send_turn(store, client, cid, TurnSettings(model=SHIPPED_ALIAS, params=params), PROMPT))
            reply = store.messages(cid)[-1]
            tokens = store.reply_tokens(reply.id)
            if tokens and reweigh(tokens, 0.0).positions:
                break
        else:
            pytest.fail("five samples at temperature 1.4 all took the likeliest token every time")
        client.close()
    finally:
        server.stop()
    return db, reply, tokens


def test_a_local_model_reply_shows_its_tokens_alternatives_and_greedy_changes(offline_reply, page, tmp_path):
    db, reply, tokens = offline_reply
    server = _page_server(tmp_path, db)
    try:
        page.goto(f"{server.url}/?m={reply.id}")
        wait_until_idle(page)
        page.get_by_text("Tokens", exact=True).click()
        page.locator(SPANS).nth(len(tokens) - 1).wait_for(timeout=30_000)
        assert page.locator(SPANS).count() == len(tokens)
        assert "perplexity" in page.locator("[data-testid=stCaptionContainer]").all_inner_texts()[0]

        # Hover a token with several alternatives: its tooltip lists them with their probabilities.
        index = next(i for i, t in enumerate(tokens.tokens) if len(t.top) >= 3 and t.token.strip())
        span = page.locator(SPANS).nth(index)
        assert span.evaluate("el => getComputedStyle(el, '::after').content") == "none"  # not yet
        span.hover()
        # Shown now: the tooltip is the ::after box, its text the span's data-a attribute.
        assert span.evaluate("el => getComputedStyle(el, '::after').content") != "none"
        assert span.evaluate("el => getComputedStyle(el, '::after').position") == "absolute"
        tooltip = span.get_attribute("data-a")
        assert tooltip.startswith(f"#{index + 1} {_shown(tokens.tokens[index].token)}")
        for alt, logprob in tokens.tokens[index].top:
            assert f"{_percent(math.exp(logprob))} {_shown(alt)}" in tooltip
        page.screenshot(path=str(tmp_path / "token-view-hover.png"))

        # The what-if at temperature 0: exactly the tokens that were not the model's likeliest are marked.
        greedy = reweigh(tokens, 0.0).positions
        slider = page.get_by_role("slider").first
        slider.focus()
        slider.press("Home")
        page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel + '.x').length === n", arg=[SPANS, len(greedy)]
        )
        marked = page.locator(SPANS).evaluate_all(
            "spans => spans.flatMap((s, i) => s.classList.contains('x') ? [i] : [])"
        )
        assert marked == greedy
        best = [max(t.top, key=lambda a: a[1])[0] if t.top else t.token for t in tokens.tokens]
        assert marked == [i for i, t in enumerate(tokens.tokens) if t.token != best[i]]
        page.locator(SPANS).nth(greedy[0]).hover()
        page.screenshot(path=str(tmp_path / "token-view-greedy.png"))
        assert page.errors == []
    finally:
        server.stop()


def test_a_server_that_refuses_logprobs_answers_and_the_page_says_why(page, tmp_path):
    db = tmp_path / "refused.sqlite3"
    store = Store(db)
    with FakeOpenAI(default=Reply(text="A reply without token probabilities.", logprobs=REJECT)) as fake:
        client = ChatClient(Endpoint(base_url=fake.base_url, api_keys=("sk-x",), max_retries=0))
        cid = store.create_conversation()
        settings = TurnSettings(model="gpt-4o-mini", params=GenerationParams(logprobs=5))
        list(send_turn(store, client, cid, settings, "Hello"))
    reply = store.messages(cid)[-1]
    assert reply.status == "complete"
    server = _page_server(tmp_path, db)
    try:
        page.goto(f"{server.url}/?m={reply.id}")
        wait_until_idle(page)
        message = page.locator("[data-testid=stChatMessage]")
        message.get_by_text("A reply without token probabilities.").wait_for()
        text = message.inner_text()
        assert "No token view" in text and "logprobs is not supported with this model" in text
        assert page.get_by_text("Tokens", exact=True).count() == 0
        assert page.errors == []
    finally:
        server.stop()
