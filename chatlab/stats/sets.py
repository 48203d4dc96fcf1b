"""Intervals and tests for figures of a whole set of replies: distinct-n and mean pairwise similarity.

Their intervals come from resampling the replies, but not both the same way, because a bootstrap
resample repeats replies:

- Pairwise similarity (the mean Jaccard similarity over pairs, chatlab.textstats) is a U-statistic. Its
  bootstrap (scipy.stats.bootstrap, BCa) averages over the pairs of a resample whose two replies are
  different originals — a reply drawn twice is not compared with itself, which would count as a perfect
  match. (A resample that drew one reply only has no pair and counts as 1.)
- Pooled distinct-n counts a repeated reply as repetition, so its bootstrap is badly biased (a resample
  of 20 replies holds ~13 different ones; distinct-2 drops by a quarter). Its interval is the jackknife
  (Efron & Stein): leave each reply out in turn — no repeats — and take the spread of those values;
  interval = estimate ± t(0.975, n − 1) × jackknife standard error. Leaving reply i out removes the
  n-grams only it has, so every leave-one-out value comes from one count of the pool.

p-values (scipy.stats.permutation_test, two-sided) shuffle replies between the two groups:
- similarity: the exact statistic on each arrangement (the Jaccard matrix of both groups is known);
- distinct-n: on each arrangement, Σ share / Σ n-grams of each side, where a reply's share gives every
  n-gram type it has 1 / (how many replies of both groups have it). Computed once on the pooled
  replies, those shares make the test valid (they do not depend on the arrangement) and cheap.

Distinct-n depends on how many replies are pooled, so it is computed on the same number of replies for
every group: the first `size` replies (by sample index) of each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse, stats

from chatlab.stats.resampling import (
    CONFIDENCE,
    JACKKNIFE,
    MIN_SAMPLES,
    NO_SPREAD,
    TOO_FEW,
    Interval,
    bootstrap_intervals,
    permutation_pvalues,
)
from chatlab.textstats import tokenize_words


class TextSets:
    """The replies of every group, tokenised once (chatlab.textstats.tokenize_words) into word ids.

    An n-gram is the number w1·V^(n−1) + … + wn over a vocabulary of V words, so the n-gram types of a
    reply are np.unique of a few array operations — the same n-grams textstats counts, found without
    building tuples.
    """

    def __init__(self, groups: Sequence[Sequence[str]]):
        self.groups = [list(texts) for texts in groups]
        offsets = np.cumsum([0] + [len(t) for t in self.groups])
        self.positions = [np.arange(offsets[i], offsets[i + 1]) for i in range(len(self.groups))]
        tokens = [tokenize_words(text) for texts in self.groups for text in texts]
        codes, vocabulary = pd.factorize(pd.Series([w for t in tokens for w in t], dtype="object"))
        self._words = np.split(codes.astype(np.int64), np.cumsum([len(t) for t in tokens])[:-1])
        self._size = max(1, len(vocabulary))
        self._ids: dict[int, list[np.ndarray]] = {}
        self._types: dict[int, int] = {}
        self._jaccard: np.ndarray | None = None

    def _ngram_ids(self, n: int) -> list[np.ndarray]:
        """The distinct n-gram types of every reply, numbered 0…T−1 over all replies (n = 1 or 2, so
        that V² fits in 64 bits before the numbers are made compact)."""
        if n not in self._ids:
            raw = []
            for words in self._words:
                grams = words[: max(0, len(words) - n + 1)]
                for j in range(1, n):
                    grams = grams * self._size + words[j : j + len(grams)]
                raw.append(np.unique(grams))
            every = np.concatenate(raw) if raw else np.empty(0, np.int64)
            kinds, compact = np.unique(every, return_inverse=True)
            self._ids[n] = np.split(compact.astype(np.int64), np.cumsum([len(r) for r in raw])[:-1])
            self._types[n] = len(kinds)
        return self._ids[n]

    def jaccard(self) -> np.ndarray:
        """All-pairs Jaccard similarity of the replies' word-bigram sets (chatlab.textstats.shingles: a
        one-word reply is its word, two replies without words count as identical)."""
        if self._jaccard is None:
            bigrams, unigrams = self._ngram_ids(2), self._ngram_ids(1)
            # A one-word reply's shingle is its word, numbered past every bigram so the two never meet.
            shingles = [
                bigrams[i] if len(words) != 1 else unigrams[i] + self._types[2]
                for i, words in enumerate(self._words)
            ]
            size = len(shingles)
            rows = np.repeat(np.arange(size), [len(x) for x in shingles])
            _, cols = np.unique(
                np.concatenate(shingles) if size else np.empty(0, np.int64), return_inverse=True
            )
            incidence = sparse.csr_matrix(
                (np.ones(len(rows)), (rows, cols)), shape=(size, max(1, int(cols.max(initial=0)) + 1))
            )
            shared = (incidence @ incidence.T).toarray()
            sizes = np.array([len(x) for x in shingles], dtype=float)
            union = sizes[:, None] + sizes[None, :] - shared
            self._jaccard = np.where(union > 0, shared / np.where(union > 0, union, 1), 1.0)
        return self._jaccard

    def type_ids(self, group: int, n: int, size: int) -> list[np.ndarray]:
        """The distinct n-gram types (as ids) of each of the group's first `size` replies."""
        ids = self._ngram_ids(n)
        return [ids[i] for i in self.positions[group][:size]]

    def ngram_counts(self, group: int, n: int, size: int) -> np.ndarray:
        first = self.positions[group][:size]
        return np.array([max(0, len(self._words[i]) - n + 1) for i in first], dtype=float)


