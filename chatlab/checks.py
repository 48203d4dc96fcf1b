"""Checks on a reply: each kind declared once in CHECK_KINDS, each result a pass/fail with a plain reason.

A Check is data (kind, value and the kind's options), so a test set stores it as JSON and a CSV cell holds
it as a promptfoo-style shorthand ("contains: Paris", "max-chars: 200") or as a JSON object. The kinds:

- contains / not_contains / equals: text, optionally ignoring case (equals ignores surrounding spaces).
- regex: found anywhere in the reply. Patterns run on the `regex` module with a time limit
  (REGEX_TIMEOUT_S) and a length limit, so a catastrophic pattern such as (a+)+$ ends as a check error
  instead of hanging the run.
- max_chars, max_tokens: tokens are counted offline (o200k_base, chatlab.tokens): an estimate.
- json, json_schema: the reply (or the one fenced ```json block it consists of) parses as JSON, and for
  json_schema also validates against a JSON Schema (jsonschema, the schema's own draft).
- language: a script count, nothing more. Han characters and Latin-letter words are counted (a Han
  character counts as one word); the reply is "zh" when Han characters are at least half of them and "en"
  when Latin words are more than half. It cannot tell Japanese kanji from Chinese, nor English from French.
- judge: a role grades the reply against a rubric — pass/fail, or a score of 1–5 that passes at
  `min_score` — through the normal client (any endpoint, the offline model included). The grader's whole
  reply is kept as the reasoning; a reply without a verdict line is a check error, not a pass.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields

import jsonschema
import regex

from chatlab.cjk import HAN
from chatlab.params import GenerationParams
from chatlab.reply import collect_reply
from chatlab.request import build_request
from chatlab.roles.role import Role, find_role
from chatlab.roles.variables import MissingValues, render
from chatlab.tokens import count_tokens

REGEX_TIMEOUT_S = 0.5
MAX_PATTERN_CHARS = 1000
MAX_CHECK_TEXT = 100_000  # a contains text, a schema or a rubric
EXCERPT_CHARS = 60

# What a check's `value` holds.
TEXT, PATTERN, COUNT, SCHEMA, LANGUAGE, RUBRIC, NOTHING = (
    "text",
    "pattern",
    "count",
    "schema",
    "language",
    "rubric",
    "",
)
PASS_FAIL, SCORE_1_5 = "pass/fail", "1-5"
SCALES = (PASS_FAIL, SCORE_1_5)
CHECK_LANGUAGES = {"zh": "Chinese", "en": "English"}


class CheckError(ValueError):
    """A check that cannot be used as written (unknown kind, bad pattern, bad schema…); says what to fix."""


@dataclass(frozen=True)
class Check:
    """One check: its kind, its value, and the options its kind takes (the others keep their defaults)."""

    kind: str
    value: str = ""
    ignore_case: bool = False  # contains, not_contains, equals, regex
    scale: str = PASS_FAIL  # judge
    min_score: int = 4  # judge on the 1-5 scale: passes at this score or above
    grader: str = ""  # judge: the role that grades ("" = the built-in grader prompt)

    def __post_init__(self) -> None:
        kind = CHECK_KINDS.get(self.kind)
        if kind is None:
            raise CheckError(f"unknown check kind {self.kind!r}; the kinds are: {', '.join(CHECK_KINDS)}")
        if not isinstance(self.value, str):
            object.__setattr__(self, "value", "" if self.value is None else str(self.value))
        for option in _OPTION_NAMES:
            if option not in kind.options and getattr(self, option) != _DEFAULTS[option]:
                raise CheckError(f"a {kind.name} check takes no '{option}' option")
        if self.scale not in SCALES:
            raise CheckError(f"a judge's scale is {' or '.join(SCALES)}, not {self.scale!r}")
        if isinstance(self.min_score, bool) or self.min_score not in range(1, 6):
            raise CheckError(f"min_score must be a whole number from 1 to 5, not {self.min_score!r}")
        kind.validate(self)

    @property
    def label(self) -> str:
        """What the check asks, in a few words ("contains 'Paris'", "at most 200 characters")."""
        return CHECK_KINDS[self.kind].describe(self)

    def to_dict(self) -> dict:
        """As stored and written to JSONL: kind, value if any, and options that differ from the default."""
        out: dict = {"kind": self.kind}
        if self.value:
            out["value"] = self.value
        out.update({k: getattr(self, k) for k in _OPTION_NAMES if getattr(self, k) != _DEFAULTS[k]})
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> Check:
        """A check from to_dict's shape (promptfoo's {type, value} is read too); CheckError if invalid."""
        if not isinstance(data, Mapping):
            raise CheckError(f"a check must be an object with a 'kind', got {type(data).__name__}")
        data = dict(data)
        if "kind" not in data and "type" in data:
            return parse_shorthand(f"{data['type']}: {_value_text(data.get('value'))}")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise CheckError(f"a check has no '{sorted(unknown)[0]}' field")
        if "value" in data and not isinstance(data["value"], str):
            data["value"] = _value_text(data["value"])
        try:
            return cls(**data)
        except TypeError as exc:
            raise CheckError(f"a check needs a 'kind': {exc}") from None

    def shorthand(self) -> str | None:
        """The CSV cell for this check ("contains: Paris"), or None when only JSON can say it."""
        return CHECK_KINDS[self.kind].write_shorthand(self)


_DEFAULTS = {f.name: f.default for f in fields(Check) if f.name not in ("kind", "value")}
_OPTION_NAMES = tuple(_DEFAULTS)


def _value_text(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class CheckResult:
    """One check on one reply. `error`: the check could not be applied (it counts as not passed)."""

    kind: str
    label: str
    passed: bool
    explanation: str = ""  # why it failed, in words; empty when it passed
    score: float | None = None  # the judge's 1-5 score
    reasoning: str = ""  # the judge's whole reply
    error: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> CheckResult:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


# The judge ---------------------------------------------------------------------------------------------

GRADER_PROMPT = (
    "You are a strict, fair grader. You are given a rubric, the input a chat assistant received, and the "
    "assistant's reply. Judge only the reply, only against the rubric. Think briefly, then end with the "
    "verdict line exactly as asked."
)
_VERDICT = re.compile(r"VERDICT\s*[:：]\s*\**\s*(PASS|FAIL)\b", re.IGNORECASE)
_SCORE = re.compile(r"SCORE\s*[:：]\s*\**\s*([1-5])(?:\s*/\s*5)?\b", re.IGNORECASE)


@dataclass(frozen=True)
class Judge:
    """Where judge checks are sent: a client (anything with .stream(request)), a model, its parameters,
    and the roles a check may name as its grader."""

    client: object
    model: str
    params: GenerationParams = GenerationParams()
    roles: tuple[Role, ...] = ()
    capabilities: object | None = None

    def messages(self, check: Check, case_input: str, reply: str) -> list[dict]:
        """The grading request: the grader role's prompt, then rubric, input and reply in one message."""
        system = GRADER_PROMPT
        if check.grader:
            role = find_role(self.roles, check.grader)
            if role is None:
                raise CheckError(f"there is no role named '{check.grader}' to grade with")
            system = render(role.system, {}, role.variables)  # a grader's variables take their defaults
        if check.scale == PASS_FAIL:
            ask = "End with one line: VERDICT: PASS or VERDICT: FAIL."
        else:
            ask = "Score the reply from 1 (fails the rubric) to 5 (fully meets it). End with one line: SCORE: <1-5>."
        user = f"Rubric:\n{check.value}\n\n<input>\n{case_input}\n</input>\n\n<reply>\n{reply}\n</reply>\n\n{ask}"
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def grade(self, check: Check, case_input: str, reply: str, stop: threading.Event | None = None) -> str:
        """The grader's reply text; CheckError when the request failed."""
        request = build_request(
            self.model, self.messages(check, case_input, reply), self.params, capabilities=self.capabilities
        )
        collected = collect_reply(self.client, request, stop)
        if collected is None:
            raise CheckError("the run was cancelled while the judge was answering")
        text, done = collected
        if done is not None and done.error is not None:
            raise CheckError(f"the judge's request failed: {done.error.message}")
        return text


