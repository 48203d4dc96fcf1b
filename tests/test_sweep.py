"""chatlab.sweep against the loopback fake: what is sent, what comes back, and what the summary says."""

from __future__ import annotations

import math
import random
import threading
from collections import Counter

import pytest

from chatlab.client import ChatClient
from chatlab.events import StreamDone, TextDelta, Timings, Usage
from chatlab.params import PARAM_NAMES, GenerationParams
from chatlab.stats import STAT_COLUMNS, noise_floor, verdicts
from chatlab.sweep.ablation import ReplaySource, ablation_frame, depth_ablation
from chatlab.sweep.plan import MAX_REPLIES, SweepSpec, estimate_cost, grid, messages_for
from chatlab.sweep.run import run_sweep
from chatlab.sweep.table import (
    a_versus_a,
    chart_data,
    csv_bytes,
    samples_frame,
    statistics,
    summarize,
)
from chatlab.tokens import count_message_tokens, count_tokens
from tests.fake_openai import FakeOpenAI, RecordedRequest, Reply

MODEL = "gpt-4o-mini"  # priced in chatlab/prices.yaml: input $0.15, output $0.60 per 1M tokens


@pytest.fixture
def client(fake_endpoint):
    client = ChatClient(fake_endpoint)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def default_prices(monkeypatch):
    monkeypatch.delenv("CHATLAB_PRICES", raising=False)


def spec(**changes) -> SweepSpec:
    fields = dict(
        model=MODEL,
        system_prompt="Be brief.",
        prompt="Tell me about cats",
        base_params=GenerationParams(max_tokens=64),
        axes=(("temperature", (0.0, 1.0)), ("top_p", (0.5, 1.0))),
        samples=3,
    )
    return SweepSpec(**{**fields, **changes})


def combo(request: RecordedRequest) -> tuple:
    return (request.body.get("temperature"), request.body.get("top_p"))


# ---- the grid and what is sent -------------------------------------------------------------------------


def test_grid_is_the_cartesian_product_in_axis_order():
    points = grid(spec())
    assert [p.values for p in points] == [
        (("temperature", 0.0), ("top_p", 0.5)),
        (("temperature", 0.0), ("top_p", 1.0)),
        (("temperature", 1.0), ("top_p", 0.5)),
        (("temperature", 1.0), ("top_p", 1.0)),
    ]
    assert points[2].params == GenerationParams(temperature=1.0, top_p=0.5, max_tokens=64)
    assert points[2].label == "temperature=1, top_p=0.5"


def test_repeated_calls_send_one_request_per_sample_with_the_right_values(fake_openai, client):
    s = spec()
    seen = []
    samples = list(run_sweep(client, s, on_sample=seen.append))

    requests = fake_openai.chat_requests
    assert len(requests) == 12 == s.calls
    assert Counter(combo(r) for r in requests) == {(0.0, 0.5): 3, (0.0, 1.0): 3, (1.0, 0.5): 3, (1.0, 1.0): 3}
    assert all("n" not in r.body and r.body["max_tokens"] == 64 for r in requests)
    assert all(r.body["messages"] == messages_for(s) for r in requests)
    assert len(samples) == 12 and seen == samples
    per_point = Counter(sample.values for sample in samples)
    assert set(per_point.values()) == {3}
    for point in grid(s):
        assert sorted(x.index for x in samples if x.values == point.values) == [0, 1, 2]
    assert all(
        x.ok and x.text == "Hello from the fake server." and x.finish_reason == "stop" for x in samples
    )
    assert all(x.prompt_tokens == 6 and not x.usage_estimated for x in samples)  # 2 + 4 words (fake's count)

    frame = samples_frame(samples, s)
    assert list(frame.columns[: len(PARAM_NAMES)]) == list(PARAM_NAMES)
    assert len(frame) == 12
    assert frame["temperature"].tolist() == [0.0] * 6 + [1.0] * 6  # grid order, then sample index
    assert frame["sample"].tolist()[:3] == [0, 1, 2]
    assert set(frame["max_tokens"]) == {64} and frame["n"].isna().all() and frame["seed"].isna().all()
    assert set(frame["model"]) == {MODEL} and set(frame["prompt"]) == {"Tell me about cats"}
    assert frame["text"].dtype == "str"


