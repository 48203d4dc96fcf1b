"""Scripts without spaces between words (chatlab/cjk.py): which characters are words of their own."""

from __future__ import annotations

import re

from chatlab.cjk import DIFF_CHARS, HAN, UNSPACED

han, unspaced, diff = (re.compile(f"[{chars}]") for chars in (HAN, UNSPACED, DIFF_CHARS))


def test_chinese_and_japanese_characters_are_words_of_their_own():
    for char in "中文字々〇ひらカタ𠀀":  # 𠀀: Extension B, outside the Basic Multilingual Plane
        assert unspaced.fullmatch(char), char
    assert han.fullmatch("𠀀") and not han.fullmatch("ひ")


def test_korean_and_latin_group_into_words_by_spaces():
    for char in "한국어 Aé1,":
        assert not unspaced.fullmatch(char), char


def test_a_diff_treats_every_cjk_character_and_full_width_mark_as_one_token():
    for char in "中ひ한，。！（":
        assert diff.fullmatch(char), char
    assert not diff.fullmatch("a") and not diff.fullmatch(",")