@dataclass(frozen=True)
class _Pool:
    """A pool of replies' n-gram types: how many distinct types it has; per reply, the types no other
    reply of the pool has, and its share (Σ 1 / how many replies of the pool hold each of its types)."""

    distinct: int
    only_here: np.ndarray
    shares: np.ndarray


def _pools(pools: Sequence[Sequence[np.ndarray]]) -> list[_Pool]:
    """_Pool of every pool of replies (each reply: its distinct type ids), all in a few array operations."""
    replies = [reply for pool in pools for reply in pool]
    sizes = [len(reply) for reply in replies]
    ids = np.concatenate(replies) if replies else np.empty(0, np.int64)
    reply_of = np.repeat(np.arange(len(replies)), sizes)
    pool_of = np.repeat(np.repeat(np.arange(len(pools)), [len(pool) for pool in pools]), sizes)
    span = int(ids.max(initial=0)) + 1
    keys, where, holders = np.unique(pool_of * span + ids, return_inverse=True, return_counts=True)
    held = holders[where]  # per occurrence: how many replies of its pool hold that type
    only_here = np.bincount(reply_of, weights=held == 1, minlength=len(replies))
    shares = np.bincount(reply_of, weights=1.0 / held if len(held) else held, minlength=len(replies))
    distinct = np.bincount(keys // span, minlength=len(pools))
    bounds = np.cumsum([0] + [len(pool) for pool in pools])
    return [
        _Pool(int(distinct[k]), only_here[bounds[k] : bounds[k + 1]], shares[bounds[k] : bounds[k + 1]])
        for k in range(len(pools))
    ]


# Distinct-n -------------------------------------------------------------------------------------------


def _distinct_and_jackknife(pool: _Pool, counts: np.ndarray) -> tuple[float | None, np.ndarray | None]:
    """Pooled distinct-n and its leave-one-out values (None when a pool has no n-grams at all): leaving
    reply i out removes the types only it has."""
    total = counts.sum()
    if total == 0:
        return None, None
    rest = total - counts
    if np.any(rest == 0):
        return pool.distinct / total, None  # leaving a reply out leaves nothing: no jackknife
    return pool.distinct / total, (pool.distinct - pool.only_here) / rest


def _jackknife_se(values: np.ndarray) -> float:
    m = len(values)
    return math.sqrt((m - 1) / m * float(np.sum((values - values.mean()) ** 2)))


def _t_interval(estimate: float, se: float, df: float, low: float | None, high: float | None) -> Interval:
    if se == 0:
        return Interval(estimate, estimate, NO_SPREAD)
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df)) * se
    lo, hi = estimate - half, estimate + half
    return Interval(
        max(lo, low) if low is not None else lo, min(hi, high) if high is not None else hi, JACKKNIFE
    )


