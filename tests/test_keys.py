"""The key pool on its own: round robin, rests, disabling, statistics, notices, threads, no leaks."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from chatlab.keys import KeyPool, KeyStats, NoUsableKey

K1, K2, K3 = "sk-one-aaaa-1111", "sk-two-bbbb-2222", "sk-three-cccc-3333"
CANARY = "sk-CANARY-SECRET-0000-abcd"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0):
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def pool_of(clock: FakeClock, *keys: str, **kwargs) -> KeyPool:
    return KeyPool(keys or (K1, K2, K3), clock=clock, **kwargs)


def stats_by_mask(pool: KeyPool) -> dict[str, KeyStats]:
    return {s.masked: s for s in pool.stats()}


# ---- rotation -------------------------------------------------------------------------------------


def test_round_robin_in_order(clock):
    pool = pool_of(clock)
    assert [pool.acquire() for _ in range(7)] == [K1, K2, K3, K1, K2, K3, K1]
    assert [s.requests for s in pool.stats()] == [3, 2, 2]


def test_a_side_request_neither_counts_nor_takes_a_chat_turn(clock):
    pool = pool_of(clock)
    assert pool.acquire(count=False) == K1
    assert pool.acquire() == K1  # listing models did not move the rotation on
    assert pool.acquire() == K2
    assert [s.requests for s in pool.stats()] == [1, 1, 0]


def test_duplicate_and_empty_keys(clock):
    pool = KeyPool([K1, "", K1, K2], clock=clock)
    assert len(pool) == 2
    assert [pool.acquire() for _ in range(3)] == [K1, K2, K1]
    with pytest.raises(ValueError):
        KeyPool([], clock=clock)


def test_unknown_key_is_refused_without_showing_it(clock):
    pool = pool_of(clock)
    with pytest.raises(ValueError) as info:
        pool.report_error("sk-not-in-pool-9876", "boom")
    assert "…9876" in str(info.value)
    assert "not-in-pool" not in str(info.value)


# ---- rate limits ----------------------------------------------------------------------------------


def test_rate_limited_key_rests_for_retry_after_then_returns(clock):
    pool = pool_of(clock)
    assert pool.acquire() == K1
    assert pool.report_rate_limited(K1, 30) == 30
    assert [pool.acquire() for _ in range(4)] == [K2, K3, K2, K3]
    assert stats_by_mask(pool)["…1111"].state == "resting 30 s"

    clock.advance(29.5)
    assert stats_by_mask(pool)["…1111"].state == "resting 1 s"  # rounded up, never "0 s" while resting
    assert pool.acquire() == K2
    clock.advance(0.5)
    assert stats_by_mask(pool)["…1111"].state == "ready"
    assert pool.acquire() == K3  # the round robin goes on from where it was
    assert pool.acquire() == K1


def test_back_off_doubles_per_consecutive_429_capped_and_resets_on_success(clock):
    pool = pool_of(clock, K1, K2, default_rest_s=20)
    rests = []
    for _ in range(6):
        rests.append(pool.report_rate_limited(K1, None))
        clock.advance(rests[-1])  # the rest is over before the next 429
    assert rests == [20, 40, 80, 160, 300, 300]

    pool.report_success(K1, 1, 1)
    assert pool.report_rate_limited(K1) == 20
    s = pool.stats()[0]
    assert (s.rate_limited, s.errors) == (7, 7)
    assert s.last_error == "Rate limited (429); resting 20 s."


def test_retry_after_wins_over_back_off(clock):
    pool = pool_of(clock, K1, K2)
    assert pool.report_rate_limited(K1, 2.5) == 2.5
    assert pool.stats()[0].state == "resting 3 s"
    clock.advance(2.5)
    assert [pool.acquire() for _ in range(2)] == [K1, K2]


def test_a_second_429_during_the_rest_does_not_double_again(clock):
    # Two requests sent with the same key at once both come back 429: one rate limit, not two.
    pool = pool_of(clock, K1, K2, default_rest_s=20)
    assert pool.report_rate_limited(K1) == 20
    clock.advance(5)
    assert pool.report_rate_limited(K1) == 15  # the same rest, not 40 s from now
    clock.advance(15)
    assert pool.report_rate_limited(K1) == 40  # a new rest after the first ended: doubled once
    assert pool.stats()[0].rate_limited == 3
    assert pool.drain_notices() == [
        "Key …1111 is rate limited; resting 20 s.",
        "Key …1111 is rate limited; resting 40 s.",
    ]


def test_a_stale_429_with_a_longer_retry_after_lengthens_the_rest(clock):
    pool = pool_of(clock, K1, K2)
    assert pool.report_rate_limited(K1, 10) == 10
    assert pool.report_rate_limited(K1, 5) == 10  # never shortened
    assert pool.report_rate_limited(K1, 60) == 60  # the server's word: lengthened
    assert pool.stats()[0].state == "resting 60 s"
    assert len(pool.drain_notices()) == 1


# ---- disabling and other errors -------------------------------------------------------------------


def test_auth_failure_disables_for_good(clock):
    pool = pool_of(clock)
    pool.report_auth_failure(K2, 401, "Incorrect API key provided.")
    pool.report_auth_failure(K3, 403, "Missing scopes: model.request")
    clock.advance(10_000)
    assert [pool.acquire() for _ in range(3)] == [K1, K1, K1]
    by_mask = stats_by_mask(pool)
    assert by_mask["…2222"].state == "disabled: invalid key"
    assert by_mask["…3333"].state == "disabled: permission denied"
    assert by_mask["…2222"].last_error == "Incorrect API key provided."
    assert by_mask["…2222"].errors == 1
    assert pool.available() == 1
    assert not pool.is_usable(K2)


def test_other_errors_are_counted_and_the_key_stays_usable(clock):
    pool = pool_of(clock, K1)
    pool.report_error(K1, "The server failed (500).")
    s = pool.stats()[0]
    assert (s.errors, s.rate_limited, s.last_error, s.state) == (1, 0, "The server failed (500).", "ready")
    assert pool.acquire() == K1


def test_success_adds_tokens(clock):
    pool = pool_of(clock, K1)
    pool.acquire()
    pool.report_success(K1, 120, 40)
    pool.acquire()
    pool.report_success(K1, 10, 5)
    s = pool.stats()[0]
    assert s == KeyStats(
        masked="…1111",
        requests=2,
        prompt_tokens=130,
        completion_tokens=45,
        errors=0,
        rate_limited=0,
        last_error=None,
        state="ready",
        index=0,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.requests = 3  # type: ignore[misc]


# ---- no usable key --------------------------------------------------------------------------------


def test_no_usable_key_names_every_key_and_the_first_return(clock):
    pool = KeyPool(["sk-a-1234", "sk-b-abcd", "sk-c-wxyz"], clock=clock)
    pool.report_auth_failure("sk-a-1234", 401, "Incorrect API key")
    pool.report_rate_limited("sk-b-abcd", 12)
    pool.report_rate_limited("sk-c-wxyz", 40)
    with pytest.raises(NoUsableKey) as info:
        pool.acquire()
    assert str(info.value) == (
        "All 3 API keys are unusable: …1234 disabled (invalid key), …abcd resting for 12 s (rate limited), "
        "…wxyz resting for 40 s (rate limited)."
    )
    assert info.value.retry_after == 12
    assert [s.requests for s in pool.stats()] == [0, 0, 0]

    clock.advance(12)
    assert pool.acquire() == "sk-b-abcd"


def test_no_usable_key_when_all_disabled_has_no_retry_after(clock):
    pool = pool_of(clock, K1, K2)
    pool.report_auth_failure(K1, 401, "nope")
    pool.report_auth_failure(K2, 403, "nope")
    with pytest.raises(NoUsableKey) as info:
        pool.acquire()
    assert str(info.value) == (
        "All 2 API keys are unusable: …1111 disabled (invalid key), …2222 disabled (permission denied)."
    )
    assert info.value.retry_after is None


def test_a_single_key_is_counted_but_never_withheld(clock):
    # Nothing to fail over to: the server stays the judge, and the user's Retry must reach it.
    pool = pool_of(clock, K1)
    assert pool.report_rate_limited(K1, 30) == 0
    pool.report_auth_failure(K1, 401, "Incorrect API key")
    assert [pool.acquire() for _ in range(2)] == [K1, K1]
    s = pool.stats()[0]
    assert (s.requests, s.errors, s.rate_limited, s.state) == (2, 2, 1, "ready")
    assert s.last_error == "Incorrect API key"
    assert pool.drain_notices() == []


# ---- notices --------------------------------------------------------------------------------------


def test_drain_notices_returns_each_notice_once(clock):
    pool = pool_of(clock)
    assert pool.drain_notices() == []
    pool.report_auth_failure(K1, 401, "Incorrect API key")
    pool.report_auth_failure(K1, 401, "Incorrect API key")  # already disabled: no second notice
    pool.report_rate_limited(K2, 20)
    pool.report_error(K3, "timeout")  # ordinary errors make no notice
    assert pool.drain_notices() == [
        "Key …1111 was disabled (invalid key): Incorrect API key",
        "Key …2222 is rate limited; resting 20 s.",
    ]
    assert pool.drain_notices() == []


def test_notices_since_serves_several_readers(clock):
    pool = pool_of(clock)
    pool.report_rate_limited(K1, 5)
    first, cursor = pool.notices_since(0)
    assert first == ["Key …1111 is rate limited; resting 5 s."]
    pool.report_auth_failure(K2, 403, "denied")
    again, cursor2 = pool.notices_since(cursor)
    assert again == ["Key …2222 was disabled (permission denied): denied"]
    assert pool.notices_since(cursor2) == ([], cursor2)
    assert len(pool.drain_notices()) == 2  # independent of the readers' cursors


# ---- secrets --------------------------------------------------------------------------------------


def test_the_full_key_never_leaves_the_pool(clock):
    pool = KeyPool([CANARY, K1], clock=clock)
    # A server that echoes the whole key back in its error message.
    pool.report_auth_failure(CANARY, 401, f"Incorrect API key provided: {CANARY}.")
    pool.report_error(K1, f"weird proxy error mentioning {CANARY}")
    pool.report_rate_limited(K1, 3)
    with pytest.raises(NoUsableKey) as info:
        pool.acquire()

    texts = [repr(pool), str(pool), pool.describe(), str(info.value), repr(info.value)]
    texts += [str(v) for s in pool.stats() for v in dataclasses.astuple(s)]
    texts += [repr(s) for s in pool.stats()]
    texts += pool.notices_since(0)[0]
    texts += [str(pool.masked_keys)]
    for text in texts:
        assert "CANARY-SECRET" not in text, text
    assert "…abcd" in repr(pool)
    assert pool.stats()[0].last_error == "Incorrect API key provided: …abcd."
    assert pool.redact(f"x {CANARY} y {K1}") == "x …abcd y …1111"


def test_redact_masks_the_longer_key_first(clock):
    short, long = "sk-abc-1234", "sk-abc-1234-extra-9999"
    pool = KeyPool([short, long], clock=clock)
    assert pool.redact(f"{long} and {short}") == "…9999 and …1234"


# ---- threads --------------------------------------------------------------------------------------


def test_many_threads_share_one_pool(clock):
    keys = ["sk-dead-0000", "sk-bad-1111", "sk-slow-2222", "sk-good-3333", "sk-good-4444"]
    pool = KeyPool(keys, clock=clock)
    pool.report_auth_failure(keys[0], 401, "invalid")  # disabled before anyone starts
    disabled_mid_run = threading.Event()
    start = threading.Barrier(8)
    problems: list[str] = []
    handed_out: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        try:
            start.wait()
            for i in range(50):
                was_disabled = disabled_mid_run.is_set()
                key = pool.acquire()
                with lock:
                    handed_out.append(key)
                if key == keys[0] or (was_disabled and key == keys[1]):
                    problems.append(f"disabled key handed out: {key[-4:]}")
                if n == 0 and i == 10:
                    pool.report_auth_failure(keys[1], 401, "invalid")
                    disabled_mid_run.set()
                    continue
                if key == keys[2] and i % 7 == 0:
                    pool.report_rate_limited(key, 0.001)
                    clock.advance(0.001)
                elif i % 11 == 0:
                    pool.report_error(key, "flaky")
                else:
                    pool.report_success(key, 3, 2)
                pool.stats()
                pool.drain_notices()
        except Exception as exc:  # noqa: BLE001 - any exception is a failure of the pool
            problems.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads)

    assert problems == []
    stats = pool.stats()
    assert sum(s.requests for s in stats) == 400 == len(handed_out)
    assert stats[0].requests == 0
    assert stats[1].state == "disabled: invalid key"
    for key, s in zip(keys, stats, strict=True):
        assert s.requests == handed_out.count(key)
    # Every report landed: one outcome per iteration (399; the 400th disabled keys[1] instead), plus the
    # two auth failures (keys[0] before the start, keys[1] mid-run).
    successes = sum(s.completion_tokens for s in stats) // 2
    assert sum(s.errors for s in stats) - 2 + successes == 399
    assert sum(s.prompt_tokens for s in stats) == 3 * successes
