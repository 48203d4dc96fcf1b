"""Comparing role prompts side by side: one user message, every pane answering on its own thread.

A comparison is a row in `comparisons` plus one conversation per pane (kind "compare", with its
`comparison_id` and `pane_index`). Each pane keeps its own history, role and context depth, so a
comparison can go on for several turns; every message still takes the one path, `send_turn`, once per
pane, all panes at the same time through `run_parallel`. Several samples per pane: chatlab.samples.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from functools import partial

import pandas as pd

from chatlab.client import ChatClient
from chatlab.csvfile import to_csv_bytes
from chatlab.parallel import CancellableStream, Tagged, run_parallel
from chatlab.params import PARAM_NAMES, GenerationParams
from chatlab.roles import Role, find_role
from chatlab.roles.variables import Variable
from chatlab.store import Conversation, Message, Store
from chatlab.transcript import DTYPES, param_cells
from chatlab.turn import TurnSettings, send_turn, title_from

KIND = "compare"

FRAME_COLUMNS: list[str] = [
    "comparison_id",
    "conversation_id",
    "pane",
    "label",
    "role_name",
    "model",
    "endpoint_name",
    "turn",
    "user_message",
    "reply",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "usage_estimated",
    "ttft_s",
    "duration_s",
    "tokens_per_s",
    "cost_usd",
    "finish_reason",
    "status",
    "error",
    *PARAM_NAMES,
    "context_depth",
    "system_prompt",
]
# The transcript's types for the columns both tables share (so the CSV writes numbers as numbers).
FRAME_DTYPES: dict[str, str] = {name: DTYPES.get(name, "str") for name in FRAME_COLUMNS} | {"pane": "Int64"}


@dataclass(frozen=True)
class PaneSpec:
    """One pane of a comparison: the settings its requests use, and the name it is shown under."""

    settings: TurnSettings
    label: str = ""  # defaults to the role name (the model when there is no role)

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.settings.role_name or self.settings.model)


def _pane_record(pane: PaneSpec) -> dict:
    """The pane's settings as stored with the comparison (JSON-able)."""
    s = pane.settings
    return {
        "label": pane.label,
        "model": s.model,
        "params": s.params.as_dict(),
        "context_depth": s.context_depth,
        "role_name": s.role_name,
        "system_prompt": s.system_prompt,
        "few_shot": list(s.few_shot),
        "endpoint_name": s.endpoint_name,
        "variables": [v.to_dict() for v in s.variables],
        "values": dict(s.values),
    }


def create_comparison(store: Store, panes: Sequence[PaneSpec], title: str = "") -> str:
    """A comparison row and one conversation per pane (titled with the pane's label); returns its id."""
    if not panes:
        raise ValueError("A comparison needs at least one pane.")
    comparison_id = store.create_comparison(title, [_pane_record(p) for p in panes])
    for index, pane in enumerate(panes):
        s = pane.settings
        store.create_conversation(
            pane.label,
            kind=KIND,
            comparison_id=comparison_id,
            pane_index=index,
            role_name=s.role_name,
            system_prompt=s.system_prompt,
            model=s.model,
            endpoint_name=s.endpoint_name,
        )
    return comparison_id


def panes_from_store(store: Store, comparison_id: str, roles: Iterable[Role] = ()) -> list[PaneSpec]:
    """The panes of a stored comparison, to go on with it (e.g. after a reload).

    Settings come from what the comparison stored when it was created; for a pane without them (a
    comparison not made by create_comparison) from its conversation, with default parameters and the
    few-shot examples of the role of that name in `roles`.
    """
    comparison = store.get_comparison(comparison_id)
    if comparison is None:
        raise KeyError(f"no comparison {comparison_id!r}")
    roles = list(roles)
    panes = []
    for conversation in store.comparison_panes(comparison_id):
        index = conversation.pane_index
        saved = comparison.panes[index] if index is not None and 0 <= index < len(comparison.panes) else {}
        role_name = saved.get("role_name", conversation.role_name or "")
        few_shot = saved.get("few_shot")
        if few_shot is None:
            role = find_role(roles, role_name) if role_name else None
            few_shot = role.few_shot_messages() if role else ()
        settings = TurnSettings(
            model=saved.get("model") or conversation.model or "",
            params=GenerationParams.from_dict(saved.get("params")),
            context_depth=saved.get("context_depth"),
            role_name=role_name,
            system_prompt=saved.get("system_prompt", conversation.system_prompt or ""),
            few_shot=tuple(few_shot),
            endpoint_name=saved.get("endpoint_name", conversation.endpoint_name or ""),
            variables=tuple(Variable(**v) for v in saved.get("variables") or ()),
            values=saved.get("values") or {},
        )
        panes.append(PaneSpec(settings, label=saved.get("label") or conversation.title))
    return panes