@dataclass(frozen=True)
class SetFigure:
    """A set statistic of one group: its value, how many replies it is computed on, its interval."""

    value: float | None
    n: int
    interval: Interval


@dataclass(frozen=True)
class SetDifference:
    """A group's set statistic minus the baseline's, its interval and permutation p-value."""

    diff: float | None
    interval: Interval
    p_value: float | None


def _welch_df(se_x: float, se_y: float, n_x: int, n_y: int) -> float:
    den = se_x**4 / (n_x - 1) + se_y**4 / (n_y - 1)
    return (se_x**2 + se_y**2) ** 2 / den if den > 0 else float(min(n_x, n_y) - 1)


def distinct_statistics(
    sets: TextSets, ns: Sequence[int], baseline: int
) -> list[tuple[list[SetFigure], list[SetDifference | None]]]:
    """For each n: distinct-n of every group on its first `size` replies (size: the fewest any group has),
    the difference from the baseline group, intervals (jackknife) and p-values (one permutation call)."""
    size = min((len(g) for g in sets.groups if g), default=0)
    results, pairs, features = [], [], []
    for n in ns:
        figures, differences, n_pairs, n_features = _distinct_one(sets, n, size, baseline)
        results.append((figures, differences))
        pairs += n_pairs
        features += n_features
    # One permutation call for every n and group: shares of the pooled replies, per pair.
    slices = [i for i, pair in enumerate(pairs) if pair is not None]
    shares = {position: features[k] for k, position in enumerate(slices)}

    def per_batch(positions: list[int]):
        u = np.stack([shares[p][0] for p in positions])
        t = np.stack([shares[p][1] for p in positions])
        return lambda ix, iy, axis=-1: _share_ratio(ix, u, t) - _share_ratio(iy, u, t)

    flat = [d for _, differences in results for d in differences]
    for position, p in enumerate(permutation_pvalues(pairs, per_batch=per_batch)):
        if p is not None:
            d = flat[position]
            flat[position] = SetDifference(d.diff, d.interval, p)
    groups = len(sets.groups)
    return [(figures, flat[k * groups : (k + 1) * groups]) for k, (figures, _) in enumerate(results)]


def _distinct_one(sets: TextSets, n: int, size: int, baseline: int):
    """Figures and differences (p-values still None) for one n, and the permutation pairs it needs."""
    figures, jack_se = [], []
    own = _pools([sets.type_ids(group, n, size) for group in range(len(sets.groups))])
    for group, texts in enumerate(sets.groups):
        if not texts:
            figures.append(SetFigure(None, 0, TOO_FEW))
            jack_se.append(None)
            continue
        value, leave_one_out = _distinct_and_jackknife(own[group], sets.ngram_counts(group, n, size))
        se = _jackknife_se(leave_one_out) if leave_one_out is not None and size >= MIN_SAMPLES else None
        interval = _t_interval(value, se, size - 1, 0.0, 1.0) if se is not None else TOO_FEW
        figures.append(SetFigure(value, size if value is not None else 0, interval))
        jack_se.append(se)

    differences: list[SetDifference | None] = []
    pairs, features = [], []
    base = figures[baseline]
    for group, figure in enumerate(figures):
        pair = None
        if group == baseline:
            differences.append(None)
        elif figure.value is None or base.value is None:
            differences.append(SetDifference(None, TOO_FEW, None))
        elif jack_se[group] is None or jack_se[baseline] is None:
            differences.append(SetDifference(figure.value - base.value, TOO_FEW, None))
        else:
            se_x, se_y = jack_se[group], jack_se[baseline]
            se = math.sqrt(se_x**2 + se_y**2)
            diff = figure.value - base.value
            interval = _t_interval(diff, se, _welch_df(se_x, se_y, size, size), -1.0, 1.0)
            differences.append(SetDifference(diff, interval, None))
            pair = (np.arange(size), np.arange(size, 2 * size))
        pairs.append(pair)
    # For the permutation test: each compared group pooled with the baseline (see the module docstring).
    compared = [group for group, pair in enumerate(pairs) if pair is not None]
    base_ids, base_counts = sets.type_ids(baseline, n, size), sets.ngram_counts(baseline, n, size)
    pooled = _pools([sets.type_ids(group, n, size) + base_ids for group in compared])
    features = [
        (pool.shares, np.concatenate([sets.ngram_counts(group, n, size), base_counts]))
        for group, pool in zip(compared, pooled, strict=True)
    ]
    return figures, differences, pairs, features


