"""The determinism meter: the same request K times with a seed and K times without, and what came back.

`seed` is best effort (OpenAI calls it Beta) and system_fingerprint is no reliable build id, so the
meter measures instead of trusting: the share of byte-identical replies, how many different replies,
where the first difference falls (character and token index, the two texts side by side), the
system_fingerprint values seen, and a verdict on whether this endpoint and model honour `seed`.

The K requests without a seed go first, then the K with it. Order matters on llama.cpp: given no seed,
llama-cpp-python seeds a request from the previous request's seed (llama_cpp/llama.py,
_create_completion: `random.Random(self._seed).randint(0, 2**32)`), so an unseeded request right after
a seeded one would repeat itself every time and look deterministic. Token indices count o200k_base tokens (chatlab.tokens): another model's
own tokenizer splits differently, so they place the difference roughly, the character index exactly.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from chatlab.params import GenerationParams
from chatlab.reply import collect_reply
from chatlab.request import Request, build_request
from chatlab.store import CANCELLED, FINISHED, METER, ROW_FIELDS, Store
from chatlab.sweep.pool import run_jobs
from chatlab.sweep.table import typed_frame
from chatlab.tokens import token_ids
from chatlab.turn import title_from

MIN_RUNS, MAX_RUNS = 2, 20
DEFAULT_SEED = 42
SNIPPET_CHARS = 80  # how much of each reply is shown from the first difference on
CONTEXT_CHARS = 40  # and of the text both share, before it


@dataclass(frozen=True)
class MeterSpec:
    """What to send K times: the messages, the model and the current parameters (their `n` and `seed` are
    replaced: one choice per request, and `seed` set or left out by the meter)."""

    model: str
    messages: tuple[dict, ...]
    params: GenerationParams = GenerationParams()
    runs: int = 5
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        if not self.model or not self.model.strip():
            raise ValueError("Choose a model for the determinism meter.")
        if not self.messages or not any(m.get("role") == "user" for m in self.messages):
            raise ValueError("The determinism meter needs a message to send.")
        if (
            isinstance(self.runs, bool)
            or not isinstance(self.runs, int)
            or not MIN_RUNS <= self.runs <= MAX_RUNS
        ):
            raise ValueError(f"Send the request {MIN_RUNS} to {MAX_RUNS} times, not {self.runs!r}.")
        object.__setattr__(self, "messages", tuple(dict(m) for m in self.messages))
        object.__setattr__(self, "params", self.params.replace(n=None, seed=self.seed))

    def request(self, seeded: bool) -> Request:
        """The body sent: the same every time, with or without `seed`."""
        params = self.params if seeded else self.params.without("seed")
        return build_request(self.model, list(self.messages), params)


@dataclass(frozen=True)
class MeterReply:
    """One of the K replies, with or without the seed."""

    seeded: bool
    index: int
    text: str
    finish_reason: str | None
    system_fingerprint: str | None
    error: str | None
    duration_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.finish_reason is not None


@dataclass(frozen=True)
class Divergence:
    """Where two replies first differ: `first` (the most common reply) and `second`, by reply index."""

    first: int
    second: int
    char_index: int
    token_index: int  # o200k_base tokens
    shared: str  # the text both have just before the difference
    first_text: str  # each reply from the difference on (SNIPPET_CHARS at most)
    second_text: str


@dataclass(frozen=True)
class Arm:
    """The replies of one half of the meter (with the seed, or without) summed up."""

    seeded: bool
    replies: int  # whole replies (errors and cut replies are left out)
    errors: int
    identical: int  # replies in the largest group of byte-identical ones
    distinct: int
    fingerprints: tuple[str, ...]  # system_fingerprint values seen, in order ("none" when not sent)
    divergence: Divergence | None

    @property
    def identical_share(self) -> float | None:
        return self.identical / self.replies if self.replies else None


@dataclass(frozen=True)
class MeterReport:
    spec: MeterSpec
    replies: tuple[MeterReply, ...]
    seeded: Arm
    unseeded: Arm
    seed_honoured: bool | None  # None: this run cannot tell
    verdict: str


def run_meter(
    client,
    spec: MeterSpec,
    *,
    max_workers: int = 1,
    cancel: threading.Event | None = None,
    on_reply: Callable[[MeterReply], None] | None = None,
) -> MeterReport:
    """Send the request spec.runs times with the seed and spec.runs times without, at most `max_workers`
    at once (llama.cpp serves one at a time), and report. Cancelling keeps the replies that finished."""
    jobs = [(seeded, i) for seeded in (False, True) for i in range(spec.runs)]  # unseeded first: see above
    requests = {seeded: spec.request(seeded) for seeded in (True, False)}

    def work(job: tuple[bool, int], stop: threading.Event) -> MeterReply | None:
        seeded, index = job
        return _one_reply(client, requests[seeded], seeded, index, stop)

    replies = []
    for (seeded, index), result in run_jobs(jobs, work, max_workers=max_workers, cancel=cancel):
        if isinstance(result, BaseException):
            result = MeterReply(
                seeded, index, "", None, None, f"Unexpected error: {type(result).__name__}: {result}"
            )
        replies.append(result)
        if on_reply is not None:
            on_reply(result)
    return summarize(spec, replies)


def _one_reply(
    client, request: Request, seeded: bool, index: int, stop: threading.Event
) -> MeterReply | None:
    read = collect_reply(client, request, stop)
    if read is None:
        return None
    text, done = read
    if done is None:
        return MeterReply(seeded, index, text, None, None, "The stream ended without a summary.")
    return MeterReply(
        seeded=seeded,
        index=index,
        text=text,
        finish_reason=done.finish_reasons.get(0),
        system_fingerprint=done.system_fingerprint,
        error=done.error.message if done.error is not None else None,
        duration_s=done.timings.duration_s,
    )


def summarize(spec: MeterSpec, replies: Sequence[MeterReply]) -> MeterReport:
    """The report of a set of replies (as they came back, or as loaded from the store)."""
    replies = tuple(sorted(replies, key=lambda r: (not r.seeded, r.index)))
    seeded = arm([r for r in replies if r.seeded], True)
    unseeded = arm([r for r in replies if not r.seeded], False)
    honoured, sentence = _verdict(spec, seeded, unseeded)
    return MeterReport(spec, replies, seeded, unseeded, honoured, sentence)


def arm(replies: Sequence[MeterReply], seeded: bool) -> Arm:
    """Identity, distinct replies, fingerprints and the first divergence of one half's replies."""
    whole = [r for r in replies if r.ok]
    counts = Counter(r.text for r in whole)
    fingerprints = tuple(dict.fromkeys(r.system_fingerprint or "none" for r in whole))
    return Arm(
        seeded=seeded,
        replies=len(whole),
        errors=len(replies) - len(whole),
        identical=max(counts.values(), default=0),
        distinct=len(counts),
        fingerprints=fingerprints,
        divergence=first_divergence(whole, counts),
    )


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def first_divergence(replies: Sequence[MeterReply], counts: Counter | None = None) -> Divergence | None:
    """The earliest place any reply departs from the most common one; None when all are identical."""
    if len(replies) < 2:
        return None
    counts = counts or Counter(r.text for r in replies)
    modal_text = counts.most_common(1)[0][0]
    modal = next(r for r in replies if r.text == modal_text)
    others = [r for r in replies if r.text != modal_text]
    if not others:
        return None
    char, other = min(((_common_prefix(modal.text, r.text), r) for r in others), key=lambda pair: pair[0])
    a, b = token_ids(modal.text), token_ids(other.text)
    token = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return Divergence(
        first=modal.index,
        second=other.index,
        char_index=char,
        token_index=token,
        shared=modal.text[max(0, char - CONTEXT_CHARS) : char],
        first_text=modal.text[char : char + SNIPPET_CHARS],
        second_text=other.text[char : char + SNIPPET_CHARS],
    )


