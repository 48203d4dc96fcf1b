"""Samples on Compare against the loopback fake: k replies per pane stored as choices, n or repeated calls,
the statistics that tell a real difference from noise, concurrency within the limit, Cancel, the cost."""

from __future__ import annotations

import io
import random
import threading
import time
from collections import Counter, defaultdict

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from chatlab.client import ChatClient
from chatlab.compare import PaneSpec, create_comparison, send_to_panes
from chatlab.events import StreamDone, TextDelta
from chatlab.params import PARAM_NAMES, GenerationParams
from chatlab.samples import (
    SAMPLE_COLUMNS,
    a_versus_a,
    estimate_samples,
    export_files,
    pick_sample,
    retry_samples,
    sample_batches,
    samples_frame,
    send_samples,
    statistics,
)
from chatlab.stats import RESAMPLES, SEED, noise_floor, verdicts
from chatlab.store import COMPLETE, STOPPED, Store
from chatlab.sweep.table import csv_bytes
from chatlab.turn import TurnSettings
from tests.fake_openai import FakeOpenAI, RecordedRequest, Reply

MODEL = "gpt-4o-mini"


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "samples.sqlite3")
    yield store
    store.close()


@pytest.fixture
def client(fake_endpoint):
    client = ChatClient(fake_endpoint)
    yield client
    client.close()


def pane(label: str, system: str, **params) -> PaneSpec:
    return PaneSpec(
        TurnSettings(model=MODEL, system_prompt=system, params=GenerationParams(**params)), label=label
    )


def system_of(request: RecordedRequest) -> str:
    return request.body["messages"][0]["content"]


def random_lengths(fake: FakeOpenAI, mean_words: dict[str, float], sd: float = 12.0, seed: int = 11) -> None:
    """Replies of a random number of words (normal around mean_words[system prompt]); usage counts them.

    One random stream per system prompt, so each pane's set of lengths is the same whatever order the
    concurrent requests arrive in."""
    lock = threading.Lock()
    draws = {system: random.Random(seed + i) for i, system in enumerate(sorted(mean_words))}

    def respond(request: RecordedRequest) -> Reply:
        system = system_of(request)
        with lock:
            words = max(1, round(draws[system].gauss(mean_words[system], sd)))
        return Reply(text=" ".join(["word"] * words), usage_values=(9, words), chunk_chars=64)

    fake.script_fn(respond)


def run(events) -> dict[tuple[int, int], list]:
    """Every event by (pane, sample)."""
    out = defaultdict(list)
    for tagged in events:
        out[tagged.index, tagged.sample].append(tagged.event)
    return out


# ---- the Done-when statistics ------------------------------------------------------------------------


def test_twenty_samples_per_pane_find_the_true_difference_between_two_role_prompts(
    store, client, fake_openai
):
    brief, verbose = "Answer briefly.", "Answer at length."
    random_lengths(fake_openai, {brief: 60, verbose: 100})  # the true difference: +40 tokens
    panes = [pane("Brief", brief), pane("Verbose", verbose)]
    cid = create_comparison(store, panes)
    events = run(
        send_samples(store, [client, client], cid, panes, "Describe the sea.", samples=20, max_workers=8)
    )
    assert len(events) == 40 and all(isinstance(e[-1], StreamDone) for e in events.values())

    table = statistics(store, cid)
    row = table[(table["metric"] == "completion_tokens") & (table["pane"] == 1)].iloc[0]
    assert row["n"] == 20 and row["diff_ci_low"] <= 40 <= row["diff_ci_high"]
    assert row["p_holm"] < 0.05
    said = verdicts(table)[row.name]
    assert said.startswith("longer: +") and "tokens [" in said and "(Holm)" in said

    # The per-statistic CSV agrees with SciPy run on the per-sample CSV.
    per_sample = pd.read_csv(io.BytesIO(csv_bytes(samples_frame(store, cid))), encoding="utf-8-sig")
    per_stat = pd.read_csv(io.BytesIO(csv_bytes(table)), encoding="utf-8-sig")
    x = per_sample.loc[per_sample["pane"] == 1, "completion_tokens"].to_numpy(float)
    y = per_sample.loc[per_sample["pane"] == 0, "completion_tokens"].to_numpy(float)
    stat = per_stat[(per_stat["metric"] == "completion_tokens") & (per_stat["pane"] == 1)].iloc[0]
    diff = lambda a, b, axis=-1: np.mean(a, axis=axis) - np.mean(b, axis=axis)  # noqa: E731
    ci = sps.bootstrap(
        (x, y), diff, n_resamples=RESAMPLES, rng=np.random.default_rng(SEED)
    ).confidence_interval
    p = sps.permutation_test((x, y), diff, n_resamples=RESAMPLES, rng=np.random.default_rng(SEED)).pvalue
    assert (stat["diff_ci_low"], stat["diff_ci_high"], stat["p_value"]) == pytest.approx((ci.low, ci.high, p))