def _share_ratio(index: np.ndarray, shares: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Σ share / Σ n-grams of the replies picked by `index` (…, batch, picked) in each batch slice;
    `shares` and `counts` are (batch, replies)."""
    batch, replies = shares.shape
    flat = index.astype(np.intp) + (np.arange(batch) * replies)[:, None]  # row k's picks in row k
    u = np.take(shares, flat).sum(-1)
    t = np.take(counts, flat).sum(-1)
    return np.where(t > 0, u / np.where(t > 0, t, 1), 0.0)


# Pairwise similarity ----------------------------------------------------------------------------------


def pair_mean(index: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """Mean similarity over the pairs of different originals among the replies each resample picked.

    `similarity`: (batch, n, n) with a zero diagonal, so a reply picked twice adds nothing with itself;
    `index`: (batch, …, picked) indices into n. With w the times each reply was picked (Σ w = picked),
    the mean is Σ w_i w_j S_ij / (picked² − Σ w²).
    """
    batch, n = similarity.shape[0], similarity.shape[-1]
    index = index.astype(np.intp)
    lead, picked = index.shape[:-1], index.shape[-1]
    count = int(np.prod(lead))
    flat = (np.arange(count).reshape(lead + (1,)) * n + index).ravel()
    weights = np.bincount(flat, minlength=count * n).reshape(batch, -1, n).astype(float)
    pair_sums = _quadratic_forms(weights, similarity)
    pairs = picked * picked - (weights * weights).sum(-1)
    mean = np.where(pairs > 0, pair_sums / np.where(pairs > 0, pairs, 1), 1.0)
    return mean.reshape(lead)


# OpenBLAS runs a matrix product on one thread only below m·n·k = 262,144 (SMP_THRESHOLD_MIN × its
# GEMM_MULTITHREAD_THRESHOLD, interface/gemm.c); above it, threads that spin on a busy 2-core machine
# cost 10–15 times the work. Products of at most 128 rows by a 40 × 40 matrix stay below it.
_ROWS_PER_PRODUCT = 128


def _quadratic_forms(weights: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """w · M · w for every row w of weights (batch, rows, n), with M (batch, n, n)."""
    out = np.empty(weights.shape[:2])
    for start in range(0, weights.shape[1], _ROWS_PER_PRODUCT):
        chunk = weights[:, start : start + _ROWS_PER_PRODUCT]
        out[:, start : start + _ROWS_PER_PRODUCT] = ((chunk @ matrix) * chunk).sum(-1)
    return out


def _batch_last(fn):
    """Adapt a statistic whose batch axis leads to SciPy's permutation layout (…, batch, picked)."""

    def statistic(*index: np.ndarray, axis: int = -1) -> np.ndarray:
        moved = [np.moveaxis(i, -2, 0) for i in index]
        return np.moveaxis(fn(*moved), 0, -1)

    return statistic


def similarity_statistics(
    sets: TextSets, baseline: int
) -> tuple[list[SetFigure], list[SetDifference | None]]:
    """Mean pairwise similarity of every group on all its replies, the difference from the baseline group,
    intervals (pair bootstrap, BCa) and p-values (permutation on the exact statistic)."""
    jaccard = sets.jaccard()

    def within(*groups: int) -> np.ndarray:
        index = np.concatenate([sets.positions[g] for g in groups])
        matrix = jaccard[np.ix_(index, index)].copy()
        np.fill_diagonal(matrix, 0.0)
        return matrix

    matrices = [within(g) for g in range(len(sets.groups))]
    figures: list[SetFigure] = []
    singles: list[tuple[np.ndarray] | None] = []
    for group, matrix in enumerate(matrices):
        n = len(sets.groups[group])
        value = float(matrix.sum() / (n * (n - 1))) if n >= 2 else None
        figures.append(SetFigure(value, n if value is not None else 0, TOO_FEW))
        off = matrix[~np.eye(n, dtype=bool)]
        if n < MIN_SAMPLES:
            singles.append(None)
        elif np.all(off == off[0]):
            figures[-1] = SetFigure(value, n, Interval(value, value, NO_SPREAD))
            singles.append(None)
        else:
            singles.append((np.arange(n),))

    def one(positions: list[int]):
        stacked = np.stack([matrices[p] for p in positions])
        return lambda index, axis=-1: pair_mean(index, stacked)

    for group, interval in enumerate(bootstrap_intervals(singles, per_batch=one)):
        if interval is not None:
            figures[group] = SetFigure(figures[group].value, figures[group].n, interval)

    base = figures[baseline]
    differences: list[SetDifference | None] = []
    pairs: list[tuple[np.ndarray, np.ndarray] | None] = []
    for group, figure in enumerate(figures):
        if group == baseline:
            differences.append(None)
            pairs.append(None)
            continue
        if figure.value is None or base.value is None:
            differences.append(SetDifference(None, TOO_FEW, None))
            pairs.append(None)
            continue
        diff = figure.value - base.value
        n_x, n_y = figure.n, base.n
        if min(n_x, n_y) < MIN_SAMPLES:
            interval = TOO_FEW
            pairs.append(None)
        else:
            both_flat = figure.interval.method == NO_SPREAD and base.interval.method == NO_SPREAD
            interval = Interval(diff, diff, NO_SPREAD) if both_flat else None
            pairs.append((np.arange(n_x), np.arange(n_y)))
        differences.append(SetDifference(diff, interval, None))

    def two(positions: list[int]):
        x = np.stack([matrices[p] for p in positions])
        y = matrices[baseline][None]
        # Every slice's baseline is the same replies resampled with the same indices (SciPy applies one
        # index matrix to the whole batch), so its pair means are worked out once, for the first slice.
        return lambda ix, iy, axis=-1: pair_mean(ix, x) - pair_mean(iy[:1], y)

    to_bootstrap = [
        pair if pair is not None and differences[i].interval is None else None for i, pair in enumerate(pairs)
    ]
    for group, interval in enumerate(bootstrap_intervals(to_bootstrap, per_batch=two)):
        if interval is not None:
            d = differences[group]
            differences[group] = SetDifference(d.diff, interval, None)

    combined = {g: within(g, baseline) for g, pair in enumerate(pairs) if pair is not None}

    def pooled(positions: list[int]):
        stacked = np.stack([combined[p] for p in positions])
        return _batch_last(lambda ix, iy: pair_mean(ix, stacked) - pair_mean(iy, stacked))

    shifted = [
        (np.arange(len(sets.groups[g])), np.arange(len(sets.groups[g]), len(sets.groups[g]) + base.n))
        if pair is not None
        else None
        for g, pair in enumerate(pairs)
    ]
    for group, p in enumerate(permutation_pvalues(shifted, per_batch=pooled)):
        if p is not None:
            d = differences[group]
            differences[group] = SetDifference(d.diff, d.interval, p)
    return figures, differences
