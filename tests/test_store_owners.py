"""Stream owners: a process starting up interrupts only the replies whose streaming process is gone.

The rules one by one (chatlab/store/owners.py), then the store on both backends, then two real processes
sharing one database: a second app start leaves the first one's live reply alone; a killed one's reply
is interrupted.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from chatlab.store import APP_STOPPED, COMPLETE, INTERRUPTED, STREAMING, Store, owners
from chatlab.store.db import writer
from chatlab.store.owners import Owner, is_gone, process_start, this_process
from tests.fake_openai import FakeOpenAI, Reply
from tests.old_database import old_database

ROOT = Path(__file__).resolve().parent.parent


def exited_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def owner(**changes) -> Owner:
    """Another process, seen a moment after its last heartbeat; by default one this process can see."""
    me = this_process()
    fields = dict(
        id="another-start",
        host=me.host,
        pid=os.getpid(),
        pid_start=me.pid_start,
        pid_space=me.pid_space,
        heartbeat_at=1000.0,
        read_at=1001.0,
    )
    return Owner(**{**fields, **changes})


# --- the rules -----------------------------------------------------------------------------------------


def test_a_reply_with_no_owner_row_is_abandoned():
    assert is_gone(None)


def test_this_process_never_abandons_its_own_replies_even_with_a_late_heartbeat():
    assert not is_gone(owner(id=this_process().id, heartbeat_at=0.0, read_at=10_000.0))


def test_a_live_pid_here_that_started_when_recorded_owns_its_reply():
    assert not is_gone(owner())


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times come from Linux /proc")
def test_a_live_pid_here_that_started_at_another_time_is_a_reused_number():
    assert process_start(os.getpid()) == this_process().pid_start is not None
    assert is_gone(owner(pid_start="1"))


def test_a_pid_here_that_no_longer_runs_is_gone():
    assert is_gone(owner(pid=exited_pid()))


@pytest.mark.skipif(not hasattr(os, "waitid"), reason="needs waitid to leave a child unreaped")
def test_a_process_that_ended_but_was_not_yet_reaped_is_gone():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # ended, left as a zombie
    try:
        assert is_gone(owner(pid=child.pid, pid_start=process_start(child.pid)))
    finally:
        child.wait()


def test_on_another_host_only_the_heartbeat_tells():
    elsewhere = dict(host="replica-2", pid=exited_pid(), pid_space="another-boot/pid:[1]")
    assert not is_gone(
        owner(**elsewhere, read_at=1000.0 + owners.STALE_AFTER_S)
    )  # its pid means nothing here
    assert is_gone(owner(**elsewhere, read_at=1000.0 + owners.STALE_AFTER_S + 1))


def test_a_stale_heartbeat_means_gone_even_here():
    assert is_gone(owner(read_at=1000.0 + owners.STALE_AFTER_S + 1))


def test_without_proc_the_host_name_decides_whether_the_pid_can_be_checked():
    me = dataclasses.replace(this_process(), pid_space=None)
    assert is_gone(owner(pid_space=None, pid=exited_pid()), me=me)
    assert not is_gone(owner(pid_space=None, pid=exited_pid(), host="elsewhere"), me=me)


# --- the store, on SQLite and PostgreSQL -----------------------------------------------------------------


def add_process(store: Store, pid: int, *, id: str, age_s: float = 0.0, **changes) -> str:
    """A `processes` row for another process start, last heard from `age_s` ago by the database's clock."""
    me = this_process()
    row = dict(
        id=id,
        host=me.host,
        pid=pid,
        pid_start=process_start(pid),
        pid_space=me.pid_space,
        started_at="2026-01-01T00:00:00+00:00",
        age=age_s,
    )
    row.update(changes)
    with writer(store.engine).begin() as db:
        db.execute(
            text(
                "INSERT INTO processes (id, host, pid, pid_start, pid_space, started_at, heartbeat_at)"
                " VALUES (:id, :host, :pid, :pid_start, :pid_space, :started_at,"
                f" {owners.db_now(store.dialect)} - :age)"
            ),
            row,
        )
    return id


def streaming_reply(store: Store, owner_id: str | None) -> tuple[str, int]:
    cid = store.create_conversation()
    store.add_message(cid, "user", "q")
    return cid, store.add_message(cid, "assistant", "half a rep", status=STREAMING, stream_owner=owner_id)


def process_ids(store: Store) -> set[str]:
    with store.engine.connect() as db:
        return set(db.exec_driver_sql("SELECT id FROM processes").scalars())


def test_a_start_interrupts_replies_of_gone_processes_only(store):
    mine = streaming_reply(store, store.stream_owner())
    sibling = streaming_reply(store, add_process(store, os.getppid(), id="sibling"))
    dead = streaming_reply(store, add_process(store, exited_pid(), id="dead"))
    far_alive = streaming_reply(store, add_process(store, 1, id="far", host="replica-2", pid_space="other"))
    far_stale = streaming_reply(
        store, add_process(store, 1, id="far-stale", host="replica-3", pid_space="other", age_s=3600)
    )
    unknown = streaming_reply(store, "a-process-that-never-registered")
    old = streaming_reply(store, None)

    expected = [dead[1], far_stale[1], unknown[1], old[1]]
    assert store.abandoned_replies() == expected
    assert store.interrupt_abandoned_replies() == 4
    for cid, reply in (mine, sibling, far_alive):
        assert store.get_message(reply).status == STREAMING, cid
    for _, reply in (dead, far_stale, unknown, old):
        message = store.get_message(reply)
        assert (message.status, message.content, message.error) == (INTERRUPTED, "half a rep", APP_STOPPED)
    # The rows of processes found gone are dropped: one row per process start must not pile up.
    assert process_ids(store) == {this_process().id, "sibling", "far"}


