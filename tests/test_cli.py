"""The terminal chat, driven through a pseudo-terminal as a person would: typing, Ctrl-C, Ctrl-D."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect", reason="pexpect is in requirements.txt: run scripts/install.sh")

from chatlab.cli import default_transcript_path, printable  # noqa: E402
from chatlab.roles import find_role, load_roles  # noqa: E402
from chatlab.store import STOPPED, Store  # noqa: E402
from tests.fake_openai import DEFAULT_TEXT, FakeOpenAI, Reply  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "you> "
TIMEOUT_S = 30


def _env(tmp_path: Path, fake: FakeOpenAI | None, **extra: str) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "CHATLAB_", "HTTPS_PROXY", "https_proxy"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        CHATLAB_DB=str(tmp_path / "history.sqlite3"),
        CHATLAB_SECRETS=str(tmp_path / "no-secrets.toml"),  # does not exist: nothing configured there
        CHATLAB_MAX_RETRIES="0",
        TERM="dumb",
        LC_ALL="C.UTF-8",
        PYTHONIOENCODING="utf-8",
    )
    if fake is not None:
        env.update(OPENAI_BASE_URL=fake.base_url, OPENAI_API_KEY="sk-test-cli-4321")
    env.update(extra)
    return env


class Chat:
    """A running `python -m chatlab chat` in a pseudo-terminal."""

    def __init__(self, tmp_path: Path, fake: FakeOpenAI | None, *args: str, **env: str):
        self.db = tmp_path / "history.sqlite3"
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "chatlab", "chat", *args],
            env=_env(tmp_path, fake, **env),
            cwd=str(tmp_path),
            encoding="utf-8",
            timeout=TIMEOUT_S,
            dimensions=(50, 200),
        )

    def expect(self, pattern) -> str:
        self.child.expect(pattern)
        return self.child.before

    def prompt(self) -> str:
        """Wait for the prompt; returns what was printed before it."""
        return self.expect(re.escape(PROMPT))

    def say(self, text: str) -> str:
        """Type a line, wait for the next prompt; returns the output in between."""
        self.child.sendline(text)
        return self.prompt()

    def store(self) -> Store:
        return Store(self.db)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


@pytest.fixture
def chat_factory(tmp_path) -> Iterator:
    chats: list[Chat] = []

    def start(fake: FakeOpenAI | None, *args: str, **env: str) -> Chat:
        chat = Chat(tmp_path, fake, *args, **env)
        chats.append(chat)
        return chat

    yield start
    for chat in chats:
        chat.close()


def _role(name: str):
    role = find_role(load_roles(), name)
    assert role is not None
    return role


def test_a_whole_session(tmp_path, fake_openai: FakeOpenAI, chat_factory) -> None:
    chat = chat_factory(fake_openai, "--role", "Senior Programmer", "--depth", "2")
    header = chat.prompt()
    assert "Senior Programmer" in header and "gpt-4o-mini" in header
    assert "2 past messages" in header and "…4321" in header
    assert "sk-test-cli-4321" not in header

    fake_openai.script(Reply(text="First streamed answer.", chunk_chars=3))
    out = chat.say("Hello from the terminal 你好")
    assert "First streamed answer." in out
    assert re.search(r"\d+ → \d+ tokens", out) and "first token" in out and "tok/s" in out

    programmer = _role("Senior Programmer")
    for text in ("second message", "third message"):
        chat.say(text)
    sent = fake_openai.last_body["messages"]
    assert sent[0] == {"role": "system", "content": programmer.system}
    assert sent[-1] == {"role": "user", "content": "third message"}
    past = sent[1:-1]
    assert len(past) == 2 and past[0] == {"role": "user", "content": "second message"}
    assert fake_openai.last_body["temperature"] == 0.2  # the role's default

    # Messages typed here are in the app's history.
    store = chat.store()
    (conversation,) = store.list_conversations()
    texts = [(m.role, m.content) for m in store.messages(conversation.id)]
    assert ("user", "Hello from the terminal 你好") in texts
    assert ("assistant", "First streamed answer.") in texts
    assert conversation.title.startswith("Hello from the terminal")

    listing = chat.say("/role")
    assert "* Senior Programmer" in listing and "Patient Teacher" in listing
    assert "Patient Teacher" in chat.say("/role patient teacher")
    chat.say("Teach me")
    teacher = _role("Patient Teacher")
    assert fake_openai.last_body["messages"][0]["content"] == teacher.system
    assert fake_openai.last_body["temperature"] == teacher.default_params()["temperature"]

    saved = chat.say("/save")
    match = re.search(r"Saved (\d+) messages to (\S+\.md)", saved)
    assert match, saved
    markdown = (tmp_path / match.group(2)).read_text(encoding="utf-8")
    assert "Hello from the terminal 你好" in markdown and "First streamed answer." in markdown
    assert "Saved" in chat.say(f"/save {tmp_path / 'named.md'}")
    assert (tmp_path / "named.md").is_file()

    assert "New conversation" in chat.say("/reset")
    chat.say("A fresh start")
    conversations = store.list_conversations()
    assert len(conversations) == 2
    newest = store.messages(conversations[0].id)
    assert [m.content for m in newest if m.role == "user"] == ["A fresh start"]
    # A new conversation sends no history from the old one.
    assert [m["role"] for m in fake_openai.last_body["messages"]] == ["system", "user"]

    assert "Unknown command /nope" in chat.say("/nope")
    assert "/reset" in chat.say("/help")
    chat.child.sendline("/exit")
    chat.expect("Bye.")
    chat.expect(pexpect.EOF)
    chat.child.close()
    assert chat.child.exitstatus == 0


def test_ctrl_c_stops_a_slow_reply_and_keeps_it(fake_openai: FakeOpenAI, chat_factory) -> None:
    chat = chat_factory(fake_openai, "--role", "Senior Programmer")
    chat.prompt()
    fake_openai.script(Reply(text="slow words " * 40, chunk_chars=5, delay_s=0.2))
    chat.child.sendline("Tell me a long story")
    chat.expect("slow words")
    chat.child.sendintr()
    chat.expect("stopped")
    chat.prompt()

    store = chat.store()
    (conversation,) = store.list_conversations()
    reply = [m for m in store.messages(conversation.id) if m.role == "assistant"][-1]
    assert reply.status == STOPPED
    assert reply.content.startswith("slow words") and len(reply.content) < len("slow words " * 40)

    # The chat goes on, and the stopped reply is part of the context.
    assert DEFAULT_TEXT in chat.say("Go on")
    assert fake_openai.last_body["messages"][-2] == {"role": "assistant", "content": reply.content}

    chat.child.sendeof()  # Ctrl-D at the prompt
    chat.expect("Bye.")
    chat.expect(pexpect.EOF)
    chat.child.close()
    assert chat.child.exitstatus == 0


def test_errors_print_one_line_and_the_chat_goes_on(fake_openai: FakeOpenAI, chat_factory) -> None:
    chat = chat_factory(fake_openai, "--role", "Senior Programmer")
    chat.prompt()
    fake_openai.script(Reply(status=401))
    out = chat.say("Hello?")
    assert "Error 401: Incorrect API key provided (fake server)." in out
    assert "Check the key" in out
    assert "Traceback" not in out
    assert DEFAULT_TEXT in chat.say("Hello again")

    chat.child.sendintr()  # Ctrl-C at the prompt quits cleanly
    chat.expect("Bye.")
    chat.expect(pexpect.EOF)
    chat.child.close()
    assert chat.child.exitstatus == 0
    assert "Traceback" not in chat.child.before


def test_connection_refused_is_one_clear_line(tmp_path, chat_factory) -> None:
    dead = FakeOpenAI()
    dead_url = dead.base_url
    dead.stop()  # nothing listens on this port any more
    chat = chat_factory(
        None, "--model", "gpt-4o-mini", OPENAI_BASE_URL=dead_url, OPENAI_API_KEY="sk-test-none-0000"
    )
    chat.prompt()
    out = chat.say("Anyone there?")
    assert "Could not connect to" in out and "Traceback" not in out
    chat.child.sendline("/exit")
    chat.expect(pexpect.EOF)


def _run(tmp_path: Path, *args: str, fake: FakeOpenAI | None = None, **env: str):
    return subprocess.run(
        [sys.executable, "-m", "chatlab", *args],
        env=_env(tmp_path, fake, **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_help(tmp_path) -> None:
    top = _run(tmp_path, "--help")
    assert top.returncode == 0 and "chat" in top.stdout
    chat = _run(tmp_path, "chat", "--help")
    assert chat.returncode == 0
    for flag in (
        "--role",
        "--model",
        "--temperature",
        "--top-p",
        "--max-tokens",
        "--seed",
        "--depth",
        "--profile",
    ):
        assert flag in chat.stdout


def test_unknown_role_and_bad_parameters_are_refused(tmp_path, fake_openai) -> None:
    result = _run(tmp_path, "chat", "--role", "Nobody", fake=fake_openai)
    assert result.returncode == 2
    assert "No role named 'Nobody'" in result.stdout and "Senior Programmer" in result.stdout
    result = _run(tmp_path, "chat", "--temperature", "5", fake=fake_openai)
    assert result.returncode == 2 and "temperature must be between 0 and 2, got 5" in result.stderr
    result = _run(tmp_path, "chat", "--profile", "nowhere", fake=fake_openai)
    assert result.returncode == 2 and "Unknown profile" in result.stdout


def test_nothing_configured_and_no_offline_model_explains_what_to_do(tmp_path) -> None:
    result = _run(tmp_path, "chat", CHATLAB_OFFLINE_MODEL=str(tmp_path / "missing.gguf"))
    assert result.returncode == 1
    assert "Offline model unavailable" in result.stdout
    assert "OPENAI_API_KEY" in result.stdout and "Traceback" not in result.stderr


def test_end_of_input_without_a_terminal_quits(tmp_path, fake_openai) -> None:
    """Piped input (no TTY): lines are read until end of file; no colour codes."""
    result = subprocess.run(
        [sys.executable, "-m", "chatlab", "chat", "--role", "Concise Answerer", "--depth", "all"],
        env=_env(tmp_path, fake_openai),
        cwd=tmp_path,
        input="//slash at the start\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert DEFAULT_TEXT in result.stdout and "Bye." in result.stdout
    assert "all past messages" in result.stdout and "\033[" not in result.stdout
    assert fake_openai.last_body["messages"][-1] == {"role": "user", "content": "/slash at the start"}


@pytest.mark.offline_model
def test_with_nothing_configured_it_chats_with_the_local_model(chat_factory) -> None:
    """No key, no secrets: the CLI starts the real llama.cpp model, as the app's sidebar default does."""
    from chatlab.offline import offline_available

    ok, why = offline_available()
    if not ok:
        if os.environ.get("CHATLAB_REQUIRE_OFFLINE") == "1":
            pytest.fail(f"CHATLAB_REQUIRE_OFFLINE=1 but {why}")
        pytest.skip(why)
    chat = chat_factory(None, "--role", "Concise Answerer", "--temperature", "0", "--max-tokens", "20")
    chat.expect("Starting the local model")
    chat.child.timeout = 180  # the model loads in a few seconds; a busy CI machine may take longer
    header = chat.prompt()
    assert "smollm2-135m" in header and "offline" in header
    out = chat.say("Say hello.")
    assert "(estimated)" in out  # llama.cpp sends no usage: the tokens are counted here
    store = chat.store()
    (conversation,) = store.list_conversations()
    reply = store.messages(conversation.id)[-1]
    assert reply.content.strip() and reply.endpoint_name == "offline"
    chat.child.sendline("/exit")
    chat.expect(pexpect.EOF)
    chat.child.close()
    assert chat.child.exitstatus == 0


