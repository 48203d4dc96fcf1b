"""The store on SQLite and on PostgreSQL: every test taking `store` or `db_url` runs once per backend."""

import sqlite3
import threading

import pytest

from chatlab.store import APP_STOPPED, INTERRUPTED, STREAMING, Store
from chatlab.store.db import create_store_engine
from chatlab.store.migrations import MIGRATIONS, applied_migrations, apply_migrations


def test_migrations_run_once_and_are_recorded(db_url):
    first = Store(url=db_url)
    second = Store(url=db_url)  # reopening applies nothing twice
    assert applied_migrations(second.engine) == [name for name, _ in MIGRATIONS]
    assert apply_migrations(second.engine) == []
    first.close()
    second.close()


def test_a_sqlite_database_is_in_wal_and_readable_without_chatlab(tmp_path):
    path = tmp_path / "m.sqlite3"
    Store(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [r[0] for r in db.execute("SELECT name FROM _migrations")] == [name for name, _ in MIGRATIONS]


def test_the_database_comes_from_the_environment(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CHATLAB_DB", str(tmp_path / "env.sqlite3"))
    assert Store().path == tmp_path / "env.sqlite3"
    monkeypatch.setenv("CHATLAB_DB_URL", db_url)  # the URL wins over CHATLAB_DB
    from_env = Store()
    assert from_env.url == db_url and from_env.dialect == db_url.split(":")[0].split("+")[0]
    assert Store(tmp_path / "explicit.sqlite3").dialect == "sqlite"  # an explicit path wins over both


def test_a_plain_postgresql_url_uses_psycopg_3():
    engine = create_store_engine("postgresql://nobody@127.0.0.1:1/chatlab")  # connects on first use only
    assert engine.dialect.driver == "psycopg"


def test_an_unsupported_database_is_refused():
    with pytest.raises(ValueError, match="unsupported database"):
        Store(url="mysql://nobody@127.0.0.1/chatlab")


def test_messages_keep_order_turns_and_metadata(store):
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
        reply,
        content="hi",
        status="complete",
        prompt_tokens=5,
        completion_tokens=2,
        usage_estimated=True,
        cost_usd=0.000123456789,
        ttft_s=0.25,
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
    assert messages[1].cost_usd == 0.000123456789  # a double, not PostgreSQL's 4-byte REAL
    assert messages[0].params == {} and messages[0].request is None and messages[0].usage_estimated is False
    assert [m.content for m in store.messages(cid, last=2)] == ["hi", "again"]
    assert store.count_messages(cid) == 3 and store.get_message(reply) == messages[1]
    metrics = store.reply_metrics(cid)
    assert [(r.turn, r.prompt_tokens, r.usage_estimated, r.ttft_s) for r in metrics] == [(1, 5, True, 0.25)]


def test_conversations_and_comparisons_round_trip(store):
    comparison = store.create_comparison("cmp", panes=[{"model": "m", "label": "甲"}])
    pane = store.create_conversation("pane", kind="compare", comparison_id=comparison, pane_index=0)
    chat = store.create_conversation("chat", id="fixed-id", created_at="2026-01-01T00:00:00.000+00:00")
    assert chat == "fixed-id"
    assert store.get_conversation(chat).updated_at == "2026-01-01T00:00:00.000+00:00"
    store.update_conversation(chat, title="renamed", model="gpt-4o")
    assert (store.get_conversation(chat).title, store.get_conversation(chat).model) == ("renamed", "gpt-4o")
    assert [c.id for c in store.list_conversations(kind="compare")] == [pane]
    assert [c.id for c in store.list_conversations()] == [chat, pane]  # the update made `chat` newest
    assert store.get_comparison(comparison).panes == [{"model": "m", "label": "甲"}]
    store.update_comparison(comparison, title="new")
    assert [c.title for c in store.list_comparisons()] == ["new"]
    assert [c.id for c in store.comparison_panes(comparison)] == [pane]
    with pytest.raises(TypeError, match="unknown conversation fields"):
        store.create_conversation("x", colour="red")
    with pytest.raises(TypeError, match="unknown message fields"):
        store.add_message(chat, "user", "x", colour="red")


def test_bulk_appends_keep_given_numbering_and_are_all_or_nothing(store):
    cid = store.create_conversation("t", created_at="2026-01-01T00:00:00.000+00:00")
    ids = store.add_messages_bulk(
        cid,
        [
            {"role": "user", "content": "a", "created_at": "2026-02-01T00:00:00.000+00:00"},
            {"role": "assistant", "content": "b", "params": {"seed": 1}},
            {"role": "user", "content": "c", "seq": 10, "turn": 7},
        ],
    )
    assert len(ids) == 3 and ids == sorted(ids)
    assert [(m.seq, m.turn, m.params) for m in store.messages(cid)] == [
        (1, 1, {}),
        (2, 1, {"seed": 1}),
        (10, 7, {}),
    ]
    assert store.get_conversation(cid).updated_at > "2026-02-01"  # the newest message's time
    with pytest.raises(Exception):  # noqa: B017 - the driver's IntegrityError on the duplicate seq
        store.add_messages_bulk(
            cid, [{"role": "user", "content": "d", "seq": 20}, {"role": "user", "seq": 20}]
        )
    assert store.count_messages(cid) == 3


def test_delete_messages_and_count_all(store):
    first, second = store.create_conversation(), store.create_conversation()
    ids = [store.add_message(first, "user", str(n)) for n in range(3)]
    store.add_message(second, "user", "x")
    assert store.count_all_messages() == 4
    store.delete_messages(ids[:2])
    store.delete_messages([])
    assert [m.content for m in store.messages(first)] == ["2"] and store.count_all_messages() == 2


def test_a_reply_left_streaming_by_a_dead_process_becomes_interrupted(db_url):
    store = Store(url=db_url)
    cid = store.create_conversation()
    store.add_message(cid, "user", "q")
    store.add_message(cid, "assistant", "half a rep", status=STREAMING)
    restarted = Store(url=db_url)
    assert restarted.interrupt_abandoned_replies() == 1
    reply = restarted.messages(cid)[-1]
    assert (reply.status, reply.content) == (INTERRUPTED, "half a rep")
    assert reply.error == APP_STOPPED  # the note says why, not "the server sent no finish reason"
    store.close()
    restarted.close()


def test_concurrent_writers_never_collide_or_lose_messages(store):
    cid = store.create_conversation()
    other = store.create_conversation()
    errors = []

    def write(n):
        try:
            for i in range(25):
                store.add_message(cid, "user", f"{n}-{i}")
                if i % 5 == 0:
                    store.add_message(other, "assistant", f"{n}-{i}")
        except Exception as error:  # surfaced below: an exception in a thread would pass silently
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    messages = store.messages(cid)
    assert len(messages) == 200
    assert sorted(m.seq for m in messages) == list(range(1, 201))
    assert len({m.content for m in messages}) == 200
    assert sorted(m.seq for m in store.messages(other)) == list(range(1, 41))


def test_a_closed_store_reopens_its_connections(store):
    cid = store.create_conversation()
    store.close()  # what a comparison's worker thread does when its pane ends
    store.add_message(cid, "user", "still here")
    assert store.count_messages(cid) == 1


def test_deleting_a_conversation_deletes_its_messages(store):
    cid = store.create_conversation()
    store.add_message(cid, "user", "q")
    store.delete_conversation(cid)
    assert store.get_conversation(cid) is None and store.count_messages(cid) == 0
