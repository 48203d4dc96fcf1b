"""The word diff Replay shows: joins back to both texts, works on words (CJK characters on their own),
and renders as inert Markdown (strike-through deletions, bold insertions, model text escaped)."""

from __future__ import annotations

import pytest

from chatlab.worddiff import DELETE, EQUAL, INSERT, diff_markdown, tokens, word_diff

PAIRS = [
    ("The quick brown fox jumps.", "The slow red fox jumps!"),
    ("", "Everything is new."),
    ("Everything goes.", ""),
    ("same text", "same text"),
    ("我喜欢吃苹果。", "我不喜欢吃香蕉！"),
    ("Mixed 中文 and English, twice.", "Mixed 中文 or English; once."),
    ("line one\n  indented line\n\nlast", "line one\n    indented more\nlast line"),
    ("tabs\tand  double  spaces ", "tabs and double spaces"),
]


@pytest.mark.parametrize(("old", "new"), PAIRS)
def test_word_diff_joins_back_to_both_sides(old: str, new: str) -> None:
    ops = word_diff(old, new)
    assert {op for op, _ in ops} <= {EQUAL, INSERT, DELETE}
    assert "".join(text for op, text in ops if op != INSERT) == old
    assert "".join(text for op, text in ops if op != DELETE) == new
    assert all(text for _, text in ops)
    assert all(a[0] != b[0] for a, b in zip(ops, ops[1:], strict=False))  # neighbours merged


def test_word_diff_works_on_words() -> None:
    assert word_diff("The quick brown fox", "The slow brown fox") == [
        (EQUAL, "The "),
        (DELETE, "quick"),
        (INSERT, "slow"),
        (EQUAL, " brown fox"),
    ]


def test_cjk_characters_are_tokens_of_their_own() -> None:
    assert tokens("我喜欢Python编程") == ["我", "喜", "欢", "Python", "编", "程"]
    assert word_diff("我喜欢苹果", "我喜欢香蕉") == [(EQUAL, "我喜欢"), (DELETE, "苹果"), (INSERT, "香蕉")]


def test_diff_markdown_strikes_deletions_and_bolds_insertions() -> None:
    md = diff_markdown(word_diff("The quick fox", "The slow fox"))
    assert md == "The ~~quick~~**slow** fox"


def test_diff_markdown_escapes_model_output() -> None:
    md = diff_markdown(
        [
            (EQUAL, "Use *stars* and _underscores_ "),
            (DELETE, "<script>alert(1)</script>"),
            (INSERT, "**bold** [link](http://x) $x$"),
            (EQUAL, "\n# heading"),
        ]
    )
    assert md == (
        r"Use \*stars\* and \_underscores\_ ~~\<script\>alert\(1\)\</script\>~~"
        r"**\*\*bold\*\* \[link\]\(http\://x\) \$x\$**" + "  \n" + r"\# heading"
    )
    old = "Use *stars* and _underscores_ <script>alert(1)</script>"
    new = "Use **bold** and __dunder__ <script>steal()</script>"
    md = diff_markdown(word_diff(old, new))
    assert "<script>" not in md and "</script>" not in md and "\\<script\\>" in md


def test_diff_markdown_keeps_lines_and_indentation() -> None:
    md = diff_markdown(word_diff("a\n    code\nb", "a\n    code\nc"))
    assert "  \n&nbsp;&nbsp;&nbsp;&nbsp;code  \n" in md  # hard breaks; no indented code block
    assert md.endswith("~~b~~**c**")
    # A change spanning lines is marked per line (emphasis cannot cross a line break).
    md = diff_markdown([(INSERT, "one\ntwo ")])
    assert md == "**one**  \n**two** "
