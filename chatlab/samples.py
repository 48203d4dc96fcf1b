"""Samples on Compare: k replies per pane to one message, the one a pane's thread goes on from, their table
and their statistics.

How samples sit in the store: as the choices of the turn's reply (choice_index 0…k−1) — the rows the
API's `n` already fills. Every reader of a conversation already treats choice 0 as the reply the thread
goes on from (chatlab.context.conversation_history, exports, Replay) and shows the other choices beside
it, and totals already sum every row, so k samples need no new table and no new rule. A sample sent as a
request of its own keeps that request, its usage and timings on its row; the samples of one `n` request
share its usage, which sits on that request's first row. Picking another sample to go on from swaps its
choice index with choice 0 (pick_sample), so the next turn sends it.

Samples use the API's `n` when asked (`use_n`): ⌈k / 8⌉ requests per pane. An endpoint that ignores `n`
(llama.cpp does) returns one choice; the missing ones are then asked for one request at a time, so a pane
always ends with k samples. Requests run at most `max_workers` at once across all panes; Cancel (or
closing the events) stops them, and each keeps what it had: finished samples are complete, running ones
are stored as stopped and are not counted in the statistics.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Generator, Iterator, Sequence
from functools import partial

import pandas as pd

from chatlab.compare import PaneSpec, pane_conversations
from chatlab.csvfile import to_csv_bytes
from chatlab.estimate import CostEstimate, RunPart, estimate_run, mean_or_none
from chatlab.events import Finish, ReasoningDelta, StreamDone, TextDelta
from chatlab.parallel import CancellableStream, Tagged, run_parallel
from chatlab.params import FLOAT, INT, PARAM_NAMES, PARAMS
from chatlab.stats import STAT_COLUMNS, compare_groups
from chatlab.store import COMPLETE, Message, Store
from chatlab.sweep.table import typed_frame
from chatlab.textstats import looks_like_refusal
from chatlab.tokens import count_tokens
from chatlab.transcript import param_cells
from chatlab.turn import ReplyStream, TurnSettings, plan_context, send_sample, send_turn, title_from

MAX_SAMPLES = 20
MAX_N = int(PARAMS["n"].high)  # the most choices one request may ask for


def sample_batches(samples: int, use_n: bool) -> list[tuple[int, int]]:
    """(first sample, how many) per request of one pane: one each, or up to MAX_N per request with `n`."""
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES:
        raise ValueError(f"samples must be a whole number from 1 to {MAX_SAMPLES}, got {samples!r}")
    if not use_n:
        return [(i, 1) for i in range(samples)]
    return [(i, min(MAX_N, samples - i)) for i in range(0, samples, MAX_N)]


def _asking(settings: TurnSettings, count: int) -> TurnSettings:
    """The settings for a request of `count` samples: `n` set only when it asks for more than one."""
    return dataclasses.replace(settings, params=settings.params.replace(n=count if count > 1 else None))


def send_samples(
    store: Store,
    clients: Sequence,
    comparison_id: str,
    panes: Sequence[PaneSpec],
    user_text: str,
    *,
    samples: int,
    use_n: bool = False,
    max_workers: int | None = None,
    cancel: threading.Event | None = None,
) -> Generator[Tagged, None, None]:
    """Send `user_text` to every pane and ask for `samples` replies each; yield their events as they come.

    Each event is Tagged with its pane (`index`) and sample (`sample`); deltas carry the sample as their
    `choice`. Every pane's user message and first reply row are stored before this returns (ValueError
    for bad arguments, nothing stored); the requests start when the events are first read, sample 0 of
    every pane first, then sample 1, … A pane's StreamDone events, one per request, tell progress.
    """
    conversations = pane_conversations(store, comparison_id, panes, clients)
    batches = sample_batches(samples, use_n)
    if not user_text or not user_text.strip():
        raise ValueError("The message is empty.")
    comparison = store.get_comparison(comparison_id)
    store.update_comparison(comparison_id, title=None if comparison.title else title_from(user_text))
    openings, turns = [], []
    for client, conversation, pane in zip(clients, conversations, panes, strict=True):
        first_count = batches[0][1]
        openings.append(
            send_turn(store, client, conversation.id, _asking(pane.settings, first_count), user_text)
        )
        turns.append(store.messages(conversation.id, last=1)[0].turn)

    jobs = [(p, first, count) for first, count in batches for p in range(len(panes))]
    streams = _job_streams(store, clients, conversations, panes, jobs, turns, openings)
    return _run(run_parallel(streams, max_workers=max_workers, cancel=cancel), jobs, openings, store)


def retry_samples(
    store: Store,
    clients: Sequence,
    comparison_id: str,
    panes: Sequence[PaneSpec],
    pane: int,
    turn: int,
    *,
    samples: int,
    use_n: bool = False,
    max_workers: int | None = None,
    cancel: threading.Event | None = None,
) -> Generator[Tagged, None, None]:
    """Send turn `turn` of pane `pane` again with `samples` samples: its replies are replaced (send_turn's
    retry), then sampled as send_samples does. Events are Tagged like send_samples'."""
    conversations = pane_conversations(store, comparison_id, panes, clients)
    batches = sample_batches(samples, use_n)
    opening = send_turn(
        store,
        clients[pane],
        conversations[pane].id,
        _asking(panes[pane].settings, batches[0][1]),
        None,
        retry_turn=turn,
    )
    jobs = [(pane, first, count) for first, count in batches]
    streams = _job_streams(store, clients, conversations, panes, jobs, {pane: turn}, {pane: opening})
    return _run(run_parallel(streams, max_workers=max_workers, cancel=cancel), jobs, [opening], store)