def test_use_n_sends_one_request_per_setting_with_n(fake_openai, client):
    s = spec(use_n=True)
    samples = list(run_sweep(client, s))

    requests = fake_openai.chat_requests
    assert len(requests) == 4 == s.calls
    assert [r.body["n"] for r in requests] == [3, 3, 3, 3]
    assert Counter(combo(r) for r in requests) == {(0.0, 0.5): 1, (0.0, 1.0): 1, (1.0, 0.5): 1, (1.0, 1.0): 1}
    assert len(samples) == 12
    for x in samples:
        # The fake suffixes choices after the first; usage is per request, so per-choice counts are estimated.
        expected = "Hello from the fake server." + (f" [choice {x.index}]" if x.index else "")
        assert x.text == expected
        assert x.completion_tokens == count_tokens(expected) and x.usage_estimated
        assert (x.prompt_tokens is None) == (x.index > 0)
        assert (x.cost_usd is None) == (x.index > 0)
        assert x.duration_s is not None
    frame = samples_frame(samples, s)
    assert set(frame["n"]) == {3}


def test_use_n_splits_more_samples_than_one_request_allows(fake_openai, client):
    s = spec(axes=(("temperature", (0.5,)),), samples=10, use_n=True)
    samples = list(run_sweep(client, s))
    assert sorted(r.body["n"] for r in fake_openai.chat_requests) == [2, 8]
    assert sorted(x.index for x in samples) == list(range(10))
    assert sum(x.prompt_tokens is not None for x in samples) == 2  # one per request


def test_an_endpoint_that_ignores_n_gives_errors_for_missing_choices():
    class OneChoice:
        def stream(self, request):
            yield TextDelta(0, "only one")
            yield StreamDone(Usage(5, 2), Timings(0.01, 0.02, None), finish_reasons={0: "stop"})

    s = spec(axes=(("temperature", (0.5,)),), samples=3, use_n=True)
    samples = sorted(run_sweep(OneChoice(), s), key=lambda x: x.index)
    assert samples[0].ok and samples[0].text == "only one"
    assert all("no choice" in x.error and "use n" in x.error for x in samples[1:])
    assert summarize(samples, s)["errors"].tolist() == [2]


def test_a_client_that_raises_is_reported_and_the_sweep_goes_on():
    class Flaky:
        def stream(self, request):
            if request.body.get("temperature") == 1.0:
                raise RuntimeError("boom")
            yield TextDelta(0, "fine")
            yield StreamDone(Usage(5, 1), Timings(0.01, 0.02, None), finish_reasons={0: "stop"})

    s = spec(axes=(("temperature", (0.0, 1.0)),), samples=2)
    samples = list(run_sweep(Flaky(), s))
    assert len(samples) == 4
    assert Counter(x.error for x in samples) == {None: 2, "Unexpected error: RuntimeError: boom": 2}


# ---- statistics on known replies -----------------------------------------------------------------------

TEXTS = {
    0.0: ["the cat sat", "the cat sat", "the cat sat"],
    1.0: ["the cat sat", "the cat ran", "the cat ran away"],
}


def by_temperature(fake: FakeOpenAI, texts=TEXTS, extra=None):
    """Reply with the i-th text listed for the request's temperature; usage (7, len(text))."""
    lock = threading.Lock()
    served: Counter = Counter()

    def respond(request: RecordedRequest) -> Reply | None:
        temperature = request.body.get("temperature")
        if extra is not None and (reply := extra(request)) is not None:
            return reply
        with lock:
            i = served[temperature]
            served[temperature] += 1
        text = texts[temperature][i % len(texts[temperature])]
        return Reply(text=text, usage_values=(7, len(text)))

    fake.script_fn(respond)


