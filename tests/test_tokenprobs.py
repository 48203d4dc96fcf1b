"""chatlab.tokenprobs: token records, their statistics, the what-if and where samples part, each checked
against a direct computation written out position by position (no shared code with the module)."""

from __future__ import annotations

import csv
import io
import json
import math
import random

import numpy as np
import pytest

from chatlab.tokenprobs.codec import TokenBlobError, decode, encode
from chatlab.tokenprobs.parting import parting
from chatlab.tokenprobs.record import LOGPROB_FLOOR, ReplyTokens, TokenProb, from_wire, to_wire, token_prob
from chatlab.tokenprobs.stats import entropies, probabilities, reply_stats
from chatlab.tokenprobs.table import token_csv_bytes
from chatlab.tokenprobs.whatif import approximation_note, reweigh


def random_reply(rng: random.Random, n: int, k: int, vocabulary: int = 200) -> ReplyTokens:
    """Tokens with k alternatives each; the chosen one is sometimes not listed (as OpenAI may do)."""
    words = [f"w{i}" for i in range(vocabulary)]
    tokens = []
    for _ in range(n):
        names = rng.sample(words, k + 1)
        logits = [rng.gauss(0, 2.5) for _ in names]
        top = max(logits)
        norm = top + math.log(sum(math.exp(x - top) for x in logits)) + rng.uniform(0, 1)  # mass elsewhere
        logprobs = [x - norm for x in logits]
        pairs = sorted(zip(names, logprobs, strict=True), key=lambda p: -p[1])
        chosen = rng.choice(pairs) if rng.random() < 0.85 else pairs[-1]
        tokens.append(token_prob(chosen[0], chosen[1], pairs[:k]))
    return ReplyTokens.of(tokens)


def candidates(t: TokenProb) -> dict[str, float]:
    known = dict(t.top)
    known.setdefault(t.token, t.logprob)
    return known


def direct_whatif(t: TokenProb, temperature: float, top_p: float) -> tuple[float, int, str | None, float]:
    """(chosen probability, nucleus size, likeliest other, its probability), written out plainly."""
    known = candidates(t)
    if temperature == 0:
        best = max(known.values())
        winners = [name for name, lp in known.items() if lp == best]
        weight = {name: (1 / len(winners) if name in winners else 0.0) for name in known}
    else:
        exps = {name: math.exp(lp / temperature) for name, lp in known.items()}
        total = sum(exps.values())
        weight = {name: e / total for name, e in exps.items()}
    kept, cumulative = [], 0.0
    for name, w in sorted(weight.items(), key=lambda item: -item[1]):
        if w <= 0 or (kept and cumulative >= top_p):
            break
        kept.append(name)
        cumulative += w
    mass = sum(weight[name] for name in kept)
    final = {name: (weight[name] / mass if name in kept else 0.0) for name in known}
    others = {name: p for name, p in final.items() if name != t.token}
    other = max(others, key=others.get) if others else None
    return final[t.token], len(kept), other, (others[other] if other else 0.0)


# Records ---------------------------------------------------------------------------------------------------


def test_alternatives_are_deduplicated_sorted_and_brought_into_range():
    # llama.cpp: the chosen token listed although outside the top-k, an empty-string token; OpenAI: -9999.
    t = from_wire(
        [
            {
                "token": " cat",
                "logprob": -3.5,
                "top_logprobs": [
                    {"token": " dog", "logprob": -0.2},
                    {"token": "", "logprob": -2.0},
                    {"token": " dog", "logprob": -0.9},
                    {"token": " cat", "logprob": -3.5},
                    {"token": " eel", "logprob": -9999.0},
                ],
            }
        ]
    )[0]
    assert t.top == ((" dog", -0.2), ("", -2.0), (" cat", -3.5), (" eel", LOGPROB_FLOOR))
    assert token_prob("x", 0.0000001).logprob == 0.0
    with pytest.raises(ValueError, match="token 0"):
        from_wire([{"token": "x", "logprob": "high", "top_logprobs": []}])
    with pytest.raises(ValueError, match="token 1"):
        from_wire([{"token": "a", "logprob": -1, "top_logprobs": []}, {"token": 3}])


def test_wire_shape_round_trips():
    reply = random_reply(random.Random(1), 30, 5)
    assert ReplyTokens.of(from_wire(json.loads(json.dumps(to_wire(reply.tokens))))) == reply


