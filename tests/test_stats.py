"""chatlab.stats: every figure recomputed with plain SciPy from the per-sample CSV, degenerate cases that stay
honest, verdict sentences, set statistics against their definitions, Holm, samples needed, the noise floor."""

from __future__ import annotations

import io
import math
import random
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from chatlab.csvfile import to_csv_bytes
from chatlab.stats import (
    METRICS,
    MIN_SAMPLES,
    RESAMPLES,
    SEED,
    STAT_COLUMNS,
    compare_groups,
    format_difference,
    format_p,
    method_note,
    noise_floor,
    samples_needed,
    samples_needed_for,
    verdicts,
)
from chatlab.stats.resampling import holm
from chatlab.stats.sets import TextSets, distinct_statistics, pair_mean
from chatlab.textstats import distinct_n, pairwise_similarity

WORDS = "the cat sat on a mat and ran away from the dog while sun shone over green hills".split()


def page(groups: int = 3, samples: int = 12, seed: int = 1, shift: float = 10.0) -> pd.DataFrame:
    """A per-sample table like Compare's and Sweep's: reply lengths that grow by `shift` per group."""
    rng = np.random.default_rng(seed)
    words = random.Random(seed)
    rows = []
    for g in range(groups):
        for k in range(samples):
            length = max(1, int(rng.normal(50 + shift * g, 12)))
            text = " ".join(words.choice(WORDS) for _ in range(length))
            rows.append(
                {
                    "group": f"g{g}",
                    "sample": k,
                    "completion_tokens": length,
                    "reply_chars": len(text),
                    "duration_s": float(rng.gamma(2, 0.3)),
                    "ttft_s": None if k == 3 else float(rng.gamma(2, 0.05)),  # one missing value
                    "tokens_per_s": float(rng.normal(50, 5)),
                    "cost_usd": length * 6e-7,
                    "refusal": bool(rng.random() < 0.2 * g),
                    "truncated": False,
                    "text": text,
                    "counted": k != 11 or g != 1,  # one reply left out (an error, say)
                }
            )
    df = pd.DataFrame(rows)
    return df.astype(
        {"ttft_s": "Float64", "refusal": "boolean", "truncated": "boolean", "counted": "boolean"}
    )


def through_csv(df: pd.DataFrame) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(to_csv_bytes(df)), encoding="utf-8-sig")


def test_the_statistics_csv_agrees_with_scipy_run_on_the_samples_csv():
    samples = page()
    table = through_csv(compare_groups(samples, "group"))
    raw = through_csv(samples)
    raw = raw[raw["counted"]]
    assert list(table.columns) == list(STAT_COLUMNS)
    assert set(table["seed"]) == {SEED} and set(table["resamples"]) == {RESAMPLES}

    def values(group: str, metric: str) -> np.ndarray:
        return raw.loc[raw["group"] == group, metric].dropna().astype(float).to_numpy()

    def boot(data, statistic, method):
        return sps.bootstrap(
            data, statistic, n_resamples=RESAMPLES, method=method, rng=np.random.default_rng(SEED)
        ).confidence_interval

    checked = 0
    for metric in (
        "completion_tokens",
        "reply_chars",
        "duration_s",
        "ttft_s",
        "tokens_per_s",
        "cost_usd",
        "refusal",
    ):
        rows = table[table["metric"] == metric].set_index("group")
        base = values("g0", metric)
        p_values = []
        for group, row in rows.iterrows():
            x = values(group, metric)
            assert row["n"] == len(x) and row["mean"] == pytest.approx(x.mean())
            if row["ci_method"] == "wilson":
                ci = sps.binomtest(int(x.sum()), len(x)).proportion_ci(method="wilson")
            else:
                ci = boot((x,), np.mean, "BCa" if row["ci_method"] == "bootstrap-bca" else "percentile")
            assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
            if group == "g0":
                assert row["baseline"] and pd.isna(row["diff"]) and pd.isna(row["p_value"])
                continue
            diff = lambda a, b, axis=-1: np.mean(a, axis=axis) - np.mean(b, axis=axis)  # noqa: E731
            assert row["diff"] == pytest.approx(x.mean() - base.mean())
            ci = boot((x, base), diff, "BCa" if row["diff_method"] == "bootstrap-bca" else "percentile")
            assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
            p = sps.permutation_test(
                (x, base),
                diff,
                n_resamples=RESAMPLES,
                alternative="two-sided",
                rng=np.random.default_rng(SEED),
            ).pvalue
            assert row["p_value"] == pytest.approx(p)
            p_values.append(p)
            checked += 1
        assert list(rows["p_holm"].dropna()) == pytest.approx(holm(p_values))
    assert checked == 14
    # The set statistics are the textstats figures of the counted replies (equal numbers per group).
    size = int(raw.groupby("group").size().min())
    for group in ("g0", "g1", "g2"):
        texts = list(raw.loc[raw["group"] == group].sort_values("sample")["text"])
        row = table[(table["metric"] == "distinct_2") & (table["group"] == group)].iloc[0]
        assert row["n"] == size and row["mean"] == pytest.approx(distinct_n(texts[:size], 2))
        row = table[(table["metric"] == "similarity") & (table["group"] == group)].iloc[0]
        assert row["n"] == len(texts) and row["mean"] == pytest.approx(pairwise_similarity(texts))


