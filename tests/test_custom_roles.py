"""Custom roles on disk: create, edit, duplicate, delete; name clashes; atomic, serialized writes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from chatlab.roles import MAX_NAME_CHARS, Role, RolesError, load_roles, parse_roles, search_roles
from chatlab.roles import custom as custom_module
from chatlab.roles.custom import CustomRoles, all_roles, copy_name, custom_roles_path

ROOT = Path(__file__).resolve().parent.parent
BUILTIN = [
    Role(name="Default assistant", system="You are a helpful assistant.", tags=("general",)),
    Role(name="Translator", system="Translate the text.", language="en", tags=("language",)),
]


@pytest.fixture
def path(tmp_path) -> Path:
    return tmp_path / "custom_roles.yaml"


@pytest.fixture
def custom(path) -> CustomRoles:
    return CustomRoles(path, builtin=BUILTIN)


def mine(name: str = "Mine", **kw) -> Role:
    return Role(name=name, system=kw.pop("system", "Be terse."), builtin=False, **kw)


def test_no_file_means_no_custom_roles(custom, path):
    assert custom.list() == []
    assert not path.exists()


def test_create_edit_duplicate_delete_persist_across_instances(custom, path):
    created = custom.save(
        mine(
            description="Short answers",
            language="zh",
            tags=("work",),
            params={"temperature": 0.3, "stop": ["\n\n"]},
            examples=[("hi", "hello")],
        )
    )
    assert created.builtin is False
    again = CustomRoles(path, builtin=BUILTIN).list()
    assert again == [created]
    assert again[0].default_params() == {"temperature": 0.3, "stop": ["\n\n"]}

    CustomRoles(path, builtin=BUILTIN).save(mine("Mine, renamed", system="Be very terse."), replacing="mine")
    assert [(r.name, r.system) for r in CustomRoles(path, builtin=BUILTIN).list()] == [
        ("Mine, renamed", "Be very terse.")
    ]

    copy = CustomRoles(path, builtin=BUILTIN).duplicate(BUILTIN[1])
    assert copy.name == "Translator (copy)" and copy.builtin is False and copy.system == BUILTIN[1].system
    named = CustomRoles(path, builtin=BUILTIN).duplicate(copy, "Another translator")
    assert [r.name for r in CustomRoles(path, builtin=BUILTIN).list()] == [
        "Mine, renamed",
        "Translator (copy)",
        "Another translator",
    ]
    assert named.system == BUILTIN[1].system

    CustomRoles(path, builtin=BUILTIN).delete("translator (COPY)")
    assert [r.name for r in CustomRoles(path, builtin=BUILTIN).list()] == [
        "Mine, renamed",
        "Another translator",
    ]


def test_the_file_is_in_the_roles_yaml_schema(custom, path):
    custom.save(mine(tags=("a",), params={"seed": 7}))
    text = path.read_text()
    assert "version: 1" in text
    assert parse_roles(text, builtin=False) == custom.list()


def test_deleting_the_last_role_leaves_a_valid_empty_file(custom, path):
    custom.save(mine())
    custom.delete("Mine")
    assert path.exists()
    assert custom.list() == []
    custom.save(mine("Next"))
    assert [r.name for r in custom.list()] == ["Next"]


@pytest.mark.parametrize("name", ["Default assistant", "translator", "  TRANSLATOR  "])
def test_a_builtin_name_cannot_be_reused(custom, path, name):
    with pytest.raises(ValueError, match="built-in role is already named"):
        custom.save(mine(name))
    assert not path.exists()


def test_custom_names_are_unique_ignoring_case(custom):
    custom.save(mine("Mine"))
    custom.save(mine("Other"))
    with pytest.raises(ValueError, match="custom role is already named 'Mine'"):
        custom.save(mine("MINE"))
    with pytest.raises(ValueError, match="already named 'Mine'"):
        custom.save(mine("mine"), replacing="Other")  # renaming onto another role
    custom.save(mine("MINE", system="Changed."), replacing="mine")  # renaming itself is fine
    assert [r.name for r in custom.list()] == ["MINE", "Other"]


def test_builtins_are_read_only_and_unknown_names_are_errors(custom):
    with pytest.raises(ValueError, match="built-in role and cannot be changed"):
        custom.delete("Translator")
    with pytest.raises(ValueError, match="built-in role and cannot be changed"):
        custom.save(mine("Translator 2"), replacing="Translator")
    with pytest.raises(ValueError, match="no custom role named 'Ghost'"):
        custom.delete("Ghost")


@pytest.mark.parametrize(
    ("role", "message"),
    [
        (Role(name="", system="x"), "'name' must be a non-empty string"),
        (Role(name="x" * (MAX_NAME_CHARS + 1), system="x"), "longer than 60"),
        (Role(name="Empty", system="   "), "'system' must be a non-empty string"),
    ],
)
def test_invalid_roles_are_refused(custom, path, role, message):
    with pytest.raises(RolesError, match=message):
        custom.save(role)
    assert not path.exists()


def test_invalid_parameters_are_refused_when_the_role_is_built():
    with pytest.raises(RolesError, match="temperature must be between 0 and 2"):
        mine(params={"temperature": 3})


def test_a_crash_while_writing_leaves_the_old_file_intact(custom, path, monkeypatch):
    custom.save(mine())
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(custom_module.os, "fsync", crash)  # after the new text was written, before rename
    with pytest.raises(OSError, match="disk full"):
        custom.save(mine("Second"))
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []

    monkeypatch.undo()
    monkeypatch.setattr(custom_module.os, "replace", crash)
    with pytest.raises(OSError):
        custom.delete("Mine")
    assert path.read_bytes() == before
    assert [r.name for r in custom.list()] == ["Mine"]


def test_a_broken_file_is_reported_with_its_line_and_never_overwritten(custom, path):
    path.write_text("version: 1\nroles:\n  - name: Fine\n    system: ok\n  - name: Broken\n    sytem: oops\n")
    with pytest.raises(RolesError) as err:
        custom.list()
    assert err.value.line == 6 and "did you mean 'system'" in str(err.value) and str(path) in str(err.value)
    before = path.read_bytes()
    with pytest.raises(RolesError):
        custom.save(mine())
    assert path.read_bytes() == before
    assert [r.name for r in all_roles(BUILTIN, [])] == [
        "Default assistant",
        "Translator",
    ]  # built-ins still work


def test_an_edit_by_hand_is_seen_on_the_next_read(custom, path):
    custom.save(mine())
    assert [r.name for r in custom.list()] == ["Mine"]  # served from what was written
    path.write_text("version: 1\nroles:\n  - name: Edited by hand\n    system: hi\n")
    assert [r.name for r in CustomRoles(path, builtin=BUILTIN).list()] == ["Edited by hand"]
    listed = custom.list()
    listed.clear()  # callers get their own list
    assert [r.name for r in custom.list()] == ["Edited by hand"]


def test_concurrent_saves_from_threads_all_land(path):
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        store = CustomRoles(path, builtin=BUILTIN)  # separate instances share the file's lock
        try:
            for i in range(10):
                store.save(mine(f"Role {n}-{i}", system=f"Prompt {n}-{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    names = [r.name for r in CustomRoles(path, builtin=BUILTIN).list()]
    assert len(names) == 80 and len(set(names)) == 80


def test_concurrent_saves_from_two_processes_all_land(path):
    script = (
        "import sys\n"
        "from chatlab.roles.custom import CustomRoles\n"
        "from chatlab.roles import Role\n"
        "store = CustomRoles(sys.argv[1], builtin=[])\n"
        "for i in range(15):\n"
        "    store.save(Role(name=f'P{sys.argv[2]}-{i}', system='x'))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(path), str(n)], cwd=ROOT, env=env)
        for n in range(2)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    assert len(CustomRoles(path, builtin=[]).list()) == 30


def test_all_roles_puts_builtins_first_and_keeps_names_unique(custom):
    custom.save(mine("Zeta"))
    custom.save(mine("Alpha"))
    shadowed = Role(name="TRANSLATOR", system="a custom one with a built-in's name", builtin=False)
    roles = all_roles(BUILTIN, [*custom.list(), shadowed])
    assert [r.name for r in roles] == ["Default assistant", "Translator", "Zeta", "Alpha"]
    assert [r.name for r in all_roles(BUILTIN, custom)] == [
        "Default assistant",
        "Translator",
        "Zeta",
        "Alpha",
    ]


def test_copy_names_are_free_and_short():
    assert copy_name("Tutor", ["Tutor"]) == "Tutor (copy)"
    assert copy_name("Tutor", ["Tutor", "tutor (COPY)"]) == "Tutor (copy 2)"
    long = copy_name("x" * MAX_NAME_CHARS, [])
    assert len(long) <= MAX_NAME_CHARS and long.endswith(" (copy)")


def test_default_path_is_beside_the_history_database(tmp_path, monkeypatch):
    monkeypatch.delenv("CHATLAB_CUSTOM_ROLES", raising=False)
    monkeypatch.setenv("CHATLAB_DB", str(tmp_path / "db" / "history.sqlite3"))
    assert custom_roles_path() == tmp_path / "db" / "custom_roles.yaml"
    monkeypatch.setenv("CHATLAB_CUSTOM_ROLES", str(tmp_path / "elsewhere.yaml"))
    assert custom_roles_path() == tmp_path / "elsewhere.yaml"
    assert CustomRoles().path == tmp_path / "elsewhere.yaml"


def test_builtins_default_to_roles_yaml(path):
    store = CustomRoles(path)
    with pytest.raises(ValueError, match="built-in"):
        store.save(mine(load_roles()[0].name))


def test_search_matches_every_word_in_name_description_or_prompt_and_filters():
    roles = [
        Role(name="Poet", system="Write verse.", description="Rhymes on demand", tags=("creative",)),
        Role(name="诗人", system="写诗。", language="zh", tags=("creative", "poetry")),
        Role(name="Coder", system="Write Python code.", tags=("coding",)),
    ]
    assert [r.name for r in search_roles(roles, "write")] == ["Poet", "Coder"]
    assert [r.name for r in search_roles(roles, "WRITE python")] == ["Coder"]
    assert [r.name for r in search_roles(roles, "rhymes")] == ["Poet"]
    assert [r.name for r in search_roles(roles, "诗")] == ["诗人"]
    assert [r.name for r in search_roles(roles, languages=["zh"])] == ["诗人"]
    assert [r.name for r in search_roles(roles, tags=["poetry", "coding"])] == ["诗人", "Coder"]
    assert search_roles(roles) == roles