def test_two_identical_panes_show_no_detectable_difference(store, client, fake_openai):
    system = "Answer briefly."
    random_lengths(fake_openai, {system: 60})
    panes = [pane("Brief", system), pane("Brief", system)]
    cid = create_comparison(store, panes)
    # One request at a time: the draws go to the panes in a fixed order, so the run is the same every time.
    run(send_samples(store, [client, client], cid, panes, "Describe the sea.", samples=20, max_workers=1))

    table = statistics(store, cid)
    assert list(table["group"].unique()) == ["Brief #1", "Brief #2"]
    said = dict(zip(table["metric"] + "/" + table["group"], verdicts(table), strict=True))
    assert said["completion_tokens/Brief #2"].startswith("no detectable difference with 20 samples each (")
    assert said["reply_chars/Brief #2"].startswith("no detectable difference with 20 samples each (")


# ---- how samples are stored and sent ------------------------------------------------------------------


def test_samples_are_choices_of_the_turn_and_the_thread_goes_on_from_the_picked_one(
    store, client, fake_openai
):
    counter = Counter()
    lock = threading.Lock()

    def respond(request):
        with lock:
            counter[system_of(request)] += 1
            k = counter[system_of(request)]
        return Reply(text=f"{system_of(request)} reply {k}")

    fake_openai.script_fn(respond)
    panes = [pane("A", "You are A.", temperature=0.9), pane("B", "You are B.")]
    cid = create_comparison(store, panes)
    events = run(send_samples(store, [client, client], cid, panes, "Hello", samples=3))
    assert sorted(events) == [(p, k) for p in range(2) for k in range(3)]
    deltas = [(k, e.choice) for (_, k), evs in events.items() for e in evs if isinstance(e, TextDelta)]
    assert deltas and all(k == choice for k, choice in deltas)
    assert len(fake_openai.chat_requests) == 6 and all("n" not in r.body for r in fake_openai.chat_requests)

    conversation = store.comparison_panes(cid)[0]
    replies = [m for m in store.messages(conversation.id) if m.role == "assistant"]
    assert sorted(m.choice_index for m in replies) == [0, 1, 2]
    assert {m.turn for m in replies} == {1} and all(m.status == COMPLETE for m in replies)
    assert all(m.request and m.prompt_tokens and m.params == {"temperature": 0.9} for m in replies)
    texts = {m.choice_index: m.content for m in replies}

    pick_sample(store, conversation.id, 1, 2)
    run(send_to_panes(store, [client, client], cid, panes, "And then?"))
    history = [
        r.body["messages"]
        for r in fake_openai.chat_requests
        if r.body["messages"][-1]["content"] == "And then?"
    ]
    sent = next(h for h in history if h[0]["content"] == "You are A.")
    assert sent[2] == {"role": "assistant", "content": texts[2]}  # the picked sample, now choice 0
    with pytest.raises(ValueError, match="no sample 7"):
        pick_sample(store, conversation.id, 1, 7)