def send_to_panes(
    store: Store,
    clients: Sequence[ChatClient],
    comparison_id: str,
    panes: Sequence[PaneSpec],
    user_text: str | None,
    *,
    only: Sequence[int] | None = None,
    retry_turn: int | None = None,
    cancel: threading.Event | None = None,
    max_workers: int | None = None,
) -> Generator[Tagged, None, None]:
    """Send `user_text` (or re-send turn `retry_turn`) to every pane at once; yields events tagged by pane.

    `clients[i]` and `panes[i]` belong to the comparison's pane i. `only` limits the send to some panes,
    e.g. `only=[2], retry_turn=t` retries pane 2's failed reply alone. The arguments are checked at once
    (ValueError); the requests start when the result is first read. Closing it stops every pane, and each
    keeps what arrived as 'stopped' (see run_parallel).
    """
    conversations = pane_conversations(store, comparison_id, panes, clients)
    comparison = store.get_comparison(comparison_id)
    indices = list(range(len(panes))) if only is None else sorted(set(only))
    if not indices or not all(0 <= i < len(panes) for i in indices):
        raise ValueError(f"`only` must name panes 0–{len(panes) - 1}, got {list(only or [])}.")
    if retry_turn is None:
        if not user_text or not user_text.strip():
            raise ValueError("The message is empty.")
        # Like a chat, an untitled comparison is named after its first message.
        store.update_comparison(comparison_id, title=None if comparison.title else title_from(user_text))
    else:
        user_text = None  # a retry re-sends each pane's own stored message
        store.update_comparison(comparison_id)

    streams = [
        partial(
            _pane_stream, store, clients[i], conversations[i].id, panes[i].settings, user_text, retry_turn
        )
        for i in indices
    ]
    return _retag(run_parallel(streams, max_workers=max_workers, cancel=cancel), indices)


def pane_conversations(
    store: Store, comparison_id: str, panes: Sequence[PaneSpec], clients: Sequence
) -> list[Conversation]:
    """The comparison's pane conversations, checked against the pane settings and clients given
    (ValueError saying what does not match)."""
    if store.get_comparison(comparison_id) is None:
        raise ValueError(f"There is no comparison {comparison_id!r}.")
    conversations = store.comparison_panes(comparison_id)
    if len(conversations) != len(panes) or len(clients) != len(panes):
        raise ValueError(
            f"Comparison {comparison_id} has {len(conversations)} panes; got {len(panes)} pane settings "
            f"and {len(clients)} clients."
        )
    if [c.pane_index for c in conversations] != list(range(len(panes))):
        raise ValueError(f"Comparison {comparison_id} has gaps in its pane numbers.")
    return conversations


def _pane_stream(
    store: Store,
    client: ChatClient,
    conversation_id: str,
    settings: TurnSettings,
    user_text: str | None,
    retry_turn: int | None,
) -> CancellableStream:
    """One pane's reply, run by a worker thread of run_parallel; Stop drops its connection at once."""
    try:
        reply = send_turn(store, client, conversation_id, settings, user_text, retry_turn=retry_turn)
    except BaseException:
        store.close()
        raise

    def close() -> None:
        reply.close()  # stopped early: what arrived is stored as 'stopped'
        store.close()  # the worker thread's own SQLite connection; the thread ends soon after

    return CancellableStream(reply, reply.cancel, close)


def _retag(events: Generator[Tagged, None, None], indices: Sequence[int]) -> Generator[Tagged, None, None]:
    """Run_parallel numbers the streams it was given; the caller wants pane numbers."""
    try:
        for tagged in events:
            yield Tagged(indices[tagged.index], tagged.event)
    finally:
        events.close()  # stops the workers now, not whenever the garbage collector gets to it


# The table -----------------------------------------------------------------------------------------------


def _frame_rows(comparison_id: str, conversation: Conversation, messages: list[Message]) -> list[dict]:
    users = {m.turn: m for m in messages if m.role == "user"}
    replies = {m.turn: m for m in messages if m.role == "assistant" and m.choice_index == 0}
    rows = []
    for turn in sorted(users.keys() | replies.keys()):
        user, reply = users.get(turn), replies.get(turn)
        row = {
            "comparison_id": comparison_id,
            "conversation_id": conversation.id,
            "pane": conversation.pane_index,
            "label": conversation.title,
            "turn": turn,
            "user_message": user.content if user else None,
            "reply": reply.content if reply else None,
            **param_cells(reply.params if reply else None),
        }
        for name in ("role_name", "model", "endpoint_name", "system_prompt"):
            row[name] = (getattr(reply, name) if reply else None) or getattr(conversation, name)
        for name in FRAME_COLUMNS:
            if name not in row:
                row[name] = getattr(reply, name) if reply else None
        rows.append(row)
    return rows


def comparison_frame(store: Store, comparison_id: str) -> pd.DataFrame:
    """One row per pane per turn (the first choice of each reply), turn by turn, with every parameter."""
    rows = []
    for conversation in store.comparison_panes(comparison_id):
        rows += _frame_rows(comparison_id, conversation, store.messages(conversation.id))
    rows.sort(key=lambda r: (r["turn"], r["pane"]))
    return pd.DataFrame(
        {name: pd.Series([r[name] for r in rows], dtype=FRAME_DTYPES[name]) for name in FRAME_COLUMNS},
        columns=FRAME_COLUMNS,
    )


def comparison_csv_bytes(frame: pd.DataFrame) -> bytes:
    """The comparison table as CSV, written like a transcript's (BOM, formula cells neutralised)."""
    return to_csv_bytes(frame)