def _job_streams(store: Store, clients, conversations, panes, jobs, turns, openings) -> list:
    """One stream factory per (pane, first sample, count) job; `turns` and `openings` by pane (a pane's
    opening stream, already stored by send_turn, is the first job's)."""
    return [
        partial(
            _sample_stream,
            store,
            clients[p],
            conversations[p].id,
            panes[p].settings,
            p,
            turns[p],
            first,
            count,
            openings[p] if first == 0 else None,
        )
        for p, first, count in jobs
    ]


def _run(
    events: Generator[Tagged, None, None],
    jobs: list[tuple[int, int, int]],
    openings: list[ReplyStream],
    store: Store,
) -> Generator[Tagged, None, None]:
    try:
        for tagged in events:
            if isinstance(tagged.event, Tagged):
                yield tagged.event  # tagged by _sample_events with its pane and sample
            else:  # a job that raised: run_parallel's StreamError and StreamDone, tagged by job
                pane, first, _ = jobs[tagged.index]
                yield Tagged(pane, tagged.event, first)
    finally:
        events.close()
        for opening in openings:
            if not opening.started:
                opening.close()  # cancelled before it was sent: its row is marked stopped, not left streaming
        store.close()  # the worker threads' connections


def _sample_stream(*job) -> CancellableStream:
    """_sample_events(*job) for a worker of run_parallel, with a cancel that drops the open request's
    connection (Stop stops a request blocked on a silent server at once, not at its next event)."""
    reading: list[ReplyStream] = []  # the request being read now: the last one opened
    events = _sample_events(*job, reading)
    return CancellableStream(events, lambda: reading and reading[-1].cancel(), events.close)


def _sample_events(
    store: Store,
    client,
    conversation_id: str,
    settings: TurnSettings,
    pane: int,
    turn: int,
    first: int,
    count: int,
    opening: ReplyStream | None,
    reading: list[ReplyStream],
) -> Iterator[Tagged]:
    """One request's events (samples first … first + count − 1), tagged; then, when the endpoint returned
    fewer choices than `n` asked for, one request per missing sample. Each request opened is appended to
    `reading`."""
    # run_parallel passes these Tagged objects through as its events; _run unwraps them.
    stream = opening or send_sample(store, client, conversation_id, _asking(settings, count), turn, first)
    reading.append(stream)
    done: StreamDone | None = None
    try:
        for event in stream:
            event = _numbered(event, first)
            yield Tagged(pane, event, getattr(event, "choice", first))
            if isinstance(event, StreamDone):
                done = event
    finally:
        stream.close()
    if count > 1 and done is not None and done.error is None:
        for sample in range(first, first + count):
            if sample not in done.finish_reasons:
                yield from _sample_events(
                    store, client, conversation_id, settings, pane, turn, sample, 1, None, reading
                )


