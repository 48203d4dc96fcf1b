"""A throwaway PostgreSQL server from Debian's `postgresql` package, for tests and benchmarks.

initdb makes a cluster in a temporary directory; the server listens on a free loopback port with trust
authentication and without fsync (nothing in it outlives the run). PostgreSQL refuses to run as root, so
as root the binaries run as the `postgres` user the package creates (`runuser -u postgres --`).
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

DEBIAN_BINARIES = "/usr/lib/postgresql/*/bin"
PORT_ATTEMPTS = 3


def find_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl, else the one on PATH."""

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path.parent.name))

    candidates = sorted(Path("/").glob(DEBIAN_BINARIES.lstrip("/")), key=version, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)
    for bin_dir in candidates:
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
            return bin_dir
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One server in its own temporary directory; `start()`, then databases from `create_database()`."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.port = 0
        self.root: Path | None = None
        self._names = itertools.count(1)
        self._as_postgres: list[str] = []

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [*self._as_postgres, str(self.bin_dir / args[0]), *args[1:]]
        # cwd: the postgres user may not be allowed into the caller's directory.
        return subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=120)

    def start(self) -> PostgresServer:
        self.root = Path(tempfile.mkdtemp(prefix="chatlab-pg-"))
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")  # created by Debian's package
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
        data, log = self.root / "data", self.root / "server.log"
        # C.UTF-8: pg_trgm makes trigrams of Chinese text only under a UTF-8 ctype; "C" would skip them.
        initdb = self._run(
            "initdb",
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "-N",
        )
        if initdb.returncode != 0:
            self._cleanup()
            raise RuntimeError(f"initdb failed: {initdb.stderr or initdb.stdout}")
        # A port picked free may be taken by another program before PostgreSQL binds it (a busy machine):
        # then it fails to start, and it tries again on another port.
        for _attempt in range(PORT_ATTEMPTS):
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            log.unlink(missing_ok=True)
            started = self._run(
                "pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"
            )
            if started.returncode == 0:
                return self
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else started.stderr
            if "could not bind" not in detail and "already in use" not in detail:
                break
        self._cleanup()
        raise RuntimeError(f"PostgreSQL did not start on port {self.port}: {detail}")

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL for one database of this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        )

    def create_database(self) -> str:
        """A new, empty database; returns its name."""
        name = f"chatlab_test_{next(self._names)}"
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, ending any connection a test left open to it."""
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.root is not None and (self.root / "data").exists():
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        self._cleanup()

    def _cleanup(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
