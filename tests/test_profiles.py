"""Endpoint settings come from, in order: the sidebar > secrets.toml > the environment > the offline model."""

import pytest

from chatlab.profiles import (
    OFFLINE_NAME,
    PRESETS,
    ProfilesError,
    SidebarOverride,
    apply_override,
    configured_profiles,
    default_profile_name,
    from_preset,
    load_secrets,
)

SECRETS = """
default_profile = "deepseek"
OPENAI_API_KEY = "sk-secret-aaaa,sk-secret-bbbb"

[profiles.deepseek]
base_url = "https://api.deepseek.com/v1"
api_keys = ["sk-ds-1111"]
default_model = "deepseek-chat"
timeout = 30
[profiles.deepseek.headers]
X-Title = "Chat Lab"

[profiles.office]
base_url = "http://10.0.0.5:8000/v1"
proxy = "http://proxy.internal:3128"
"""


def write(tmp_path, text):
    path = tmp_path / "secrets.toml"
    path.write_text(text, encoding="utf-8")
    return [path]


def test_no_configuration_at_all_means_the_offline_model(tmp_path):
    secrets = load_secrets([tmp_path / "missing.toml"])  # a missing file is not an error
    assert secrets == {}
    profiles = configured_profiles(secrets, environ={})
    assert profiles == [] and default_profile_name(profiles, secrets) == OFFLINE_NAME


def test_environment_keys_make_a_profile_and_may_hold_several_keys():
    env = {"OPENAI_API_KEY": "sk-env-1111, sk-env-2222", "HTTPS_PROXY": "http://127.0.0.1:3128"}
    [profile] = configured_profiles({}, environ=env)
    assert profile.name == "environment"
    assert profile.api_keys == ("sk-env-1111", "sk-env-2222")
    assert profile.proxy == "http://127.0.0.1:3128" and profile.base_url is None
    assert default_profile_name([profile], {}) == "environment"


def test_a_base_url_without_a_key_is_a_profile_too():
    [profile] = configured_profiles({}, environ={"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"})
    assert profile.base_url == "http://127.0.0.1:11434/v1" and profile.api_keys == ()


def test_secrets_win_over_the_environment_and_define_named_profiles(tmp_path):
    secrets = load_secrets(write(tmp_path, SECRETS))
    env = {"OPENAI_API_KEY": "sk-env-9999", "HTTPS_PROXY": "http://env-proxy:1"}
    profiles = {p.name: p for p in configured_profiles(secrets, environ=env)}
    assert list(profiles) == ["deepseek", "office", "secrets.toml"]
    assert profiles["secrets.toml"].api_keys == ("sk-secret-aaaa", "sk-secret-bbbb")
    deepseek = profiles["deepseek"]
    assert (deepseek.base_url, deepseek.api_keys, deepseek.timeout_s) == (
        "https://api.deepseek.com/v1",
        ("sk-ds-1111",),
        30.0,
    )
    assert deepseek.headers == (("X-Title", "Chat Lab"),)
    assert deepseek.proxy == "http://env-proxy:1"  # no proxy of its own: HTTPS_PROXY applies
    assert profiles["office"].proxy == "http://proxy.internal:3128"
    assert default_profile_name(list(profiles.values()), secrets) == "deepseek"


def test_sidebar_values_win_over_everything_else():
    [profile] = configured_profiles({}, environ={"OPENAI_API_KEY": "sk-env-1111"})
    chosen = apply_override(
        profile, SidebarOverride(api_keys="sk-typed-2222,sk-typed-3333", proxy=" http://p:1 ")
    )
    assert chosen.api_keys == ("sk-typed-2222", "sk-typed-3333") and chosen.proxy == "http://p:1"
    assert apply_override(profile, SidebarOverride()) == profile


def test_a_broken_secrets_file_gives_a_clear_error_naming_it(tmp_path):
    paths = write(tmp_path, "OPENAI_API_KEY = 'unterminated\n")
    with pytest.raises(ProfilesError, match="secrets.toml is not valid TOML"):
        load_secrets(paths)
    bad_table = load_secrets(write(tmp_path, "[profiles.x]\ntimeout = 'soon'\n"))
    with pytest.raises(ProfilesError, match="profiles.x"):
        configured_profiles(bad_table, environ={})


def test_presets_cover_the_usual_services_and_keys_never_show_in_repr():
    names = [p.name for p in PRESETS]
    assert {"OpenAI", "DeepSeek", "Ollama (local)", "vLLM (local)"} <= set(names)
    endpoint = from_preset(PRESETS[0], environ={"OPENAI_API_KEY": "sk-CANARY-SECRET-abcd"})
    assert endpoint.api_keys == ("sk-CANARY-SECRET-abcd",)
    assert "CANARY" not in repr(endpoint) and endpoint.masked_keys == ("…abcd",)


def test_secrets_are_parsed_once_per_change_of_the_file(tmp_path, monkeypatch):
    import tomllib

    parses = []
    real_loads = tomllib.loads
    monkeypatch.setattr(tomllib, "loads", lambda text: parses.append(text) or real_loads(text))
    paths = write(tmp_path, 'OPENAI_API_KEY = "sk-first-1111"\n')
    for _ in range(5):  # every rerun of a page reads the secrets
        assert load_secrets(paths)["OPENAI_API_KEY"] == "sk-first-1111"
    assert len(parses) == 1
    load_secrets(paths)["OPENAI_API_KEY"] = "changed by a caller"  # callers get their own copy
    assert load_secrets(paths)["OPENAI_API_KEY"] == "sk-first-1111"

    paths[0].write_text('OPENAI_API_KEY = "sk-second-22222"\n', encoding="utf-8")  # a saved edit
    assert load_secrets(paths)["OPENAI_API_KEY"] == "sk-second-22222"
    assert len(parses) == 2
    paths[0].write_text("OPENAI_API_KEY = 'unterminated\n", encoding="utf-8")
    for _ in range(3):
        with pytest.raises(ProfilesError, match="not valid TOML"):
            load_secrets(paths)
    assert len(parses) == 3  # a broken file is reported each time, parsed once
