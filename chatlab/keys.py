"""A thread-safe pool of API keys: round robin per request, with rests for rate limits and failover.

    pool = KeyPool(["sk-a…", "sk-b…"])
    key = pool.acquire()                      # the next usable key, or NoUsableKey
    pool.report_success(key, 120, 40)         # or report_rate_limited / report_auth_failure / report_error
    pool.stats()                              # per key, keys masked to their last 4 characters

- A 429 makes a key rest for the server's retry-after, or else `default_rest_s` doubling with each
  consecutive 429 on that key (capped at `max_rest_s`); a success resets the doubling.
- A 401/403 disables a key for the life of the pool (the process): it is never handed out again.
- Other errors are counted; the key stays usable.
- A pool of a single key never withholds it: there is no other key to send instead, so the server stays
  the judge and a user's Retry reaches it. Its 429s and 401/403s are counted, nothing more.

Full keys never leave this object: stats, notices, messages and repr name a key by `mask_key` only,
and `redact()` scrubs any full key from text that came from elsewhere (a server's error message).
Everything is under one lock: the compare page calls it from many threads at once.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chatlab.endpoint import mask_key

DEFAULT_REST_S = 20.0
MAX_REST_S = 300.0
MAX_NOTICES = 200  # kept for consumers that read late; older ones are dropped
MAX_MESSAGE_CHARS = 300  # server messages kept in stats and notices are cut to this

READY = "ready"


class NoUsableKey(Exception):
    """Every key is resting or disabled. `retry_after`: seconds until the first resting key is back
    (None when every key is disabled)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class KeyStats:
    """One key's counters, for display. `errors` counts every failed request, 429s and 401/403s
    included; `rate_limited` is the 429 part of it."""

    masked: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    errors: int
    rate_limited: int
    last_error: str | None
    state: str  # "ready" | "resting 12 s" | "disabled: invalid key" | "disabled: permission denied"
    index: int = 0  # position in the pool (two keys may share their last 4 characters)


class _Key:
    """Mutable per-key state; only touched under the pool's lock. No repr: it holds the key."""

    __slots__ = (
        "key",
        "masked",
        "requests",
        "prompt_tokens",
        "completion_tokens",
        "errors",
        "rate_limited",
        "consecutive_429",
        "rest_until",
        "disabled",
        "last_error",
    )

    def __init__(self, key: str):
        self.key = key
        self.masked = mask_key(key)
        self.requests = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.errors = 0
        self.rate_limited = 0
        self.consecutive_429 = 0
        self.rest_until: float | None = None
        self.disabled: str | None = None  # the reason ("invalid key") once disabled
        self.last_error: str | None = None

    def __repr__(self) -> str:
        return f"<key {self.masked}>"


def seconds_text(value: float) -> str:
    """A rest for a person: whole seconds, rounded up (never "0 s" while still resting), 86,400 not 8.64e+04."""
    return f"{max(0, math.ceil(value - 1e-9)):,} s"


def _disabled_reason(status: int | None) -> str:
    if status == 401:
        return "invalid key"
    if status == 403:
        return "permission denied"
    return f"rejected ({status})" if status else "rejected"


