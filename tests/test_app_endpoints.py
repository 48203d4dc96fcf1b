"""Endpoints as a user meets them on the chat page: several keys with failover, the offline default."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.fake_openai import Reply

APP = str(Path(__file__).resolve().parent.parent / "app.py")
KEYS = ("sk-test-aaaa-1111", "sk-test-bbbb-2222", "sk-test-cccc-3333")


def everything_shown(at: AppTest) -> str:
    parts = [
        str(e.value)
        for kind in ("markdown", "caption", "error", "warning", "info", "success", "toast")
        for e in getattr(at, kind)
    ]
    parts += [frame.value.to_csv() for frame in at.dataframe]
    return "\n".join(parts)


def test_a_rate_limited_and_a_revoked_key_fail_over_to_the_third(app_env, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", ",".join(KEYS))
    app_env.script_fn(
        lambda request: {
            f"Bearer {KEYS[0]}": Reply(
                status=429, error_message="Rate limit reached", headers={"retry-after": "30"}
            ),
            f"Bearer {KEYS[1]}": Reply(status=401, error_message="Incorrect API key provided"),
        }.get(request.headers.get("authorization"))
    )
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.chat_input(key="chat.input").set_value("hello").run()
    assert not at.exception

    carried = [r.headers["authorization"].removeprefix("Bearer ") for r in app_env.chat_requests]
    assert carried == list(KEYS)  # round robin: a (429) -> b (401) -> c answers
    shown = everything_shown(at)
    assert "Hello from the fake server." in shown
    keys_table = next(f.value for f in at.dataframe if "Key" in f.value.columns)
    states = dict(zip(keys_table["Key"], keys_table["State"], strict=True))
    assert states["…1111"].startswith("resting") and states["…2222"] == "disabled: invalid key"
    assert states["…3333"] == "ready"
    assert any("…2222" in t.value and "disabled" in t.value for t in at.toast)
    for key in KEYS:
        assert key not in shown  # only the last 4 characters are ever shown

    # The next message goes straight to the one usable key.
    at.chat_input(key="chat.input").set_value("again").run()
    assert app_env.chat_requests[-1].headers["authorization"] == f"Bearer {KEYS[2]}"
    assert len(app_env.chat_requests) == 4


def test_when_every_key_is_unusable_the_user_sees_why_and_keeps_the_message(app_env, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", ",".join(KEYS[:2]))
    app_env.default = Reply(status=401, error_message="Incorrect API key provided")
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.chat_input(key="chat.input").set_value("is anyone there").run()
    assert not at.exception
    assert any("API keys are unusable" in e.value for e in at.error)
    assert any(m.value == "is anyone there" for m in at.markdown)
    assert at.button(key="chat.retry.1")


def test_with_no_key_the_sidebar_offers_the_local_model(app_env, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("CHATLAB_OFFLINE_MODEL", "/nonexistent/model.gguf")  # do not start a real server here
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert at.selectbox(key="endpoint.profile").value == "Local demo model (offline)"
    assert any("not available" in e.value and "model.gguf" in e.value for e in at.error)