def _where(divergence: Divergence | None) -> str:
    if divergence is None:
        return ""
    return f"; first difference at character {divergence.char_index:,}, token {divergence.token_index:,}"


def _verdict(spec: MeterSpec, seeded: Arm, unseeded: Arm) -> tuple[bool | None, str]:
    with_seed = f"with seed {spec.seed}"
    if seeded.replies < MIN_RUNS:
        return None, f"Too few whole replies {with_seed} to tell ({seeded.replies})."
    if seeded.distinct == 1:
        if unseeded.replies >= MIN_RUNS and unseeded.distinct > 1:
            return True, (
                f"seed is honoured: all {seeded.replies} replies {with_seed} were byte-identical; without a "
                f"seed, {unseeded.replies} replies gave {unseeded.distinct} different texts ({_where(unseeded.divergence)[2:]})."
            )
        if unseeded.replies >= MIN_RUNS:
            return None, (
                "Every reply was identical with and without a seed, so these settings are deterministic anyway "
                "(temperature 0, or a server that ignores sampling): this run cannot tell whether seed is honoured."
            )
        return (
            None,
            f"All {seeded.replies} replies {with_seed} were byte-identical; too few replies without it to compare.",
        )
    same = (
        f"no two of the {seeded.replies} replies {with_seed} were identical"
        if seeded.identical == 1
        else f"only {seeded.identical} of {seeded.replies} replies {with_seed} were identical"
    )
    text = (
        f"seed is not honoured here: {same} ({seeded.distinct} different texts{_where(seeded.divergence)})."
    )
    if len(seeded.fingerprints) > 1:
        text += (
            f" The system_fingerprint changed between replies ({', '.join(seeded.fingerprints)}): the backend "
            "changed, which breaks seeded determinism."
        )
    return False, text


