"""chatlab.textstats: every expected number below is worked out by hand in the comments."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError

import pytest

from chatlab.textstats import (
    REFUSAL_PATTERNS,
    Spread,
    describe,
    distinct_n,
    jaccard,
    looks_like_refusal,
    pairwise_similarity,
    tokenize_words,
)

# ---- tokenize_words ------------------------------------------------------------------------------------


def test_tokenize_lowercases_and_drops_punctuation():
    assert tokenize_words("Hello, World! It's 42.") == ["hello", "world", "it", "s", "42"]


def test_tokenize_splits_every_cjk_character_but_keeps_latin_runs():
    assert tokenize_words("我爱Python编程！") == ["我", "爱", "python", "编", "程"]
    assert tokenize_words("カタカナ") == ["カ", "タ", "カ", "ナ"]
    # Korean separates words with spaces, so Hangul stays in words.
    assert tokenize_words("한국어 단어") == ["한국어", "단어"]


def test_tokenize_empty_and_symbols_only():
    assert tokenize_words("") == []
    assert tokenize_words("!!! 🙂 ...") == []


# ---- distinct_n ----------------------------------------------------------------------------------------


def test_distinct_n_by_hand_english():
    texts = ["The cat sat on the mat.", "The cat ran"]
    # Unigrams: the cat sat on the mat | the cat ran → 9 in all; unique: the cat sat on mat ran = 6.
    assert distinct_n(texts, 1) == pytest.approx(6 / 9)
    # Bigrams: (the cat)(cat sat)(sat on)(on the)(the mat) | (the cat)(cat ran) → 7 in all;
    # unique: the-cat cat-sat sat-on on-the the-mat cat-ran = 6. No "mat the": n-grams stay in a sample.
    assert distinct_n(texts, 2) == pytest.approx(6 / 7)
    # Trigrams: (the cat sat)(cat sat on)(sat on the)(on the mat) | (the cat ran) → 5, all different.
    assert distinct_n(texts, 3) == 1.0


def test_distinct_n_by_hand_chinese():
    texts = ["今天天气很好", "今天很好"]
    # Characters: 今 天 天 气 很 好 | 今 天 很 好 → 10 in all; unique: 今 天 气 很 好 = 5.
    assert distinct_n(texts, 1) == pytest.approx(5 / 10)
    # Bigrams: 今天 天天 天气 气很 很好 | 今天 天很 很好 → 8 in all;
    # unique: 今天 天天 天气 气很 很好 天很 = 6.
    assert distinct_n(texts, 2) == pytest.approx(6 / 8)


def test_distinct_n_identical_samples_give_one_over_k():
    # "a b" ×4: unigrams 8 in all, unique a b = 2 → 1/4; bigrams 4, unique (a b) = 1 → 1/4.
    texts = ["a b"] * 4
    assert distinct_n(texts, 1) == pytest.approx(0.25)
    assert distinct_n(texts, 2) == pytest.approx(0.25)


def test_distinct_n_without_ngrams_is_none():
    assert distinct_n([], 1) is None
    assert distinct_n(["", "?!"], 1) is None
    assert distinct_n(["one", "two"], 2) is None  # one word per sample: no bigram anywhere
    with pytest.raises(ValueError, match="at least 1"):
        distinct_n(["a"], 0)


# ---- pairwise_similarity -------------------------------------------------------------------------------


def test_pairwise_similarity_by_hand_three_texts():
    texts = ["the cat sat", "the cat ran", "the cat ran away"]
    # Bigram sets: A = {the-cat, cat-sat}; B = {the-cat, cat-ran}; C = {the-cat, cat-ran, ran-away}.
    # J(A,B) = |{the-cat}| / |{the-cat, cat-sat, cat-ran}| = 1/3
    # J(A,C) = |{the-cat}| / |{the-cat, cat-sat, cat-ran, ran-away}| = 1/4
    # J(B,C) = |{the-cat, cat-ran}| / |{the-cat, cat-ran, ran-away}| = 2/3
    # mean = (1/3 + 1/4 + 2/3) / 3 = (15/12) / 3 = 5/12
    assert pairwise_similarity(texts) == pytest.approx(5 / 12)


def test_pairwise_similarity_chinese_uses_character_bigrams():
    # 今天很好 → {今天, 天很, 很好}; 今天不好 → {今天, 天不, 不好}; 1 shared of 5 → 1/5.
    assert pairwise_similarity(["今天很好", "今天不好"]) == pytest.approx(1 / 5)


def test_pairwise_similarity_edges():
    assert pairwise_similarity([]) is None
    assert pairwise_similarity(["only one"]) is None
    assert pairwise_similarity(["Same words here.", "same words here"]) == 1.0
    assert pairwise_similarity(["Yes", "yes."]) == 1.0  # one-word replies compare by the word
    assert pairwise_similarity(["Yes", "No"]) == 0.0
    assert pairwise_similarity(["", ""]) == 1.0  # no words at all: identical
    assert jaccard(set(), {"a"}) == 0.0


# ---- refusals ------------------------------------------------------------------------------------------

REFUSALS = [
    "I'm sorry, but I can't help with that.",
    "I’m sorry, but I can’t assist with this request.",  # curly apostrophes
    "Sorry, I cannot provide instructions for that.",
    "I apologize, but I won't write that.",
    "I cannot help with creating malware.",
    "I can't assist with that request.",
    "  **I'm unable to help with that.**",
    "Unfortunately, I can't do that.",
    "As an AI language model, I cannot browse the internet.",
    "As an AI, I don't have personal opinions.",
    "抱歉，我无法满足这个请求。",
    "对不起，我不能帮你做这件事。",
    "很抱歉，但我不能提供这类信息。",
    "我不能提供这方面的帮助。",
    "我无法回答这个问题。",
    "作为一个AI语言模型，我没有个人观点。",
]

NOT_REFUSALS = [
    "",
    "Sure! Here is a poem about the sea.",
    "The capital of France is Paris.",
    "I can't help but notice the pattern here: it's a loop.",
    "I'm sorry, but I can't find a bug in this code — it looks correct.",
    "As an AI, I find this question fascinating. Here is why…",
    "Here is the answer. I cannot stress enough how important tests are.",  # not at the start
    "Of course. I'm sorry, but I can't help with that.",  # a refusal after a preamble is missed (documented)
    "好的，这是你要的诗。",
    "我不能确定，但大概是这样的：",
    "今天天气很好。",
]


@pytest.mark.parametrize("text", REFUSALS)
def test_refusal_openings_are_detected(text):
    assert looks_like_refusal(text)


@pytest.mark.parametrize("text", NOT_REFUSALS)
def test_ordinary_replies_are_not_refusals(text):
    assert not looks_like_refusal(text)


def test_refusal_patterns_are_public_and_compiled():
    assert REFUSAL_PATTERNS and all(hasattr(p, "match") for p in REFUSAL_PATTERNS)


# ---- describe ------------------------------------------------------------------------------------------


def test_describe_known_values_ignores_none_and_nan():
    spread = describe([4, None, 1, 3, float("nan"), 2])
    # Values 1 2 3 4: mean 2.5, median (2+3)/2 = 2.5; sample variance = (2.25+0.25+0.25+2.25)/3 = 5/3.
    assert spread == Spread(
        mean=2.5, median=2.5, stdev=pytest.approx(math.sqrt(5 / 3)), min=1, max=4, count=4
    )


def test_describe_small_and_empty():
    assert describe([]) == Spread(None, None, None, None, None, 0)
    assert describe([None, None]).count == 0
    one = describe([7])
    assert (one.mean, one.median, one.stdev, one.min, one.max, one.count) == (7, 7, None, 7, 7, 1)
    assert describe(iter([1, 1, 1])).stdev == 0.0
    with pytest.raises(FrozenInstanceError):
        one.mean = 1  # type: ignore[misc]