def sentences(table: pd.DataFrame) -> dict[tuple[str, str], str]:
    """The verdict of each (metric, group)."""
    keys = zip(table["metric"], table["group"], strict=True)
    return dict(zip(keys, verdicts(table), strict=True))


def test_a_clear_difference_reads_as_a_sentence_and_no_difference_says_so():
    samples = page(groups=3, samples=20, shift=0.0)
    samples.loc[samples["group"] == "g2", "completion_tokens"] += 42
    table = compare_groups(samples, "group")
    said = sentences(table)
    assert said["completion_tokens", "g0"] == "baseline"
    assert said["completion_tokens", "g2"].startswith("longer: +4")
    assert "tokens [" in said["completion_tokens", "g2"] and "(Holm)" in said["completion_tokens", "g2"]
    assert said["completion_tokens", "g1"].startswith("no detectable difference with 20 and 19 samples (")
    assert said["truncated", "g1"].startswith("no detectable difference")


def test_degenerate_groups_give_honest_rows_never_nan_or_an_exception():
    rows = []
    for group, tokens in (("base", [10, 12, 11, 13, 12]), ("two", [5, 6]), ("flat", [7] * 6), ("none", [])):
        for k, value in enumerate(tokens):
            rows.append({"group": group, "sample": k, "completion_tokens": value, "text": "same words here"})
    rows.append({"group": "missing", "sample": 0, "completion_tokens": None, "text": ""})
    samples = pd.DataFrame(rows).astype({"completion_tokens": "Int64"})
    table = compare_groups(
        samples,
        "group",
        groups=["base", "two", "flat", "none", "missing"],
        metrics=["completion_tokens", "similarity"],
    )
    floats = table.select_dtypes("Float64")
    assert not any(np.isnan(v) for col in floats for v in floats[col].dropna())
    tokens = table[table["metric"] == "completion_tokens"].set_index("group")
    assert tokens.loc["two", "n"] == 2 and tokens.loc["two", "mean"] == 5.5
    assert pd.isna(tokens.loc["two", "ci_low"]) and pd.isna(tokens.loc["two", "p_value"])
    assert (tokens.loc["flat", "ci_low"], tokens.loc["flat", "ci_high"]) == (7, 7)
    assert tokens.loc["flat", "ci_method"] == "no-spread"
    assert tokens.loc["none", "n"] == 0 and pd.isna(tokens.loc["none", "mean"])
    assert tokens.loc["missing", "n"] == 0
    said = sentences(table)
    assert said["completion_tokens", "two"] == "too few samples to tell (5 and 2)"
    assert said["completion_tokens", "none"] == "no replies to compare"
    assert said["completion_tokens", "flat"].startswith("shorter: -4.6 tokens")
    # Identical replies: similarity 1 with no spread, and no difference between two such groups.
    sim = table[table["metric"] == "similarity"].set_index("group")
    assert sim.loc["base", "mean"] == 1 and sim.loc["base", "ci_method"] == "no-spread"
    assert sim.loc["flat", "diff"] == 0 and sim.loc["flat", "p_value"] == 1
    # Nothing at all.
    assert compare_groups(samples.iloc[0:0], "group").empty


