"""The Test sets page under AppTest: create in the table editor, checks from the builder, import, export,
edit and delete."""

from __future__ import annotations

import os
from pathlib import Path

from streamlit.testing.v1 import AppTest

from chatlab.checks import Check
from chatlab.store import Store
from chatlab.store.testsets import TestSets
from chatlab.testsets import TestCase, TestSet
from tests.test_page_keys import SHARED, widget_keys

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "pages/5_Test_sets.py"
PROMPTFOO_CSV = (
    "question,vars.topic,__expected,__description\n"
    '"What is the capital of France?",geography,icontains: paris,Capital\n'
    '"What is 2+2?",math,equals: 4,Sum\n'
)


def page() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30).switch_page(PAGE)


def stored() -> TestSets:
    return TestSets(Store(os.environ["CHATLAB_DB"]))


def open_tab(at: AppTest, tab: str) -> AppTest:
    at.session_state["testsets.tab"] = tab
    return at.run()


def type_rows(at: AppTest, rows: list[dict], edits: dict | None = None) -> AppTest:
    [editor] = at.data_editor
    at.session_state[editor.key] = {"edited_rows": edits or {}, "added_rows": rows, "deleted_rows": []}
    return at.run()


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    return at.file_uploader(key="testsets.upload").set_value((name, data, "text/plain")).run()


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_a_set_typed_in_the_table_with_checks_from_the_builder_is_stored(app_env):
    at = open_tab(page().run(), "Create or edit")
    assert not at.exception
    at.text_input(key="testsets.name").input("Capitals")
    at.text_input(key="testsets.variables").input("topic").run()
    assert list(at.data_editor[0].value.columns) == ["message", "description", "topic", "checks"]
    at = type_rows(
        at,
        [
            {"message": "Capital of France?", "topic": "geography", "checks": "contains: Paris"},
            {"message": "Capital of Japan?", "topic": "geography"},
        ],
    )
    assert not at.exception and not errors(at)

    # A check for every case, built from the declared kinds.
    at.selectbox(key="testsets.check.kind").select("max_chars").run()
    at.text_input(key="testsets.check.value.count").input("200").run()
    assert any("at most 200 characters" in m.value for m in at.markdown)
    at.button(key="testsets.check.add.0").click().run()
    # One for case 2 only: the builder writes it into that row's checks cell.
    at.selectbox(key="testsets.check.kind").select("language").run()
    at.selectbox(key="testsets.check.value.language").select("en")
    at.selectbox(key="testsets.check_case").select(2).run()
    at.button(key="testsets.check_to_case").click().run()
    assert not at.exception
    assert at.data_editor[0].value["checks"].tolist()[1] == "language: en"  # the rows typed are kept

    at.button(key="testsets.save").click().run()
    assert not at.exception
    assert "Saved 'Capitals': 2 cases." in [s.value for s in at.success]
    [summary] = stored().list()
    test_set = stored().get(summary.id)
    assert test_set.checks == (Check("max_chars", "200"),)
    assert [c.checks for c in test_set.cases] == [(Check("contains", "Paris"),), (Check("language", "en"),)]
    assert test_set.cases[0].values == (("topic", "geography"),)


def test_a_bad_check_cell_names_the_row_and_nothing_is_saved(app_env):
    at = open_tab(page().run(), "Create or edit")
    at.text_input(key="testsets.name").input("Broken").run()
    at = type_rows(at, [{"message": "hi"}, {"message": "there", "checks": "max-chars: many"}])
    assert any("Row 2: a max_chars check needs a whole number, not 'many'" in e for e in errors(at))
    assert at.button(key="testsets.save").disabled
    at = type_rows(at, [{"message": "hi"}, {"message": "there", "checks": "max-chars: 9"}])
    assert not errors(at) and not at.button(key="testsets.save").disabled


def test_a_bad_upload_says_file_line_and_column_and_stores_nothing(app_env):
    at = open_tab(page().run(), "Import a file")
    at = upload(at, "cases.jsonl", b'{"message": "ok"}\n{"message": \n')
    assert not at.exception
    assert errors(at) == [
        "This file was not imported. cases.jsonl line 2: invalid JSON at column 13: Expecting value"
    ]
    assert stored().list() == []


def test_a_promptfoo_csv_is_previewed_saved_listed_and_exported(app_env):
    at = open_tab(page().run(), "Import a file")
    at = upload(at, "capitals.csv", PROMPTFOO_CSV.encode())
    assert not at.exception and not errors(at)
    assert any(m.value.startswith("**2** cases · variables: `question`, `topic`") for m in at.markdown)
    assert len(at.dataframe[0].value) == 2
    at.button(key="testsets.import.save").click().run()
    assert "Imported 'capitals': 2 cases." in [s.value for s in at.success]
    assert at.session_state["testsets.tab"] == "Test sets"
    assert at.dataframe[0].value["Name"].tolist() == ["capitals"]
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["CSV", "JSONL"]

    # The same file again: refused until Replace is ticked.
    at = open_tab(at, "Import a file")
    at = upload(at, "capitals.csv", PROMPTFOO_CSV.encode())
    assert at.button(key="testsets.import.save").disabled
    at.checkbox(key="testsets.import.replace").check().run()
    at.button(key="testsets.import.save").click().run()
    assert len(stored().list()) == 1


def test_edit_a_stored_set_and_delete_it_after_confirming(app_env):
    original = stored().save(
        TestSet(name="Greetings", cases=(TestCase("hello", {"tone": "warm"}),), checks=(Check("json"),))
    )
    at = page().run()
    at.button(key="testsets.edit").click().run()
    assert at.session_state["testsets.tab"] == "Create or edit"
    assert at.text_input(key="testsets.name").value == "Greetings"
    assert at.text_input(key="testsets.variables").value == "tone"
    at = type_rows(at, [{"message": "good morning", "tone": "formal"}])
    at.button(key="testsets.set_check.0.remove").click().run()
    at.button(key="testsets.save").click().run()
    assert not at.exception
    [summary] = stored().list()
    edited = stored().get(summary.id)
    assert summary.id == original.id and [c.message for c in edited.cases] == ["hello", "good morning"]
    assert edited.checks == ()

    at = open_tab(at, "Test sets")
    at.button(key="testsets.delete").click().run()
    assert "Delete 'Greetings' and its 2 cases?" in at.warning[0].value
    assert len(stored().list()) == 1
    at.button(key="testsets.delete.yes").click().run()
    assert stored().list() == []
    assert "Deleted 'Greetings'. Batch runs made with it keep their copy." in [s.value for s in at.success]


def own_keys_only(at: AppTest, prefix: str) -> None:
    """Every key the page drew is its own (or the shared endpoint picker's), once; every table shows "—"."""
    keys = widget_keys(at._tree)
    assert keys and [k for k in keys if not k.startswith((f"{prefix}.", *SHARED))] == []
    assert len(keys) == len(set(keys))
    assert {frame.proto.placeholder for frame in at.dataframe} <= {"—"}


def test_the_page_draws_only_its_own_keys(app_env):
    stored().save(TestSet(name="Greetings", cases=(TestCase("hello", {"tone": "warm"}),)))
    at = page().run()
    own_keys_only(at, "testsets")
    own_keys_only(open_tab(at, "Create or edit"), "testsets")
    own_keys_only(upload(open_tab(at, "Import a file"), "capitals.csv", PROMPTFOO_CSV.encode()), "testsets")