def test_n_asks_for_several_samples_per_request(store, client, fake_openai):
    panes = [pane("A", "You are A."), pane("B", "You are B.")]
    cid = create_comparison(store, panes)
    run(send_samples(store, [client, client], cid, panes, "Hello", samples=10, use_n=True))
    assert sorted(r.body["n"] for r in fake_openai.chat_requests) == [2, 2, 8, 8]
    frame = samples_frame(store, cid)
    assert list(frame.columns) == list(SAMPLE_COLUMNS) and set(PARAM_NAMES) <= set(frame.columns)
    assert frame.groupby("pane")["sample"].apply(list).tolist() == [list(range(10))] * 2
    assert frame["usage_estimated"].all() and frame["counted"].all()
    assert set(frame["n"]) == {8, 2}
    assert frame["duration_s"].notna().all()  # the request's timings, shared by its samples
    assert frame["cost_usd"].notna().sum() == 4  # one per request


def test_an_endpoint_that_ignores_n_gets_the_missing_samples_one_by_one(store, client, fake_openai):
    fake_openai.default = Reply(text="only one choice", ignore_n=True)
    panes = [pane("A", "You are A.")]
    cid = create_comparison(store, panes)
    events = run(send_samples(store, [client], cid, panes, "Hello", samples=4, use_n=True))
    assert [r.body.get("n") for r in fake_openai.chat_requests] == [4, None, None, None]
    assert sorted(events) == [(0, 0), (0, 1), (0, 2), (0, 3)]
    frame = samples_frame(store, cid)
    assert frame["sample"].tolist() == [0, 1, 2, 3] and frame["counted"].all()


def test_a_pane_whose_samples_all_failed_is_sampled_again_alone(store, client, fake_openai):
    panes = [pane("A", "You are A."), pane("B", "You are B.")]
    cid = create_comparison(store, panes)
    fake_openai.script_fn(lambda r: Reply(status=500) if system_of(r) == "You are B." else None)
    run(send_samples(store, [client, client], cid, panes, "Hello", samples=5))
    frame = samples_frame(store, cid)
    assert not frame.loc[frame["pane"] == 1, "counted"].any()
    fake_openai.script_fn(None)
    sent = len(fake_openai.chat_requests)
    events = run(retry_samples(store, [client, client], cid, panes, 1, 1, samples=5, max_workers=2))
    assert sorted(events) == [(1, s) for s in range(5)]
    assert len(fake_openai.chat_requests) == sent + 5
    assert {system_of(r) for r in fake_openai.chat_requests[sent:]} == {"You are B."}
    frame = samples_frame(store, cid)
    assert (
        frame["counted"].all()
        and frame.groupby("pane")["sample"].apply(list).tolist() == [list(range(5))] * 2
    )
    [user] = [m for m in store.messages(store.comparison_panes(cid)[1].id) if m.role == "user"]
    assert user.content == "Hello"  # the same turn, sent again


def test_arguments_are_checked_before_anything_is_stored(store, client):
    panes = [pane("A", "You are A.")]
    cid = create_comparison(store, panes)
    for samples in (0, 21, 2.5):
        with pytest.raises(ValueError, match="samples must be"):
            send_samples(store, [client], cid, panes, "Hello", samples=samples)
    with pytest.raises(ValueError, match="empty"):
        send_samples(store, [client], cid, panes, "  ", samples=2)
    with pytest.raises(ValueError, match="1 panes"):
        send_samples(store, [client, client], cid, panes * 2, "Hello", samples=2)
    assert store.messages(store.comparison_panes(cid)[0].id) == []
    assert sample_batches(20, True) == [(0, 8), (8, 8), (16, 4)]


# ---- concurrency, progress and Cancel ------------------------------------------------------------------