def test_summary_statistics_on_known_replies(fake_openai, client):
    by_temperature(fake_openai)
    s = spec(axes=(("temperature", (0.0, 1.0)),), samples=3)
    samples = list(run_sweep(client, s))
    summary = summarize(samples, s)

    assert summary["temperature"].tolist() == [0.0, 1.0]
    cold, hot = (summary.iloc[i] for i in range(2))
    assert (cold["samples"], cold["errors"], hot["samples"], hot["errors"]) == (3, 0, 3, 0)
    # temperature 0: "the cat sat" ×3 → unigrams 9, unique 3; bigrams 6, unique 2; all pairs identical.
    assert cold["distinct_1"] == pytest.approx(3 / 9)
    assert cold["distinct_2"] == pytest.approx(2 / 6)
    assert cold["similarity"] == pytest.approx(1.0)
    # temperature 1: the cat sat | the cat ran | the cat ran away → unigrams 10, unique
    # {the cat sat ran away} = 5; bigrams 2+2+3 = 7, unique {the-cat cat-sat cat-ran ran-away} = 4;
    # similarity (1/3 + 1/4 + 2/3) / 3 = 5/12 (worked out in test_textstats).
    assert hot["distinct_1"] == pytest.approx(5 / 10)
    assert hot["distinct_2"] == pytest.approx(4 / 7)
    assert hot["similarity"] == pytest.approx(5 / 12)
    # completion tokens = len(text): 11, 11, 11 and 11, 11, 16.
    assert (cold["completion_tokens_mean"], cold["completion_tokens_stdev"]) == (11, 0)
    assert hot["completion_tokens_mean"] == pytest.approx(38 / 3)
    assert hot["completion_tokens_median"] == 11
    # deviations from 38/3: -5/3, -5/3, 10/3 → squares sum 150/9; / (3 − 1) = 25/3.
    assert hot["completion_tokens_stdev"] == pytest.approx(math.sqrt(25 / 3))
    # cost: 3 × 7 prompt tokens at $0.15/M + (11 + 11 + 16) completion tokens at $0.60/M.
    assert hot["cost_usd"] == pytest.approx((3 * 7 * 0.15 + 38 * 0.60) / 1e6)
    assert cold["duration_mean_s"] > 0 and cold["ttft_mean_s"] > 0
    assert (hot["refusals"], hot["truncated"], bool(hot["tokens_estimated"])) == (0, 0, False)

    long = chart_data(summary)
    assert list(long.columns) == ["temperature", "metric", "value"]
    assert len(long) == 2 * long["metric"].nunique()
    row = long[(long["temperature"] == 1.0) & (long["metric"] == "distinct_2")]
    assert row["value"].item() == pytest.approx(4 / 7)


def test_errors_are_counted_and_do_not_stop_the_sweep(fake_openai, client):
    def fail_at_08(request):
        return Reply(status=500) if request.body.get("temperature") == 0.8 else None

    texts = {0.0: ["ok then"], 1.2: ["I'm sorry, but I can't help with that."]}
    by_temperature(fake_openai, texts, extra=fail_at_08)
    s = spec(model="fake-model", axes=(("temperature", (0.0, 0.8, 1.2)),), samples=2)
    samples = list(run_sweep(client, s))

    assert len(fake_openai.chat_requests) == 6 and len(samples) == 6
    failed = [x for x in samples if not x.ok]
    assert len(failed) == 2 and all(x.values == (("temperature", 0.8),) and x.error for x in failed)
    summary = summarize(samples, s).set_index("temperature")
    assert summary["errors"].to_dict() == {0.0: 0, 0.8: 2, 1.2: 0}
    assert summary["samples"].to_dict() == {0.0: 2, 0.8: 2, 1.2: 2}
    assert summary["refusals"].to_dict() == {0.0: 0, 0.8: 0, 1.2: 2}
    assert summary.loc[0.8, ["distinct_1", "similarity", "completion_tokens_mean"]].isna().all()
    assert summary["cost_usd"].isna().all()  # fake-model has no price: unknown, not $0

    frame = samples_frame(samples, s)
    assert frame["error"].notna().sum() == 2 and frame["refusal"].sum() == 2


# ---- concurrency and cancelling ------------------------------------------------------------------------


@pytest.mark.parametrize("max_workers", [1, 3])
def test_max_workers_bounds_concurrent_requests(fake_openai, client, max_workers):
    # Answered in groups of max_workers: that many must be in flight together, and never one more.
    fake_openai.barrier(max_workers)
    s = spec(axes=(("temperature", (0.0, 0.5, 1.0)),), samples=3)
    samples = list(run_sweep(client, s, max_workers=max_workers))
    assert len(samples) == 9 and all(x.ok for x in samples)
    assert fake_openai.peak_in_flight == max_workers