def _numbered(event, first: int):
    """The event with its choices numbered as the stored samples are (first + the request's choice)."""
    if not first:
        return event
    if isinstance(event, TextDelta | ReasoningDelta | Finish):
        return dataclasses.replace(event, choice=first + event.choice)
    if isinstance(event, StreamDone):
        return dataclasses.replace(
            event, finish_reasons={first + c: r for c, r in event.finish_reasons.items()}
        )
    return event


def pick_sample(store: Store, conversation_id: str, turn: int, sample: int) -> None:
    """Make `sample` the reply the pane's thread goes on from: it becomes choice 0 (the two swap places)."""
    replies = {
        m.choice_index for m in store.messages(conversation_id) if m.turn == turn and m.role == "assistant"
    }
    if sample not in replies:
        raise ValueError(f"Turn {turn} has no sample {sample}.")
    if sample != 0:
        store.swap_choices(conversation_id, turn, 0, sample)


# Cost before the run -------------------------------------------------------------------------------------


def estimate_samples(
    store: Store,
    comparison_id: str | None,
    panes: Sequence[PaneSpec],
    user_text: str,
    *,
    samples: int,
    use_n: bool = False,
) -> CostEstimate:
    """What sending `user_text` with `samples` samples per pane will cost (chatlab.estimate): each pane's
    exact prompt, and replies as long as that pane's earlier replies (a default when it has none).
    `comparison_id` None: a comparison not created yet (its panes have no history)."""
    batches = sample_batches(samples, use_n)
    parts = []
    conversations = store.comparison_panes(comparison_id) if comparison_id else [None] * len(panes)
    for conversation, pane in zip(conversations, panes, strict=True):
        stored = store.messages(conversation.id) if conversation is not None else []
        window = plan_context(stored, pane.settings, user_text or "")
        seen = [_completion_tokens(m) for m in stored if m.role == "assistant" and m.status == COMPLETE]
        parts.append(
            RunPart(
                model=pane.settings.model,
                prompt_tokens=window.split.total,
                requests=len(batches),
                replies=samples,
                max_tokens=pane.settings.params.max_tokens,
                expected_reply_tokens=mean_or_none(seen),
            )
        )
    return estimate_run(parts)


# The table of samples and its statistics ----------------------------------------------------------------

SAMPLE_COLUMNS: dict[str, str] = {
    "comparison_id": "str",
    "turn": "Int64",
    "pane": "Int64",
    "group": "str",  # the pane's label, made unique ("Pirate #2") — what the statistics group by
    "label": "str",
    "sample": "Int64",
    **{name: {INT: "Int64", FLOAT: "Float64"}.get(PARAMS[name].kind, "str") for name in PARAM_NAMES},
    "model": "str",
    "role_name": "str",
    "system_prompt": "str",
    "user_message": "str",
    "completion_tokens": "Int64",
    "reply_chars": "Int64",
    "duration_s": "Float64",
    "ttft_s": "Float64",
    "tokens_per_s": "Float64",
    "cost_usd": "Float64",
    "refusal": "boolean",
    "truncated": "boolean",
    "prompt_tokens": "Int64",
    "usage_estimated": "boolean",
    "finish_reason": "str",
    "status": "str",
    "error": "str",
    "counted": "boolean",  # a whole reply (complete, no error): what the statistics count
    "text": "str",
}


def _request_n(message: Message) -> int:
    n = (message.request or {}).get("n")
    return n if isinstance(n, int) and n > 1 else 1


def _completion_tokens(message: Message) -> int | None:
    """The sample's own completion tokens: counted from its text when its request asked for several
    (usage is per request), else the usage on its row."""
    if _request_n(message) > 1:
        return count_tokens(message.content)
    return message.completion_tokens


def group_labels(labels: Sequence[str]) -> list[str]:
    """The labels, with "#pane" added to those that repeat (two panes of the same role, an A-vs-A run)."""
    repeated = {label for label in labels if labels.count(label) > 1}
    return [f"{label} #{i + 1}" if label in repeated else label for i, label in enumerate(labels)]


def latest_turn(store: Store, comparison_id: str) -> int | None:
    """The newest turn any pane has replies for."""
    turns = [m.turn for c in store.comparison_panes(comparison_id) for m in store.reply_metrics(c.id)]
    return max(turns, default=None)


