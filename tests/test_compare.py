"""Comparing role prompts: independent panes answering at once, retrying one pane, the table and its CSV."""

import json
import sqlite3
import threading
from collections import defaultdict

import pandas as pd
import pytest

from chatlab.client import ChatClient
from chatlab.compare import (
    FRAME_COLUMNS,
    PaneSpec,
    comparison_csv_bytes,
    comparison_frame,
    create_comparison,
    panes_from_store,
    send_to_panes,
)
from chatlab.events import StreamDone, StreamError
from chatlab.params import PARAM_NAMES, GenerationParams
from chatlab.roles import Role
from chatlab.store import COMPLETE, ERROR, STOPPED, Store, now_iso
from chatlab.store.migrations import MIGRATIONS
from chatlab.turn import TurnSettings
from tests.fake_openai import Reply

BOM = b"\xef\xbb\xbf"


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "compare.sqlite3")


@pytest.fixture
def client(fake_endpoint):
    client = ChatClient(fake_endpoint)
    yield client
    client.close()


def pane(name: str, system: str, **settings) -> PaneSpec:
    return PaneSpec(TurnSettings(model="gpt-4o-mini", role_name=name, system_prompt=system, **settings))


PANES = [
    pane("Pirate", "You are a pirate.", params=GenerationParams(temperature=0.2, stop=("END", "\n\n"))),
    pane("Poet", "You are a poet.", params=GenerationParams(temperature=1.1, seed=7), context_depth=2),
    pane("Critic", "You are a critic.", params=GenerationParams(top_p=0.5, max_tokens=64)),
]


def system_of(request) -> str:
    return request.body["messages"][0]["content"]


def replies_by_system(fake_openai, fail: set[str] | None = None) -> dict[str, int]:
    """Each pane's reply names its system prompt and its request count; systems in `fail` get a 429."""
    counts: dict[str, int] = defaultdict(int)
    lock = threading.Lock()

    def respond(request):
        system = system_of(request)
        if fail and system in fail:
            return Reply(status=429, error_message="slow down")
        with lock:
            counts[system] += 1
            number = counts[system]
        return Reply(text=f"[{system}] answer {number}", chunk_chars=4, delay_s=0.002)

    fake_openai.script_fn(respond)
    return counts


def collect(events) -> dict[int, list]:
    out = defaultdict(list)
    for tagged in events:
        out[tagged.index].append(tagged.event)
    return out


def test_panes_keep_their_own_system_prompt_and_thread(store, client, fake_openai):
    replies_by_system(fake_openai)
    panes = PANES[:2]
    cid = create_comparison(store, panes)
    for text in ("Describe the sea.", "And the sky?"):
        events = collect(send_to_panes(store, [client, client], cid, panes, text))
        assert all(isinstance(events[i][-1], StreamDone) for i in (0, 1))

    requests = fake_openai.chat_requests
    assert len(requests) == 4
    second = {
        system_of(r): r.body["messages"]
        for r in requests
        if r.body["messages"][-1]["content"] == "And the sky?"
    }
    # The pirate sees its whole thread: system, turn 1, its own answer, turn 2 — never the poet's answer.
    assert second["You are a pirate."] == [
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "Describe the sea."},
        {"role": "assistant", "content": "[You are a pirate.] answer 1"},
        {"role": "user", "content": "And the sky?"},
    ]
    # The poet's context depth is 2: its previous exchange only (it keeps its own setting).
    assert second["You are a poet."][0] == {"role": "system", "content": "You are a poet."}
    assert {"role": "assistant", "content": "[You are a poet.] answer 1"} in second["You are a poet."]
    assert not any("pirate" in m["content"] for m in second["You are a poet."][1:])

    conversations = store.comparison_panes(cid)
    assert [(c.pane_index, c.kind, c.title, c.comparison_id) for c in conversations] == [
        (0, "compare", "Pirate", cid),
        (1, "compare", "Poet", cid),
    ]
    assert store.get_comparison(cid).title == "Describe the sea."