def slow_after(fake: FakeOpenAI, fast: int) -> None:
    """The first `fast` requests answer at once; later ones trickle a chunk every 50 ms for hours, so they
    never finish during a test (the worker sees an event often enough to notice it was told to stop)."""
    lock = threading.Lock()
    count = [0]

    def respond(request):
        with lock:
            count[0] += 1
            n = count[0]
        if n <= fast:
            return Reply(text="quick reply")
        return Reply(text="slow " * 200_000, chunk_chars=5, delay_s=0.05)

    fake.script_fn(respond)


@pytest.fixture
def guard(fake_openai):
    """Stops the fake after 60 s: a sweep that waited for the endless replies then ends and fails its test
    (`guard.is_alive()` is False) instead of hanging it."""
    timer = threading.Timer(60, fake_openai.stop)
    timer.start()
    yield timer
    timer.cancel()


def join_sweep_workers() -> None:
    """Wait for every sweep worker to end: after that, every request the sweep made has reached the fake
    (a worker learns of its stop from an event, which comes only after the fake recorded the request)."""
    for thread in [t for t in threading.enumerate() if t.name.startswith("chatlab-sweep")]:
        thread.join(timeout=30)
        assert not thread.is_alive(), "a sweep worker did not notice it was stopped"


def test_cancel_keeps_finished_samples_and_closes_running_calls(fake_openai, client, guard):
    k, max_workers = 3, 2
    slow_after(fake_openai, fast=k)
    cancel = threading.Event()
    kept = []
    s = spec(axes=(("temperature", (0.0, 0.5, 1.0, 1.5)),), samples=5)  # 20 calls
    for sample in run_sweep(client, s, max_workers=max_workers, cancel=cancel):
        kept.append(sample)
        if len(kept) == k:
            # Replacements start as results are consumed, so a slow call is on its way: let it arrive.
            fake_openai.wait_for(lambda f: len(f.chat_requests) > k)
            cancel.set()

    assert guard.is_alive()  # the sweep ended while the slow replies were still streaming
    assert len(kept) == k and all(x.ok and x.text == "quick reply" for x in kept)
    fake_openai.wait_for(lambda f: f.disconnects >= 1)  # the running slow call was closed
    join_sweep_workers()
    # Nothing was launched after the cancel: k - 1 replacements plus the first max_workers calls.
    assert len(fake_openai.chat_requests) <= k - 1 + max_workers


def test_closing_the_iterator_stops_the_sweep_quickly(fake_openai, client, guard):
    slow_after(fake_openai, fast=1)
    max_workers = 3
    iterator = run_sweep(client, spec(samples=5), max_workers=max_workers)
    first = next(iterator)
    fake_openai.wait_for(lambda f: len(f.chat_requests) == max_workers)  # two slow calls running
    iterator.close()
    assert guard.is_alive()  # close() did not wait for the slow replies
    assert first.text == "quick reply"
    fake_openai.wait_for(lambda f: f.disconnects >= 2)  # both slow calls were closed
    join_sweep_workers()
    assert len(fake_openai.chat_requests) == max_workers  # and none replaced them


# ---- validation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(axes=()), "one or two parameters; got 0"),
        (dict(axes=(("temperature", (1,)), ("top_p", (1,)), ("seed", (1,)))), "got 3"),
        (dict(axes=(("temprature", (0.5,)),)), "Unknown parameter 'temprature'"),
        (dict(axes=(("n", (1, 2)),)), "n cannot be swept: use samples"),
        (dict(axes=(("stop", ("a",)),)), "stop cannot be swept"),
        (dict(axes=(("temperature", (0.5, 3)),)), "temperature: the value 3 is not valid .* between 0 and 2"),
        (dict(axes=(("top_p", ("high",)),)), "top_p: the value 'high' is not valid"),
        (dict(axes=(("max_tokens", (10.5,)),)), "max_tokens: the value 10.5 is not valid"),
        (dict(axes=(("temperature", (0.5, 0.5)),)), "0.5 is listed twice"),
        (dict(axes=(("temperature", ()),)), "at least one value"),
        (dict(axes=(("temperature", (0.1,)), ("temperature", (0.2,)))), "appears twice"),
        (dict(samples=0), "between 1 and 20, got 0"),
        (dict(samples=21), "between 1 and 20, got 21"),
        (dict(prompt="  "), "prompt is empty"),
        (dict(model="o3-mini"), "Sweeping temperature is pointless: o3-mini does not accept it"),
        (
            dict(axes=(("seed", tuple(range(40))), ("temperature", (0.0, 0.5, 1.0, 1.5)))),
            rf"480 replies \(40 × 4 settings × 3 samples\); the limit is {MAX_REPLIES}",
        ),
    ],
)
def test_invalid_specs_say_what_is_wrong(changes, message):
    with pytest.raises(ValueError, match=message):
        spec(**changes)