def test_the_grid_adds_the_chosen_token_when_it_is_not_listed():
    reply = ReplyTokens.of([token_prob("c", -4.0, [("a", -0.5), ("b", -1.0)]), token_prob("a", -0.1, [])])
    grid = reply.grid
    assert grid.tokens == (("a", "b", "c"), ("a",))
    assert grid.chosen.tolist() == [2, 0]
    assert grid.logprobs[1, 1] == -np.inf


# Statistics ------------------------------------------------------------------------------------------------


def test_probability_entropy_and_perplexity_match_a_direct_computation():
    reply = random_reply(random.Random(2), 60, 8)
    for i, t in enumerate(reply.tokens):
        assert probabilities(reply)[i] == pytest.approx(math.exp(t.logprob))
        direct = -sum(math.exp(lp) * math.log2(math.exp(lp)) for lp in candidates(t).values())
        assert entropies(reply)[i] == pytest.approx(direct)
    stats = reply_stats(reply)
    total = sum(t.logprob for t in reply.tokens)
    assert stats.tokens == 60
    assert stats.total_logprob == pytest.approx(total)
    assert stats.mean_logprob == pytest.approx(total / 60)
    assert stats.perplexity == pytest.approx(math.exp(-total / 60))
    assert "perplexity" in stats.describe() and "−" in stats.describe()
    assert reply_stats(ReplyTokens(())) is None


def test_a_certain_token_has_zero_entropy_and_a_coin_flip_one_bit():
    half = math.log(0.5)
    reply = ReplyTokens.of(
        [token_prob("a", 0.0, [("a", 0.0)]), token_prob("h", half, [("h", half), ("t", half)])]
    )
    assert entropies(reply).tolist() == pytest.approx([0.0, 1.0])


# The what-if -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [0.0, 0.3, 0.7, 1.0, 1.6, 2.0])
@pytest.mark.parametrize("top_p", [0.05, 0.5, 0.9, 1.0])
def test_reweighting_matches_a_direct_computation(temperature, top_p):
    reply = random_reply(random.Random(int(temperature * 10) + int(top_p * 100)), 120, 10)
    whatif = reweigh(reply, temperature, top_p)
    for i, t in enumerate(reply.tokens):
        chosen, size, other, other_p = direct_whatif(t, temperature, top_p)
        assert whatif.probability[i] == pytest.approx(chosen, abs=1e-12)
        assert whatif.nucleus[i] == size
        assert whatif.instead[i] == other
        assert whatif.instead_probability[i] == pytest.approx(other_p, abs=1e-12)
        assert whatif.changed[i] == (chosen < 0.5)
    assert whatif.positions == [i for i in range(len(reply)) if whatif.changed[i]]


def test_temperature_zero_marks_exactly_the_tokens_greedy_decoding_would_change():
    reply = random_reply(random.Random(3), 200, 5)
    greedy = reweigh(reply, 0.0)
    best = [max(candidates(t).items(), key=lambda item: item[1])[0] for t in reply.tokens]
    assert greedy.positions == [i for i, t in enumerate(reply.tokens) if t.token != best[i]]
    assert greedy.positions, "the sample should hold some non-greedy tokens"
    assert set(greedy.probability.tolist()) <= {0.0, 1.0}
    assert all(greedy.instead[i] == best[i] for i in greedy.positions)
    assert greedy.first_change == greedy.positions[0]


def test_temperature_one_and_top_p_one_only_renormalise_over_the_known_candidates():
    reply = random_reply(random.Random(4), 50, 20)
    same = reweigh(reply, 1.0, 1.0)
    for i, t in enumerate(reply.tokens):
        known = candidates(t)
        assert same.probability[i] == pytest.approx(
            math.exp(t.logprob) / sum(math.exp(v) for v in known.values())
        )
        assert same.nucleus[i] == len(known)


def test_a_lone_candidate_and_an_empty_reply():
    lone = reweigh(ReplyTokens.of([token_prob("a", -2.0)]), 0.5, 0.1)
    assert lone.probability.tolist() == [1.0] and lone.nucleus.tolist() == [1] and lone.instead == (None,)
    empty = reweigh(ReplyTokens(()), 0.0)
    assert empty.positions == [] and empty.first_change is None
    assert "top 20" in approximation_note(20) and "approximate" in approximation_note(20)


