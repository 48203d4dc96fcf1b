"""View code (Python / curl) and Replay: the generated code really runs against a server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from chatlab.client import ChatClient
from chatlab.context import build_context
from chatlab.endpoint import Endpoint
from chatlab.events import StreamDone, TextDelta
from chatlab.params import GenerationParams
from chatlab.reproduce import ReplayError, curl_code, python_code, replay
from chatlab.store import Store
from chatlab.turn import TurnSettings, plan_request, send_turn
from tests.fake_openai import FakeOpenAI, Reply

CANARY = "sk-CANARY-SECRET-0000"
ENV_KEY = "sk-from-the-env-5678"

# Text that breaks naive quoting: Chinese, newlines, both quote kinds, a triple quote, backslashes, a tab,
# an emoji, shell syntax and a would-be heredoc delimiter on a line of its own.
TRICKY = (
    '你好，世界！请解释一下"递归"。\n'
    "It's a test: ''' and \"\"\" and \\n (a backslash-n, not a newline)\n"
    "\ttab, emoji 🧪, $HOME `uname` $(echo hi) 'single'\n"
    "JSON\n"
    "C:\\path\\to\\file\\"
)


def _request(model: str, params: GenerationParams, history: list[dict] | None = None) -> dict:
    settings = TurnSettings(model=model, params=params, system_prompt="你是一位资深程序员。\nBe brief.")
    window = build_context(
        system_prompt=settings.system_prompt, history=history or [], user_text=TRICKY, depth=None
    )
    return plan_request(settings, window).body


GENERAL = dict(
    model="gpt-4o-mini",
    params=GenerationParams(
        temperature=0.7, top_p=0.9, presence_penalty=0.5, stop=("\n\n", "END", '"""'), seed=42, max_tokens=64
    ),
    history=[{"role": "user", "content": "上一个问题"}, {"role": "assistant", "content": "回答 'quoted'"}],
)
# A reasoning model: max_tokens goes out as max_completion_tokens and sampling parameters are dropped.
REASONING = dict(model="o3-mini", params=GenerationParams(temperature=0.7, max_tokens=256, seed=7))

CASES = {"general": GENERAL, "reasoning": REASONING}


@pytest.fixture(params=list(CASES))
def request_body(request) -> dict:
    return _request(**CASES[request.param])


def _endpoint(fake: FakeOpenAI) -> Endpoint:
    return Endpoint(name="fake", base_url=fake.base_url, api_keys=(CANARY,), max_retries=0, timeout_s=10)


def _env(fake: FakeOpenAI) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HTTPS_PROXY", "https_proxy"))}
    env.update(
        OPENAI_API_KEY=ENV_KEY, OPENAI_BASE_URL=fake.base_url, PYTHONIOENCODING="utf-8", LC_ALL="C.UTF-8"
    )
    return env


def test_request_shapes(request_body: dict) -> None:
    """The fixtures really cover what the code must carry."""
    if request_body["model"] == "o3-mini":
        assert request_body["max_completion_tokens"] == 256 and "temperature" not in request_body
    else:
        assert request_body["stop"] == ["\n\n", "END", '"""'] and request_body["seed"] == 42
    assert request_body["messages"][-1]["content"] == TRICKY


def test_python_code_runs_and_sends_the_exact_body(tmp_path, fake_openai: FakeOpenAI, request_body) -> None:
    fake_openai.script(Reply(text="Streamed 你好 reply.", chunk_chars=4))
    code = python_code(request_body, _endpoint(fake_openai))
    assert CANARY not in code
    script = tmp_path / "reproduce.py"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)], env=_env(fake_openai), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert fake_openai.last_body == request_body
    assert fake_openai.chat_requests[-1].headers["authorization"] == f"Bearer {ENV_KEY}"
    assert "Streamed 你好 reply." in result.stdout
    assert "[usage] prompt" in result.stdout


def test_python_code_without_a_key_says_how_to_set_it(tmp_path, fake_openai: FakeOpenAI) -> None:
    script = tmp_path / "reproduce.py"
    script.write_text(python_code(_request(**GENERAL), _endpoint(fake_openai)), encoding="utf-8")
    env = _env(fake_openai)
    del env["OPENAI_API_KEY"]
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "OPENAI_API_KEY" in result.stderr
    assert fake_openai.chat_requests == []


def test_python_code_for_a_local_server_needs_no_key(tmp_path, fake_openai: FakeOpenAI) -> None:
    """The offline model's endpoint has no key: the script sends a placeholder instead of refusing."""
    endpoint = Endpoint(name="offline", base_url=fake_openai.base_url, offline=True)
    script = tmp_path / "reproduce.py"
    body = _request(**GENERAL)
    script.write_text(python_code(body, endpoint), encoding="utf-8")
    env = _env(fake_openai)
    del env["OPENAI_API_KEY"]
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert fake_openai.last_body == body