def test_a_rate_limited_pane_fails_alone_and_can_be_retried_alone(store, client, fake_openai):
    counts = replies_by_system(fake_openai, fail={"You are a poet."})
    cid = create_comparison(store, PANES)
    events = collect(send_to_panes(store, [client] * 3, cid, PANES, "Review this poem."))
    error = next(e for e in events[1] if isinstance(e, StreamError))
    assert error.kind == "rate_limit" and error.status == 429
    statuses = [store.messages(c.id)[-1].status for c in store.comparison_panes(cid)]
    assert statuses == [COMPLETE, ERROR, COMPLETE]

    replies_by_system(fake_openai)  # the poet's rate limit is over
    before = len(fake_openai.chat_requests)
    events = collect(send_to_panes(store, [client] * 3, cid, PANES, None, only=[1], retry_turn=1))
    assert list(events) == [1] and events[1][-1].error is None  # tagged with the pane's own number
    assert len(fake_openai.chat_requests) == before + 1  # the other panes were not asked again
    assert system_of(fake_openai.chat_requests[-1]) == "You are a poet."
    for conversation in store.comparison_panes(cid):
        messages = store.messages(conversation.id)
        assert [(m.turn, m.role, m.status) for m in messages] == [
            (1, "user", COMPLETE),
            (1, "assistant", COMPLETE),
        ]
    assert counts == {"You are a pirate.": 1, "You are a critic.": 1}


def test_comparison_frame_has_a_row_per_pane_per_turn_with_every_parameter(store, client, fake_openai):
    replies_by_system(fake_openai)
    cid = create_comparison(store, PANES, title="three voices")
    for text in ("First question", "=1+1 second"):
        list(send_to_panes(store, [client] * 3, cid, PANES, text))
    frame = comparison_frame(store, cid)
    assert list(frame.columns) == FRAME_COLUMNS and set(PARAM_NAMES) <= set(frame.columns)
    assert len(frame) == 6
    assert list(zip(frame["turn"], frame["pane"], strict=True)) == [
        (1, 0),
        (1, 1),
        (1, 2),
        (2, 0),
        (2, 1),
        (2, 2),
    ]
    assert list(frame["label"][:3]) == ["Pirate", "Poet", "Critic"]
    assert list(frame["status"]) == [COMPLETE] * 6
    pirate, poet, critic = (frame.iloc[i] for i in range(3))
    assert pirate["user_message"] == "First question" and pirate["reply"] == "[You are a pirate.] answer 1"
    assert pirate["temperature"] == 0.2 and json.loads(pirate["stop"]) == ["END", "\n\n"]
    assert pd.isna(pirate["seed"]) and pd.isna(pirate["context_depth"])
    assert (poet["temperature"], poet["seed"], poet["context_depth"]) == (1.1, 7, 2)
    assert (critic["top_p"], critic["max_tokens"]) == (0.5, 64)
    assert critic["system_prompt"] == "You are a critic." and critic["model"] == "gpt-4o-mini"
    assert pirate["prompt_tokens"] > 0 and pirate["completion_tokens"] > 0 and not pirate["usage_estimated"]
    assert pirate["ttft_s"] >= 0 and pirate["finish_reason"] == "stop" and pirate["cost_usd"] > 0
    assert frame["seed"].dtype == "Int64" and frame["temperature"].dtype == "Float64"

    data = comparison_csv_bytes(frame)
    assert data.startswith(BOM + b"comparison_id,conversation_id,pane,label,")
    text = data.decode("utf-8-sig")
    assert ",'=1+1 second," in text  # a formula-like cell is neutralised, as in transcripts
    assert ",1.1," in text  # numbers stay numbers


def test_closing_the_events_stops_every_pane_as_stopped(store, client, fake_openai):
    fake_openai.default = Reply(text="word " * 400, chunk_chars=5, delay_s=0.01)
    cid = create_comparison(store, PANES)
    events = send_to_panes(store, [client] * 3, cid, PANES, "Talk for a long time.")
    for count, _ in enumerate(events):
        if count == 10:
            break
    events.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("chatlab-parallel")]
    assert [store.messages(c.id)[-1].status for c in store.comparison_panes(cid)] == [STOPPED] * 3