def test_too_few_samples_names_both_counts():
    rows = [{"g": "a", "completion_tokens": v} for v in (1, 2)] + [
        {"g": "b", "completion_tokens": v} for v in (3, 4, 5)
    ]
    table = compare_groups(pd.DataFrame(rows), "g", metrics=["completion_tokens"])
    assert list(verdicts(table)) == ["baseline", "too few samples to tell (2 and 3)"]
    assert MIN_SAMPLES == 4


def test_the_baseline_can_be_any_group():
    table = compare_groups(page(), "group", baseline="g2", metrics=["completion_tokens"])
    assert list(table["baseline"]) == [False, False, True]
    assert table["diff"].isna().tolist() == [False, False, True]
    assert (table["diff"].iloc[0] < 0) and table["p_holm"].notna().sum() == 2


def test_share_intervals_stay_honest_at_zero():
    rows = [{"g": g, "refusal": g == "b" and k < 7} for g in "ab" for k in range(20)]
    table = compare_groups(pd.DataFrame(rows), "g", metrics=["refusal"]).set_index("group")
    assert table.loc["a", "mean"] == 0 and table.loc["a", "ci_low"] == 0 and table.loc["a", "ci_high"] > 0.1
    assert table.loc["b", "mean"] == 0.35 and table.loc["b", "p_value"] < 0.05
    assert verdicts(table.reset_index()).iloc[1].startswith("refuses more often: +35 percentage points [")


def test_distinct_n_jackknife_matches_leaving_each_reply_out():
    rng = random.Random(4)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) for _ in range(8)]
    [(figures, _)] = distinct_statistics(TextSets([texts, texts[::-1]]), [2], baseline=0)
    value = distinct_n(texts, 2)
    leave_out = np.array([distinct_n(texts[:i] + texts[i + 1 :], 2) for i in range(8)])
    se = math.sqrt(7 / 8 * ((leave_out - leave_out.mean()) ** 2).sum())
    half = sps.t.ppf(0.975, 7) * se
    assert figures[0].value == pytest.approx(value)
    # Clipped to what distinct-n can be (0 to 1).
    assert (figures[0].interval.low, figures[0].interval.high) == pytest.approx(
        (value - half, min(1, value + half))
    )


def test_pair_bootstrap_never_compares_a_reply_with_itself():
    similarity = np.array([[0.0, 0.2, 0.4], [0.2, 0.0, 0.6], [0.4, 0.6, 0.0]])[None]
    # Picks: (0, 0, 1) → pairs of different originals: 0–1 twice → 0.2; (2, 2, 2) → no pair → 1.
    picks = np.array([[[0, 0, 1], [2, 2, 2], [0, 1, 2]]])
    assert pair_mean(picks, similarity)[0] == pytest.approx([0.2, 1.0, 0.4])
    texts = ["a b c", "a b d", "x y z", "a b c"]
    observed = pair_mean(np.arange(4)[None], np.array([_zero_diagonal(TextSets([texts]).jaccard())]))[0]
    assert observed == pytest.approx(pairwise_similarity(texts))


def _zero_diagonal(matrix: np.ndarray) -> np.ndarray:
    out = matrix.copy()
    np.fill_diagonal(out, 0)
    return out


def test_holm_steps_down_and_keeps_order():
    assert holm([0.01, 0.04, 0.03, None]) == pytest.approx([0.03, 0.06, 0.06, None], abs=1e-12)
    assert holm([0.5, 0.9]) == [1.0, 1.0]
    assert holm([]) == []


@pytest.mark.parametrize(("effect", "expected"), [(0.5, 64), (0.8, 26), (1.0, 17), (0.2, 394)])
def test_samples_needed_matches_the_t_test_tables(effect, expected):
    # Cohen's table for a two-sided two-sample t-test, α = 0.05, 80% power.
    assert samples_needed(1.0, effect) == expected
    assert samples_needed(10.0, 10 * effect) == expected


def test_samples_needed_edges():
    assert samples_needed(1.0, 0.0) is None
    assert samples_needed(0.0, 1.0) == MIN_SAMPLES
    assert samples_needed(1.0, 0.01) is None  # more than 10,000