def test_spec_normalises_values_and_ignores_base_n():
    s = spec(axes=[("max_tokens", [16.0, 32])], base_params=GenerationParams(n=4, temperature=0.3))
    assert s.axes == (("max_tokens", (16, 32)),)
    assert s.base_params == GenerationParams(temperature=0.3)
    # None on an axis means "not sent": the server's default.
    point = grid(spec(axes=(("temperature", (None, 0.5)),)))[0]
    assert point.params.temperature is None and point.label == "temperature=default"
    assert grid(spec(axes=(("seed", (123456789,)),)))[0].label == "seed=123456789"


def test_max_workers_must_be_sensible_and_is_checked_before_iterating(fake_openai, client):
    with pytest.raises(ValueError, match="max_workers must be between 1 and 32, got 0"):
        run_sweep(client, spec(), max_workers=0)
    assert fake_openai.chat_requests == []


def test_a_cancel_set_beforehand_sends_nothing(fake_openai, client):
    cancel = threading.Event()
    cancel.set()
    assert list(run_sweep(client, spec(), cancel=cancel)) == []
    assert fake_openai.chat_requests == []


# ---- exports -------------------------------------------------------------------------------------------


def test_csv_has_a_bom_and_neutralises_formulas():
    class Echo:
        def stream(self, request):
            yield TextDelta(0, "=HYPERLINK(1)")
            yield StreamDone(Usage(5, 1), Timings(0.01, 0.02, None), finish_reasons={0: "stop"})

    s = spec(axes=(("presence_penalty", (-0.5,)),), samples=1)
    data = csv_bytes(samples_frame(list(run_sweep(Echo(), s)), s))
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and ",-0.5," in text  # a negative number stays a number


# ---- context-depth ablation ----------------------------------------------------------------------------

HISTORY = [
    {"role": "user", "content": "My name is Ada."},
    {"role": "assistant", "content": "Nice to meet you, Ada."},
    {"role": "user", "content": "I live in a small town by the sea."},
    {"role": "assistant", "content": "That sounds lovely and calm."},
    {"role": "user", "content": "I keep three cats and a very old dog."},
    {"role": "assistant", "content": "A full house, then."},
]


def source(**changes) -> ReplaySource:
    base = dict(
        question="What is my name?",
        history=tuple(HISTORY),
        model=MODEL,
        system_prompt="Remember what the user says.",
        params=GenerationParams(temperature=0.0),
    )
    return ReplaySource(**{**base, **changes})


def test_depth_ablation_sends_zero_to_n_whole_turns(fake_openai, client):
    results = list(depth_ablation(client, source(), [3, 0, 1, 2, 1]))
    requests = fake_openai.chat_requests
    assert len(requests) == 4  # the repeated depth is asked once
    # system + 2 × turns history messages + the question
    assert sorted(len(r.body["messages"]) for r in requests) == [2, 4, 6, 8]
    for r in requests:
        assert "n" not in r.body and r.body["temperature"] == 0.0
        assert r.body["messages"][-1] == {"role": "user", "content": "What is my name?"}
        depth = len(r.body["messages"]) - 2
        assert r.body["messages"][1:-1] == (HISTORY[-depth:] if depth else [])

    frame = ablation_frame(results)
    assert frame["turns"].tolist() == [0, 1, 2, 3] and frame["depth"].tolist() == [0, 2, 4, 6]
    assert frame["messages_sent"].tolist() == [2, 4, 6, 8]
    prompt_tokens = frame["prompt_tokens"].tolist()
    assert prompt_tokens == sorted(prompt_tokens) and len(set(prompt_tokens)) == 4  # grows with depth
    assert frame["error"].isna().all() and (frame["reply_chars"] == len("Hello from the fake server.")).all()
    assert frame["cost_usd"].notna().all()


