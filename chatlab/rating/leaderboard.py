"""The leaderboard of blind pairwise votes: Bradley-Terry ratings with bootstrap intervals, the win matrix,
vote counts, and the position-bias rate.

- Model: Bradley-Terry, P(i beats j) = 1 / (1 + exp(θj − θi)), fitted by maximum likelihood with Newton's
  method on the matrix of win weights (tests check it against SciPy's general optimiser). choix was
  considered: it takes unweighted winner/loser lists, so ties would need every vote doubled, and it adds a
  dependency for a 25-line fit; working on the win matrix also makes 1,000 bootstrap refits quick. A weak
  normal prior on θ (σ = PRIOR_SD logits) keeps a rating finite when a pane wins or loses every vote.
- Ties and "both bad" count as half a win for each side (not Davidson's tie parameter): both say "neither
  is better" about the pair. Both-bad votes are counted apart in the table all the same.
- Scale: Elo-like, 1000 + 400·log10(e)·θ with θ centred on 0, so 400 points are 10:1 odds.
- Intervals: a percentile bootstrap over votes (votes drawn with replacement, the model refitted), with a
  stated seed, so the same votes always give the same table — from the store or from the votes CSV.
- Position bias: of the decisive votes (left or right), the share that went to the left side, with a
  Wilson interval; 50% is no bias.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, log_expit

from chatlab.batch.intervals import CONFIDENCE, proportion_interval
from chatlab.rating.votes import LEFT, RIGHT, TIE, Vote

PRIOR_SD = 10.0
ELO_SCALE = 400 / np.log(10)
ELO_BASE = 1000.0
BOOTSTRAP = 1000
DEFAULT_SEED = 0


def win_weights(votes: Sequence[Vote], panes: int) -> np.ndarray:
    """W[i, j]: how often pane i beat pane j, a tie or both-bad vote counting half a win each way."""
    weights = np.zeros((panes, panes))
    for i, j, w in _contributions(votes):
        weights[i, j] += w
    return weights


def _contributions(votes: Sequence[Vote]) -> list[tuple[int, int, float]]:
    out = []
    for v in votes:
        if v.decisive:
            out.append((v.winner, v.right if v.outcome == LEFT else v.left, 1.0))
        else:
            out += [(v.left, v.right, 0.5), (v.right, v.left, 0.5)]
    return out


def fit_bradley_terry(weights: np.ndarray) -> np.ndarray:
    """θ for each pane (logits, centred on 0) maximising the penalised likelihood of the win weights.

    Newton's method: the objective is strictly convex (the prior), so it converges in a few steps; a
    step that would not lower the objective is halved.
    """
    panes = weights.shape[0]
    games = weights + weights.T
    prior = 1.0 / PRIOR_SD**2

    def objective(theta: np.ndarray) -> float:
        diff = theta[:, None] - theta[None, :]
        return float(-np.sum(weights * log_expit(diff)) + 0.5 * prior * theta @ theta)

    theta = np.zeros(panes)
    value = objective(theta)
    for _ in range(100):
        p = expit(theta[:, None] - theta[None, :])
        grad = prior * theta - (weights - games * p).sum(axis=1)
        curvature = games * p * (1 - p)
        hessian = np.diag(prior + curvature.sum(axis=1)) - curvature
        step = np.linalg.solve(hessian, grad)
        scale = 1.0
        while scale > 1e-6:
            candidate = theta - scale * step
            new_value = objective(candidate)
            if new_value <= value:
                break
            scale /= 2
        theta, value = candidate, new_value
        if np.max(np.abs(scale * step)) < 1e-10:
            break
    return theta - theta.mean()


def to_elo(theta: np.ndarray) -> np.ndarray:
    return ELO_BASE + ELO_SCALE * theta


@dataclass(frozen=True)
class PositionBias:
    """Decisive votes that went to the left side, their share, and its interval."""

    left: int
    decisive: int
    rate: float
    low: float
    high: float


@dataclass(frozen=True)
class Leaderboard:
    table: pd.DataFrame  # rank, label, rating, low, high, votes, wins, losses, ties, both_bad, win_rate
    win_matrix: pd.DataFrame  # decisive wins of the row's pane over the column's
    votes: int
    position_bias: PositionBias
    seed: int
    bootstrap: int
    confidence: float


def leaderboard(
    votes: Sequence[Vote],
    labels: Sequence[str],
    *,
    bootstrap: int = BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    confidence: float = CONFIDENCE,
) -> Leaderboard:
    """Ratings with intervals, win matrix, counts and position bias for these votes (see the module doc)."""
    panes = len(labels)
    votes = list(votes)
    for v in votes:
        if not (0 <= v.left < panes and 0 <= v.right < panes):
            raise ValueError(f"a vote names pane {max(v.left, v.right)} but there are {panes} panes")
    theta = fit_bradley_terry(win_weights(votes, panes))
    low = np.full(panes, np.nan)
    high = np.full(panes, np.nan)
    if votes and bootstrap > 0:
        # Resampling votes with replacement = drawing how many times each vote is counted.
        per_vote = [win_weights([v], panes) for v in votes]
        stack = np.stack(per_vote)  # (votes, panes, panes)
        rng = np.random.default_rng(seed)
        draws = np.empty((bootstrap, panes))
        for b in range(bootstrap):
            counts = rng.multinomial(len(votes), np.full(len(votes), 1 / len(votes)))
            draws[b] = fit_bradley_terry(np.tensordot(counts, stack, axes=1))
        tail = (1 - confidence) / 2 * 100
        low, high = np.percentile(to_elo(draws), [tail, 100 - tail], axis=0)

    wins = np.zeros((panes, panes), dtype=int)
    counts = {k: np.zeros(panes, dtype=int) for k in ("votes", "wins", "losses", "ties", "both_bad")}
    for v in votes:
        for pane in (v.left, v.right):
            counts["votes"][pane] += 1
        if v.decisive:
            loser = v.right if v.outcome == LEFT else v.left
            wins[v.winner, loser] += 1
            counts["wins"][v.winner] += 1
            counts["losses"][loser] += 1
        else:
            key = "ties" if v.outcome == TIE else "both_bad"
            counts[key][v.left] += 1
            counts[key][v.right] += 1

    ratings = to_elo(theta)
    table = pd.DataFrame(
        {
            "label": list(labels),
            "rating": ratings,
            "low": low,
            "high": high,
            **counts,
        }
    )
    table["win_rate"] = (table.wins + 0.5 * (table.ties + table.both_bad)) / table.votes.where(
        table.votes > 0
    )
    table = table.sort_values("rating", ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", range(1, panes + 1))
    matrix = pd.DataFrame(wins, index=pd.Index(list(labels), name="winner"), columns=list(labels))

    left = sum(1 for v in votes if v.outcome == LEFT)
    decisive = sum(1 for v in votes if v.outcome in (LEFT, RIGHT))
    bias_low, bias_high = proportion_interval(left, decisive, confidence)
    bias = PositionBias(left, decisive, left / decisive if decisive else float("nan"), bias_low, bias_high)
    return Leaderboard(table, matrix, len(votes), bias, seed, bootstrap, confidence)


__all__ = ["Leaderboard", "PositionBias", "fit_bradley_terry", "leaderboard", "to_elo", "win_weights"]