def test_curl_code_runs_and_sends_the_exact_body(tmp_path, fake_openai: FakeOpenAI, request_body) -> None:
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("curl or bash is not installed on this machine")
    code = curl_code(request_body, _endpoint(fake_openai))
    assert CANARY not in code
    assert "--no-buffer" in code and "Authorization: Bearer $OPENAI_API_KEY" in code
    script = tmp_path / "reproduce.sh"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run(
        ["bash", str(script)], env=_env(fake_openai), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert fake_openai.last_body == request_body
    assert fake_openai.chat_requests[-1].headers["authorization"] == f"Bearer {ENV_KEY}"
    assert "data: [DONE]" in result.stdout


def test_code_never_contains_keys_or_proxy_credentials(fake_openai: FakeOpenAI) -> None:
    endpoint = Endpoint(
        name="fake",
        base_url=fake_openai.base_url,
        api_keys=(CANARY, "sk-second-key-9999"),
        proxy="http://proxyuser:proxy-password@proxy.example:3128",
        headers=(("X-Gateway-Token", "gateway-secret-value"),),
    )
    body = _request(**GENERAL)
    for code in (python_code(body, endpoint), curl_code(body, endpoint)):
        for secret in (CANARY, "sk-second-key-9999", "proxy-password", "proxyuser", "gateway-secret-value"):
            assert secret not in code
        assert "proxy.example:3128" in code and "X-Gateway-Token" in code


def test_default_openai_endpoint_uses_the_sdk_default_url() -> None:
    body = _request(**GENERAL)
    endpoint = Endpoint(name="OpenAI", api_keys=(CANARY,))
    assert "base_url" not in python_code(body, endpoint)
    assert "https://api.openai.com/v1/chat/completions" in curl_code(body, endpoint)


def test_hostile_model_name_cannot_inject_code() -> None:
    body = _request(**GENERAL)
    body["model"] = 'x"""\nimport os; os.system("echo pwned") #\n'
    code = python_code(body, Endpoint(base_url="http://127.0.0.1:9/v1"))
    compiled = compile(code, "reproduce.py", "exec")  # still valid Python
    assert "system" not in compiled.co_names
    assert not any(line.startswith("import os;") for line in code.splitlines())
    assert not any(line.startswith("import os;") for line in curl_code(body, Endpoint()).splitlines())


def test_next_request_code_matches_what_the_app_then_sends(tmp_path, fake_openai, fake_endpoint) -> None:
    """The page shows code for the next request (plan_request before sending); sending it gives that body."""
    store = Store(tmp_path / "db.sqlite3")
    settings = TurnSettings(
        model="gpt-4o-mini",
        params=GenerationParams(temperature=0.3, stop=("END",), seed=1),
        system_prompt="Be brief.",
        context_depth=2,
    )
    cid = store.create_conversation()
    for text in ("first", "second"):
        list(send_turn(store, ChatClient(fake_endpoint), cid, settings, text))
    from chatlab.turn import plan_context

    preview = plan_request(settings, plan_context(store.messages(cid), settings, TRICKY)).body
    list(send_turn(store, ChatClient(fake_endpoint), cid, settings, TRICKY))
    sent = fake_openai.last_body
    assert sent == preview
    assert store.messages(cid)[-1].request == preview

    script = tmp_path / "next.py"
    script.write_text(python_code(preview, _endpoint(fake_openai)), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)], env=_env(fake_openai), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert fake_openai.last_body == sent


# Replay -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
def test_replay_sends_the_stored_body_again(tmp_path, fake_openai: FakeOpenAI, fake_endpoint, case) -> None:
    store = Store(tmp_path / "db.sqlite3")
    config = CASES[case]
    settings = TurnSettings(model=config["model"], params=config["params"], system_prompt="系统提示\n第二行")
    cid = store.create_conversation()
    client = ChatClient(fake_endpoint)
    list(send_turn(store, client, cid, settings, "first"))
    list(send_turn(store, client, cid, settings, TRICKY))
    stored = store.messages(cid)[-1]
    original = fake_openai.last_body
    assert stored.request == original

    fake_openai.script(Reply(text="A different answer."))
    events = list(replay(client, stored.request))
    assert fake_openai.last_body == original
    assert len(fake_openai.chat_requests) == 3
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "A different answer."
    assert isinstance(events[-1], StreamDone) and events[-1].error is None


def test_replay_sends_fields_chat_lab_does_not_set_unchanged(fake_openai: FakeOpenAI, fake_endpoint) -> None:
    """A stored body is sent as it is: even a field Chat Lab never sets reaches the server untouched."""
    client = ChatClient(fake_endpoint)
    body = _request(**GENERAL) | {"logit_bias": {"50256": -100}, "some_server_extension": {"k": [1, "二"]}}
    list(replay(client, body))
    assert fake_openai.last_body == body


def test_replay_refuses_what_it_cannot_send(fake_endpoint) -> None:
    client = ChatClient(fake_endpoint)
    body = _request(**GENERAL)
    with pytest.raises(ReplayError, match="model"):
        replay(client, {"messages": []})
    with pytest.raises(ReplayError, match="messages"):
        replay(client, {"model": "m"})
    with pytest.raises(ReplayError, match="streamed"):
        replay(client, {**body, "stream": False})