def test_a_page_asks_about_its_own_conversation_only(store):
    shown, shown_reply = streaming_reply(store, add_process(store, exited_pid(), id="dead"))
    _, elsewhere_reply = streaming_reply(store, "dead")
    assert store.abandoned_replies(shown) == [shown_reply]
    assert store.interrupt_abandoned_replies(shown) == 1
    assert store.get_message(elsewhere_reply).status == STREAMING
    store.update_message(elsewhere_reply, status=COMPLETE)  # finished meanwhile: nothing left to interrupt
    assert store.interrupt_abandoned_replies() == 0


def test_the_heartbeat_keeps_a_quiet_process_alive(store):
    owner_id = store.stream_owner()
    with writer(store.engine).begin() as db:
        db.exec_driver_sql("UPDATE processes SET heartbeat_at = 0")
    store.heartbeat()
    with store.engine.connect() as db:
        heartbeat, now = db.exec_driver_sql(
            f"SELECT heartbeat_at, {owners.db_now(store.dialect)} FROM processes WHERE id = '{owner_id}'"
        ).one()
    assert now - heartbeat < owners.STALE_AFTER_S


def test_a_process_that_stops_cleanly_leaves_no_row(store):
    store.stream_owner()
    store.retire()
    assert process_ids(store) == set()
    store.heartbeat()  # a beat after all (the process went on): the row is back
    assert process_ids(store) == {this_process().id}


def test_the_heartbeat_thread_beats_for_each_kept_store():
    beaten = threading.Event()

    class Target:
        def heartbeat(self) -> None:
            beaten.set()

        def retire(self) -> None:
            pass

    target = Target()
    owners.keep_alive(target)
    assert beaten.wait(owners.HEARTBEAT_INTERVAL_S * 4)


def test_an_old_database_gains_owners_and_its_streaming_rows_count_as_abandoned(db_url):
    with old_database(db_url, migrations=4) as db:
        db.exec_driver_sql(
            "INSERT INTO conversations (id, title, created_at, updated_at) VALUES ('old', 'kept', 'x', 'x')"
        )
        db.exec_driver_sql(
            "INSERT INTO messages (conversation_id, seq, turn, role, content, status, created_at, updated_at)"
            " VALUES ('old', 1, 1, 'assistant', 'cut', 'streaming', 'x', 'x')"
        )
    store = Store(url=db_url)
    assert store.interrupt_abandoned_replies() == 1
    assert store.messages("old")[0].status == INTERRUPTED
    store.close()


# --- two processes on one database ---------------------------------------------------------------------


class AppProcess:
    """tests/app_process.py streaming one reply in its own process."""

    def __init__(self, db_url: str, base_url: str):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.app_process", "stream", db_url, base_url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )

    def line(self) -> str:
        line = self.process.stdout.readline()
        assert line, f"the app process ended early (exit code {self.process.wait()})"
        return line.strip()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdout.close()


def app_start(db_url: str) -> int:
    """A second app process starting on the same database: how many replies it marked interrupted."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.app_process", "start", db_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@pytest.fixture
def held_fake():
    """The fake OpenAI server; each reply sends two chunks, then waits for `release`."""
    release = threading.Event()
    fake = FakeOpenAI(
        default=Reply(text="a reply that takes its time", chunk_chars=4, hold=release, hold_after=2)
    )
    fake.start()
    try:
        yield fake, release
    finally:
        release.set()
        fake.stop()


@pytest.fixture
def streaming_app(db_url, held_fake):
    """A first app process mid-reply (held open by the fake); yields it, its conversation, a store on the
    same database, and the fake's release."""
    fake, release = held_fake
    first = AppProcess(db_url, fake.base_url)
    store = Store(url=db_url)
    try:
        conversation_id = first.line().removeprefix("streaming ")
        yield first, conversation_id, store, release
    finally:
        first.close()
        store.close()


def test_a_second_app_start_leaves_a_live_reply_streaming_and_it_completes(db_url, streaming_app):
    first, conversation_id, store, release = streaming_app
    assert app_start(db_url) == 0
    reply = store.messages(conversation_id)[-1]
    assert reply.status == STREAMING and reply.content  # left alone, as it was mid-stream
    release.set()
    assert first.line() == f"done {COMPLETE}"
    reply = store.messages(conversation_id)[-1]
    assert (reply.status, reply.content) == (COMPLETE, "a reply that takes its time")


def test_a_killed_app_processs_reply_is_interrupted_by_the_next_start(db_url, streaming_app):
    first, conversation_id, store, _ = streaming_app
    first.process.kill()  # SIGKILL: no clean-up of any kind
    first.process.wait()
    assert app_start(db_url) == 1
    reply = store.messages(conversation_id)[-1]
    assert (reply.status, reply.error) == (INTERRUPTED, APP_STOPPED) and reply.content
