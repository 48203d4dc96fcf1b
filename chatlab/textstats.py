"""Statistics over a set of sampled replies: diversity, similarity, refusals and the spread of a number.

Pure functions, no I/O. The sweep page uses them to say how much the replies of one setting differ
from each other — the thing temperature and top_p are supposed to change.
"""

from __future__ import annotations

import math
import random
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from chatlab.cjk import UNSPACED

_CJK = UNSPACED
# One CJK character, or a run of letters/digits that are not CJK ([^\W_] is "word character but not _").
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


def tokenize_words(text: str) -> list[str]:
    """Lowercased word tokens: runs of letters/digits, and every CJK character as a token of its own.

    Chinese and Japanese have no spaces between words, and splitting them into real words needs a
    dictionary (jieba and the like); one token per character is the usual dependency-free stand-in and
    still gives distinct-n a meaning ("今天天气很好" → 今 天 天 气 很 好). Punctuation, symbols and emoji
    are dropped; an apostrophe splits a word ("can't" → "can", "t"), which is harmless for the
    statistics here because every sample is split the same way.
    """
    return _TOKEN.findall(text.lower()) if text else []


def _ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(texts: Iterable[str], n: int) -> float | None:
    """Distinct-n over all samples (Li et al. 2016): unique n-grams / total n-grams; None when there are none.

    N-grams are taken within each sample (never across two samples) and pooled: 1.0 means no n-gram
    repeats anywhere, and k identical samples give at most 1/k.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    total = 0
    unique: set[tuple[str, ...]] = set()
    for text in texts:
        grams = _ngrams(tokenize_words(text), n)
        total += len(grams)
        unique.update(grams)
    return len(unique) / total if total else None


# How many subsets of equal size a setting's distinct-n is averaged over when it has more samples than
# the setting with the fewest (a fixed seed, so the same samples always give the same figure).
EQUALISED_SUBSETS = 30


def distinct_n_of_size(texts: Sequence[str], n: int, size: int) -> float | None:
    """distinct_n over `size` texts at a time, averaged over subsets when there are more texts.

    Pooled distinct-n depends on how many samples are pooled: k identical replies give 1/k. Settings
    with different numbers of samples (after a Cancel or errors) compare fairly only at an equal size.
    """
    texts = list(texts)
    if size < 1 or len(texts) < size:
        return None
    if len(texts) == size:
        return distinct_n(texts, n)
    every = math.comb(len(texts), size)
    if every <= EQUALISED_SUBSETS:
        subsets = list(combinations(texts, size))
    else:
        rng = random.Random(0)
        subsets = [rng.sample(texts, size) for _ in range(EQUALISED_SUBSETS)]
    values = [v for v in (distinct_n(subset, n) for subset in subsets) if v is not None]
    return statistics.fmean(values) if values else None


def _shingles(text: str) -> frozenset[tuple[str, ...]]:
    """The word bigrams of a text; a one-word text is its single word (so "Yes" and "Yes" still match)."""
    tokens = tokenize_words(text)
    if len(tokens) == 1:
        return frozenset({(tokens[0],)})
    return frozenset(_ngrams(tokens, 2))


def jaccard(a: frozenset | set, b: frozenset | set) -> float:
    """|a ∩ b| / |a ∪ b|; two empty sets count as identical (1.0)."""
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def pairwise_similarity(texts: Sequence[str]) -> float | None:
    """Mean Jaccard similarity of the word-bigram sets over all pairs of texts; None with fewer than 2.

    Why bigrams, not single words: replies to one prompt share most of their vocabulary (the topic's
    words, "the", "is"), so word sets of quite different replies still overlap a lot and the measure
    saturates; bigrams also see word order and phrasing, so 1.0 means (nearly) the same wording. With
    CJK text, where every character is a token, character bigrams approximate words — single
    characters would overlap heavily for any two Chinese replies. A text of one word is compared by that
    word; two texts with no words at all count as identical.
    """
    texts = list(texts)
    if len(texts) < 2:
        return None
    sets = [_shingles(t) for t in texts]
    pairs = list(combinations(sets, 2))
    return sum(jaccard(a, b) for a, b in pairs) / len(pairs)


# Conservative refusal openings, matched at the very start of the reply (after whitespace, quotes and
# Markdown markers) on the lowercased text with curly apostrophes made straight.
_EN_CANT = r"(?:can ?not|can't|won't|am not able to|am unable to|'m not able to|'m unable to|must decline)"
# "help" but not "I can't help but notice"; no "tell"/"find"/"make" ("I can't tell from this code …").
_EN_HELP = (
    r"(?:help(?! but)|assist|provide|comply|fulfil|fulfill|do that|create|generate|write|support|answer|"
    r"engage|share|discuss|give|participate|produce|offer|continue|complete)"
)
_ZH_CANT = r"(?:不能|无法|不可以|不会)"
_ZH_HELP = r"(?:为你|为您|帮|提供|协助|回答|满足|参与|生成|支持|完成|处理|讨论|给出|编写|创作)"
REFUSAL_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        # "I'm sorry, but I can't ...", "Sorry, I cannot ...", "I apologize, but I won't ..."
        rf"(?:i'm |i am |i'm really |i am really |i'm very |so )?(?:sorry|i apologi[sz]e)[,.!]? "
        rf"(?:but )?(?:i|we) ?{_EN_CANT} {_EN_HELP}",
        # "I cannot help with that", "I can't assist", "I won't provide", "I'm unable to help"
        rf"i ?{_EN_CANT} {_EN_HELP}",
        rf"unfortunately,? i ?{_EN_CANT}",
        # "As an AI (language model), I cannot / don't ..." — not "As an AI, I find this fascinating".
        r"as an ai(?: language model| assistant| model)?,? i (?:can ?not|can't|don't|do not|am not|"
        r"am unable|won't|have no|lack)",
        # 抱歉，我无法… / 对不起，我不能… / 很抱歉，但我不能…
        rf"(?:很|非常|真的)?(?:抱歉|对不起|不好意思)[，,。！!]?(?:但是?)?我{_ZH_CANT}",
        # 我不能提供… / 我无法帮助… — not 我不能确定 ("I can't be sure") or 我无法想象
        rf"我(?:真的|恐怕)?{_ZH_CANT}{_ZH_HELP}",
        # 作为一个AI/人工智能(语言模型)，我不能/没有…
        r"作为(?:一个|一名)?(?:ai|人工智能)(?:语言模型|助手|模型)?[，,]?我(?:不能|无法|没有|不会|不可以)",
    )
)
_OPENING_JUNK = " \t\r\n\"'*_>#`「『“‘"
_OPENING_CHARS = 200


def looks_like_refusal(text: str) -> bool:
    """True when the reply opens with a stock refusal ("I'm sorry, but I can't…", "抱歉，我无法…").

    A deliberately conservative heuristic, for counting refusals across a sweep, not for judging one
    reply: it only looks at the opening, so it misses refusals that come after a preamble ("That's a
    good question, but I can't…"), partial compliance, lectures without a stock phrase, and every
    language but English and Chinese. It can flag an apology about the task itself ("I'm sorry, but I
    can't find a bug in this code") — the patterns demand a refusal verb right after the apology to keep
    that rare. Phrases that are not refusals on their own ("As an AI, …", "我不能确定") need a refusal
    continuation. See REFUSAL_PATTERNS.
    """
    if not text:
        return False
    opening = text.lstrip(_OPENING_JUNK)[:_OPENING_CHARS].lower().replace("’", "'")
    opening = " ".join(opening.split())
    return any(p.match(opening) for p in REFUSAL_PATTERNS)


@dataclass(frozen=True)
class Spread:
    """Summary of a list of numbers; every field None (count 0) when there were none."""

    mean: float | None
    median: float | None
    stdev: float | None  # sample standard deviation (n − 1); None with fewer than 2 values
    min: float | None
    max: float | None
    count: int


def describe(values: Iterable[float | int | None]) -> Spread:
    """Mean, median, sample stdev, min, max and count of the values, ignoring None and NaN.

    The sample (n − 1) standard deviation is used because the replies are a sample of what the model
    could have said at that setting, and the question is how much that distribution spreads.
    """
    clean = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not clean:
        return Spread(None, None, None, None, None, 0)
    return Spread(
        mean=statistics.fmean(clean),
        median=statistics.median(clean),
        stdev=statistics.stdev(clean) if len(clean) > 1 else None,
        min=min(clean),
        max=max(clean),
        count=len(clean),
    )
