"""Who streams a reply, and whether that process still lives.

Several app processes may share one database (replicas behind a proxy, on PostgreSQL; or two `streamlit
run` on one SQLite file). A reply is written while it streams, so a process that dies leaves it
'streaming' for ever; a process that starts must turn such replies into 'interrupted' — but only those
whose owner is gone, never the live replies of a sibling process.

Each streaming reply therefore names its owner (`messages.stream_owner`), a row of `processes`: an id
unique to one process start, the host, the pid, what tells this pid from a later process given the same
number (the kernel's start time of the pid), and a heartbeat. An owner is gone when

- it has no row (an old reply from before owners existed, or a process that stopped cleanly), or
- its heartbeat is older than STALE_AFTER_S (the only test that works across hosts), or
- it ran where this process can see its pid (same host and pid namespace) and that pid is not alive, or
  is alive but started at another time (the number was reused).

Why one heartbeat per process, not per reply: a reply's own writes are no sign of life — the local model
serves one request at a time, so a reply may wait minutes for its first token while another session's
reply is generated, and a slow model may pause longer than any sensible limit. A daemon thread beating
for the process is independent of tokens, and costs one small write every HEARTBEAT_INTERVAL_S however
many replies stream at once (twenty sessions would otherwise mean twenty heartbeat writes).

Heartbeats are stamped with the database's clock, never the host's, so replicas whose clocks disagree
still judge each other fairly.
"""

from __future__ import annotations

import atexit
import os
import socket
import threading
import uuid
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, text

from chatlab.store.db import POSTGRESQL

HEARTBEAT_INTERVAL_S = 5.0
# Twelve missed beats. Generous on purpose: a busy machine may starve the heartbeat thread for a while,
# and a live reply wrongly marked interrupted is worse than a dead one noticed a minute late. Processes
# that can see each other's pids (same host) do not wait for it.
STALE_AFTER_S = 60.0

# The database's clock in seconds since the epoch, per dialect.
_DB_NOW = {
    POSTGRESQL: "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}


@dataclass(frozen=True)
class ProcessIdentity:
    """One process start, as recorded in `processes`."""

    id: str  # unique per process start
    host: str
    pid: int
    pid_start: str | None  # the kernel's start time of the pid (Linux), None where unknown
    pid_space: str | None  # which pids this process can see: boot and pid namespace (Linux), else None
    started_at: str


@dataclass(frozen=True)
class Owner:
    """A `processes` row as another process reads it, with the database's time of reading."""

    id: str
    host: str
    pid: int
    pid_start: str | None
    pid_space: str | None
    heartbeat_at: float  # database clock, seconds since the epoch
    read_at: float  # database clock when the row was read


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the process name (Linux), or None where they cannot be read."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # the name before ")" may hold spaces
    return fields if len(fields) >= 20 else None


def process_start(pid: int) -> str | None:
    """When the kernel started `pid` (field 22 of /proc/PID/stat), or None where it cannot be read."""
    fields = _stat(pid)
    return fields[19] if fields is not None else None


def pid_space() -> str | None:
    """Which pids this process can see: the boot and the pid namespace (two containers sharing a host
    name see different pids); None where Linux's /proc does not tell."""
    boot = _read("/proc/sys/kernel/random/boot_id")
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = None
    return f"{boot}/{namespace}" if boot and namespace else None


_identity: ProcessIdentity | None = None
_identity_lock = threading.Lock()


def this_process() -> ProcessIdentity:
    """This process start's identity (a forked child gets its own)."""
    global _identity
    with _identity_lock:
        pid = os.getpid()
        if _identity is None or _identity.pid != pid:
            _identity = ProcessIdentity(
                id=uuid.uuid4().hex,
                host=socket.gethostname(),
                pid=pid,
                pid_start=process_start(pid),
                pid_space=pid_space(),
                started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        return _identity


def pid_alive(pid: int, start: str | None) -> bool:
    """The pid runs here and, when `start` is known, is the same process that started then."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    fields = _stat(pid)
    if fields is None:
        return True  # it exists, but /proc does not show it (another user's, with hidepid): cannot tell more
    if fields[0] == "Z":
        return False  # ended; only its exit status is left for its parent to collect
    return start is None or fields[19] == start


def is_gone(
    owner: Owner | None, stale_after_s: float = STALE_AFTER_S, me: ProcessIdentity | None = None
) -> bool:
    """Whether a reply owned by `owner` can no longer be finished by it (see the module's rules)."""
    me = me or this_process()
    if owner is None:
        return True
    if owner.id == me.id:
        return False
    if owner.read_at - owner.heartbeat_at > stale_after_s:
        return True
    if owner.pid_space is not None and owner.pid_space == me.pid_space:
        return not pid_alive(owner.pid, owner.pid_start)
    if owner.pid_space is None and me.pid_space is None and owner.host == me.host:
        return not pid_alive(owner.pid, None)
    return False


# --- the processes table --------------------------------------------------------------------------------


def db_now(dialect: str) -> str:
    """SQL for the database's clock in seconds since the epoch."""
    return _DB_NOW[dialect]


def beat(db: Connection, me: ProcessIdentity) -> None:
    """Record `me` as alive now (creating its row if it has none, e.g. another process removed it)."""
    db.execute(
        text(
            "INSERT INTO processes (id, host, pid, pid_start, pid_space, started_at, heartbeat_at)"
            f" VALUES (:id, :host, :pid, :pid_start, :pid_space, :started_at, {db_now(db.dialect.name)})"
            " ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at"
        ),
        {
            "id": me.id,
            "host": me.host,
            "pid": me.pid,
            "pid_start": me.pid_start,
            "pid_space": me.pid_space,
            "started_at": me.started_at,
        },
    )


class Beating(Protocol):
    def heartbeat(self) -> None: ...

    def retire(self) -> None: ...


# One daemon thread per process beats for every store this process streams into. Weak references: a
# store nobody uses any more (a finished test, a closed page) stops beating and is left to go stale.
_kept: weakref.WeakSet = weakref.WeakSet()
_kept_lock = threading.Lock()
_thread: threading.Thread | None = None
_exiting = threading.Event()


def keep_alive(target: Beating) -> None:
    """Beat for `target` every HEARTBEAT_INTERVAL_S while this process lives; retire it at exit."""
    global _thread
    with _kept_lock:
        _kept.add(target)
        if _thread is None or not _thread.is_alive():  # also after a fork: threads do not follow
            _thread = threading.Thread(target=_beat_forever, name="chatlab-heartbeat", daemon=True)
            _thread.start()


def _beat_forever() -> None:
    while not _exiting.wait(HEARTBEAT_INTERVAL_S):
        for target in list(_kept):
            try:
                target.heartbeat()
            except Exception:  # a database briefly away: the next beat tries again
                pass


@atexit.register
def _retire_all() -> None:
    # A clean stop (Streamlit's SIGTERM, Ctrl-C, the end of a script) removes this process's rows, so
    # other processes see its unfinished replies as abandoned at once instead of after STALE_AFTER_S.
    _exiting.set()
    for target in list(_kept):
        try:
            target.retire()
        except Exception:  # best effort: the heartbeat goes stale anyway
            pass
