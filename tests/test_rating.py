"""Blind pairwise rating: the schedule, the votes and their CSV, and the Bradley-Terry leaderboard."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.special import log_expit

from chatlab.batch.plan import BatchSpec, panes_for
from chatlab.batch.run import run_batch, start_batch
from chatlab.client import ChatClient
from chatlab.rating.leaderboard import PRIOR_SD, fit_bradley_terry, leaderboard, win_weights
from chatlab.rating.schedule import next_matchup, schedule, shown
from chatlab.rating.votes import BOTH_BAD, LEFT, RIGHT, TIE, Vote, VoteError, read_votes_csv, votes_csv
from chatlab.roles import Role
from chatlab.store import Store
from chatlab.store.batches import BatchRuns
from chatlab.store.ratings import Ratings
from chatlab.testsets import from_messages
from tests.fake_openai import Reply


def test_the_schedule_is_balanced_and_reproducible() -> None:
    matchups = schedule(3, 6, rounds=2, samples=2, seed=7)
    assert matchups == schedule(3, 6, rounds=2, samples=2, seed=7)
    assert matchups != schedule(3, 6, rounds=2, samples=2, seed=8)
    assert [m.index for m in matchups] == list(range(36))
    pairs = Counter((min(m.left, m.right), max(m.left, m.right), m.case) for m in matchups)
    assert set(pairs.values()) == {2} and len(pairs) == 3 * 6  # every pair on every case, once a round
    for pair in ((0, 1), (0, 2), (1, 2)):
        mine = [m for m in matchups if {m.left, m.right} == set(pair)]
        assert Counter(m.left for m in mine) == {pair[0]: 6, pair[1]: 6}  # sides balanced per pair
        for case in range(6):  # and the second round swaps the sides of the first
            first, second = (m for m in mine if m.case == case)
            assert (first.left, first.sample) == (second.right, 0) and second.sample == 1
    first_case = matchups[:3]  # one case's block holds every pair
    assert {frozenset((m.left, m.right)) for m in first_case} == {
        frozenset(p) for p in ((0, 1), (0, 2), (1, 2))
    }
    assert next_matchup(matchups, [0, 1, 3]) == matchups[2]
    with pytest.raises(ValueError, match="at least two panes"):
        schedule(1, 3)


def test_two_panes_fit_the_closed_form() -> None:
    votes = [Vote(0, 0, 0, 1, LEFT)] * 20 + [Vote(1, 0, 1, 0, LEFT)] * 5  # pane 0 wins 20, pane 1 wins 5
    theta = fit_bradley_terry(win_weights(votes, 2))
    assert theta[0] - theta[1] == pytest.approx(np.log(4), abs=0.01)  # the weak prior moves it a little
    ties = [Vote(0, 0, 0, 1, TIE)] * 4 + [Vote(0, 0, 0, 1, BOTH_BAD)] * 4
    assert fit_bradley_terry(win_weights(ties, 2)) == pytest.approx([0, 0], abs=1e-9)


def test_the_fit_agrees_with_scipys_optimiser() -> None:
    rng = random.Random(3)
    votes = [
        Vote(i, 0, a, b, rng.choice([LEFT, RIGHT, RIGHT, TIE, BOTH_BAD]))
        for i in range(60)
        for a, b in [rng.sample(range(4), 2)]
    ]
    weights = win_weights(votes, 4)

    def loss(theta):
        return (
            -np.sum(weights * log_expit(theta[:, None] - theta[None, :])) + 0.5 * theta @ theta / PRIOR_SD**2
        )

    reference = minimize(loss, np.zeros(4), method="BFGS", options={"gtol": 1e-9}).x
    assert fit_bradley_terry(weights) == pytest.approx(reference - reference.mean(), abs=1e-4)


def test_a_pane_that_wins_every_vote_gets_a_finite_rating() -> None:
    board = leaderboard(
        [Vote(i, i, i % 2, 1 - i % 2, LEFT if i % 2 == 0 else RIGHT) for i in range(10)],
        ["A", "B"],
        bootstrap=200,
    )
    top = board.table.iloc[0]
    assert top.label == "A" and np.isfinite(top.rating) and np.isfinite(top.high)


def test_thirty_blind_votes_between_two_roles_done_when(tmp_path, fake_endpoint, fake_openai) -> None:
    """Two roles answer 15 inputs; 30 blind votes (two rounds, sides swapped) make a leaderboard with
    intervals, and the vote CSV recomputes to the same ratings."""
    fake_openai.script_fn(lambda r: Reply(text=f"[{r.body['messages'][0]['content'][:5]}] answer"))
    store = Store(tmp_path / "rating.sqlite3")
    client = ChatClient(fake_endpoint)
    roles = [Role(name="Warm", system="Warm: be kind."), Role(name="Cold", system="Cold: be curt.")]
    spec = BatchSpec(
        tuple(panes_for(roles, model="gpt-4o-mini")),
        from_messages([f"question {i}" for i in range(15)], "free"),
    )
    run_id = start_batch(store, spec)
    list(run_batch(store, run_id, [client, client], spec))
    run, samples = BatchRuns(store).get(run_id), BatchRuns(store).samples(run_id)

    ratings = Ratings(store)
    rating_id = ratings.create(run.labels, seed=11, run_id=run_id, title="Warm vs Cold")
    matchups = schedule(2, 15, rounds=2, seed=11)
    person = random.Random(5)  # prefers Warm, sometimes undecided
    while (m := next_matchup(matchups, [v.matchup for v in ratings.votes(rating_id)])) is not None:
        text, left, right = shown(m, run, samples)
        assert left.startswith(f"[{roles[m.left].system[:5]}]") and right.startswith(
            f"[{roles[m.right].system[:5]}]"
        )
        choice = person.choices(["warm", "cold", TIE, BOTH_BAD], weights=[6, 2, 1, 1])[0]
        outcome = (
            choice if choice in (TIE, BOTH_BAD) else (LEFT if (m.left == 0) == (choice == "warm") else RIGHT)
        )
        ratings.add_vote(rating_id, Vote(m.index, m.case, m.left, m.right, outcome, text, left, right))
    votes = ratings.votes(rating_id)
    assert len(votes) == 30

    board = leaderboard(votes, run.labels, seed=11)
    table = board.table.set_index("label")
    assert board.votes == 30 and table.votes.tolist() == [30, 30]
    assert table.rating["Warm"] > table.rating["Cold"]
    for label in ("Warm", "Cold"):
        assert table.low[label] < table.rating[label] < table.high[label]
    wins = table.wins["Warm"]
    assert (
        board.win_matrix.loc["Warm", "Cold"] == wins
        and board.win_matrix.loc["Cold", "Warm"] == table.wins["Cold"]
    )
    bias = board.position_bias
    assert bias.decisive == sum(v.decisive for v in votes) and bias.left == sum(
        v.outcome == LEFT for v in votes
    )
    assert bias.low <= bias.rate <= bias.high

    again_votes, again_labels = read_votes_csv(votes_csv(votes, run.labels))
    assert again_labels == run.labels and again_votes == votes
    again = leaderboard(again_votes, again_labels, seed=11)
    pd.testing.assert_frame_equal(again.table, board.table)
    pd.testing.assert_frame_equal(again.win_matrix, board.win_matrix)
    assert again.position_bias == board.position_bias

    ratings.undo_last_vote(rating_id)
    assert len(ratings.votes(rating_id)) == 29
    assert ratings.get(rating_id).labels == ["Warm", "Cold"] and ratings.list()[0].seed == 11
    client.close()


def test_vote_csv_errors_name_the_line() -> None:
    good = votes_csv([Vote(0, 0, 0, 1, LEFT)], ["A", "B"]).decode("utf-8-sig")
    with pytest.raises(
        VoteError, match="line 2: a vote is one of left, right, tie, both_bad, not 'sideways'"
    ):
        read_votes_csv(good.replace(",left,", ",sideways,").encode())
    with pytest.raises(VoteError, match="line 1: no outcome column"):
        read_votes_csv(b"matchup,case,left_pane,left_label,right_pane,right_label\n0,1,0,A,1,B\n")
    with pytest.raises(VoteError, match="a vote compares two different panes"):
        Vote(0, 0, 1, 1, TIE)


def test_runs_samples_ratings_and_votes_on_both_databases(store) -> None:
    """The m005 tables on SQLite and PostgreSQL: a run keeps its samples, a rating its votes; deleting
    cascades."""
    from chatlab.checks import CheckResult
    from chatlab.store.batches import BatchSample
    from chatlab.store.testsets import TestSets

    test_set = TestSets(store).save(from_messages(["a", "b"], "free"))
    runs = BatchRuns(store)
    run_id = runs.create(test_set, [{"label": "A"}, {"label": "B"}], 1)
    result = CheckResult("contains", "contains 'x'", False, "The reply does not contain 'x'.")
    runs.add_sample(
        run_id, BatchSample(0, 1, 0, "reply 你好", False, (result,), {"model": "m"}, cost_usd=0.25)
    )
    (sample,) = runs.samples(run_id)
    assert sample.checks == (result,) and sample.request == {"model": "m"} and sample.cost_usd == 0.25
    ratings = Ratings(store)
    rating_id = ratings.create(["A", "B"], seed=3, run_id=run_id)
    ratings.add_vote(rating_id, Vote(0, 1, 1, 0, RIGHT, "b", "x", "y"))
    assert ratings.votes(rating_id) == [Vote(0, 1, 1, 0, RIGHT, "b", "x", "y")]
    TestSets(store).delete(test_set.id)
    assert runs.get(run_id).test_set.cases == test_set.cases  # the run keeps its own copy
    runs.delete(run_id)
    assert runs.samples(run_id) == [] and ratings.get(rating_id).run_id is None
    ratings.delete(rating_id)
    assert ratings.list() == []


def test_a_rating_plan_rates_some_panes_of_a_run_on_the_cases_they_all_answered(store) -> None:
    from chatlab.rating.plan import ROUNDS, plan_rating
    from chatlab.store.batches import BatchSample
    from chatlab.store.testsets import TestSets

    test_set = TestSets(store).save(from_messages(["a", "b", "c", "d"], "four"))
    runs = BatchRuns(store)
    run_id = runs.create(test_set, [{"label": "A"}, {"label": "B"}, {"label": "A"}], 1)
    for pane in range(3):
        for case in range(4):
            error = "HTTP 500" if (pane, case) == (2, 1) else None
            runs.add_sample(run_id, BatchSample(pane, case, 0, f"{pane}/{case}", error is None, error=error))
    run, samples = runs.get(run_id), runs.samples(run_id)

    plan = plan_rating(run, samples, ["A #3", "B"], seed=4)  # a repeated label carries its pane number
    assert plan.panes == (2, 1) and plan.cases == (0, 2, 3) and plan.skipped_cases == 1
    assert plan.total == 3 * ROUNDS and plan == plan_rating(run, samples, ["A #3", "B"], seed=4)
    first = plan.next([])
    text, left, right = plan.shown(first, run, samples)
    vote = plan.vote(first, LEFT, run, samples)
    assert (vote.left, vote.right) == (first.left, first.right)  # the rating's numbering: 0 = "A #3"
    assert vote.case_index == plan.cases[first.case] and text == "abcd"[vote.case_index]
    assert left == f"{plan.panes[first.left]}/{vote.case_index}" and vote.left_reply == left
    assert plan.next([vote]) == plan.matchups[1]
    with pytest.raises(ValueError, match="no pane named 'C'"):
        plan_rating(run, samples, ["A #1", "C"], seed=4)
    with pytest.raises(ValueError, match="at least two panes"):
        plan_rating(run, samples, ["B"], seed=4)


def test_the_leaderboard_in_sentences() -> None:
    from chatlab.rating.sentences import bias_sentence, lead_sentence, rating_sentences, votes_sentence

    clear = leaderboard(
        [Vote(i, i, i % 2, 1 - i % 2, LEFT if i % 2 == 0 else RIGHT) for i in range(40)], ["A", "B"]
    )
    assert lead_sentence(clear).startswith("A is ahead of B: their intervals do not overlap")
    assert rating_sentences(clear)[0].startswith("1. A is rated ")
    assert "from 40 votes: 40 wins, 0 losses, 0 ties, 0 both bad." in rating_sentences(clear)[0]
    assert votes_sentence(clear).startswith("40 votes: 40 chose a side, 0 ties, 0 both bad.")
    assert bias_sentence(clear.position_bias, 0.95).endswith(
        "this interval includes 50%, so no position bias shows."
    )

    lefty = leaderboard(
        [Vote(i, i, i % 2, 1 - i % 2, LEFT) for i in range(30)] + [Vote(30, 0, 0, 1, TIE)], ["A", "B"]
    )
    # Every vote went left, each pane shown there as often: the panes are level, whatever the side did.
    assert lead_sentence(lefty).startswith("A and B are level (1,000 each): these votes do not tell them")
    assert bias_sentence(lefty.position_bias, 0.95) == (
        "Of 30 decisive votes, 30 went to the left reply: 100% (95% interval 89% to 100%). 50% means the "
        "side did not matter; this interval excludes 50%: votes lean to the left side, whatever was shown there."
    )
    assert votes_sentence(lefty).startswith("31 votes: 30 chose a side, 1 tie, 0 both bad.")
    assert lead_sentence(leaderboard([], ["A", "B"])) == "No votes yet."
    close = leaderboard(
        [Vote(i, i, i % 2, 1 - i % 2, LEFT if i % 2 == 0 else RIGHT) for i in range(3)]
        + [Vote(3, 3, 1, 0, LEFT)],
        ["A", "B"],
    )
    assert lead_sentence(close).startswith("A leads B by 190 points, but their intervals overlap")
