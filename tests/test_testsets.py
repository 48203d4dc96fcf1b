"""Test sets: built from a table, read from CSV (promptfoo's shape too) and JSONL, stored, exported."""

from __future__ import annotations

import pandas as pd
import pytest

from chatlab.checks import Check
from chatlab.store.testsets import TestSets
from chatlab.testsets import (
    TestCase,
    TestSet,
    TestSetError,
    export_csv,
    export_jsonl,
    from_frame,
    import_test_set,
)

PROMPTFOO_CSV = (
    "question,vars.topic,__expected,__expected2,__description,__metric\n"
    '"What is 2+2?",math,equals: 4,"contains: four",Basic math,accuracy\n'
    '"What is the capital of France?",geography,icontains: paris,,Capital,accuracy\n'
)


def test_a_promptfoo_style_csv() -> None:
    imported = import_test_set(PROMPTFOO_CSV.encode(), "cases.csv")
    test_set = imported.test_set
    assert test_set.name == "cases"
    first, second = test_set.cases
    assert first.message == "What is 2+2?"
    # `question` is the message and stays a variable (promptfoo prompts say {{question}}); vars.topic -> topic.
    assert first.values == (("question", "What is 2+2?"), ("topic", "math"))
    assert first.checks == (Check("equals", "4"), Check("contains", "four"))
    assert first.description == "Basic math"
    assert second.checks == (Check("contains", "paris", ignore_case=True),)
    assert imported.notes == ("The column '__metric' was left out: Chat Lab does not use it.",)


def test_prefix_suffix_and_set_checks() -> None:
    text = (
        "message,__prefix,__suffix,__set_expected1\n"
        "Hello,Please: , (briefly),max-chars: 100\n"
        "Bye,,,max-chars: 100\n"
    )
    test_set = import_test_set(text.encode(), "t.csv").test_set
    assert [c.message for c in test_set.cases] == ["Please: Hello (briefly)", "Bye"]
    assert test_set.checks == (Check("max_chars", "100"),)
    assert test_set.checks_for(1) == (Check("max_chars", "100"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "topic,notes\nx,y\n",
            "t.csv line 1: no message column; name the column with the user's message 'message'",
        ),
        ("message,topic\nhi\n", "t.csv line 2: expected 2 fields, found 1"),
        ('message,topic\n"hi,x\n', "t.csv line 2: a quoted field starts here and is never closed"),
        ("message,topic\n,x\n", "t.csv line 2: the message ('message') is empty"),
        (
            "message,__expected\nhi,javascript: 1\n",
            "t.csv line 2, column __expected: 'javascript' checks are not supported",
        ),
        (
            "message,__expected\nhi,max-chars: many\n",
            "t.csv line 2, column __expected: a max_chars check needs a whole number",
        ),
        ("message,1st\nhi,x\n", "t.csv line 1: the column '1st' cannot be a variable"),
        ("message,Topic,topic\nhi,x,y\n", "t.csv line 1: the column 'topic' appears twice"),
        (
            "message,__set_expected1\na,max-chars: 1\nb,max-chars: 2\n",
            "t.csv line 3, column __set_expected1: differs from line 2",
        ),
        ("message\n", "t.csv: no cases"),
    ],
)
def test_csv_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(TestSetError) as info:
        import_test_set(text.encode(), "t.csv")
    assert str(info.value).startswith(message)


def test_files_that_are_not_text_are_refused() -> None:
    with pytest.raises(TestSetError, match="t.csv: This is a PNG image"):
        import_test_set(b"\x89PNG\r\n\x1a\nxxxx", "t.csv")