def test_depth_ablation_validates_depths(client):
    with pytest.raises(ValueError, match="4 past turns is not possible: the conversation has 3"):
        depth_ablation(client, source(), [0, 4])  # raised at the call, not on iteration
    with pytest.raises(ValueError, match="-1 past turns"):
        depth_ablation(client, source(), [-1])
    with pytest.raises(ValueError, match="at least one depth"):
        depth_ablation(client, source(), [])
    with pytest.raises(ValueError, match="question to replay is empty"):
        depth_ablation(client, source(question=" "), [0])


def test_depth_ablation_reports_a_failed_depth(fake_openai, client):
    fake_openai.script_fn(lambda r: Reply(status=500) if len(r.body["messages"]) == 1 else None)
    results = list(depth_ablation(client, source(system_prompt="", history=tuple(HISTORY[:2])), [0, 1]))
    frame = ablation_frame(results)
    assert frame["error"].notna().tolist() == [True, False]
    assert frame["messages_sent"].tolist() == [1, 3]
    assert frame["cost_usd"].isna().tolist() == [True, False]  # refused before any text: not billed
    assert frame["prompt_tokens"].isna().tolist() == [True, False]


def test_an_ablation_replays_the_conversation_as_it_was_sent(tmp_path, fake_openai, client):
    """Its role, system prompt, few-shot examples and parameters — not the page's."""
    from chatlab.roles import Role
    from chatlab.store import Store
    from chatlab.sweep.ablation import as_it_was
    from chatlab.turn import TurnSettings, send_turn

    tutor = Role(
        name="Tutor",
        system="You teach patiently.",
        examples=(("What is 2+2?", "Let us count: 4."),),
        params={"temperature": 0.8},
    )
    store = Store(tmp_path / "a.sqlite3")
    cid = store.create_conversation()
    settings = TurnSettings(
        model=MODEL,
        params=GenerationParams.from_dict(tutor.default_params()),
        role_name=tutor.name,
        system_prompt=tutor.system,
        few_shot=tuple(tutor.few_shot_messages()),
        context_depth=None,
    )
    for text in ("Hello", "What is a prime?", "And 7?"):
        list(send_turn(store, client, cid, settings, text))
    sent_then = fake_openai.last_body

    replay = as_it_was(store.messages(cid), [tutor])
    assert (replay.role_name, replay.model, replay.params) == (
        "Tutor",
        MODEL,
        GenerationParams(temperature=0.8),
    )
    assert replay.few_shot == tuple(tutor.few_shot_messages()) and replay.turns_available == 2
    assert 'role "Tutor"' in replay.describe() and "temperature=0.8" in replay.describe()
    list(depth_ablation(client, replay, [2]))
    assert fake_openai.last_body["messages"] == sent_then["messages"]
    assert fake_openai.last_body["temperature"] == 0.8


