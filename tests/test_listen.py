"""Where ./run.sh serves: this machine only by default; wider only when asked, and then only with a password."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chatlab.listen import ListenError, is_local, listen_address, main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """No password, no address, and a secrets file that does not exist (not the developer's)."""
    return {"CHATLAB_SECRETS": str(tmp_path / "no-secrets.toml")}


def test_by_default_only_this_machine_can_reach_the_app(env):
    assert listen_address([], env) == "127.0.0.1"
    assert listen_address(["--server.port", "8600"], env) == "127.0.0.1"


@pytest.mark.parametrize(
    "ask",
    [
        (["--public"], {}),
        ([], {"CHATLAB_ADDRESS": "192.168.1.20"}),
        ([], {"CHATLAB_ADDRESS": "chatlab.internal"}),  # a host name may resolve to anything
        (["--server.address", "0.0.0.0"], {}),
        (["--server.address=::"], {}),
        (["--public"], {"CHATLAB_PASSWORD": ""}),  # empty is no password
    ],
)
def test_a_wider_address_without_a_password_is_refused(env, ask):
    args, extra = ask
    with pytest.raises(ListenError, match="without a password") as refused:
        listen_address(args, {**env, **extra})
    assert "CHATLAB_PASSWORD" in str(refused.value) and "\n" not in str(refused.value)


def test_a_wider_address_with_a_password_is_served(env):
    env["CHATLAB_PASSWORD"] = "correct horse"
    assert listen_address(["--public"], env) == "0.0.0.0"
    assert listen_address([], {**env, "CHATLAB_ADDRESS": "192.168.1.20"}) == "192.168.1.20"
    # The most specific wins: Streamlit's own flag, then CHATLAB_ADDRESS, then --public.
    assert listen_address(["--public"], {**env, "CHATLAB_ADDRESS": "10.0.0.5"}) == "10.0.0.5"
    assert (
        listen_address(["--server.address", "10.0.0.6"], {**env, "CHATLAB_ADDRESS": "10.0.0.5"}) == "10.0.0.6"
    )


def test_the_password_may_come_from_secrets_toml(env, tmp_path):
    Path(env["CHATLAB_SECRETS"]).write_text('CHATLAB_PASSWORD = "from the file"\n', encoding="utf-8")
    assert listen_address(["--public"], env) == "0.0.0.0"


def test_an_unreadable_secrets_file_that_sets_the_password_keeps_the_app_closed(env):
    Path(env["CHATLAB_SECRETS"]).write_text('CHATLAB_PASSWORD = "unterminated\n', encoding="utf-8")
    with pytest.raises(ListenError, match="cannot be read"):
        listen_address(["--public"], env)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_addresses_need_no_password(env, address):
    assert is_local(address)
    assert listen_address([], {**env, "CHATLAB_ADDRESS": address}) == address


def test_the_command_prints_the_address_or_one_line_and_exit_code_2(env, monkeypatch, capsys):
    for name in ("CHATLAB_PASSWORD", "CHATLAB_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHATLAB_SECRETS", env["CHATLAB_SECRETS"])
    assert main([]) == 0
    assert capsys.readouterr().out == "127.0.0.1\n"
    assert main(["--public"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("Chat Lab: Refusing to listen on 0.0.0.0")


# --- run.sh itself, with the installer and Streamlit replaced by stand-ins --------------------------------


@pytest.fixture
def run_sh(tmp_path) -> Path:
    """A copy of run.sh beside the real chatlab package, a no-op installer, and a .venv python that
    prints the arguments Streamlit would have been started with."""
    folder = tmp_path / "checkout"
    (folder / "scripts").mkdir(parents=True)
    (folder / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "run.sh", folder / "run.sh")
    (folder / "chatlab").symlink_to(ROOT / "chatlab")
    installer = folder / "scripts" / "install.sh"
    installer.write_text('#!/bin/sh\necho installed >> "$(dirname "$0")/../installed.txt"\n')
    streamlit = folder / ".venv" / "bin" / "python"
    streamlit.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    for script in (installer, streamlit, folder / "run.sh"):
        script.chmod(0o755)
    return folder


def run(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("CHATLAB_PASSWORD", "CHATLAB_ADDRESS")}
    clean.update(CHATLAB_SECRETS=str(folder / "no-secrets.toml"), PYTHON=sys.executable, **env)
    return subprocess.run(
        ["bash", str(folder / "run.sh"), *args], env=clean, capture_output=True, text=True, timeout=60
    )


def test_run_sh_serves_on_loopback_and_passes_the_rest_to_streamlit(run_sh):
    done = run(run_sh, "--server.port", "8600")
    assert done.returncode == 0, done.stderr
    args = done.stdout.split("\n")
    assert args[args.index("--server.address") + 1] == "127.0.0.1"
    assert args[args.index("--server.port") + 1] == "8600"


def test_run_sh_public_with_a_password_listens_everywhere_and_drops_its_own_flag(run_sh):
    done = run(run_sh, "--public", CHATLAB_PASSWORD="s3cret")
    assert done.returncode == 0, done.stderr
    args = done.stdout.split("\n")
    assert args[args.index("--server.address") + 1] == "0.0.0.0" and "--public" not in args


def test_run_sh_public_without_a_password_refuses_before_installing_anything(run_sh):
    done = run(run_sh, "--public")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "CHATLAB_PASSWORD" in done.stderr
    assert not (run_sh / "installed.txt").exists()