# Where samples part ----------------------------------------------------------------------------------------


def _sample(*pairs: tuple[str, float]) -> ReplyTokens:
    return ReplyTokens.of(token_prob(text, math.log(p), [(text, math.log(p))]) for text, p in pairs)


def test_samples_part_after_their_shared_prefix_with_each_branch_token_and_probability():
    a = _sample(("The", 0.9), (" cat", 0.6), (" sat", 0.5))
    b = _sample(("The", 0.9), (" dog", 0.3), (" ran", 0.4))
    c = _sample(("The", 0.9), (" cat", 0.6), (" ran", 0.2))
    split = parting([a, b, c])
    assert (split.shared, split.prefix, split.position) == (1, "The", 1)
    assert [(br.token, br.samples) for br in split.branches] == [(" cat", (0, 2)), (" dog", (1,))]
    assert split.branches[0].probability == pytest.approx(0.6)
    assert split.offered == ((" cat", pytest.approx(0.6)),)


def test_identical_samples_do_not_part_and_a_shorter_one_ends_its_own_branch():
    a = _sample(("Hi", 0.9), ("!", 0.8))
    assert parting([a, a]).identical and parting([a, a]).shared == 2
    split = parting([a, _sample(("Hi", 0.9))])
    assert split.position == 1
    assert [(br.token, br.probability) for br in split.branches] == [("!", pytest.approx(0.8)), (None, None)]
    assert parting([a]).identical and parting([]).shared == 0


# The stored blob -------------------------------------------------------------------------------------------


def test_the_blob_round_trips_to_a_thousandth_of_a_nat():
    reply = random_reply(random.Random(5), 500, 20)
    back = decode(encode(reply))
    assert [t.token for t in back.tokens] == [t.token for t in reply.tokens]
    for got, want in zip(back.tokens, reply.tokens, strict=True):
        assert got.logprob == pytest.approx(want.logprob, abs=0.0005)
        assert [a for a, _ in got.top] == [a for a, _ in want.top]
        assert np.allclose([lp for _, lp in got.top], [lp for _, lp in want.top], atol=0.0005)
    assert decode(encode(back)) == back  # already quantised: exact


def test_the_blob_keeps_any_text_and_more_than_65536_distinct_tokens():
    odd = ["", "\x00", "\ud800", "你好", "<script>", "\n", " " * 5]
    reply = ReplyTokens.of(
        token_prob(odd[i % len(odd)], -0.1 * i, [(o, -1.0 - j) for j, o in enumerate(odd)]) for i in range(50)
    )
    assert [t.token for t in decode(encode(reply)).tokens] == [t.token for t in reply.tokens]
    many = ReplyTokens.of(
        token_prob(f"t{i}", -0.5, [(f"a{i}-{j}", -1.0 - j / 10) for j in range(20)]) for i in range(3_500)
    )
    assert decode(encode(many)) == many
    assert decode(encode(ReplyTokens(()))) == ReplyTokens(())


@pytest.mark.parametrize(
    "blob", [b"", b"CLTP", b"XXXX" + bytes(20), encode(ReplyTokens.of([token_prob("a", -1.0)]))[:-3]]
)
def test_a_damaged_blob_is_refused(blob):
    with pytest.raises(TokenBlobError):
        decode(blob)


# The per-token table ---------------------------------------------------------------------------------------


def test_the_csv_has_one_row_per_token_with_its_alternatives():
    reply = ReplyTokens.of(
        [
            token_prob("=1+1", math.log(0.25), [("=1+1", math.log(0.25)), (" two", math.log(0.5))]),
            token_prob("\n", 0.0),
        ]
    )
    text = token_csv_bytes(reply).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["position", "token", "probability", "logprob", "entropy_bits", "alternatives"]
    assert rows[0]["position"] == "1" and rows[0]["token"] == "'=1+1"  # neutralised against formulas
    assert float(rows[0]["probability"]) == 0.25
    assert json.loads(rows[0]["alternatives"]) == [[" two", 0.5], ["=1+1", 0.25]]
    assert float(rows[0]["entropy_bits"]) == pytest.approx(1.0)
    assert rows[1]["token"] == "\n" and float(rows[1]["probability"]) == 1.0
