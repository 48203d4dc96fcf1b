import sqlite3
import threading

from chatlab.migrations import MIGRATIONS
from chatlab.store import INTERRUPTED, STREAMING, Store


def test_migrations_run_once_and_are_recorded(tmp_path):
    path = tmp_path / "m.sqlite3"
    Store(path)
    Store(path)  # reopening applies nothing twice
    names = [r[0] for r in sqlite3.connect(path).execute("SELECT name FROM _migrations")]
    assert names == [name for name, _ in MIGRATIONS]


def test_messages_keep_order_turns_and_metadata(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    cid = store.create_conversation("title", model="gpt-4o-mini")
    store.add_message(cid, "user", "你好")
    reply = store.add_message(
        cid,
        "assistant",
        "",
        status=STREAMING,
        params={"temperature": 0.3},
        request={"messages": [{"role": "user", "content": "你好"}]},
    )
    store.update_message(
        reply, content="hi", status="complete", prompt_tokens=5, completion_tokens=2, usage_estimated=True
    )
    store.add_message(cid, "user", "again")
    messages = store.messages(cid)
    assert [(m.seq, m.turn, m.role) for m in messages] == [
        (1, 1, "user"),
        (2, 1, "assistant"),
        (3, 2, "user"),
    ]
    assert messages[1].params == {"temperature": 0.3} and messages[1].usage_estimated is True
    assert messages[1].request["messages"][0]["content"] == "你好"
    assert [m.content for m in store.messages(cid, last=2)] == ["hi", "again"]
    assert store.count_messages(cid) == 3


def test_a_reply_left_streaming_by_a_dead_process_becomes_interrupted(tmp_path):
    path = tmp_path / "c.sqlite3"
    store = Store(path)
    cid = store.create_conversation()
    store.add_message(cid, "user", "q")
    store.add_message(cid, "assistant", "half a rep", status=STREAMING)
    restarted = Store(path)
    assert restarted.mark_streaming_interrupted() == 1
    reply = restarted.messages(cid)[-1]
    assert (reply.status, reply.content) == (INTERRUPTED, "half a rep")


def test_concurrent_writers_never_collide_or_lose_messages(tmp_path):
    store = Store(tmp_path / "w.sqlite3")
    cid = store.create_conversation()

    def write(n):
        for i in range(25):
            store.add_message(cid, "user", f"{n}-{i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    messages = store.messages(cid)
    assert len(messages) == 200
    assert sorted(m.seq for m in messages) == list(range(1, 201))
    assert len({m.content for m in messages}) == 200


def test_deleting_a_conversation_deletes_its_messages(tmp_path):
    store = Store(tmp_path / "d.sqlite3")
    cid = store.create_conversation()
    store.add_message(cid, "user", "q")
    store.delete_conversation(cid)
    assert store.get_conversation(cid) is None and store.count_messages(cid) == 0
