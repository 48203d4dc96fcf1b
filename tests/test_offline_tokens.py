"""Token probabilities from the real offline model (llama.cpp + SmolLM2), and the what-if checked against
the model itself: at temperature 0 it marks the first token a real greedy run changes, and names it.

Skipped like tests/test_offline.py when the model or llama_cpp.server is missing (fails with
CHATLAB_REQUIRE_OFFLINE=1).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from chatlab.client import ChatClient
from chatlab.events import StreamDone, TextDelta, TokenLogprobs
from chatlab.offline import SHIPPED_ALIAS, OfflineServer, offline_available
from chatlab.params import GenerationParams
from chatlab.request import Request, build_request
from chatlab.tokenprobs.parting import parting
from chatlab.tokenprobs.record import ReplyTokens
from chatlab.tokenprobs.whatif import reweigh

PROMPT = [{"role": "user", "content": "Tell me a short story about a cat."}]


@pytest.fixture(scope="module")
def client() -> Iterator[ChatClient]:
    ok, why = offline_available()
    if not ok:
        if os.environ.get("CHATLAB_REQUIRE_OFFLINE") == "1":
            pytest.fail(f"CHATLAB_REQUIRE_OFFLINE=1 but {why}")
        pytest.skip(why)
    server = OfflineServer().start()
    try:
        if not server.wait_ready(90):
            pytest.fail(f"offline server not ready: {server.status().message}\n{server.log_tail(30)}")
        c = ChatClient(server.endpoint())
        yield c
        c.close()
    finally:
        server.stop()


def sample(client: ChatClient, **params) -> tuple[str, ReplyTokens]:
    request = build_request(SHIPPED_ALIAS, PROMPT, GenerationParams(logprobs=5, max_tokens=60, **params))
    # llama-cpp-python's server applies a repeat penalty of 1.1 by default, which the reported
    # probabilities do not include; without it, greedy decoding is the argmax of what is reported.
    request = Request(body={**request.body, "repeat_penalty": 1.0}, notes=request.notes)
    events = list(client.stream(request))
    done = events[-1]
    assert isinstance(done, StreamDone) and done.error is None, done.error
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    tokens = ReplyTokens.of(t for e in events if isinstance(e, TokenLogprobs) for t in e.tokens)
    return text, tokens


@pytest.mark.offline_model
def test_streamed_token_probabilities_from_llama_cpp_spell_the_reply(client):
    text, tokens = sample(client, temperature=0.7, seed=3)
    assert tokens and tokens.text == text
    assert all(1 <= len(t.top) <= 6 for t in tokens.tokens)  # top-5, or one more: the written token
    assert all(t.logprob <= 0 for t in tokens.tokens)


@pytest.mark.offline_model
def test_the_what_if_at_temperature_zero_marks_where_a_real_greedy_run_parts(client):
    for seed in (5, 6, 7, 8):
        _, sampled = sample(client, temperature=1.4, seed=seed)
        if reweigh(sampled, 0.0).first_change is not None:
            break
    else:
        pytest.fail("four samples at temperature 1.4 all took the likeliest token every time")
    _, greedy = sample(client, temperature=0)
    whatif = reweigh(sampled, 0.0)
    split = parting([sampled, greedy])
    assert split.position == whatif.first_change
    greedy_branch = next(b for b in split.branches if 1 in b.samples)
    assert greedy_branch.token == whatif.instead[split.position]
    # Before it, greedy would have written the same tokens: none of them is marked.
    assert not whatif.changed[: split.position].any()