def test_jsonl_ours_and_promptfoos() -> None:
    text = (
        '{"set_checks": ["language: en"]}\n'
        '{"message": "Hi", "vars": {"tone": "warm", "n": 3}, "checks": [{"kind": "contains", "value": "Hello"}]}\n'
        "\n"
        '{"vars": {"question": "2+2?"}, "assert": [{"type": "equals", "value": "4"}], "description": "math", "metadata": {}}\n'
    )
    imported = import_test_set(text.encode(), "cases.jsonl", name="Mixed")
    test_set = imported.test_set
    assert test_set.checks == (Check("language", "en"),)
    assert test_set.cases[0] == TestCase("Hi", (("tone", "warm"), ("n", "3")), (Check("contains", "Hello"),))
    assert test_set.cases[1].message == "2+2?" and test_set.cases[1].checks == (Check("equals", "4"),)
    assert imported.notes == ("Fields left out: metadata.",)
    with pytest.raises(TestSetError, match="cases.jsonl line 2: invalid JSON at column 2"):
        import_test_set(b'{"message": "a"}\n{oops}\n', "cases.jsonl")
    with pytest.raises(TestSetError, match="line 1: no 'message'"):
        import_test_set(b'{"vars": {"x": "1"}}\n', "cases.jsonl")


def _sample_set() -> TestSet:
    return TestSet(
        name="Round trip",
        description="all kinds of cells",
        cases=(
            TestCase(
                "=SUM(A1)",  # a formula-looking message survives the spreadsheet guard
                {"Position": "Software Developer", "tone": "'quoted'"},
                (
                    Check("json_schema", '{"type": "object"}'),
                    Check("judge", "Kind", scale="1-5", min_score=3),
                ),
                "first",
            ),
            TestCase(
                "Line one\nline two, with a comma", {"tone": "你好"}, (Check("not_contains", " padded "),)
            ),
            TestCase("No values, no checks"),
        ),
        checks=(Check("max_tokens", "300"), Check("language", "zh")),
    )


def test_csv_and_jsonl_exports_read_back_to_the_same_set() -> None:
    original = _sample_set()
    for data, filename in (
        (export_csv(original), "Round trip.csv"),
        (export_jsonl(original), "Round trip.jsonl"),
    ):
        again = import_test_set(data, filename).test_set
        assert again.cases == original.cases
        assert again.checks == original.checks
    header = export_csv(original).decode("utf-8-sig").splitlines()[0]
    assert (
        header
        == "message,__description,Position,tone,__expected1,__expected2,__set_expected1,__set_expected2"
    )


def test_from_the_table_editor() -> None:
    frame = pd.DataFrame(
        {
            "message": ["Hello", None, "Bye"],
            "description": ["greet", None, None],
            "topic": ["a", None, float("nan")],
            "checks": ["contains: Hi\nmax-chars: 50", None, ""],
        }
    )
    test_set = from_frame(frame, "Editor", checks=[Check("language", "en")])
    assert [c.message for c in test_set.cases] == ["Hello", "Bye"]  # the empty row is dropped
    assert test_set.cases[0].checks == (Check("contains", "Hi"), Check("max_chars", "50"))
    assert test_set.cases[1].values == ()
    assert from_frame(test_set.to_frame(), "Editor", checks=test_set.checks) == test_set
    with pytest.raises(TestSetError, match="Row 2 has no message"):
        from_frame(pd.DataFrame({"message": ["a", ""], "topic": ["x", "y"]}), "Bad")
    with pytest.raises(TestSetError, match="Row 1: 'nope' checks are not supported"):
        from_frame(pd.DataFrame({"message": ["a"], "checks": ["nope: 1"]}), "Bad")
    with pytest.raises(TestSetError, match="Give the test set a name"):
        from_frame(frame, "  ")


def test_stored_listed_replaced_and_deleted(store) -> None:
    sets = TestSets(store)
    saved = sets.save(_sample_set())
    assert saved.id and saved.cases == _sample_set().cases
    assert [s.name for s in sets.list()] == ["Round trip"] and sets.list()[0].case_count == 3
    with pytest.raises(TestSetError, match="A test set named 'Round trip' already exists"):
        sets.save(TestSet(name="round TRIP", cases=(TestCase("x"),)))
    replaced = sets.save(TestSet(name="round TRIP", cases=(TestCase("x"),)), replace_existing=True)
    assert replaced.id == saved.id and sets.get(saved.id).cases == (TestCase("x"),)
    assert sets.find(" Round   trip ").id == saved.id
    sets.delete(saved.id)
    assert sets.list() == [] and sets.get(saved.id) is None
