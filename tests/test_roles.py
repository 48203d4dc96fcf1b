"""The role library: the shipped roles.yaml, strict loading with file:line errors, export round trip."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import pytest

from chatlab.params import GenerationParams
from chatlab.roles import (
    DEFAULT_ROLE,
    DEFAULT_ROLES_PATH,
    Role,
    RolesError,
    find_role,
    load_roles,
    load_roles_or_default,
    parse_roles,
    roles_path,
    roles_to_yaml,
    validate_params,
)
from chatlab.yamlguard import MAX_FILE_BYTES

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def shipped() -> list[Role]:
    return load_roles(DEFAULT_ROLES_PATH)


def write(tmp_path: Path, text: str, name: str = "roles.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> RolesError:
    path = write(tmp_path, text)
    with pytest.raises(RolesError) as info:
        load_roles(path)
    assert info.value.path == path
    assert str(path) in str(info.value)
    return info.value


# ---------------------------------------------------------------------------------------------
# The shipped library


def test_shipped_file_is_at_repo_root():
    assert DEFAULT_ROLES_PATH == REPO / "roles.yaml"
    assert DEFAULT_ROLES_PATH.is_file()


def test_shipped_roles_load_with_both_languages(shipped):
    assert len(shipped) >= 22
    languages = [role.language for role in shipped]
    assert set(languages) == {"en", "zh"}
    # roughly half and half
    assert min(languages.count("en"), languages.count("zh")) >= len(shipped) // 3


def test_shipped_names_are_unique_and_short(shipped):
    names = [role.name.casefold() for role in shipped]
    assert len(names) == len(set(names))
    assert all(0 < len(role.name) <= 30 for role in shipped)


def test_first_role_is_the_plain_default(shipped):
    first = shipped[0]
    assert first.name == DEFAULT_ROLE.name == "Default assistant"
    assert first.system == DEFAULT_ROLE.system == "You are a helpful assistant."
    assert first.default_params() == {}


def test_every_role_is_documented_and_tagged(shipped):
    for role in shipped:
        assert role.description, role.name
        assert "\n" not in role.description, role.name
        assert role.tags, role.name
        assert role.builtin
        assert len(role.system) >= 20 or role is shipped[0], role.name


def test_companion_who_calls_the_user_baobei(shipped):
    companions = [r for r in shipped if "companion" in r.tags]
    chinese = [r for r in companions if r.language == "zh"]
    english = [r for r in companions if r.language == "en"]
    assert chinese and english
    baobei = find_role(shipped, "贴心伙伴")
    assert baobei is not None and baobei in chinese
    assert "宝贝" in baobei.system
    assert "宝贝" in baobei.examples[0][1]


@pytest.mark.parametrize(
    "name, tag",
    [
        ("Patient Teacher", "education"),
        ("Senior Programmer", "coding"),
        ("Interviewer", "interview"),
        ("中英翻译", "translation"),
        ("IELTS Speaking Examiner", "exam"),
        ("产品经理", "product"),
        ("Concise Answerer", "general"),
        ("Creative Storyteller", "creative"),
        ("古诗词人", "poetry"),
        ("SQL Expert", "coding"),
        ("Linux Terminal", "simulation"),
        ("写作编辑", "writing"),
        ("数学老师", "math"),
        ("旅行规划师", "travel"),
        ("Health Info Assistant", "health"),
        ("法律信息助手", "legal"),
        ("Debate Opponent", "thinking"),
        ("JSON Extractor", "structured-output"),
        ("苏格拉底", "philosophy"),
        ("小红书文案", "social"),
        ("英语口语陪练", "language"),
        ("周报助手", "work"),
    ],
)
def test_expected_roles_exist(shipped, name, tag):
    role = find_role(shipped, name)
    assert role is not None, name
    assert tag in role.tags


def test_every_role_params_are_valid_generation_params(shipped):
    for role in shipped:
        params = role.default_params()
        assert validate_params(params) == params
        GenerationParams.from_dict(params)  # the request layer accepts them too


def test_parameter_experiment_roles_have_fitting_defaults(shipped):
    assert find_role(shipped, "JSON Extractor").default_params()["temperature"] == 0
    assert find_role(shipped, "Linux Terminal").default_params()["temperature"] == 0
    assert find_role(shipped, "Creative Storyteller").default_params()["temperature"] > 1


def test_few_shot_examples(shipped):
    with_examples = [r for r in shipped if r.examples]
    assert len(with_examples) >= 4
    extractor = find_role(shipped, "JSON Extractor")
    for _user, assistant in extractor.examples:
        json.loads(assistant)  # the examples show exactly the output we ask for
    messages = find_role(shipped, "中英翻译").few_shot_messages()
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert all(isinstance(m["content"], str) and m["content"] for m in messages)


def test_base_messages_start_with_system():
    role = Role(name="T", system="Be brief.", examples=[("hi", "hello")])
    assert role.base_messages() == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]


def test_roles_path_env_override(monkeypatch, tmp_path):
    monkeypatch.delenv("CHATLAB_ROLES", raising=False)
    assert roles_path() == DEFAULT_ROLES_PATH
    custom = write(tmp_path, "roles:\n  - name: Only\n    system: Just me.\n", "mine.yaml")
    monkeypatch.setenv("CHATLAB_ROLES", str(custom))
    assert roles_path() == custom
    assert [r.name for r in load_roles()] == ["Only"]


# ---------------------------------------------------------------------------------------------
# The Role type


def test_role_is_frozen_and_hashable():
    role = Role(name="R", system="s", params={"temperature": 0.5, "stop": ["END"]}, tags=["A", "a", "b"])
    assert role.params == (("temperature", 0.5), ("stop", ("END",)))
    assert role.default_params() == {"temperature": 0.5, "stop": ["END"]}
    assert role.tags == ("a", "b")
    assert hash(role) == hash(Role(name="R", system="s", params=role.params, tags=("a", "b")))
    with pytest.raises(AttributeError):
        role.name = "other"  # type: ignore[misc]


def test_role_rejects_bad_params():
    with pytest.raises(RolesError, match="temperature must be between 0 and 2"):
        Role(name="R", system="s", params={"temperature": 3})


def test_role_from_dict_validates():
    role = Role.from_dict(
        {"name": " Mine ", "system": "Hello\n", "language": "zh", "params": {"max_tokens": 64.0}}
    )
    assert (role.name, role.system, role.language, role.builtin) == ("Mine", "Hello", "zh", False)
    assert role.default_params() == {"max_tokens": 64}
    with pytest.raises(RolesError, match="has no 'system' prompt"):
        Role.from_dict({"name": "X"})


@pytest.mark.parametrize(
    "params, message",
    [
        ({"temperature": 2.5}, "temperature must be between 0 and 2"),
        ({"temperature": True}, "temperature must be a number"),
        ({"temperature": float("nan")}, "temperature must be a finite number"),
        ({"top_p": 1.5}, "top_p must be between 0 and 1"),
        ({"presence_penalty": -2.5}, "presence_penalty must be between -2 and 2"),
        ({"frequency_penalty": 3}, "frequency_penalty must be between -2 and 2"),
        ({"max_tokens": 0}, "max_tokens must be between 1 and 1,000,000, got 0"),
        ({"max_tokens": 10.5}, "max_tokens must be a whole number"),
        ({"seed": 1.5}, "seed must be a whole number"),
        ({"seed": "42"}, "seed must be a number, got '42'"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "at most 4"),
        ({"stop": ["a", 1]}, "stop must be a string or a list of strings"),
        ({"n": 2}, "unknown parameter 'n'"),
    ],
)
def test_validate_params_ranges(params, message):
    with pytest.raises(RolesError, match=message):
        validate_params(params)


def test_validate_params_accepts_edges():
    edges = {
        "temperature": 2,
        "top_p": 0,
        "presence_penalty": -2,
        "frequency_penalty": 2,
        "max_tokens": 1,
        "seed": -7,
        "stop": "###",
    }
    assert validate_params(edges) == {**edges, "stop": ["###"]}


# ---------------------------------------------------------------------------------------------
# Errors name the file and the line


def test_yaml_syntax_error_names_the_line(tmp_path):
    err = error_for(
        tmp_path,
        """
        version: 1
        roles:
          - name: A
            system: fine
          - name: B
            system: broken: here
        """,
    )
    assert err.line == 6
    assert "line 6" in str(err)
    assert "YAML syntax error" in str(err)


def test_unclosed_quote_reports_problem_line(tmp_path):
    err = error_for(tmp_path, 'roles:\n  - name: "A\n    system: x\n')
    assert err.line is not None and f"line {err.line}" in str(err)


def test_missing_system_names_the_role_line(tmp_path):
    err = error_for(
        tmp_path,
        """
        version: 1
        roles:
          - name: Default assistant
            system: You are a helpful assistant.

          - name: Translator
            description: forgot the prompt
            tags: [language]
        """,
    )
    assert err.line == 6
    assert str(err).endswith("line 6: role 'Translator' has no 'system' prompt")


def test_missing_name(tmp_path):
    err = error_for(tmp_path, "roles:\n  - system: x\n  - description: nameless\n    system: y\n")
    assert err.line == 2
    assert "role #1 has no 'name'" in str(err)


def test_duplicate_name_names_both_lines(tmp_path):
    err = error_for(
        tmp_path,
        """
        roles:
          - name: Helper
            system: one
          - name: helper
            system: two
        """,
    )
    assert err.line == 4
    assert "same name as the role on line 2" in str(err)


def test_bad_temperature_points_at_its_line(tmp_path):
    err = error_for(
        tmp_path,
        """
        roles:
          - name: Hot
            system: too hot
            params:
              top_p: 0.5
              temperature: 3
        """,
    )
    assert err.line == 6
    assert "role 'Hot': temperature must be between 0 and 2, got 3" in str(err)


def test_unknown_role_key_suggests_the_fix(tmp_path):
    err = error_for(tmp_path, "roles:\n  - name: Typo\n    sytem: hello\n")
    assert err.line == 3
    assert "unknown key 'sytem'" in str(err) and "did you mean 'system'" in str(err)


def test_duplicate_key_in_a_role(tmp_path):
    err = error_for(tmp_path, "roles:\n  - name: Twice\n    system: one\n    system: two\n")
    assert err.line == 4
    assert "duplicate key 'system' (first used on line 3)" in str(err)


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("version: 2\nroles: []\n", 1, "unsupported version 2"),
        ("version: 1\n", 1, "no 'roles:' list"),
        ("roles: []\n", 1, "list is empty"),
        ("roles:\n  name: A\n  system: x\n", 2, "'roles' must be a list"),
        ("roles:\n  - just a string\n", 2, "role #1 must be a mapping"),
        ("roles:\n  - name: 2024-01-01\n    system: x\n", 2, "'name' must be a non-empty string"),
        ("roles:\n  - name: A\n    system: x\n    language: fr\n", 4, "language must be one of en, zh"),
        ("roles:\n  - name: A\n    system: x\n    tags: {a: 1}\n", 4, "tags must be a list"),
        (
            "roles:\n  - name: A\n    system: x\n    examples:\n      - user: hi\n",
            5,
            "needs a non-empty 'assistant'",
        ),
        (
            "roles:\n  - name: A\n    system: x\n    examples:\n      - {user: hi, assistant: yo, x: 1}\n",
            5,
            "unknown key 'x'",
        ),
        ("roles:\n  - name: A\n    system: x\n    params: [1, 2]\n", 4, "'params' must be a mapping"),
        (
            "roles:\n  - name: A\n    system: x\n    params:\n      temprature: 1\n",
            5,
            "did you mean 'temperature'",
        ),
        ("roles:\n  - name: A\n    system: x\n    params:\n      stop: [a, b, c, d, e]\n", 5, "at most 4"),
        ("roles:\n  - name: A\n    system: '   '\n", 3, "'system' must be a non-empty string"),
        (
            "roles:\n  - name: A\n    system: !!python/object/apply:os.system [echo hi]\n",
            3,
            "could not determine a constructor",
        ),
        ("extra: 1\nroles:\n  - name: A\n    system: x\n", 1, "unknown top-level key 'extra'"),
    ],
)
def test_schema_errors(tmp_path, text, line, message):
    err = error_for(tmp_path, text)
    assert message in str(err)
    assert err.line == line


def test_empty_file(tmp_path):
    err = error_for(tmp_path, "# only a comment\n")
    assert "the file is empty" in str(err)


def test_missing_file_is_a_roles_error(tmp_path):
    with pytest.raises(RolesError, match="file not found"):
        load_roles(tmp_path / "nope.yaml")


def test_not_utf8(tmp_path):
    path = tmp_path / "roles.yaml"
    path.write_bytes(b"roles:\n  - name: A\n    system: \xff\xfe\n")
    with pytest.raises(RolesError, match="not valid UTF-8") as info:
        load_roles(path)
    assert info.value.line == 3


def test_merge_keys_and_anchors_are_allowed(tmp_path):
    path = write(
        tmp_path,
        """
        roles:
          - name: Precise
            system: x
            params: &precise {temperature: 0.1, seed: 1}
          - name: Precise long
            system: y
            params: {<<: *precise, max_tokens: 2000}
        """,
    )
    roles = load_roles(path)
    assert roles[1].default_params() == {"temperature": 0.1, "max_tokens": 2000, "seed": 1}


# ---------------------------------------------------------------------------------------------
# Hostile documents (the guard itself: tests/test_yamlguard.py)


def test_a_yaml_bomb_in_the_roles_file_is_a_roles_error_naming_the_file_and_line(tmp_path):
    refs = ", ".join(["*a"] * 1500)
    err = error_for(tmp_path, f"a: &a x\nb: [{refs}]\n")
    assert "more than 1,000 aliases" in str(err) and err.line == 2


def test_an_oversized_roles_file_is_refused(tmp_path):
    path = tmp_path / "roles.yaml"
    path.write_text("# " + "x" * MAX_FILE_BYTES + "\n", encoding="utf-8")
    with pytest.raises(RolesError, match="larger than"):
        load_roles(path)


# ---------------------------------------------------------------------------------------------
# Fallback and export


def test_load_roles_or_default_on_broken_file(tmp_path):
    path = write(tmp_path, "roles:\n  - name: A\n    system: x\n    params: {temperature: 3}\n")
    roles, message = load_roles_or_default(path)
    assert roles == [DEFAULT_ROLE]
    assert message is not None and str(path) in message and "line 4" in message


def test_load_roles_or_default_on_missing_file(tmp_path):
    roles, message = load_roles_or_default(tmp_path / "missing.yaml")
    assert roles == [DEFAULT_ROLE]
    assert message and "not found" in message


def test_load_roles_or_default_on_good_file(shipped):
    roles, message = load_roles_or_default(DEFAULT_ROLES_PATH)
    assert message is None
    assert roles == shipped


def test_shipped_roles_round_trip(shipped):
    text = roles_to_yaml(shipped)
    assert parse_roles(text) == shipped
    assert "宝贝" in text  # allow_unicode: Chinese stays readable
    assert "\\u" not in text


def test_custom_roles_round_trip(tmp_path):
    roles = [
        Role(
            name="Edge cases",
            system="Line one\n  indented line with trailing space \nlast: with colon",
            description="quotes \" and 'single' and # hash",
            language="zh",
            examples=(("问：1+1?", "答：2"), ("multi\nline", "- not a list\n- really")),
            params={"temperature": 0.0, "top_p": 0.9, "max_tokens": 256, "seed": 7, "stop": ["\n\n", "END"]},
            tags=("math", "edge"),
        ),
        Role(name="yes", system="true"),  # names/prompts that look like YAML booleans
        Role(name="0.5", system="null"),
    ]
    text = roles_to_yaml(roles)
    assert parse_roles(text) == roles
    path = write(tmp_path, text, "export.yaml")
    assert load_roles(path, builtin=False) == [dataclasses.replace(r, builtin=False) for r in roles]