def test_samples_needed_for_reads_the_spread_from_the_intervals():
    samples = page(groups=2, samples=20, shift=0.0)
    table = compare_groups(samples, "group", metrics=["completion_tokens"])
    sd = samples[samples["counted"]].groupby("group")["completion_tokens"].std().pow(2).mean() ** 0.5
    mean = samples.loc[samples["group"] == "g0", "completion_tokens"].mean()
    expected = samples_needed(sd, 0.1 * mean)
    got = samples_needed_for(table, "completion_tokens", 0.10)
    assert abs(got - expected) <= 0.25 * expected  # the interval's width stands in for the stdev


def test_noise_floor_of_an_a_vs_a_run():
    samples = page(groups=2, samples=20, shift=0.0)
    floor = noise_floor(compare_groups(samples, "group"))
    row = floor.set_index("metric").loc["completion_tokens"]
    assert row["floor"] == pytest.approx((row["diff_ci_high"] - row["diff_ci_low"]) / 2)
    assert 0 < row["floor_relative"] < 0.5 and row["samples_needed"] > 20
    assert row["summary"].startswith(
        "Completion tokens: by chance alone, the same settings differ by up to ±"
    )
    assert "samples per side (80% power)" in row["summary"]
    assert set(floor["metric"]) >= {"completion_tokens", "distinct_2", "similarity", "refusal"}


def test_numbers_are_written_for_people():
    tokens, latency, cost = METRICS["completion_tokens"], METRICS["duration_s"], METRICS["cost_usd"]
    assert format_difference(tokens, 42.3, 18.2, 66.4) == "+42 tokens [18, 66]"
    assert format_difference(latency, -0.12, -0.2, -0.04) == "-120 ms [-200, -40]"
    assert format_difference(cost, 0.000123, 0.0001, 0.00015) == "+$0.00012 [0.00010, 0.00015]"
    assert format_difference(METRICS["refusal"], 0.15, 0.05, 0.25) == "+15 percentage points [5, 25]"
    assert str(SEED) in method_note() and f"{RESAMPLES:,}" in method_note()
    assert [format_p(p) for p in (0.0004, 0.003, 0.04, 0.0497, 0.05, 0.0503, 0.41, 0.999)] == [
        "p < 0.001",
        "p = 0.003",
        "p = 0.04",
        "p = 0.0497",  # not "0.05": which side of the line it falls on is the point
        "p = 0.05",
        "p = 0.0503",
        "p = 0.41",
        "p = 1",
    ]


def test_a_scores_column_is_compared_like_any_mean():
    samples = page(groups=2, samples=10)
    samples["score_judge"] = np.where(samples["group"] == "g1", 4.0, 2.0) + np.tile(np.linspace(0, 1, 10), 2)
    table = compare_groups(samples, "group")
    row = table[(table["metric"] == "score_judge") & ~table["baseline"]].iloc[0]
    assert row["diff"] == pytest.approx(2.0) and row["p_value"] < 0.01
    assert verdicts(table)[row.name].startswith("higher: +2.0")


def test_pairs_over_all_replies_for_similarity():
    texts = ["one two three", "one two four", "five six", "one two three four"]
    pairs = [a for a in combinations(range(4), 2)]
    assert len(pairs) == 6
    table = compare_groups(pd.DataFrame({"g": "a", "text": texts}), "g", metrics=["similarity"])
    assert table["mean"].iloc[0] == pytest.approx(pairwise_similarity(texts))
    assert table["n"].iloc[0] == 4


def test_a_large_vocabulary_stays_exact():
    # 20,000 different words: bigram numbers reach 4 × 10^8 before they are made compact.
    rng = random.Random(8)
    rows = [
        {"g": g, "text": " ".join(f"w{rng.randrange(20_000)}" for _ in range(rng.randint(30, 90)))}
        for g in "ab"
        for _ in range(10)
    ]
    table = compare_groups(pd.DataFrame(rows), "g", metrics=["distinct_1", "distinct_2", "similarity"])
    for metric, n in (("distinct_1", 1), ("distinct_2", 2)):
        row = table[(table["metric"] == metric) & (table["group"] == "a")].iloc[0]
        assert row["mean"] == pytest.approx(distinct_n([r["text"] for r in rows if r["g"] == "a"], n))
    similarity = table[(table["metric"] == "similarity") & (table["group"] == "b")].iloc[0]
    assert similarity["mean"] == pytest.approx(
        pairwise_similarity([r["text"] for r in rows if r["g"] == "b"])
    )