def test_model_output_cannot_drive_the_terminal() -> None:
    assert (
        printable("ok\x1b]0;pwned\x07 \x1b[2J\r\nnext\tline\x9b")
        == "ok\ufffd]0;pwned\ufffd \ufffd[2J\nnext\tline\ufffd"
    )


def test_default_transcript_name_comes_from_the_title() -> None:
    assert str(default_transcript_path("Explain closures, in Python!", "3f2a9c1e77aa")) == (
        "explain-closures-in-python-3f2a9c1e.md"
    )
    assert str(default_transcript_path("../../etc/passwd", "abcdef0123")) == "etc-passwd-abcdef01.md"
    assert str(default_transcript_path("", "abcdef0123")) == "chat-abcdef01.md"
    assert str(default_transcript_path("你好 世界", "abcdef0123")) == "你好-世界-abcdef01.md"


def test_a_custom_role_from_the_roles_page_is_available(
    tmp_path, fake_openai: FakeOpenAI, chat_factory
) -> None:
    from chatlab.roles import Role
    from chatlab.roles.custom import CustomRoles

    # Next to the history database, where the Roles page keeps them by default.
    CustomRoles(tmp_path / "custom_roles.yaml").save(
        Role(name="Pirate", system="Ye talk like a pirate.", builtin=False)
    )
    chat = chat_factory(fake_openai, "--role", "Pirate")
    assert "Pirate" in chat.prompt()
    chat.say("ahoy")
    assert fake_openai.last_body["messages"][0] == {"role": "system", "content": "Ye talk like a pirate."}