class KeyPool:
    """Round-robin API keys with rests (429), permanent disabling (401/403) and per-key statistics."""

    def __init__(
        self,
        keys: Sequence[str],
        *,
        clock: Callable[[], float] = time.monotonic,
        default_rest_s: float = DEFAULT_REST_S,
        max_rest_s: float = MAX_REST_S,
    ):
        unique = list(dict.fromkeys(k for k in keys if k))  # a key given twice is one key
        if not unique:
            raise ValueError("A key pool needs at least one key.")
        self._keys = [_Key(k) for k in unique]
        self._by_key = {k.key: k for k in self._keys}
        self._longest_first = sorted(self._keys, key=lambda k: -len(k.key))  # for redact()
        self._clock = clock
        self.default_rest_s = float(default_rest_s)
        self.max_rest_s = float(max_rest_s)
        self._gates = len(self._keys) > 1  # rest and disable keys (not with a single key: see above)
        self._cursor = 0
        self._lock = threading.Lock()
        self._notices: deque[tuple[int, str]] = deque(maxlen=MAX_NOTICES)
        self._notice_seq = 0  # sequence number of the latest notice
        self._drained = 0  # drain_notices() has returned notices up to this number

    # ---- handing out keys -----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def masked_keys(self) -> tuple[str, ...]:
        return tuple(k.masked for k in self._keys)

    def acquire(self, *, count: bool = True) -> str:
        """The next usable key in round-robin order, skipping resting and disabled keys.

        `count`: a chat request; moves the rotation on and counts it in the key's statistics. False is for
        side requests such as listing models, which must not shift whose turn the next chat request is.
        Raises NoUsableKey, with a message that names every key's state, when none is usable.
        """
        with self._lock:
            now = self._clock()
            n = len(self._keys)
            for step in range(n):
                index = (self._cursor + step) % n
                entry = self._keys[index]
                if self._usable(entry, now):
                    if count:
                        self._cursor = (index + 1) % n
                        entry.requests += 1
                    return entry.key
            raise self._no_usable_key(now)

    def available(self) -> int:
        """How many keys are usable right now."""
        with self._lock:
            now = self._clock()
            return sum(self._usable(k, now) for k in self._keys)

    def is_usable(self, key: str) -> bool:
        with self._lock:
            return self._usable(self._entry(key), self._clock())

    # ---- outcomes -------------------------------------------------------------------------------

    def report_success(self, key: str, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        """The request worked: add its tokens and reset the 429 back-off (a current rest stays)."""
        with self._lock:
            entry = self._entry(key)
            entry.prompt_tokens += max(0, int(prompt_tokens or 0))
            entry.completion_tokens += max(0, int(completion_tokens or 0))
            entry.consecutive_429 = 0

    def report_rate_limited(self, key: str, retry_after: float | None = None) -> float:
        """A 429: the key rests for `retry_after` seconds, or else an exponential back-off.

        Returns the rest in seconds from now (0 in a single-key pool, which never rests its key).
        A 429 that arrives while the key already rests came from a request sent before the rest began
        (a resting key is not handed out): it neither doubles the back-off nor shortens the rest; only
        the server's own retry-after may lengthen it.
        """
        with self._lock:
            entry = self._entry(key)
            now = self._clock()
            already_resting = entry.rest_until is not None and entry.rest_until > now
            entry.errors += 1
            entry.rate_limited += 1
            if not self._gates:
                entry.last_error = "Rate limited (429)."
                return 0.0
            if retry_after is not None and retry_after >= 0:
                if not already_resting:
                    entry.consecutive_429 += 1
                until = now + float(retry_after)
            elif already_resting:
                until = now  # a stale 429 (sent before this rest began): the current rest stands
            else:
                entry.consecutive_429 += 1
                doublings = min(entry.consecutive_429 - 1, 32)
                until = now + min(self.default_rest_s * 2.0**doublings, self.max_rest_s)
            if entry.rest_until is None or until > entry.rest_until:
                entry.rest_until = until
            rest = entry.rest_until - now
            entry.last_error = f"Rate limited (429); resting {seconds_text(rest)}."
            if not already_resting and entry.disabled is None:
                self._notice(f"Key {entry.masked} is rate limited; resting {seconds_text(rest)}.")
            return rest

    def report_auth_failure(self, key: str, status: int | None, message: str | None = None) -> None:
        """A 401/403: the key is disabled for the life of this pool (unless it is the pool's only key)."""
        with self._lock:
            entry = self._entry(key)
            entry.errors += 1
            text = self._clean(message) or f"status {status}"
            entry.last_error = text
            if entry.disabled is None and self._gates:
                entry.disabled = _disabled_reason(status)
                self._notice(f"Key {entry.masked} was disabled ({entry.disabled}): {text}")

    def report_error(self, key: str, message: str | None = None) -> None:
        """Any other failure: counted and remembered; the key stays usable."""
        with self._lock:
            entry = self._entry(key)
            entry.errors += 1
            entry.last_error = self._clean(message) or "error"

    # ---- reading --------------------------------------------------------------------------------

    def stats(self) -> list[KeyStats]:
        """Per key, in pool order, keys masked to their last 4 characters."""
        with self._lock:
            now = self._clock()
            return [
                KeyStats(
                    masked=k.masked,
                    requests=k.requests,
                    prompt_tokens=k.prompt_tokens,
                    completion_tokens=k.completion_tokens,
                    errors=k.errors,
                    rate_limited=k.rate_limited,
                    last_error=k.last_error,
                    state=self._state(k, now),
                    index=i,
                )
                for i, k in enumerate(self._keys)
            ]

    def drain_notices(self) -> list[str]:
        """Notices ("Key …abcd was disabled (invalid key): …") added since the previous call.

        For one consumer. With several (one per browser tab), use `notices_since` with a cursor each.
        """
        with self._lock:
            new = [text for seq, text in self._notices if seq > self._drained]
            self._drained = self._notice_seq
            return new

    def notices_since(self, seq: int = 0) -> tuple[list[str], int]:
        """Notices newer than `seq`, and the cursor to pass next time. Does not affect drain_notices."""
        with self._lock:
            return [text for s, text in self._notices if s > seq], self._notice_seq

    def redact(self, text: str | None) -> str | None:
        """`text` with every full key of this pool replaced by its masked form."""
        if not text:
            return text
        for entry in self._longest_first:  # fixed after __init__: no lock needed
            if entry.key in text:
                text = text.replace(entry.key, entry.masked)
        return text

    def describe(self) -> str:
        """One line per pool for a person: every key's state."""
        with self._lock:
            now = self._clock()
            return ", ".join(f"{k.masked} {self._state(k, now)}" for k in self._keys)

    def __repr__(self) -> str:
        return f"KeyPool({len(self._keys)} keys: {self.describe()})"

    # ---- internals (call with the lock held) ----------------------------------------------------

    def _entry(self, key: str) -> _Key:
        entry = self._by_key.get(key)
        if entry is None:
            raise ValueError(f"Key {mask_key(key)} is not in this pool.")
        return entry

    @staticmethod
    def _usable(entry: _Key, now: float) -> bool:
        return entry.disabled is None and (entry.rest_until is None or entry.rest_until <= now)

    @staticmethod
    def _state(entry: _Key, now: float) -> str:
        if entry.disabled is not None:
            return f"disabled: {entry.disabled}"
        if entry.rest_until is not None and entry.rest_until > now:
            return f"resting {seconds_text(entry.rest_until - now)}"
        return READY

    def _no_usable_key(self, now: float) -> NoUsableKey:
        parts = []
        waits = []
        for k in self._keys:
            if k.disabled is not None:
                parts.append(f"{k.masked} disabled ({k.disabled})")
            else:  # not usable and not disabled: resting
                wait = (k.rest_until or now) - now
                waits.append(wait)
                parts.append(f"{k.masked} resting for {seconds_text(wait)} (rate limited)")
        n = len(self._keys)
        head = f"All {n} API keys are unusable"
        return NoUsableKey(f"{head}: {', '.join(parts)}.", retry_after=min(waits) if waits else None)

    def _clean(self, message: str | None) -> str | None:
        text = " ".join((message or "").split())
        text = self.redact(text)
        if text and len(text) > MAX_MESSAGE_CHARS:
            text = text[: MAX_MESSAGE_CHARS - 1] + "…"
        return text or None

    def _notice(self, text: str) -> None:
        self._notice_seq += 1
        self._notices.append((self._notice_seq, text))
