"""A leaderboard in plain sentences: each pane's rating with its interval and record, who leads and how
clearly, the votes, and the position bias."""

from __future__ import annotations

import math

from chatlab.rating.leaderboard import Leaderboard, PositionBias


def _number(value: float) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:,.0f}"


def _share(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:.0%}"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def rating_sentences(board: Leaderboard) -> list[str]:
    """One sentence per pane, best first: its rating, its interval, and its votes."""
    out = []
    level = f"{board.confidence:.0%}"
    for row in board.table.itertuples():
        interval = (
            f" ({level} interval {_number(row.low)} to {_number(row.high)})"
            if math.isfinite(row.low) and math.isfinite(row.high)
            else ""
        )
        record = ", ".join(
            [
                _count(int(row.wins), "win"),
                _count(int(row.losses), "loss", "losses"),
                _count(int(row.ties), "tie"),
                f"{int(row.both_bad):,} both bad",
            ]
        )
        out.append(
            f"{row.rank}. {row.label} is rated {_number(row.rating)}{interval} from "
            f"{_count(int(row.votes), 'vote')}: {record}."
        )
    return out


def lead_sentence(board: Leaderboard) -> str:
    """Whether the top pane is clearly ahead of the second (their intervals apart) or not yet."""
    table = board.table
    if board.votes == 0 or len(table) < 2:
        return "No votes yet."
    first, second = table.iloc[0], table.iloc[1]
    if _number(first.rating - second.rating) in ("0", "-0"):  # "leads by 0 points" would read wrong
        return (
            f"{first.label} and {second.label} are level ({_number(first.rating)} each): these votes do not "
            "tell them apart; more votes would."
        )
    if not (math.isfinite(first.low) and math.isfinite(second.high)):
        return f"{first.label} leads {second.label}; too few votes for intervals."
    if first.low > second.high:
        return (
            f"{first.label} is ahead of {second.label}: their intervals do not overlap "
            f"({_number(first.low)} and above, against {_number(second.high)} and below)."
        )
    return (
        f"{first.label} leads {second.label} by {_number(first.rating - second.rating)} points, but their "
        "intervals overlap: these votes do not tell them apart clearly; more votes would."
    )


def votes_sentence(board: Leaderboard) -> str:
    """How many votes, and how many of them chose a side."""
    table = board.table
    ties = int(table.ties.sum()) // 2
    both_bad = int(table.both_bad.sum()) // 2
    decisive = board.votes - ties - both_bad
    return (
        f"{_count(board.votes, 'vote')}: {decisive:,} chose a side, {_count(ties, 'tie')}, "
        f"{both_bad:,} both bad. Ties and both-bad votes count as half a win for each side."
    )


def bias_sentence(bias: PositionBias, confidence: float) -> str:
    """The share of decisive votes that went to the left reply, its interval, and what it means."""
    if bias.decisive == 0:
        return "No vote has chosen a side yet, so the position bias cannot be measured."
    text = (
        f"Of {_count(bias.decisive, 'decisive vote')}, {bias.left:,} went to the left reply: "
        f"{_share(bias.rate)} ({confidence:.0%} interval {_share(bias.low)} to {_share(bias.high)}). "
        "50% means the side did not matter; "
    )
    if bias.low <= 0.5 <= bias.high:
        return text + "this interval includes 50%, so no position bias shows."
    side = "left" if bias.rate > 0.5 else "right"
    return text + f"this interval excludes 50%: votes lean to the {side} side, whatever was shown there."
