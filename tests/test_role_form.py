"""chatlab.roles.form: the Roles editor's fields turned into a role, without a browser."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from chatlab.roles import RolesError
from chatlab.roles.form import examples_from_table, role_from_form, stop_list, stop_text


def fields(**overrides):
    base = {
        "name": "Checker",
        "description": None,
        "language": None,
        "tags": None,
        "system": "You check things twice.",
        "params": {"seed": "", "stop": ""},
        "examples": [],
    }
    return {**base, **overrides}


@pytest.mark.parametrize("stops", [[], ["END"], ["\n\n", "a\tb", "Q:"], ["中文 «»"]])
def test_stop_sequences_survive_the_text_field(stops):
    text = stop_text(stops)
    assert len(text.splitlines()) == len(stops)  # one line each, even with a newline inside
    assert stop_list(text) == stops


@pytest.mark.parametrize("stops", [['say "hi"'], ["C:\\path"]])
def test_quotes_and_backslashes_in_stop_sequences_survive_the_text_field(stops):
    assert stop_list(stop_text(stops)) == stops


def test_a_backslash_typed_before_other_letters_is_kept():
    assert stop_list("C:\\path\n") == ["C:\\path"]
    assert stop_text(["Ünïcode ✓"]) == "Ünïcode ✓"  # shown as typed, not as \u escapes


def test_stop_list_skips_empty_lines_and_unescapes():
    assert stop_list("END\n\n\\n\\nUser:\n") == ["END", "\n\nUser:"]


def test_examples_from_table_drops_empty_rows_and_untouched_cells():
    frame = pd.DataFrame(
        [
            {"user": "Hi", "assistant": "Hello"},
            {"user": "  ", "assistant": None},
            {"user": math.nan, "assistant": "Only a reply"},
        ],
        columns=["user", "assistant"],
    )
    assert examples_from_table(frame) == [
        {"user": "Hi", "assistant": "Hello"},
        {"user": "", "assistant": "Only a reply"},
    ]


def test_a_full_form_becomes_a_custom_role():
    role = role_from_form(
        **fields(
            name="  Checker ",
            description="Checks twice",
            language="zh",
            tags=["review"],
            params={"temperature": 0.2, "top_p": None, "max_tokens": 64, "seed": " 7 ", "stop": "END\\n"},
            examples=[{"user": "2+2?", "assistant": "4, checked twice."}],
        )
    )
    assert not role.builtin
    assert (role.name, role.description, role.language, role.tags) == (
        "Checker",
        "Checks twice",
        "zh",
        ("review",),
    )
    assert role.default_params() == {"temperature": 0.2, "max_tokens": 64, "seed": 7, "stop": ["END\n"]}
    assert role.examples == (("2+2?", "4, checked twice."),)


def test_empty_optional_fields_take_their_defaults():
    role = role_from_form(**fields())
    assert (role.description, role.language, role.tags) == ("", "en", ())
    assert role.default_params() == {}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "   "}, "Give the role a name."),
        ({"name": None}, "Give the role a name."),
        ({"system": " \n"}, "Write a system prompt"),
        ({"params": {"seed": "1.5"}}, "Seed: seed must be a whole number, not '1.5'."),
        ({"params": {"temperature": 3.0}}, "role 'Checker': temperature must be between 0 and 2, got 3"),
    ],
)
def test_what_save_refuses(overrides, message):
    with pytest.raises(RolesError, match=message.replace(".", r"\.")):
        role_from_form(**fields(**overrides))
