"""Import role collections: awesome-chatgpt-prompts CSV or JSON, or a Chat Lab roles YAML export.

Placeholders in a prompt (`${Position:Software Developer}`, `{{topic}}`) become the role's variables, with
the inline default; a YAML export keeps its declared defaults and descriptions (chatlab.roles.variables).

parse_collection() turns a file into candidates (nothing is stored yet); mark_candidates() flags those
that duplicate an existing role or trip the adult/jailbreak keyword filter; import_candidates() stores
the chosen ones in one atomic write. Any problem with the file raises RoleImportError and imports nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any

from chatlab.cjk import HAN
from chatlab.csvfile import CsvFileError, read_rows
from chatlab.roles.custom import CustomRoles
from chatlab.roles.library import parse_roles
from chatlab.roles.role import MAX_NAME_CHARS, Role, RolesError
from chatlab.roles.variables import Variable, find_variables
from chatlab.textfile import TextFileError, decode_upload

MAX_IMPORT_BYTES = 10 * 1024 * 1024
MAX_PROMPT_CHARS = 20_000  # longer prompts are cut to this and flagged
FORMATS = ("csv", "json", "yaml")

# Adult and jailbreak entries, matched (case-insensitively) against a candidate's name and prompt.
# Each pattern is specific on purpose: bare words such as "sex", "成人" (成人教育), "女友" or "18+" would
# flag harmless prompts (sex education, adult learners, gift ideas, ad audiences). English patterns use
# ASCII word boundaries so they also match next to Chinese characters ("DAN，", "NSFW内容").
CONTENT_FILTER: tuple[tuple[str, str], ...] = (
    # Jailbreaks: prompts written to switch a model's rules off.
    ("jailbreak", r"\bjail-?\s?break"),
    ("DAN", r"(?-i:\bDAN\b)"),  # "Do Anything Now"; capitals only, so the name Dan passes
    ("do anything now", r"\bdo anything now\b"),
    (
        "ignore previous instructions",
        r"\b(ignore|disregard|forget) (all |any )?(of )?(the |your )?(previous|prior|above|earlier) "
        r"(instructions|prompts|rules|directives)",
    ),
    ("developer mode", r"\bdeveloper mode\b"),
    (
        "no ethical limits",
        r"\b(no|without any|without|free (of|from)) (ethical|moral)( (and|or) legal)? "
        r"(restrictions|limits|limitations|guidelines|constraints|boundaries)",
    ),
    ("uncensored", r"\buncensored\b"),
    ("越狱", r"越狱"),
    ("开发者模式", r"开发者模式"),
    # "forget / are not bound by ... morals ... limits", but not "别忘记职业道德规范" (don't forget ethics).
    (
        "忘记道德限制",
        r"(?<![不别勿莫])(?<!不要)(?<!不能)(?<!不可)(忘记|忘掉|无视|摆脱|抛开|抛弃|不受|不必遵守|不用遵守)"
        r"[^。！？!?\n]{0,12}(道德|伦理)[^。！？!?\n]{0,6}(限制|约束|束缚|规则|底线|规范)",
    ),
    ("没有伦理道德", r"没有(伦理|道德)(?!问题)"),
    # Adult content.
    ("NSFW", r"\bnsfw\b"),
    (
        "sexual content",
        r"\b(sexually explicit|explicit sex|sexual (content|role-?play|fantas(y|ies)|scenes?)|sex (chat|scenes?))\b",
    ),
    ("erotic", r"\berotic(a|ism)?\b"),
    ("porn", r"\bporn(o|ography|ographic)?\b"),
    ("succubus", r"\bsuccubus\b"),
    # 色情 (pornographic) but not a word ending in 色 followed by one starting with 情:
    # 出色情节, 角色情感, 特色情况, 景色情调, 红色情书 ...
    ("色情", r"(?<![出特角脸本景颜音成物夜月神气血声货失变暮春秋绿彩形红黄蓝白黑灰紫金银橙粉棕褐])色情"),
    ("涩涩", r"涩涩"),
    ("魅魔", r"魅魔"),
    ("骚话", r"骚话|撩骚"),
    ("成人内容", r"成人(内容|向|视频|小说|游戏)"),
)
_FILTER = [(label, re.compile(pattern, re.IGNORECASE | re.ASCII)) for label, pattern in CONTENT_FILTER]

_HAN = re.compile(f"[{HAN}]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_TAG_CHARS = re.compile(r"[^\w]+")
_TRUE = {"true", "1", "yes", "y", "t"}


class RoleImportError(ValueError):
    """The file could not be imported (its format, size or content); nothing was imported."""


@dataclass(frozen=True)
class Candidate:
    """One role found in an imported file, with the flags that decide whether it is imported."""

    name: str
    system: str
    language: str = "en"
    tags: tuple[str, ...] = ()
    description: str = ""
    examples: tuple[tuple[str, str], ...] = ()
    params: tuple[tuple[str, Any], ...] = ()
    variables: tuple[Variable, ...] = ()  # the placeholders the prompt uses, with defaults and descriptions
    source: str = ""  # where in the file: "row 12", "entry 5", "role 3"
    original_chars: int = 0  # length of the prompt before any cut
    truncated: bool = False
    duplicate_of: str | None = None  # name of the existing (or earlier) role it repeats
    duplicate_by: str | None = None  # "name" or "prompt"
    filtered: str | None = None  # the text that matched the adult/jailbreak filter

    @property
    def flags(self) -> str:
        """The flags in words, for a preview table ('' when there are none)."""
        parts = []
        if self.filtered:
            parts.append(f"filtered ({self.filtered})")
        if self.duplicate_of:
            parts.append(f"same {self.duplicate_by} as '{self.duplicate_of}'")
        if self.truncated:
            parts.append(f"cut from {self.original_chars:,} to {len(self.system):,} characters")
        return "; ".join(parts)

    def to_role(self) -> Role:
        """The custom role this candidate becomes; raises RolesError if it is invalid."""
        data: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "language": self.language,
            "tags": list(self.tags),
            "system": self.system,
            "examples": [{"user": u, "assistant": a} for u, a in self.examples],
            "params": {k: list(v) if k == "stop" else v for k, v in self.params},
            "variables": [v.to_dict() for v in self.variables],
        }
        return Role.from_dict(data, builtin=False)


@dataclass(frozen=True)
class ImportReport:
    imported: int
    skipped_duplicates: int
    skipped_filtered: int
    truncated: int  # of the imported roles, how many prompts were cut to MAX_PROMPT_CHARS
    names: tuple[str, ...] = ()  # the names they were stored under (a clash gets ' (2)')
    skipped_unticked: int = 0  # left out by hand in a preview (neither filtered nor a duplicate)

    def summary(self) -> str:
        """One sentence for the page."""
        text = f"Imported {self.imported} role{'s' if self.imported != 1 else ''}"
        skipped = []
        if self.skipped_duplicates:
            skipped.append(
                f"{self.skipped_duplicates} duplicate{'s' if self.skipped_duplicates != 1 else ''}"
            )
        if self.skipped_filtered:
            skipped.append(f"{self.skipped_filtered} filtered")
        if self.skipped_unticked:
            skipped.append(f"{self.skipped_unticked} unticked")
        if skipped:
            text += f"; skipped {' and '.join(skipped)}"
        if self.truncated:
            text += f"; {self.truncated} long prompt{'s were' if self.truncated != 1 else ' was'} cut to {MAX_PROMPT_CHARS:,} characters"
        return text + "."


# --------------------------------------------------------------------------------------------------
# Parsing


def parse_collection(data: bytes, filename: str) -> list[Candidate]:
    """Candidates from a CSV (act,prompt[,for_devs,type,contributor]), JSON [{act, prompt}] or roles YAML file."""
    if len(data) > MAX_IMPORT_BYTES:
        raise RoleImportError(
            f"{filename} is {len(data) / 1e6:.1f} MB; files over {MAX_IMPORT_BYTES // (1024 * 1024)} MB are refused"
        )
    text = _decode(data, filename)
    if not text.strip():
        raise RoleImportError(f"{filename} is empty")
    kind = detect_format(text, filename)
    if kind == "json":
        candidates = _from_json(text, filename)
    elif kind == "csv":
        candidates = _from_csv(text, filename)
    else:
        candidates = _from_yaml(text, filename)
    if not candidates:
        raise RoleImportError(f"{filename} holds no roles")
    return candidates


def detect_format(text: str, filename: str) -> str:
    """'csv', 'json' or 'yaml', from the file extension or else from the first characters."""
    suffix = PurePath(filename).suffix.lower().lstrip(".")
    if suffix in ("csv", "json"):
        return suffix
    if suffix in ("yaml", "yml"):
        return "yaml"
    start = text.lstrip()[:1]
    if start in "[{":
        return "json"
    first_line = text.lstrip().split("\n", 1)[0].lower()
    return "csv" if "prompt" in first_line and "," in first_line and ":" not in first_line else "yaml"


def _decode(data: bytes, filename: str) -> str:
    try:
        return decode_upload(data, max_bytes=MAX_IMPORT_BYTES, expected="a CSV, JSON or YAML text file")
    except TextFileError as exc:
        raise RoleImportError(f"{filename}: {exc}") from None


def _from_json(text: str, filename: str) -> list[Candidate]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RoleImportError(
            f"{filename}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise RoleImportError(f"{filename}: the JSON is nested too deeply") from exc
    if not isinstance(data, list):
        raise RoleImportError(
            f'{filename}: expected a JSON list of {{"act": ..., "prompt": ...}} objects, got {type(data).__name__}'
        )
    out = []
    for i, entry in enumerate(data, start=1):
        where = f"{filename} entry {i}"
        if not isinstance(entry, dict):
            raise RoleImportError(
                f'{where}: expected an object with "act" and "prompt", got {type(entry).__name__}'
            )
        fields = {str(k).strip().lower(): v for k, v in entry.items()}
        out.append(_candidate(fields, where, f"entry {i}", filename))
    return out


def _from_csv(text: str, filename: str) -> list[Candidate]:
    try:
        rows = read_rows(text)
    except CsvFileError as exc:
        raise RoleImportError(f"{filename} {exc}") from exc
    if not rows:
        raise RoleImportError(f"{filename} is empty")
    header_line, header = rows[0]
    columns = [cell.strip().lower() for cell in header]
    for needed in ("act", "prompt"):
        if needed not in columns:
            raise RoleImportError(
                f"{filename} line {header_line}: the CSV has no '{needed}' column "
                f"(expected a header like act,prompt; found {', '.join(header) or 'nothing'})"
            )
    out = []
    for line, row in rows[1:]:
        if len(row) != len(columns):
            raise RoleImportError(
                f"{filename} line {line}: expected {len(columns)} fields ({','.join(columns)}), found {len(row)}; "
                "is a field with a comma or line break missing its quotes?"
            )
        out.append(
            _candidate(
                dict(zip(columns, row, strict=True)), f"{filename} line {line}", f"row {line}", filename
            )
        )
    return out


def _from_yaml(text: str, filename: str) -> list[Candidate]:
    try:
        roles = parse_roles(text, filename, builtin=False, max_bytes=MAX_IMPORT_BYTES)
    except RolesError as exc:
        raise RoleImportError(str(exc)) from exc
    out = []
    for i, role in enumerate(roles, start=1):
        system, cut = _cap(role.system)
        used = {v.key for v in find_variables(system, *(text for pair in role.examples for text in pair))}
        description = role.description
        if cut:
            description = f"{description} · {_cut_note(len(role.system))}".strip(" ·")
        out.append(
            Candidate(
                name=role.name,
                system=system,
                language=role.language,
                tags=role.tags,
                description=description,
                examples=role.examples,
                params=role.params,
                variables=tuple(v for v in role.variables if v.key in used),  # a cut may drop one
                source=f"role {i}",
                original_chars=len(role.system),
                truncated=cut,
            )
        )
    return out


def _text(fields: dict[str, Any], key: str, where: str) -> str:
    value = fields.get(key)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise RoleImportError(f"{where}: '{key}' must be text, got {type(value).__name__}")
    return str(value)


def _candidate(fields: dict[str, Any], where: str, source: str, filename: str) -> Candidate:
    """A candidate from one act/prompt record (CSV row or JSON object)."""
    name = clean_name(_text(fields, "act", where))
    prompt = _text(fields, "prompt", where).strip()
    if not name:
        raise RoleImportError(f"{where}: the 'act' (the role's name) is empty")
    if not prompt:
        raise RoleImportError(f"{where}: the 'prompt' for '{name}' is empty")
    tags = []
    kind = _TAG_CHARS.sub("-", _text(fields, "type", where).strip().lower()).strip("-")
    if kind:
        tags.append(kind)
    if _text(fields, "for_devs", where).strip().lower() in _TRUE:
        tags.append("dev")
    system, cut = _cap(prompt)
    notes = [f"Imported from {PurePath(filename).name}"]
    if contributor := _text(fields, "contributor", where).strip():
        notes.append(f"by {contributor}")
    if cut:
        notes.append(_cut_note(len(prompt)))
    return Candidate(
        name=name,
        system=system,
        language=guess_language(prompt),
        tags=tuple(tags),
        description=" · ".join(notes),
        variables=find_variables(system),
        source=source,
        original_chars=len(prompt),
        truncated=cut,
    )


def clean_name(act: str) -> str:
    """A role name from an 'act' field: one line, no trailing colon, at most MAX_NAME_CHARS."""
    name = " ".join(act.split()).rstrip(":：").strip()
    if len(name) > MAX_NAME_CHARS:
        name = name[: MAX_NAME_CHARS - 1].rstrip() + "…"
    return name


def guess_language(text: str) -> str:
    """'zh' when the prompt has Chinese characters, unless they are a few quoted ones in an English
    prompt (fewer than 20 and fewer than its Latin words); otherwise 'en'."""
    han = len(_HAN.findall(text))
    return "zh" if han and (han >= 20 or han >= len(_LATIN_WORD.findall(text))) else "en"


def _cap(prompt: str) -> tuple[str, bool]:
    if len(prompt) <= MAX_PROMPT_CHARS:
        return prompt, False
    return prompt[:MAX_PROMPT_CHARS].rstrip(), True


def _cut_note(chars: int) -> str:
    return f"prompt cut from {chars:,} to {MAX_PROMPT_CHARS:,} characters on import"


# --------------------------------------------------------------------------------------------------
# Flags and import


def content_filter_match(text: str) -> str | None:
    """The text that matched the adult/jailbreak filter (see CONTENT_FILTER), or None."""
    for _label, pattern in _FILTER:
        if match := pattern.search(text):
            return match.group(0).strip()[:40]
    return None


def _prompt_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def mark_candidates(
    candidates: Sequence[Candidate], existing: Iterable[Role], *, filter_adult: bool
) -> list[Candidate]:
    """Flag duplicates (same name, or same prompt after whitespace normalisation, as an existing role or an
    earlier candidate) and, with `filter_adult`, adult/jailbreak entries. Returns new candidates."""
    names: dict[str, str] = {}
    prompts: dict[str, str] = {}
    for role in existing:
        names.setdefault(role.name.casefold(), role.name)
        prompts.setdefault(_prompt_key(role.system), role.name)
    out = []
    for c in candidates:
        dup, by = None, None
        if c.name.casefold() in names:
            dup, by = names[c.name.casefold()], "name"
        elif _prompt_key(c.system) in prompts:
            dup, by = prompts[_prompt_key(c.system)], "prompt"
        names.setdefault(c.name.casefold(), c.name)
        prompts.setdefault(_prompt_key(c.system), c.name)
        hit = content_filter_match(f"{c.name}\n{c.system}") if filter_adult else None
        out.append(replace(c, duplicate_of=dup, duplicate_by=by, filtered=hit))
    return out


def default_choices(candidates: Sequence[Candidate], *, include_duplicates: bool) -> list[bool]:
    """Which candidates a preview ticks at first: not filtered, and not a duplicate unless asked for."""
    return [not c.filtered and (include_duplicates or not c.duplicate_of) for c in candidates]


def import_candidates(
    custom: CustomRoles,
    candidates: Sequence[Candidate],
    *,
    include_duplicates: bool = False,
    include_filtered: bool = False,
) -> ImportReport:
    """Store the candidates that pass (see mark_candidates) in one write; a name clash gets ' (2)'."""
    chosen: list[Candidate] = []
    skipped_filtered = skipped_duplicates = 0
    for c in candidates:
        if c.filtered and not include_filtered:
            skipped_filtered += 1
        elif c.duplicate_of and not include_duplicates:
            skipped_duplicates += 1
        else:
            chosen.append(c)
    stored = _store(custom, chosen)
    return ImportReport(
        imported=len(stored),
        skipped_duplicates=skipped_duplicates,
        skipped_filtered=skipped_filtered,
        truncated=sum(c.truncated for c in chosen),
        names=tuple(r.name for r in stored),
    )


def import_chosen(
    custom: CustomRoles, candidates: Sequence[Candidate], chosen: Sequence[bool]
) -> ImportReport:
    """Store exactly the candidates ticked in a preview, whatever their flags (a name clash gets ' (2)');
    the report counts the others by why they were left out: filtered, a duplicate, or unticked by hand."""
    if len(chosen) != len(candidates):
        raise ValueError(f"{len(chosen)} choices for {len(candidates)} candidates")
    picked = [c for c, keep in zip(candidates, chosen, strict=True) if keep]
    left = [c for c, keep in zip(candidates, chosen, strict=True) if not keep]
    stored = _store(custom, picked)
    return ImportReport(
        imported=len(stored),
        skipped_duplicates=sum(1 for c in left if c.duplicate_of and not c.filtered),
        skipped_filtered=sum(1 for c in left if c.filtered),
        skipped_unticked=sum(1 for c in left if not c.filtered and not c.duplicate_of),
        truncated=sum(c.truncated for c in picked),
        names=tuple(r.name for r in stored),
    )


def _store(custom: CustomRoles, chosen: Sequence[Candidate]) -> list[Role]:
    try:
        roles = [c.to_role() for c in chosen]
    except RolesError as exc:
        raise RoleImportError(f"nothing was imported: {exc}") from exc
    return custom.save_many(roles, rename=True)