@dataclass(frozen=True)
class CheckContext:
    """What some checks need besides the reply: the case's input (for the judge) and where to judge."""

    case_input: str = ""
    judge: Judge | None = None
    stop: threading.Event | None = None


# The kinds ---------------------------------------------------------------------------------------------


def _excerpt(text: str, at: int = 0, width: int = EXCERPT_CHARS) -> str:
    start = max(0, at - width // 3)
    piece = " ".join(text[start : start + width].split())
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")


def _quote(text: str) -> str:
    return repr(text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…")


def _result(check: Check, passed: bool, why: str = "", **extra) -> CheckResult:
    return CheckResult(check.kind, check.label, passed, "" if passed else why, **extra)


def _fold(text: str, check: Check) -> str:
    return text.casefold() if check.ignore_case else text


def _contains(check: Check, reply: str, _ctx: CheckContext) -> CheckResult:
    found = _fold(reply, check).find(_fold(check.value, check))
    return _result(check, found >= 0, f"The reply does not contain {_quote(check.value)}.")


def _not_contains(check: Check, reply: str, _ctx: CheckContext) -> CheckResult:
    at = _fold(reply, check).find(_fold(check.value, check))
    return _result(check, at < 0, f"The reply contains {_quote(check.value)}: “{_excerpt(reply, at)}”.")


def _equals(check: Check, reply: str, _ctx: CheckContext) -> CheckResult:
    same = _fold(reply.strip(), check) == _fold(check.value.strip(), check)
    return _result(check, same, f"The reply is {_quote(reply.strip())}, not {_quote(check.value.strip())}.")


def _compiled(check: Check):
    flags = regex.IGNORECASE if check.ignore_case else 0
    return regex.compile(check.value, flags | regex.VERSION0)


def _check_pattern(check: Check) -> None:
    if not check.value:
        raise CheckError("a regex check needs a pattern")
    if len(check.value) > MAX_PATTERN_CHARS:
        raise CheckError(f"the pattern is longer than {MAX_PATTERN_CHARS} characters")
    try:
        _compiled(check)
    except regex.error as exc:
        raise CheckError(
            f"the pattern {_quote(check.value)} is not a valid regular expression: {exc}"
        ) from None


def _regex(check: Check, reply: str, _ctx: CheckContext) -> CheckResult:
    try:
        found = _compiled(check).search(reply, timeout=REGEX_TIMEOUT_S)
    except TimeoutError:
        why = (
            f"The pattern took longer than {REGEX_TIMEOUT_S:g} s on this reply (nested repetition such as "
            "(a+)+ backtracks without end); simplify it."
        )
        return _result(check, False, why, error=True)
    return _result(check, found is not None, f"No match for the pattern {_quote(check.value)} in the reply.")


def _limit(check: Check) -> int:
    return int(check.value)


def _check_count(check: Check) -> None:
    try:
        number = int(check.value.strip().replace(",", ""))
    except ValueError:
        raise CheckError(f"a {check.kind} check needs a whole number, not {check.value!r}") from None
    if number < 0:
        raise CheckError(f"a {check.kind} check needs a number of 0 or more, not {number}")
    object.__setattr__(check, "value", str(number))


def _max_chars(check: Check, reply: str, _ctx: CheckContext) -> CheckResult:
    n = len(reply)
    return _result(
        check, n <= _limit(check), f"The reply has {n:,} characters; the limit is {_limit(check):,}."
    )


def _max_tokens(check: Check, reply: str, _ctx: CheckContext) -> CheckResult:
    n = count_tokens(reply)
    why = f"The reply has about {n:,} tokens (counted offline, o200k_base); the limit is {_limit(check):,}."
    return _result(check, n <= _limit(check), why)


_FENCE = re.compile(r"\A```[\w-]*[ \t]*\n(.*)\n```\Z", re.DOTALL)


def _parse_json(reply: str):
    """(value, None) or (None, why): the reply, or the one fenced block it consists of, as JSON."""
    text = reply.strip()
    if fenced := _FENCE.match(text):
        text = fenced.group(1).strip()
    if not text:
        return None, "The reply is empty, not JSON."
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
    except RecursionError:
        return None, "Not usable JSON: it is nested too deeply."


def _json(check: Check, reply: str, _ctx: CheckContext) -> CheckResult:
    _value, why = _parse_json(reply)
    return _result(check, why is None, why or "")


def _schema(check: Check) -> dict:
    return json.loads(check.value)


def _check_schema(check: Check) -> None:
    try:
        schema = _schema(check)
    except json.JSONDecodeError as exc:
        raise CheckError(f"the JSON Schema is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(schema, dict | bool):
        raise CheckError("a JSON Schema must be a JSON object")
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise CheckError(f"the JSON Schema is not valid: {exc.message}") from None


def _json_schema(check: Check, reply: str, _ctx: CheckContext) -> CheckResult:
    value, why = _parse_json(reply)
    if why is not None:
        return _result(check, False, why)
    schema = _schema(check)
    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return _result(check, True)
    where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return _result(check, False, f"The JSON does not match the schema at ${where}: {error.message}.")


_HAN_CHAR = re.compile(f"[{HAN}]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def language_share(text: str) -> tuple[int, int]:
    """(Han characters, Latin-letter words) in the text: what the language check counts."""
    return len(_HAN_CHAR.findall(text)), len(_LATIN_WORD.findall(text))


def _check_language(check: Check) -> None:
    value = check.value.strip().lower()
    if value not in CHECK_LANGUAGES:
        raise CheckError(f"a language check takes {' or '.join(CHECK_LANGUAGES)}, not {check.value!r}")
    object.__setattr__(check, "value", value)


def _language(check: Check, reply: str, _ctx: CheckContext) -> CheckResult:
    han, latin = language_share(reply)
    if han + latin == 0:
        return _result(
            check, False, "The reply has no Chinese characters and no Latin words to tell its language by."
        )
    zh = han / (han + latin)
    passed = zh >= 0.5 if check.value == "zh" else zh < 0.5
    why = (
        f"{han:,} Chinese characters and {latin:,} Latin words: {zh:.0%} Chinese, so it reads as "
        f"{'Chinese' if zh >= 0.5 else 'English'}, not {CHECK_LANGUAGES[check.value]}."
    )
    return _result(check, passed, why)


def _check_rubric(check: Check) -> None:
    if not check.value.strip():
        raise CheckError("a judge check needs a rubric: what a good reply does")


def _judge(check: Check, reply: str, ctx: CheckContext) -> CheckResult:
    if ctx.judge is None:
        return _result(check, False, "No judge model was chosen for this run.", error=True)
    try:
        reasoning = ctx.judge.grade(check, ctx.case_input, reply, ctx.stop)
    except (CheckError, MissingValues) as exc:
        return _result(check, False, f"The judge could not grade: {exc}", error=True)
    pattern = _VERDICT if check.scale == PASS_FAIL else _SCORE
    verdicts = pattern.findall(reasoning)
    if not verdicts:
        line = "VERDICT: PASS or VERDICT: FAIL" if check.scale == PASS_FAIL else "SCORE: 1 to 5"
        why = f"The judge's reply has no '{line}' line: “{_excerpt(reasoning, len(reasoning))}”."
        return _result(check, False, why, reasoning=reasoning, error=True)
    last = verdicts[-1]
    if check.scale == PASS_FAIL:
        passed = last.upper() == "PASS"
        return _result(
            check, passed, f"The judge said FAIL: “{_excerpt(reasoning, 0, 200)}”.", reasoning=reasoning
        )
    score = int(last)
    why = f"The judge scored {score}/5 (passes at {check.min_score}): “{_excerpt(reasoning, 0, 200)}”."
    return _result(check, score >= check.min_score, why, score=float(score), reasoning=reasoning)


def _no_value(check: Check) -> None:
    if check.value:
        raise CheckError(f"a {check.kind} check takes no value")


def _text_value(check: Check) -> None:
    if not check.value:
        raise CheckError(f"a {check.kind} check needs the text to look for")


@dataclass(frozen=True)
class CheckKind:
    """One kind of check: how it reads, what its value holds, its CSV shorthand, how it runs."""

    name: str
    label: str
    help: str
    value: str  # TEXT, PATTERN, COUNT, SCHEMA, LANGUAGE, RUBRIC or NOTHING
    run: Callable[[Check, str, CheckContext], CheckResult]
    describe: Callable[[Check], str]
    shorthand: str  # promptfoo's assertion name where it has one
    validate: Callable[[Check], None] = _text_value
    options: tuple[str, ...] = ()
    case_shorthand: str = ""  # the shorthand with ignore_case (promptfoo's icontains)

    def write_shorthand(self, check: Check) -> str | None:
        name = self.case_shorthand if check.ignore_case else self.shorthand
        if not name or any(getattr(check, o) != _DEFAULTS[o] for o in self.options if o != "ignore_case"):
            return None
        if self.value == NOTHING:
            return name
        if "\n" in check.value or check.value != check.value.strip():
            return None  # a CSV shorthand's value is trimmed: keep exact text in JSON
        return f"{name}: {check.value}"


def _case(check: Check) -> str:
    return " (any case)" if check.ignore_case else ""


CHECK_KINDS: dict[str, CheckKind] = {
    k.name: k
    for k in (
        CheckKind(
            "contains", "Contains", "The reply contains this text.", TEXT, _contains,
            lambda c: f"contains {_quote(c.value)}{_case(c)}", "contains",
            options=("ignore_case",), case_shorthand="icontains",
        ),
        CheckKind(
            "not_contains", "Does not contain", "The reply does not contain this text.", TEXT, _not_contains,
            lambda c: f"does not contain {_quote(c.value)}{_case(c)}", "not-contains",
            options=("ignore_case",), case_shorthand="not-icontains",
        ),
        CheckKind(
            "equals", "Equals", "The reply is exactly this text (surrounding spaces aside).", TEXT, _equals,
            lambda c: f"equals {_quote(c.value)}{_case(c)}", "equals",
            options=("ignore_case",), case_shorthand="iequals",
        ),
        CheckKind(
            "regex", "Matches regex", "A regular expression found anywhere in the reply.", PATTERN, _regex,
            lambda c: f"matches /{c.value}/{'i' if c.ignore_case else ''}", "regex",
            validate=_check_pattern, options=("ignore_case",),
        ),
        CheckKind(
            "max_chars", "Max characters", "The reply has at most this many characters.", COUNT, _max_chars,
            lambda c: f"at most {int(c.value):,} characters", "max-chars", validate=_check_count,
        ),
        CheckKind(
            "max_tokens", "Max tokens", "The reply has at most this many tokens (counted offline).", COUNT,
            _max_tokens, lambda c: f"at most {int(c.value):,} tokens", "max-tokens", validate=_check_count,
        ),
        CheckKind(
            "json", "Valid JSON", "The reply is JSON (a lone ```json block counts).", NOTHING, _json,
            lambda c: "valid JSON", "is-json", validate=_no_value,
        ),
        CheckKind(
            "json_schema", "JSON matching a schema", "The reply is JSON that validates against this JSON Schema.",
            SCHEMA, _json_schema, lambda c: "JSON matching the schema", "is-json", validate=_check_schema,
        ),
        CheckKind(
            "language", "Language", "The reply is mostly Chinese (zh) or English (en), by a count of scripts.",
            LANGUAGE, _language, lambda c: f"written in {CHECK_LANGUAGES.get(c.value, c.value)}", "language",
            validate=_check_language,
        ),
        CheckKind(
            "judge", "Judge", "A grader role reads the input and the reply and grades it against a rubric.",
            RUBRIC, _judge,
            lambda c: f"judge ({c.scale}{f', by {c.grader}' if c.grader else ''}): {_quote(c.value)}",
            "llm-rubric", validate=_check_rubric, options=("scale", "min_score", "grader"),
        ),
    )
}  # fmt: skip


# Shorthand (CSV cells) ---------------------------------------------------------------------------------

# promptfoo assertion names read as one of ours: name -> (kind, ignore_case).
_SHORTHANDS: dict[str, tuple[str, bool]] = {}
for _kind in CHECK_KINDS.values():
    _SHORTHANDS.setdefault(_kind.shorthand, (_kind.name, False))
    if _kind.case_shorthand:
        _SHORTHANDS[_kind.case_shorthand] = (_kind.name, True)
_SHORTHANDS.update({name: (name, False) for name in CHECK_KINDS}, **{"not_icontains": ("not_contains", True)})


def parse_shorthand(cell: str) -> Check:
    """A check from a CSV cell: "contains: Paris", "is-json", "llm-rubric: polite", or a JSON object."""
    text = cell.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CheckError(f"the check looks like JSON but is not valid JSON: {exc.msg}") from None
        return Check.from_dict(data)
    name, _, value = text.partition(":")
    name = name.strip().lower()
    if name not in _SHORTHANDS:
        known = ", ".join(sorted({k.shorthand for k in CHECK_KINDS.values()} | {"icontains"}))
        raise CheckError(f"'{name}' checks are not supported here (supported: {known}, or a JSON object)")
    kind, ignore_case = _SHORTHANDS[name]
    value = value.strip()
    if kind == "json" and value:
        kind = "json_schema"  # promptfoo's `is-json: {schema}`
    return Check(kind, value, ignore_case=ignore_case)


def check_cell(check: Check) -> str:
    """The CSV cell for a check: its shorthand, or its JSON when options or exact text need it."""
    return check.shorthand() or json.dumps(check.to_dict(), ensure_ascii=False)


# Running ---------------------------------------------------------------------------------------------


def run_check(check: Check, reply: str, context: CheckContext = CheckContext()) -> CheckResult:
    """Apply one check to a reply; never raises for the reply's content (errors come back as results)."""
    return CHECK_KINDS[check.kind].run(check, reply, context)


def run_checks(
    checks: Iterable[Check], reply: str, context: CheckContext = CheckContext()
) -> list[CheckResult]:
    return [run_check(check, reply, context) for check in checks]


def all_passed(results: Sequence[CheckResult]) -> bool:
    """A sample passes when every check passed (no checks: it passes)."""
    return all(r.passed for r in results)


def failure_text(results: Sequence[CheckResult]) -> str:
    """Every failed check with its reason, one line each."""
    return "\n".join(f"{r.label}: {r.explanation}" for r in results if not r.passed)


__all__ = [
    "CHECK_KINDS",
    "Check",
    "CheckContext",
    "CheckError",
    "CheckKind",
    "CheckResult",
    "Judge",
    "all_passed",
    "check_cell",
    "failure_text",
    "language_share",
    "parse_shorthand",
    "run_check",
    "run_checks",
]
