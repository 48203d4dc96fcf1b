"""A form for one check, built from chatlab.checks.CHECK_KINDS: its kinds, what each kind's value holds,
and the options each kind takes come from that table, so a new kind appears here without a change.

Used by the Test sets page (any kind, added to a case or to every case) and the Batch runs page (a judge
for every case). Buttons that add the check run as callbacks; they build it again from the widgets' state
(check_from_state) rather than from the value drawn last run, so a field typed just before the click
is never lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import streamlit as st

from chatlab.checks import (
    CHECK_KINDS,
    CHECK_LANGUAGES,
    COUNT,
    LANGUAGE,
    NOTHING,
    PATTERN,
    RUBRIC,
    SCALES,
    SCHEMA,
    SCORE_1_5,
    TEXT,
    Check,
    CheckError,
    check_cell,
)
from chatlab.safe_markdown import escape_markdown
from chatlab_ui.page_keys import PageKeys

S = st.session_state

# What a kind's value holds -> its field: label, placeholder, and whether it takes several lines.
VALUE_FIELDS = {
    TEXT: ("Text", "e.g. Paris", False),
    PATTERN: ("Regular expression", r"e.g. ^\d{3}-\d{4}$", False),
    COUNT: ("Limit", "e.g. 200", False),
    SCHEMA: ("JSON Schema", '{"type": "object", "required": ["answer"]}', True),
    RUBRIC: (
        "Rubric: what a good reply does",
        "e.g. Answers in one polite sentence and names the city.",
        True,
    ),
}
BUILT_IN_GRADER = ""


def code_span(text: str) -> str:
    """`text` as inline code on one line: Markdown inside a code span is inert, so nothing is escaped (a
    backslash would show); a text holding a backtick gets a double-backtick fence."""
    line = " ".join(text.split())
    return f"`` {line} ``" if "`" in line else f"`{line}`"


def _value_key(keys: PageKeys, holds: str) -> str:
    return keys("value", holds)  # one field per kind of value, so switching kinds keeps what was typed


def check_from_state(keys: PageKeys) -> Check:
    """The check the form's widgets describe; CheckError says what is wrong with it."""
    kind = CHECK_KINDS[S[keys("kind")]]
    value = "" if kind.value == NOTHING else S.get(_value_key(keys, kind.value)) or ""
    options = {name: S[keys(name)] for name in kind.options if keys(name) in S}
    if options.get("scale") != SCORE_1_5:
        options.pop("min_score", None)  # the pass mark of a 1–5 score means nothing for pass/fail
    return Check(kind.name, value.strip() if kind.value != SCHEMA else value, **options)


def _option(name: str, keys: PageKeys, graders: list[str]) -> None:
    key = keys(name)
    if name == "ignore_case":
        st.checkbox("Ignore upper/lower case", key=key)
    elif name == "scale":
        S.setdefault(key, SCALES[0])
        st.radio("Scored", SCALES, key=key, horizontal=True, help="pass/fail, or a score of 1 to 5")
    elif name == "min_score" and S.get(keys("scale")) == SCORE_1_5:
        S.setdefault(key, 4)
        st.select_slider("Passes at a score of", [1, 2, 3, 4, 5], key=key)
    elif name == "grader":
        S.setdefault(key, BUILT_IN_GRADER)
        st.selectbox(
            "Grader role",
            [BUILT_IN_GRADER, *graders],
            key=key,
            format_func=lambda n: n or "Built-in strict grader",
            help="The role whose system prompt grades the reply. The judge model is chosen when a batch runs.",
        )


def check_form(
    keys: PageKeys,
    graders: list[str],
    *,
    kinds: Sequence[str] = tuple(CHECK_KINDS),
    add: Mapping[str, Callable[[], None]] | None = None,
) -> Check | None:
    """Draw the form (a kind picker when `kinds` offers several) and one button per entry of `add`
    (label -> callback), enabled once the check is valid; returns the check, or None while it is not."""
    S.setdefault(keys("kind"), kinds[0])
    if len(kinds) > 1:
        st.selectbox("Kind", list(kinds), key=keys("kind"), format_func=lambda k: CHECK_KINDS[k].label)
    kind = CHECK_KINDS[S[keys("kind")]]
    st.caption(kind.help)
    if kind.value == LANGUAGE:
        key = _value_key(keys, LANGUAGE)
        S.setdefault(key, next(iter(CHECK_LANGUAGES)))
        st.selectbox(
            "Language", list(CHECK_LANGUAGES), key=key, format_func=lambda c: f"{CHECK_LANGUAGES[c]} ({c})"
        )
    elif kind.value != NOTHING:
        label, placeholder, long = VALUE_FIELDS[kind.value]
        field = st.text_area if long else st.text_input
        field(label, key=_value_key(keys, kind.value), placeholder=placeholder)
    for name in kind.options:
        _option(name, keys, graders)
    try:
        check = check_from_state(keys)
    except CheckError as exc:
        st.warning(f"Not a usable check yet: {exc}.", icon=":material/edit_note:")
        check = None
    if check is not None:
        st.markdown(f"Checks that the reply: **{escape_markdown(check.label)}**")
        st.caption("In a case's checks cell (and a CSV) it is written:")
        st.code(check_cell(check), language=None)
    for i, (label, callback) in enumerate((add or {}).items()):
        st.button(label, key=keys("add", i), on_click=callback, disabled=check is None, icon=":material/add:")
    return check