def samples_frame(store: Store, comparison_id: str, turn: int | None = None) -> pd.DataFrame:
    """One row per sample of turn `turn` (default: the latest), pane by pane (SAMPLE_COLUMNS): every
    parameter, every metric and the text. The samples of one `n` request share its timings; its prompt
    tokens, tokens/s and cost sit on its first sample only, so sums stay right."""
    turn = latest_turn(store, comparison_id) if turn is None else turn
    conversations = store.comparison_panes(comparison_id)
    labels = group_labels([c.title for c in conversations])
    rows = []
    for conversation, group in zip(conversations, labels, strict=True):
        messages = [m for m in store.messages(conversation.id) if m.turn == turn]
        user = next((m.content for m in messages if m.role == "user"), None)
        replies = sorted((m for m in messages if m.role == "assistant"), key=lambda m: m.choice_index)
        timings = {m.response_id: m for m in replies if m.response_id and m.duration_s is not None}
        for m in replies:
            shared = timings.get(m.response_id) if m.duration_s is None else m
            rows.append(
                {
                    "comparison_id": comparison_id,
                    "turn": turn,
                    "pane": conversation.pane_index,
                    "group": group,
                    "label": conversation.title,
                    "sample": m.choice_index,
                    **param_cells({**m.params, "n": _request_n(m) if _request_n(m) > 1 else None}),
                    "model": m.model,
                    "role_name": m.role_name,
                    "system_prompt": m.system_prompt,
                    "user_message": user,
                    "completion_tokens": _completion_tokens(m),
                    "reply_chars": len(m.content),
                    "duration_s": shared.duration_s if shared else None,
                    "ttft_s": shared.ttft_s if shared else None,
                    "tokens_per_s": m.tokens_per_s,
                    "cost_usd": m.cost_usd,
                    "refusal": looks_like_refusal(m.content),
                    "truncated": m.finish_reason == "length",
                    "prompt_tokens": m.prompt_tokens,
                    "usage_estimated": m.usage_estimated or _request_n(m) > 1,
                    "finish_reason": m.finish_reason,
                    "status": m.status,
                    "error": m.error,
                    "counted": m.status == COMPLETE and not m.error,
                    "text": m.content,
                }
            )
    return typed_frame(rows, SAMPLE_COLUMNS)


def statistics(store: Store, comparison_id: str, turn: int | None = None, baseline: int = 0) -> pd.DataFrame:
    """Per pane and metric: mean and 95% interval; for every pane but the baseline (pane `baseline`, the
    first by default), the difference from it with its interval and Holm-corrected p-value
    (chatlab.stats). A `pane` column, then chatlab.stats.STAT_COLUMNS (`group` as in samples_frame)."""
    frame = samples_frame(store, comparison_id, turn)
    conversations = store.comparison_panes(comparison_id)
    labels = group_labels([c.title for c in conversations])
    if not labels:
        return typed_frame([], {"pane": "Int64", **STAT_COLUMNS})
    if not 0 <= baseline < len(labels):
        raise ValueError(f"The baseline must be a pane from 1 to {len(labels)}.")
    table = compare_groups(frame, "group", groups=labels, baseline=labels[baseline])
    panes = {label: c.pane_index for label, c in zip(labels, conversations, strict=True)}
    table.insert(0, "pane", pd.Series([panes[g] for g in table["group"]], dtype="Int64"))
    return table


def a_versus_a(baseline: PaneSpec) -> list[PaneSpec]:
    """The panes of a noise-floor run: the baseline and an identical copy (fresh samples of the same
    settings). Its statistics, given to chatlab.stats.noise_floor, say how large a difference chance
    alone produces."""
    return [baseline, dataclasses.replace(baseline, label=f"{baseline.label} (again)")]


def export_files(
    store: Store, comparison_id: str, turn: int | None = None, baseline: int = 0
) -> dict[str, bytes]:
    """A turn's two CSVs by file name: per sample, and per pane × metric (chatlab.stats) against pane
    `baseline`."""
    turn = latest_turn(store, comparison_id) if turn is None else turn
    stem = f"comparison-{comparison_id}-turn-{turn}"
    return {
        f"{stem}-samples.csv": to_csv_bytes(samples_frame(store, comparison_id, turn)),
        f"{stem}-statistics.csv": to_csv_bytes(statistics(store, comparison_id, turn, baseline)),
    }
