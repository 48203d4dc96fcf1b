"""The optional access password: the check itself, and every page locked behind it under AppTest."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chatlab.access import (
    AccessConfigError,
    check_password,
    configured_password,
    failure_delay,
    unlock_token,
)
from chatlab.store import Store

APP = str(Path(__file__).resolve().parent.parent / "app.py")
CHAT = "pages/0_Chat.py"
PASSWORD = "correct horse 电池 staple"


# The check ------------------------------------------------------------------------------------------


def test_only_the_exact_password_unlocks():
    assert check_password(PASSWORD, PASSWORD)
    assert not check_password("correct horse", PASSWORD)
    assert not check_password(PASSWORD + " ", PASSWORD)
    assert not check_password(PASSWORD.upper(), PASSWORD)
    assert not check_password("", PASSWORD)
    assert not check_password(None, PASSWORD)
    assert not check_password("", "")  # an empty password never unlocks anything


def test_unicode_passwords_match_however_the_accents_were_typed():
    composed = unicodedata.normalize("NFC", "mot de passe: déjà vu, 密码")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert check_password(decomposed, composed) and check_password(composed, decomposed)
    assert not check_password("mot de passe: deja vu, 密码", composed)


def test_unlock_token_follows_the_password_and_does_not_contain_it():
    token = unlock_token(PASSWORD)
    assert token == unlock_token(PASSWORD)
    assert token != unlock_token(PASSWORD + "!")
    assert PASSWORD not in token and "staple" not in token


def test_each_wrong_guess_in_a_row_waits_longer_up_to_a_cap():
    delays = [failure_delay(n) for n in range(0, 9)]
    assert delays[0] == 0
    assert 0 < delays[1] <= 1  # a single typo costs a person well under a second
    assert delays[1:6] == sorted(delays[1:6]) and delays[5] > delays[1]
    assert max(delays) == delays[-1] <= 10


# Where the password comes from ----------------------------------------------------------------------


def env_with(tmp_path: Path, secrets: str | None = None, **env: str) -> dict[str, str]:
    path = tmp_path / "secrets.toml"
    if secrets is not None:
        path.write_text(secrets, encoding="utf-8")
    return {"CHATLAB_SECRETS": str(path), **env}


def test_no_password_anywhere_means_no_lock(tmp_path):
    assert configured_password(env_with(tmp_path)) is None
    assert configured_password(env_with(tmp_path, CHATLAB_PASSWORD="")) is None
    assert configured_password(env_with(tmp_path, 'OPENAI_API_KEY = "sk-1"\n')) is None


def test_environment_and_secrets_toml_and_which_wins(tmp_path):
    assert configured_password(env_with(tmp_path, CHATLAB_PASSWORD="from-env")) == "from-env"
    secrets = 'CHATLAB_PASSWORD = "from-secrets"\n'
    assert configured_password(env_with(tmp_path, secrets)) == "from-secrets"
    # Like every other setting: secrets.toml over the environment.
    assert configured_password(env_with(tmp_path, secrets, CHATLAB_PASSWORD="from-env")) == "from-secrets"
    empty = 'CHATLAB_PASSWORD = ""\n'
    assert configured_password(env_with(tmp_path, empty, CHATLAB_PASSWORD="from-env")) == "from-env"


def test_a_password_that_cannot_be_read_keeps_the_app_locked(tmp_path):
    with pytest.raises(AccessConfigError, match="quoted string"):
        configured_password(env_with(tmp_path, "CHATLAB_PASSWORD = 1234\n"))
    broken = 'CHATLAB_PASSWORD = "unterminated\n'
    with pytest.raises(AccessConfigError, match="not valid TOML") as raised:
        configured_password(env_with(tmp_path, broken, CHATLAB_PASSWORD="from-env"))
    assert "unterminated" not in str(raised.value)  # the message never quotes the password


def test_a_broken_secrets_file_without_a_password_does_not_lock_the_app(tmp_path):
    # The endpoint panel already reports the broken file; the pages keep working as before.
    assert configured_password(env_with(tmp_path, "OPENAI_API_KEY = sk-unquoted\n")) is None
    env = env_with(tmp_path, "OPENAI_API_KEY = sk-unquoted\n", CHATLAB_PASSWORD="from-env")
    assert configured_password(env) == "from-env"


# Every page behind the lock (AppTest) ---------------------------------------------------------------

# page -> a check that the real page (not the lock screen) is drawn
PAGES = {
    "pages/0_Chat.py": lambda at: at.chat_input(key="chat.input") is not None,
    "pages/1_Compare_roles.py": lambda at: at.title[0].value == "Compare role prompts",
    "pages/2_Parameter_sweep.py": lambda at: at.button(key="sweep.run") is not None,
    "pages/3_History.py": lambda at: at.text_input(key="history.query") is not None,
    "pages/4_Roles.py": lambda at: at.title[0].value == "Roles",
    "pages/5_Test_sets.py": lambda at: at.title[0].value == "Test sets",
    "pages/6_Batch_runs.py": lambda at: at.title[0].value == "Batch runs",
    "pages/7_Blind_rating.py": lambda at: at.title[0].value == "Blind rating",
}


def open_page(page: str) -> AppTest:
    """The page as its URL opens it: the chat is the root URL, every other page is switched to."""
    at = AppTest.from_file(APP, default_timeout=60)
    if page != CHAT:
        at.switch_page(page)
    return at.run()


def is_locked(at: AppTest) -> bool:
    return "access.password" in [w.key for w in at.text_input]


def unlock(at: AppTest, typed: str) -> AppTest:
    at.text_input(key="access.password").input(typed)
    return at.button(key="access.unlock").click().run()


@pytest.fixture
def locked_env(app_env, monkeypatch):
    monkeypatch.setenv("CHATLAB_PASSWORD", PASSWORD)
    return app_env


@pytest.mark.parametrize("page", list(PAGES))
def test_a_locked_page_shows_only_the_lock_screen_and_touches_nothing(locked_env, page):
    at = open_page(page)
    assert not at.exception
    assert is_locked(at)
    assert [t.value for t in at.title] == ["🧪 Chat Lab"]
    field = at.text_input(key="access.password")
    assert field.label == "Password" and field.value == ""
    assert "protected" in at.markdown[0].value
    assert len(at.chat_input) == 0 and len(at.sidebar) == 0 and len(at.dataframe) == 0
    assert [b.label for b in at.button] == ["Unlock"]
    assert locked_env.requests == []  # no /v1/models, no chat request
    assert not Path(os.environ["CHATLAB_DB"]).exists()  # the history database was never opened


@pytest.mark.parametrize("page", list(PAGES))
def test_a_wrong_password_stays_locked_and_the_right_one_opens_the_page(locked_env, page):
    at = unlock(open_page(page), "correct horse")
    assert not at.exception
    assert is_locked(at)
    assert [e.value for e in at.error] == ["That password is not correct."]
    assert locked_env.requests == []

    at = unlock(at, PASSWORD)
    assert not at.exception
    assert not at.error
    assert PAGES[page](at)
    assert at.sidebar.button(key="access.lock").label == "Lock"


def test_unlocking_once_opens_every_page_until_lock_is_clicked(locked_env):
    at = unlock(open_page(CHAT), PASSWORD)
    for page in list(PAGES)[1:]:
        at.switch_page(page).run()
        assert not at.exception and not is_locked(at), page
        assert PAGES[page](at)
    at.sidebar.button(key="access.lock").click().run()
    assert is_locked(at)
    at.switch_page(CHAT).run()
    assert is_locked(at) and len(at.chat_input) == 0


def test_changing_the_password_locks_open_sessions(locked_env, monkeypatch):
    at = unlock(open_page(CHAT), PASSWORD)
    assert not is_locked(at)
    monkeypatch.setenv("CHATLAB_PASSWORD", "a new password")
    assert is_locked(at.run())
    assert is_locked(unlock(at, PASSWORD))
    assert not is_locked(unlock(at, "a new password"))


def test_a_deep_link_to_a_conversation_is_locked_and_opens_after_unlocking(locked_env):
    store = Store(os.environ["CHATLAB_DB"])
    cid = store.create_conversation("Private plans")
    store.add_message(cid, "user", "The surprise party is on Friday")
    store.add_message(cid, "assistant", "I will keep it secret.", model="gpt-4o-mini")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["c"] = cid
    at.run()
    assert is_locked(at)
    assert len(at.chat_message) == 0
    assert not any("surprise party" in m.value for m in at.markdown)

    at = unlock(at, PASSWORD)
    assert not at.exception
    assert any("surprise party" in m.value for m in at.markdown)  # the ?c= link survived the lock screen


def test_an_unreadable_password_setting_locks_every_page_without_a_way_in(app_env, caplog):
    Path(os.environ["CHATLAB_SECRETS"]).write_text('CHATLAB_PASSWORD = "no closing quote\n')
    at = open_page("pages/3_History.py")
    assert not at.exception
    assert len(at.text_input) == 0 and len(at.sidebar) == 0
    assert "stays locked" in at.error[0].value
    assert "no-secrets.toml" not in at.error[0].value  # file paths go to the server log, not to visitors
    assert not Path(os.environ["CHATLAB_DB"]).exists()
    logged = [r.getMessage() for r in caplog.records if r.name == "chatlab_ui.access"]
    assert any("no-secrets.toml" in m and "not valid TOML" in m for m in logged)


@pytest.mark.parametrize("page", list(PAGES))
def test_without_a_password_every_page_opens_directly(app_env, monkeypatch, page):
    monkeypatch.delenv("CHATLAB_PASSWORD", raising=False)
    at = open_page(page)
    assert not at.exception
    assert not is_locked(at) and PAGES[page](at)
    assert "access.lock" not in [b.key for b in at.sidebar.button]
