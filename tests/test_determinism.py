"""The determinism meter against the loopback fake: what it sends, and what it says about the replies."""

from __future__ import annotations

import random
import threading

import pytest

from chatlab.client import ChatClient
from chatlab.determinism import METER_COLUMNS, MeterReply, MeterSpec, first_divergence, meter_frame, run_meter
from chatlab.params import GenerationParams
from chatlab.tokens import token_ids
from tests.fake_openai import Reply, seeded_replies

MESSAGES = ({"role": "system", "content": "Be brief."}, {"role": "user", "content": "Tell a story."})


@pytest.fixture
def client(fake_endpoint):
    client = ChatClient(fake_endpoint)
    yield client
    client.close()


def spec(**changes) -> MeterSpec:
    fields = dict(
        model="gpt-4o-mini", messages=MESSAGES, params=GenerationParams(temperature=1.0, n=3), runs=4
    )
    return MeterSpec(**{**fields, **changes})


def test_a_server_that_honours_seed(fake_openai, client):
    fake_openai.script_fn(seeded_replies())
    report = run_meter(client, spec(), max_workers=2)

    bodies = [r.body for r in fake_openai.chat_requests]
    assert len(bodies) == 8 and all("n" not in b and b["temperature"] == 1.0 for b in bodies)
    assert sorted(b.get("seed") for b in bodies if "seed" in b) == [42] * 4
    assert all(b["messages"] == list(MESSAGES) for b in bodies)

    assert report.seed_honoured is True
    assert (report.seeded.replies, report.seeded.identical, report.seeded.distinct) == (4, 4, 1)
    assert report.seeded.identical_share == 1 and report.seeded.divergence is None
    assert report.unseeded.distinct == 4 and report.unseeded.fingerprints == ("fp_fake",)
    where = report.unseeded.divergence
    assert report.verdict.startswith("seed is honoured: all 4 replies with seed 42 were byte-identical")
    assert f"first difference at character {where.char_index}, token {where.token_index}" in report.verdict

    # The divergence is where the texts part, in characters and in tokens, shown side by side.
    texts = {r.index: r.text for r in report.replies if not r.seeded}
    a, b = texts[where.first], texts[where.second]
    assert a[: where.char_index] == b[: where.char_index] and a[where.char_index] != b[where.char_index]
    ta, tb = token_ids(a), token_ids(b)
    assert (
        ta[: where.token_index] == tb[: where.token_index] and ta[where.token_index] != tb[where.token_index]
    )
    assert where.first_text == a[where.char_index :][:80] and where.second_text == b[where.char_index :][:80]
    assert a[: where.char_index].endswith(where.shared)

    frame = meter_frame(report)
    assert list(frame.columns) == list(METER_COLUMNS) and len(frame) == 8
    assert frame.loc[frame["seeded"], "identical_to_most_common"].all()
    assert (
        frame.loc[frame["seeded"], "seed"].tolist() == [42] * 4
        and frame.loc[~frame["seeded"], "seed"].isna().all()
    )


def test_a_server_that_ignores_seed_and_changes_backend(fake_openai, client):
    rng, lock, seeded_count = random.Random(3), threading.Lock(), [0]

    def respond(request):
        with lock:
            seeded_count[0] += "seed" in request.body
            words = " ".join(rng.choice(["sea", "sky", "ship"]) for _ in range(12))
            return Reply(text=words, system_fingerprint=f"fp_{seeded_count[0] % 2}")

    fake_openai.script_fn(respond)
    report = run_meter(client, spec(seed=7))
    assert report.seed_honoured is False
    assert report.verdict.startswith(
        "seed is not honoured here: no two of the 4 replies with seed 7 were identical"
    )
    assert "system_fingerprint changed between replies (fp_" in report.verdict
    assert report.seeded.divergence is not None and set(report.seeded.fingerprints) == {"fp_0", "fp_1"}


def test_settings_that_are_deterministic_anyway_cannot_tell(fake_openai, client):
    fake_openai.default = Reply(text="Always the same.")
    report = run_meter(client, spec(params=GenerationParams(temperature=0.0)))
    assert report.seed_honoured is None and "cannot tell whether seed is honoured" in report.verdict
    assert report.unseeded.identical == 4 and report.unseeded.divergence is None


def test_failed_requests_are_counted_and_too_few_replies_say_so(fake_openai, client):
    fake_openai.script_fn(lambda request: Reply(status=500) if request.body.get("seed") else None)
    report = run_meter(client, spec(runs=2))
    assert report.seeded.errors == 2 and report.seeded.replies == 0
    assert report.seed_honoured is None and report.verdict.startswith("Too few whole replies with seed 42")


def test_cancel_keeps_the_replies_that_finished(fake_openai, client):
    fake_openai.script_fn(seeded_replies())
    cancel = threading.Event()
    seen = []

    def on_reply(reply):
        seen.append(reply)
        if len(seen) == 3:
            cancel.set()

    report = run_meter(client, spec(runs=10), cancel=cancel, on_reply=on_reply)
    assert len(report.replies) == 3 and len(fake_openai.chat_requests) == 3


def test_the_spec_is_checked():
    with pytest.raises(ValueError, match="2 to 20"):
        spec(runs=1)
    with pytest.raises(ValueError, match="message"):
        spec(messages=({"role": "system", "content": "x"},))
    assert spec().params == GenerationParams(temperature=1.0, seed=42)


def test_divergence_at_the_end_of_a_shorter_reply():
    replies = [MeterReply(False, i, t, "stop", None, None) for i, t in enumerate(["abc", "abc", "abcdef"])]
    where = first_divergence(replies)
    assert (where.first, where.second, where.char_index) == (0, 2, 3)
    assert (where.first_text, where.second_text) == ("", "def")