class Gate:
    """Holds every reply until the test lets it go; counts arrivals and releases under one lock.

    Once opened, replies go through at once (a request that arrives after the test let everything go)."""

    def __init__(self, fake: FakeOpenAI):
        self.lock = threading.Lock()
        self.holds: list[threading.Event] = []
        self.released = 0
        self.peak = 0
        self.opened = False
        fake.script_fn(self.respond)

    def respond(self, request):
        hold = threading.Event()
        with self.lock:
            if self.opened:
                hold.set()
            self.holds.append(hold)
            self.peak = max(self.peak, len(self.holds) - self.released)
            number = len(self.holds)
        return Reply(text=f"reply {number} " * 5, hold=hold, chunk_chars=4)

    def in_flight(self) -> int:
        with self.lock:
            return len(self.holds) - self.released

    def release(self, count: int | None = None) -> None:
        """Let the oldest `count` held replies go (all when None)."""
        with self.lock:
            end = len(self.holds) if count is None else self.released + count
            for hold in self.holds[self.released : end]:
                hold.set()
            self.released = max(self.released, min(end, len(self.holds)))

    def open(self) -> None:
        with self.lock:
            self.opened = True
        self.release()


def wait_until(condition, timeout: float = 10.0) -> bool:
    """Wait for a condition to hold (checked on each change we cause, with a deadline)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_twenty_samples_on_eight_panes_run_within_the_limit(store, client, fake_openai):
    gate = Gate(fake_openai)
    panes = [pane(f"P{i}", f"You are pane {i}.") for i in range(8)]
    cid = create_comparison(store, panes)
    limit = 6
    done = []
    stop = threading.Event()

    def releaser():
        # Each time the pool has filled the limit, let those replies finish; the pool then starts more.
        while not stop.is_set() and len(done) < 160:
            if wait_until(lambda: gate.in_flight() == min(limit, 160 - gate.released) or stop.is_set(), 30):
                gate.release()

    thread = threading.Thread(target=releaser, daemon=True)
    thread.start()
    try:
        for tagged in send_samples(store, [client] * 8, cid, panes, "Hello", samples=20, max_workers=limit):
            if isinstance(tagged.event, StreamDone):
                done.append((tagged.index, tagged.sample))  # progress: one per request
    finally:
        stop.set()
        thread.join(5)
    assert len(done) == 160 == len(set(done)) == len(fake_openai.chat_requests)
    assert gate.peak == limit
    frame = samples_frame(store, cid)
    assert len(frame) == 160 and frame["counted"].all()


def test_cancel_keeps_finished_samples_and_stops_the_rest(store, client, fake_openai):
    gate = Gate(fake_openai)
    panes = [pane("A", "You are A."), pane("B", "You are B.")]
    cid = create_comparison(store, panes)
    cancel = threading.Event()
    finished = []

    def let_two_finish():
        if wait_until(lambda: gate.in_flight() == 3):
            gate.release(2)

    helper = threading.Thread(target=let_two_finish, daemon=True)
    helper.start()
    for tagged in send_samples(
        store, [client, client], cid, panes, "Hello", samples=10, max_workers=3, cancel=cancel
    ):
        if isinstance(tagged.event, StreamDone):
            assert tagged.event.error is None
            finished.append((tagged.index, tagged.sample))
            if len(finished) == 2:
                cancel.set()
                gate.open()  # the running replies now stream: each sees the cancel and stops
    helper.join(5)
    sent = len(fake_openai.chat_requests)
    assert len(finished) == 2 and sent <= 3 + 2  # no request started after the cancel

    assert wait_until(lambda: set(samples_frame(store, cid)["status"]) <= {COMPLETE, STOPPED})
    frame = samples_frame(store, cid)
    counted = frame[frame["counted"]]
    assert sorted(zip(counted["pane"], counted["sample"], strict=True)) == sorted(finished)
    assert (frame.loc[~frame["counted"], "status"] == STOPPED).all()
    assert len(frame) == sent  # a row per request that left, none for the samples never sent
    table = statistics(store, cid)
    assert table.loc[table["metric"] == "completion_tokens", "n"].sum() == 2


# ---- the cost before a run ------------------------------------------------------------------------------


def test_the_cost_of_a_run_is_estimated_before_it_starts(store, client, fake_openai):
    panes = [pane("A", "You are A.", max_tokens=100), pane("B", "You are B.", max_tokens=100)]
    cid = create_comparison(store, panes)
    estimate = estimate_samples(store, cid, panes, "Describe the sea.", samples=5)
    assert (estimate.requests, estimate.replies) == (10, 10)
    assert estimate.completion_tokens == 10 * 100  # no replies seen yet: the default, capped at max_tokens
    assert estimate.usd is not None and estimate.usd_at_most == pytest.approx(estimate.usd)
    assert "10 requests, 10 replies" in estimate.describe() and "$" in estimate.describe()
    with_n = estimate_samples(store, cid, panes, "Describe the sea.", samples=5, use_n=True)
    assert with_n.requests == 2 and with_n.prompt_tokens == estimate.prompt_tokens // 5
    assert fake_openai.chat_requests == []  # estimating sends nothing

    fake_openai.default = Reply(text="short", usage_values=(9, 20))
    run(send_samples(store, [client, client], cid, panes, "Hello", samples=2))
    after = estimate_samples(store, cid, panes, "Describe the sea.", samples=5)
    assert after.completion_tokens == 10 * 20 and not after.assumed_default  # as long as the replies seen

    unknown = [PaneSpec(TurnSettings(model="mystery-model"), label="M")]
    other = create_comparison(store, unknown)
    guess = estimate_samples(store, other, unknown, "Hi", samples=3)
    assert guess.usd is None and guess.unpriced == ("mystery-model",) and "cost unknown" in guess.describe()


def test_a_noise_floor_run_compares_the_baseline_with_a_fresh_copy(store, client, fake_openai):
    system = "Answer briefly."
    random_lengths(fake_openai, {system: 60})
    panes = a_versus_a(pane("Brief", system))
    assert [p.label for p in panes] == ["Brief", "Brief (again)"] and panes[0].settings == panes[1].settings
    cid = create_comparison(store, panes)
    run(send_samples(store, [client, client], cid, panes, "Describe the sea.", samples=10, max_workers=1))
    floor = noise_floor(statistics(store, cid)).set_index("metric")
    assert floor.loc["completion_tokens", "n_a"] == 10 and floor.loc["completion_tokens", "floor"] > 0
    assert "by chance alone" in floor.loc["completion_tokens", "summary"]
    files = export_files(store, cid)
    assert sorted(files) == [
        f"comparison-{cid}-turn-1-samples.csv",
        f"comparison-{cid}-turn-1-statistics.csv",
    ]
    assert files[f"comparison-{cid}-turn-1-samples.csv"].startswith(b"\xef\xbb\xbf")


def test_a_cancel_stops_samples_whose_server_has_gone_silent_now(store, client, fake_openai):
    """Samples too: the requests blocked on a silent server are dropped at once and kept as 'stopped'."""
    never = threading.Event()
    fake_openai.default = Reply(text="first words, then silence", chunk_chars=6, hold=never, hold_after=2)
    panes = [pane("A", "You are A."), pane("B", "You are B.")]
    cid = create_comparison(store, panes)
    cancel = threading.Event()
    texts = 0
    try:
        for tagged in send_samples(store, [client, client], cid, panes, "Hi", samples=2, cancel=cancel):
            texts += type(tagged.event).__name__ == "TextDelta"
            if texts == 2 * 4:  # two pieces from each of the four requests
                cancel.set()
        replies = [
            m for c in store.comparison_panes(cid) for m in store.messages(c.id) if m.role == "assistant"
        ]
        assert sorted((r.status, r.content) for r in replies) == [(STOPPED, "first words,")] * 4
    finally:
        never.set()
