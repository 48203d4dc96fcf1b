"""Checks on a reply: every kind, its shorthand, its plain explanation, and the judge over a real socket."""

from __future__ import annotations

import json

import pytest

from chatlab.checks import (
    CHECK_KINDS,
    Check,
    CheckContext,
    CheckError,
    CheckResult,
    Judge,
    check_cell,
    language_share,
    parse_shorthand,
    run_check,
)
from chatlab.client import ChatClient
from chatlab.roles import Role
from tests.fake_openai import Reply


def outcome(cell: str, reply: str) -> tuple[bool, str]:
    result = run_check(parse_shorthand(cell), reply)
    return result.passed, result.explanation


@pytest.mark.parametrize(
    ("cell", "reply", "passed", "why"),
    [
        ("contains: Paris", "It is Paris.", True, ""),
        ("contains: Paris", "It is paris.", False, "The reply does not contain 'Paris'."),
        ("icontains: Paris", "It is paris.", True, ""),
        (
            "not-contains: sorry",
            "I am sorry, I cannot.",
            False,
            "The reply contains 'sorry': “I am sorry, I cannot.”.",
        ),
        ("equals: 4", "  4\n", True, ""),
        ("equals: 4", "four", False, "The reply is 'four', not '4'."),
        ("regex: ^\\d{3}-\\d{4}$", "555-1234", True, ""),
        ("regex: ^\\d{3}$", "12", False, "No match for the pattern '^\\\\d{3}$' in the reply."),
        ("max-chars: 5", "123456", False, "The reply has 6 characters; the limit is 5."),
        ("max-chars: 1,000", "short", True, ""),
        ("max-tokens: 3", "one two three four five", False, "The reply has about 5 tokens"),
        ("is-json", '```json\n{"a": [1, 2]}\n```', True, ""),
        (
            "is-json",
            "{'a': 1}",
            False,
            "Not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2.",
        ),
        ("language: zh", "这是一个关于 Python 的回答。", True, ""),
        (
            "language: en",
            "这是一个关于 Python 的回答。",
            False,
            "9 Chinese characters and 1 Latin words: 90% Chinese, so it reads as Chinese, not English.",
        ),
        ("language: en", "Plain English with one 词.", True, ""),
        ("language: zh", "12345 !!!", False, "The reply has no Chinese characters and no Latin words"),
    ],
)
def test_each_kind_passes_or_says_why(cell: str, reply: str, passed: bool, why: str) -> None:
    ok, explanation = outcome(cell, reply)
    assert ok is passed
    assert explanation.startswith(why) if why else explanation == ""


def test_json_schema_names_the_place_that_does_not_match() -> None:
    schema = {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]}
    check = Check("json_schema", json.dumps(schema))
    assert run_check(check, '{"age": 3}').passed
    result = run_check(check, '{"age": "three"}')
    assert not result.passed
    assert (
        result.explanation == "The JSON does not match the schema at $.age: 'three' is not of type 'integer'."
    )
    assert run_check(check, "nope").explanation.startswith("Not valid JSON")
    nested = Check("json_schema", json.dumps({"type": "array", "items": {"type": "string"}}))
    assert "at $[1]" in run_check(nested, '["a", 2]').explanation


def test_a_catastrophic_pattern_is_cut_off_as_a_check_error() -> None:
    result = run_check(Check("regex", "(a+)+$"), "a" * 5000 + "!")
    assert (result.passed, result.error) == (False, True)
    assert "took longer than 0.5 s" in result.explanation


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Check("sounds_good"), "unknown check kind 'sounds_good'"),
        (lambda: Check("regex", "(unclosed"), "is not a valid regular expression"),
        (lambda: Check("regex", "x" * 1001), "longer than 1000 characters"),
        (lambda: Check("max_chars", "ten"), "needs a whole number, not 'ten'"),
        (lambda: Check("json_schema", "{"), "the JSON Schema is not valid JSON"),
        (lambda: Check("json_schema", '{"type": 12}'), "the JSON Schema is not valid"),
        (lambda: Check("language", "fr"), "takes zh or en, not 'fr'"),
        (lambda: Check("judge", " "), "needs a rubric"),
        (lambda: Check("judge", "ok", scale="1-10"), "scale is pass/fail or 1-5"),
        (lambda: Check("contains", "x", scale="1-5"), "a contains check takes no 'scale' option"),
        (lambda: Check("json", "x"), "takes no value"),
        (lambda: parse_shorthand("javascript: output.length < 10"), "'javascript' checks are not supported"),
        (lambda: parse_shorthand("{not json"), "looks like JSON but is not valid JSON"),
    ],
)
def test_bad_checks_are_refused_with_what_to_fix(make, message: str) -> None:
    with pytest.raises(CheckError, match=None) as info:
        make()
    assert message in str(info.value)