METER_COLUMNS: dict[str, str] = {
    "seeded": "boolean",
    "seed": "Int64",
    "index": "Int64",
    "model": "str",
    "text": "str",
    "chars": "Int64",
    "identical_to_most_common": "boolean",
    "finish_reason": "str",
    "system_fingerprint": "str",
    "duration_s": "Float64",
    "error": "str",
}


def meter_frame(report: MeterReport) -> pd.DataFrame:
    """One row per reply, seeded first (METER_COLUMNS)."""
    modal = {}
    for seeded in (True, False):
        counts = Counter(r.text for r in report.replies if r.seeded == seeded and r.ok)
        modal[seeded] = counts.most_common(1)[0][0] if counts else None
    rows = [
        {
            "seeded": r.seeded,
            "seed": report.spec.seed if r.seeded else None,
            "index": r.index,
            "model": report.spec.model,
            "text": r.text,
            "chars": len(r.text),
            "identical_to_most_common": r.ok and r.text == modal[r.seeded],
            "finish_reason": r.finish_reason,
            "system_fingerprint": r.system_fingerprint,
            "duration_s": r.duration_s,
            "error": r.error,
        }
        for r in report.replies
    ]
    return typed_frame(rows, METER_COLUMNS)


# In the history database (chatlab.store.runs) ------------------------------------------------------------


def spec_to_dict(spec: MeterSpec) -> dict:
    return {
        "model": spec.model,
        "messages": [dict(m) for m in spec.messages],
        "params": spec.params.as_dict(),
        "runs": spec.runs,
        "seed": spec.seed,
    }


def spec_from_dict(data: dict) -> MeterSpec:
    return MeterSpec(
        model=data["model"],
        messages=tuple(data["messages"]),
        params=GenerationParams.from_dict(data.get("params")),
        runs=data["runs"],
        seed=data["seed"],
    )


def start_meter_run(store: Store, spec: MeterSpec, title: str = "") -> str:
    """Store the run (running) before it sends anything; returns its id."""
    question = next((m.get("content") or "" for m in reversed(spec.messages) if m.get("role") == "user"), "")
    title = title or f"Determinism: {title_from(str(question))}"
    return store.create_run(METER, spec_to_dict(spec), title=title, model=spec.model)


# Fields a stored reply row shares with MeterReply, by name (its `index` is the row's `sample`).
_REPLY_FIELDS = tuple(f for f in ROW_FIELDS[METER] if f != "sample")


def save_reply(store: Store, run_id: str, reply: MeterReply) -> None:
    """Store one reply as it arrives (fits run_meter's on_reply)."""
    row = {name: getattr(reply, name) for name in _REPLY_FIELDS}
    store.add_run_row(METER, run_id, {**row, "sample": reply.index})


def finish_meter_run(store: Store, run_id: str, *, cancelled: bool = False) -> None:
    store.finish_run(METER, run_id, CANCELLED if cancelled else FINISHED)


def load_meter_run(store: Store, run_id: str) -> MeterReport | None:
    """The stored run's report, worked out again from its replies; None when there is no such run."""
    record = store.get_run(METER, run_id)
    if record is None:
        return None
    replies = [
        MeterReply(index=row["sample"], **{name: row[name] for name in _REPLY_FIELDS})
        for row in store.run_rows(METER, run_id)
    ]
    return summarize(spec_from_dict(record.spec), replies)