def test_a_cancel_stops_panes_whose_server_has_gone_silent_now(store, client, fake_openai):
    """Stop must not wait for a next chunk that may never come (a model thinking for minutes): each pane's
    connection is dropped, and each keeps what arrived as 'stopped' before the events end."""
    never = threading.Event()
    fake_openai.default = Reply(text="first words, then silence", chunk_chars=6, hold=never, hold_after=2)
    cid = create_comparison(store, PANES)
    cancel = threading.Event()
    texts = defaultdict(int)
    try:
        for tagged in send_to_panes(store, [client] * 3, cid, PANES, "Think hard.", cancel=cancel):
            texts[tagged.index] += type(tagged.event).__name__ == "TextDelta"
            if len(texts) == 3 and min(texts.values()) == 2:
                cancel.set()  # every pane now waits on a silent server
        replies = [store.messages(c.id)[-1] for c in store.comparison_panes(cid)]
        assert [(r.status, r.content) for r in replies] == [(STOPPED, "first words,")] * 3
    finally:
        never.set()


def test_send_to_panes_checks_its_arguments(store, client):
    cid = create_comparison(store, PANES)
    with pytest.raises(ValueError, match="3 panes"):
        send_to_panes(store, [client] * 2, cid, PANES[:2], "hi")
    with pytest.raises(ValueError, match="3 panes"):
        send_to_panes(store, [client] * 2, cid, PANES, "hi")
    with pytest.raises(ValueError, match="empty"):
        send_to_panes(store, [client] * 3, cid, PANES, "  ")
    with pytest.raises(ValueError, match="only"):
        send_to_panes(store, [client] * 3, cid, PANES, "hi", only=[3])
    with pytest.raises(ValueError, match="no comparison"):
        send_to_panes(store, [client] * 3, "nope", PANES, "hi")
    assert all(store.messages(c.id) == [] for c in store.comparison_panes(cid))  # nothing was sent


def test_panes_come_back_from_the_store_as_they_were_created(store):
    with_examples = PaneSpec(
        TurnSettings(
            model="m",
            role_name="Tutor",
            system_prompt="Teach.",
            few_shot=({"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}),
            endpoint_name="local",
        ),
        label="Tutor (few-shot)",
    )
    panes = [*PANES, with_examples]
    cid = create_comparison(store, panes)
    assert panes_from_store(store, cid) == panes
    assert PANES[0].label == "Pirate"  # the label defaults to the role name

    # Panes stored without settings: their conversation's, and the few-shot of the role of that name.
    bare = store.create_comparison()
    store.create_conversation(
        "Tutor", kind="compare", comparison_id=bare, pane_index=0, role_name="Tutor", model="m"
    )
    role = Role(name="Tutor", system="Teach.", examples=(("2+2?", "4"),))
    (rebuilt,) = panes_from_store(store, bare, [role])
    assert rebuilt.settings.few_shot == with_examples.settings.few_shot and rebuilt.label == "Tutor"


def test_comparisons_are_listed_and_deleted_with_their_panes(store):
    first = create_comparison(store, PANES[:2], title="first")
    second = create_comparison(store, PANES[:2], title="second")
    while now_iso() <= store.get_comparison(second).updated_at:
        pass  # a later stamp than second's, however fast this machine is (no fixed sleep)
    store.update_comparison(first)  # used again: listed first
    assert [c.id for c in store.list_comparisons()] == [first, second]
    pane_id = store.comparison_panes(first)[0].id
    store.add_message(pane_id, "user", "hi")
    store.delete_comparison(first)
    assert store.get_comparison(first) is None and store.get_conversation(pane_id) is None
    assert store.count_messages(pane_id) == 0
    assert len(store.comparison_panes(second)) == 2
    assert store.list_conversations(kind="chat") == []  # pane conversations stay out of the chat history


def test_an_existing_database_gains_comparisons(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    name, first_migration = MIGRATIONS[0]
    first_migration(db)
    db.execute("INSERT INTO _migrations VALUES (?, '2026-01-01')", (name,))
    db.execute(
        "INSERT INTO conversations (id, title, created_at, updated_at) VALUES ('old', 'kept', '2026', '2026')"
    )
    db.close()
    store = Store(path)
    old = store.get_conversation("old")
    assert (old.title, old.comparison_id, old.pane_index) == ("kept", None, None)
    assert store.comparison_panes(create_comparison(store, PANES[:1]))[0].pane_index == 0