def test_every_kind_round_trips_through_its_cell_and_dict() -> None:
    checks = [
        Check("contains", "Paris"),
        Check("contains", "paris", ignore_case=True),
        Check("not_contains", "  padded  "),  # exact text needs JSON
        Check("equals", "4"),
        Check("regex", r"\bword\b", ignore_case=True),
        Check("max_chars", "200"),
        Check("max_tokens", "50"),
        Check("json"),
        Check("json_schema", '{"type": "object"}'),
        Check("language", "zh"),
        Check("judge", "Polite and correct."),
        Check("judge", "Helpful", scale="1-5", min_score=3, grader="Strict grader"),
    ]
    assert {c.kind for c in checks} == set(CHECK_KINDS)
    for check in checks:
        assert parse_shorthand(check_cell(check)) == check
        assert Check.from_dict(json.loads(json.dumps(check.to_dict()))) == check
    assert Check.from_dict({"type": "contains", "value": "x"}) == Check("contains", "x")  # promptfoo's shape
    assert Check.from_dict({"type": "is-json", "value": {"type": "object"}}).kind == "json_schema"


def test_language_counts_scripts_only() -> None:
    assert language_share("你好 world, hello") == (2, 2)


# The judge --------------------------------------------------------------------------------------------


@pytest.fixture
def judge(fake_endpoint):
    grader = Role(
        name="Strict grader",
        system="You grade {{strictness}} strictly.",
        variables=[{"name": "strictness", "default": "very"}],
    )
    client = ChatClient(fake_endpoint)
    yield Judge(client=client, model="gpt-4o-mini", roles=(grader,))
    client.close()


def test_the_judge_grades_pass_fail_and_keeps_its_reasoning(judge, fake_openai) -> None:
    fake_openai.script(Reply(text="The reply greets the user politely.\nVERDICT: PASS"))
    check = Check("judge", "Greets the user politely.")
    result = run_check(check, "Hello there!", CheckContext(case_input="Hi", judge=judge))
    assert (result.passed, result.error) == (True, False)
    assert result.reasoning == "The reply greets the user politely.\nVERDICT: PASS"
    sent = fake_openai.last_body["messages"]
    assert sent[0]["role"] == "system"
    assert "Greets the user politely." in sent[1]["content"]
    assert (
        "<input>\nHi\n</input>" in sent[1]["content"]
        and "<reply>\nHello there!\n</reply>" in sent[1]["content"]
    )

    fake_openai.script(Reply(text="Rude.\nVERDICT: FAIL"))
    result = run_check(check, "Go away.", CheckContext(case_input="Hi", judge=judge))
    assert not result.passed and result.explanation.startswith("The judge said FAIL: “Rude. VERDICT: FAIL”")


def test_the_judge_scores_1_to_5_with_a_grader_role(judge, fake_openai) -> None:
    check = Check("judge", "Correct arithmetic.", scale="1-5", min_score=4, grader="strict grader")
    fake_openai.script(Reply(text="Mostly right.\nSCORE: 3/5"))
    result = run_check(check, "2+2=4", CheckContext(case_input="2+2?", judge=judge))
    assert (result.passed, result.score) == (False, 3.0)
    assert "The judge scored 3/5 (passes at 4)" in result.explanation
    assert fake_openai.last_body["messages"][0]["content"] == "You grade very strictly."
    fake_openai.script(Reply(text="SCORE: 5"))
    assert run_check(check, "2+2=4", CheckContext(case_input="2+2?", judge=judge)).passed


def test_a_judge_without_verdict_or_reachable_model_is_a_check_error(judge, fake_openai) -> None:
    check = Check("judge", "Anything.")
    fake_openai.script(Reply(text="I think it is fine overall."))
    result = run_check(check, "x", CheckContext(judge=judge))
    assert (result.passed, result.error) == (False, True)
    assert "has no 'VERDICT: PASS or VERDICT: FAIL' line" in result.explanation
    assert result.reasoning == "I think it is fine overall."

    fake_openai.script(Reply(status=500))
    result = run_check(check, "x", CheckContext(judge=judge))
    assert result.error and result.explanation.startswith(
        "The judge could not grade: the judge's request failed"
    )

    result = run_check(Check("judge", "x", grader="Nobody"), "x", CheckContext(judge=judge))
    assert result.error and "there is no role named 'Nobody'" in result.explanation
    assert run_check(check, "x").explanation == "No judge model was chosen for this run."


def test_results_round_trip_as_stored() -> None:
    result = CheckResult(
        "judge", "judge (1-5): 'x'", False, "why", score=2.0, reasoning="because", error=False
    )
    assert CheckResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