def test_typed_values_are_parsed_per_parameter_with_clear_errors():
    from chatlab.sweep.plan import parse_values

    assert parse_values("temperature", "0, 0.4 0.8,1.2") == (0.0, 0.4, 0.8, 1.2)
    assert parse_values("max_tokens", "16, 64") == (16, 64)
    for name, text, message in [
        ("temperature", "0, hot", "temperature must be a number, not 'hot'"),
        ("seed", "1.5", "seed must be a whole number, not '1.5'"),
        ("top_p", " ", "at least one value"),
        ("stop", "1", "cannot be swept"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_values(name, text)


def test_identical_replies_look_equally_diverse_whatever_the_sample_count(fake_openai, client):
    """Before: pooled distinct-n of 2 identical replies (0.5) beat 5 of them (0.2), so a setting cut short
    by a Cancel or errors read as "more diverse" when nothing changed."""
    from chatlab.sweep.table import sample_count_note

    fake_openai.default = Reply(text="the same words every time", chunk_chars=50)
    fake_openai.script_fn(
        lambda r: Reply(status=500) if r.body.get("temperature") == 1.0 and _fails.pop() else None
    )
    _fails = [False, False, True, True, True]  # three of the five temperature-1 calls fail
    s = spec(axes=(("temperature", (0.0, 1.0)),), samples=5)
    samples = list(run_sweep(client, s, max_workers=1))
    summary = summarize(samples, s)
    assert summary["samples"].tolist() == [5, 5] and summary["errors"].tolist() == [0, 3]
    assert summary["distinct_1"].tolist()[0] == pytest.approx(summary["distinct_1"].tolist()[1])
    assert summary["distinct_2"].tolist()[0] == pytest.approx(summary["distinct_2"].tolist()[1])
    assert "different numbers of successful replies (2 to 5)" in sample_count_note(samples)
    assert sample_count_note([x for x in samples if x.values == (("temperature", 0.0),)]) is None


def test_distinct_n_of_size_averages_subsets_with_a_fixed_seed():
    from chatlab.textstats import distinct_n, distinct_n_of_size

    texts = ["a b c", "a b d", "x y z", "a b c", "q r s", "t u v", "a a a", "b b b"]
    assert distinct_n_of_size(texts, 1, len(texts)) == distinct_n(texts, 1)
    first = distinct_n_of_size(texts, 1, 3)
    assert first == distinct_n_of_size(texts, 1, 3)  # reproducible
    assert 0 < first <= 1 and distinct_n_of_size(texts, 1, 9) is None


def test_a_sweep_over_reasoning_effort_measures_reasoning_tokens_and_cost_per_value():
    from chatlab.client import ChatClient
    from chatlab.endpoint import Endpoint

    with FakeOpenAI.openai_like() as fake:
        client = ChatClient(Endpoint(base_url=fake.base_url, api_keys=("sk-x",), max_retries=0))
        s = spec(model="o4-mini", axes=(("reasoning_effort", ("low", "medium", "high")),), samples=2)
        samples = list(run_sweep(client, s, max_workers=2))
        efforts = sorted({r.body["reasoning_effort"] for r in fake.chat_requests})
    assert efforts == ["high", "low", "medium"]
    summary = summarize(samples, s)
    assert summary["reasoning_effort"].tolist() == ["low", "medium", "high"]
    assert summary["reasoning_tokens_mean"].tolist() == [32, 64, 128]
    assert summary["cost_usd"].notna().all() and summary["duration_mean_s"].notna().all()
    # The statistics carry reasoning tokens with their intervals and differences, in words too.
    table = statistics(samples, s)
    reasoning = table[table["metric"] == "reasoning_tokens"].set_index("reasoning_effort")
    assert reasoning["mean"].tolist() == [32, 64, 128] and reasoning.loc["high", "diff"] == 96
    said = dict(zip(table["group"] + " " + table["metric"], verdicts(table), strict=True))
    assert said["reasoning_effort=high reasoning_tokens"].startswith("too few samples")  # 2 each


def test_metrics_no_reply_reported_are_left_out_of_the_statistics(fake_openai, client):
    by_temperature(fake_openai)
    s = spec(model="a-model-without-a-price", axes=(("temperature", (0.0, 1.0)),), samples=2)
    samples = list(run_sweep(client, s))
    metrics = set(statistics(samples, s)["metric"])
    assert "reasoning_tokens" not in metrics and "cost_usd" not in metrics  # nothing to estimate
    assert {"completion_tokens", "duration_s", "distinct_1", "similarity", "refusal"} <= metrics
    assert "reasoning_tokens" not in set(a_versus_a(samples, s)["metric"])


# ---- statistics with intervals -------------------------------------------------------------------------


def lengths_by_temperature(fake: FakeOpenAI, mean_words: dict[float, int], seed: int = 7) -> None:
    """Replies of a random number of words around mean_words[temperature] (usage counts the words)."""
    lock = threading.Lock()
    draws = {t: random.Random(seed + i) for i, t in enumerate(sorted(mean_words))}

    def respond(request: RecordedRequest) -> Reply:
        temperature = request.body.get("temperature")
        with lock:
            words = max(1, round(draws[temperature].gauss(mean_words[temperature], 6)))
        return Reply(text=" ".join(["word"] * words), usage_values=(7, words))

    fake.script_fn(respond)


def test_a_temperature_sweep_has_intervals_and_differences_from_the_baseline(fake_openai, client):
    lengths_by_temperature(fake_openai, {0.0: 40, 0.8: 41, 1.6: 70})
    s = spec(axes=(("temperature", (0.0, 0.8, 1.6)),), samples=10)
    samples = list(run_sweep(client, s, max_workers=4))
    table = statistics(samples, s)

    assert list(table.columns) == ["temperature", *STAT_COLUMNS]
    tokens = table[table["metric"] == "completion_tokens"].set_index("temperature")
    assert tokens["n"].tolist() == [10, 10, 10] and tokens["baseline"].tolist() == [True, False, False]
    assert (tokens["ci_low"] < tokens["mean"]).all() and (
        tokens["mean"] < tokens["ci_high"]
    ).all()  # error bars
    assert tokens["p_value"].isna().tolist() == [True, False, False]
    assert tokens.loc[1.6, "p_holm"] < 0.05 and tokens.loc[1.6, "diff_ci_low"] > 0
    said = dict(zip(table["group"] + " " + table["metric"], verdicts(table), strict=True))
    assert said["temperature=1.6 completion_tokens"].startswith("longer: +")
    assert said["temperature=0 completion_tokens"] == "baseline"
    assert set(table["metric"]) >= {
        "distinct_1",
        "distinct_2",
        "similarity",
        "refusal",
        "truncated",
        "ttft_s",
    }

    # Another baseline; and the per-sample table carries what the statistics were computed from.
    other = statistics(samples, s, baseline=(("temperature", 1.6),))
    assert other.loc[other["baseline"], "temperature"].unique().tolist() == [1.6]
    frame = samples_frame(samples, s)
    assert frame["setting"].tolist()[:1] == ["temperature=0"] and frame["counted"].all()
    assert (frame["reply_chars"] == frame["text"].str.len()).all() and not frame["truncated"].any()


def test_sweep_statistics_use_equal_numbers_of_replies_for_distinct_n(fake_openai, client):
    by_temperature(fake_openai)
    s = spec(axes=(("temperature", (0.0, 1.0)),), samples=3)
    samples = list(run_sweep(client, s))
    samples = [x for x in samples if not (x.values == (("temperature", 0.0),) and x.index == 2)]
    table = statistics(samples, s)
    distinct = table[table["metric"] == "distinct_2"].set_index("temperature")
    assert distinct["n"].tolist() == [2, 2]
    similarity = table[table["metric"] == "similarity"].set_index("temperature")
    assert similarity["n"].tolist() == [2, 3]
    assert statistics([], s).empty


def test_the_noise_floor_of_a_setting_splits_its_fresh_samples_in_two(fake_openai, client):
    lengths_by_temperature(fake_openai, {0.7: 50})
    s = spec(axes=(("temperature", (0.7,)),), samples=20)
    table = a_versus_a(list(run_sweep(client, s)), s)
    tokens = table[table["metric"] == "completion_tokens"]
    assert tokens["group"].tolist() == ["A", "A again"] and tokens["n"].tolist() == [10, 10]
    floor = noise_floor(table).set_index("metric")
    assert floor.loc["completion_tokens", "floor"] > 0


def test_the_cost_of_a_sweep_is_estimated_before_it_runs(fake_openai):
    s = spec(axes=(("max_tokens", (32, 128)),), samples=5, use_n=True)
    estimate = estimate_cost(s)
    assert (estimate.requests, estimate.replies) == (2, 10)
    assert estimate.completion_tokens == 5 * 32 + 5 * 128  # the default guess, capped per setting
    assert estimate.prompt_tokens == 2 * count_message_tokens(messages_for(s))
    assert estimate.usd is not None and estimate.usd_at_most == pytest.approx(estimate.usd)
    assert estimate_cost(spec(samples=2), expected_reply_tokens=10).completion_tokens == 4 * 2 * 10
    assert fake_openai.chat_requests == []
