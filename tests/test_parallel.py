"""Several streams at once, fanned into one iterator: order, concurrency, failures, cancel and close."""

import threading
from collections import defaultdict

import pytest

from chatlab.client import ChatClient
from chatlab.events import StreamDone, StreamError, TextDelta
from chatlab.parallel import Tagged, run_parallel
from chatlab.params import GenerationParams
from chatlab.request import build_request
from chatlab.store import COMPLETE, STOPPED, Store
from chatlab.turn import TurnSettings, send_turn
from tests.fake_openai import Reply

MODEL = "gpt-4o-mini"


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "parallel.sqlite3")


@pytest.fixture
def client(fake_endpoint):
    client = ChatClient(fake_endpoint)
    yield client
    client.close()


def workers_alive() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("chatlab-parallel")]


def last_user_text(request) -> str:
    return request.body["messages"][-1]["content"]


def client_stream(client, text: str):
    """A stream factory: one request whose last user message is `text`."""
    return lambda: client.stream(
        build_request(MODEL, [{"role": "user", "content": text}], GenerationParams())
    )


def by_index(tagged: list[Tagged]) -> dict[int, list]:
    out = defaultdict(list)
    for t in tagged:
        out[t.index].append(t.event)
    return out


def text_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_each_streams_events_arrive_complete_and_in_order(client, fake_openai):
    # Each stream's text counts up, so any lost or reordered delta shows in the joined text.
    texts = {f"s{i}": "".join(f"<{i}:{k:03d}>" for k in range(60)) for i in range(3)}
    fake_openai.script_fn(lambda r: Reply(text=texts[last_user_text(r)], chunk_chars=7, delay_s=0.001))
    tagged = list(run_parallel([client_stream(client, name) for name in texts]))
    events = by_index(tagged)
    assert sorted(events) == [0, 1, 2]
    for i, name in enumerate(texts):
        assert text_of(events[i]) == texts[name]
        assert isinstance(events[i][-1], StreamDone) and not events[i][-1].interrupted
        assert sum(isinstance(e, StreamDone) for e in events[i]) == 1
    assert not workers_alive()


def test_all_streams_run_at_the_same_time(client, fake_openai):
    # The fake answers only once all three requests are in flight together. Run one after another, the
    # second request would never arrive while the first waits: the barrier breaks and the replies fail.
    fake_openai.barrier(3)
    events = by_index(list(run_parallel([client_stream(client, f"s{i}") for i in range(3)])))
    for i in range(3):
        assert text_of(events[i]) == "Hello from the fake server." and not events[i][-1].interrupted
    assert fake_openai.peak_in_flight == 3


@pytest.mark.parametrize("where", ["factory", "mid_stream"])
def test_a_stream_that_raises_ends_with_an_error_and_the_others_complete(client, fake_openai, where):
    fake_openai.default = Reply(text="fine " * 10, chunk_chars=5, delay_s=0.005)

    def broken_factory():
        raise RuntimeError("no stream for you")

    def broken_stream():
        yield TextDelta(0, "half")
        raise RuntimeError("broke mid-way")

    broken = broken_factory if where == "factory" else broken_stream
    events = by_index(list(run_parallel([client_stream(client, "a"), broken, client_stream(client, "b")])))
    error, done = events[1][-2:]
    assert isinstance(error, StreamError) and error.kind == "api" and "RuntimeError" in error.message
    assert isinstance(done, StreamDone) and done.error == error and done.interrupted
    for i in (0, 2):
        assert text_of(events[i]) == "fine " * 10
        assert events[i][-1].finish_reasons == {0: "stop"}


def turn_stream(store, client, conversation_id: str, text: str):
    settings = TurnSettings(model=MODEL)
    return lambda: send_turn(store, client, conversation_id, settings, text, write_interval_s=0)


def test_cancel_stops_the_running_streams_and_keeps_the_finished_one(store, client, fake_openai):
    long_text = "word " * 400

    def reply(request):
        if last_user_text(request) == "fast":
            return Reply(text="done quickly")
        return Reply(text=long_text, chunk_chars=5, delay_s=0.01)  # ~4 s if nobody stops it

    fake_openai.script_fn(reply)
    cids = [store.create_conversation() for _ in range(3)]
    cancel = threading.Event()
    streams = [
        turn_stream(store, client, cid, text)
        for cid, text in zip(cids, ["slow", "fast", "slow"], strict=True)
    ]
    seen = defaultdict(list)
    for tagged in run_parallel(streams, cancel=cancel):
        seen[tagged.index].append(tagged.event)
        if tagged.index == 1 and isinstance(tagged.event, StreamDone):
            cancel.set()
    assert not workers_alive()
    fast = store.messages(cids[1])[-1]
    assert (fast.status, fast.content) == (COMPLETE, "done quickly")
    assert isinstance(seen[1][-1], StreamDone)
    for cid, index in ((cids[0], 0), (cids[2], 2)):
        reply = store.messages(cid)[-1]
        assert reply.status == STOPPED and len(reply.content) < len(long_text) / 2
        assert not any(isinstance(e, StreamDone) for e in seen[index])
        # The caller saw a prefix of what was stored: nothing after the cancel, nothing lost before it.
        assert reply.content.startswith(text_of(seen[index]))


def test_cancel_skips_streams_that_had_not_started(client, fake_openai):
    fake_openai.default = Reply(text="slow " * 100, chunk_chars=5, delay_s=0.01)
    cancel = threading.Event()
    started = []

    def counted(i):
        def factory():
            started.append(i)
            return client.stream(
                build_request(MODEL, [{"role": "user", "content": str(i)}], GenerationParams())
            )

        return factory

    seen = []
    for tagged in run_parallel([counted(i) for i in range(4)], max_workers=1, cancel=cancel):
        seen.append(tagged.index)
        cancel.set()
    assert started == [0] and set(seen) == {0}  # streams 1–3 never ran and said nothing
    assert not workers_alive()


def test_closing_the_iterator_stops_every_worker_and_stores_stopped_replies(store, client, fake_openai):
    fake_openai.default = Reply(text="word " * 400, chunk_chars=5, delay_s=0.01)
    cids = [store.create_conversation() for _ in range(3)]
    events = run_parallel([turn_stream(store, client, cid, "go") for cid in cids])
    deltas = 0
    for tagged in events:
        deltas += isinstance(tagged.event, TextDelta)
        if deltas == 6:
            break
    events.close()  # what a Streamlit rerun (or the Stop button) does to the page's loop
    assert not workers_alive()
    for cid in cids:
        user, reply = store.messages(cid)
        assert user.content == "go" and reply.status == STOPPED


def test_max_workers_bounds_how_many_requests_run_at_once(client, fake_openai):
    # Answered in pairs: two requests must be in flight together, and a third never joins them.
    fake_openai.barrier(2)
    fake_openai.default = Reply(text="ok")
    events = by_index(list(run_parallel([client_stream(client, str(i)) for i in range(6)], max_workers=2)))
    assert [text_of(events[i]) for i in range(6)] == ["ok"] * 6
    assert fake_openai.peak_in_flight == 2


def test_no_streams_and_bad_worker_counts():
    assert list(run_parallel([])) == []
    with pytest.raises(ValueError):
        run_parallel([lambda: iter(())], max_workers=0)