def test_probe_command_prints_the_cost_then_the_findings_and_the_chat_follows_them(tmp_path) -> None:
    from tests.fake_models import REASONING_MODEL

    with FakeOpenAI(models=["house-reasoner"], kinds={"house-reasoner": REASONING_MODEL}) as fake:
        result = _run(tmp_path, "probe", "--model", "house-reasoner", "--yes", fake=fake)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "About 11 tiny requests" in result.stdout
        lines = {
            line.split()[0]: line
            for line in result.stdout.splitlines()
            if line.startswith("  ") and "/" not in line.split()[0]
        }
        assert "rejected" in lines["temperature"] and "renamed → max_completion_tokens" in lines["max_tokens"]
        assert "Stored" in result.stdout
        # The terminal chat now leaves temperature out without a refused request first.
        before = len(fake.chat_requests)
        chat = subprocess.run(
            [sys.executable, "-m", "chatlab", "chat", "--model", "house-reasoner", "--temperature", "0.3"],
            env=_env(tmp_path, fake),
            cwd=tmp_path,
            input="hello\n/exit\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert chat.returncode == 0, chat.stdout + chat.stderr
        assert len(fake.chat_requests) == before + 1 and "temperature" not in fake.last_body


def test_variables_from_the_command_line_and_slash_var(
    tmp_path, fake_openai: FakeOpenAI, chat_factory
) -> None:
    """`--var Position="Software Developer"` fills the imported Job Interviewer's prompt; /var changes it."""
    from chatlab.roles.custom import CustomRoles
    from chatlab.roles.importer import import_candidates, parse_collection

    csv_text = (
        "act,prompt,for_devs,type,contributor\n"
        '"Job Interviewer","I will be the candidate and you will ask me the interview questions for the '
        '${Position:Software Developer} position about {{topic}}.",FALSE,TEXT,f\n'
    )
    custom = CustomRoles(tmp_path / "custom_roles.yaml", builtin=[])
    import_candidates(custom, parse_collection(csv_text.encode(), "prompts.csv"))

    chat = chat_factory(fake_openai, "--role", "Job Interviewer", "--var", "Position=Software Developer")
    header = chat.prompt()
    assert "Position = Software Developer" in header and "topic = ? (needs a value" in header
    out = chat.say("Hi")
    assert "Fill in 'topic'" in out and fake_openai.chat_requests == []
    chat.say("/var topic=Python")
    chat.say("Hi")
    system = fake_openai.last_body["messages"][0]["content"]
    assert "for the Software Developer position about Python." in system
    chat.say("/var position=Data Engineer")
    chat.say("Next")
    assert "for the Data Engineer position" in fake_openai.last_body["messages"][0]["content"]

    result = _run(tmp_path, "chat", "--role", "Job Interviewer", "--var", "Salary=1", fake=fake_openai)
    assert (
        result.returncode == 2
        and "has no variable 'Salary' (its variables: Position, topic)" in result.stdout
    )
