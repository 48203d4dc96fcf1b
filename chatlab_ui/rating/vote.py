"""The vote screen: one input, two anonymous replies (sides from the seeded schedule), four buttons with
keyboard shortcuts (← → T B, U to undo), and the names revealed once the vote is cast.

Streamlit 1.67's st.button takes `shortcut=`: a key press clicks the button, so no script is injected.
A vote is a callback that stores it before the next run draws the next pair; a click on a pair that was
already voted on (a double press, a stale tab) is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from chatlab.rating.plan import RatingPlan
from chatlab.rating.schedule import Matchup
from chatlab.rating.votes import BOTH_BAD, LEFT, OUTCOME_LABELS, RIGHT, TIE, Vote
from chatlab.safe_markdown import escape_markdown
from chatlab.store.batches import BatchRunRecord, BatchSample
from chatlab.store.ratings import Ratings
from chatlab_ui.chat_view import display_text
from chatlab_ui.rating.state import P, Reveal, S

# outcome -> (button label, shortcut, icon)
BUTTONS = {
    LEFT: ("Left is better", "Left", ":material/arrow_back:"),
    TIE: ("Tie", "T", ":material/drag_handle:"),
    BOTH_BAD: ("Both bad", "B", ":material/thumb_down:"),
    RIGHT: ("Right is better", "Right", ":material/arrow_forward:"),
}
UNDO_SHORTCUT = "U"
KEYS_HELP = "Keys: ← left is better · → right is better · T tie · B both bad · U undo the last vote."


def _cast(
    ratings: Ratings,
    rating_id: str,
    plan: RatingPlan,
    matchup: Matchup,
    outcome: str,
    run: BatchRunRecord,
    samples: Sequence[BatchSample],
) -> None:
    """Callback: store the vote (once per matchup) and keep its reveal for the next run."""
    if any(v.matchup == matchup.index for v in ratings.votes(rating_id)):
        return  # already voted: a double press or a tab that had not caught up
    ratings.add_vote(rating_id, plan.vote(matchup, outcome, run, samples))
    S[P("reveal")] = Reveal(matchup.index, outcome, plan.labels[matchup.left], plan.labels[matchup.right])


def _undo(ratings: Ratings, rating_id: str) -> None:
    ratings.undo_last_vote(rating_id)
    S[P("reveal")] = None


def _reveal(reveal: Reveal | None, votes: Sequence[Vote], ratings: Ratings, rating_id: str) -> None:
    """The last vote with the names it hid, and Undo; before any vote, where they will show (so the
    pair below does not move when the first vote is cast)."""
    text, undo = st.columns([5, 1], vertical_alignment="center")
    if reveal is not None and votes and reveal.matchup == votes[-1].matchup:
        winner = {LEFT: reveal.left, RIGHT: reveal.right}.get(reveal.outcome)
        said = f"**{escape_markdown(winner)}** won" if winner else "neither won"
        text.success(
            f"Last vote: *{OUTCOME_LABELS[reveal.outcome]}*. Left was **{escape_markdown(reveal.left)}**, "
            f"right was **{escape_markdown(reveal.right)}**: {said}.",
            icon=":material/visibility:",
        )
    else:
        text.info(
            "Which pane wrote which reply is shown here after each vote."
            if not votes
            else f"{len(votes):,} votes cast so far.",
            icon=":material/visibility_off:",
        )
    undo.button(
        "Undo",
        key=P("undo"),
        icon=":material/undo:",
        shortcut=UNDO_SHORTCUT,
        on_click=_undo,
        args=(ratings, rating_id),
        disabled=not votes,
        help="Remove the last vote and show its pair again.",
        width="stretch",
    )


def vote_screen(
    ratings: Ratings,
    rating_id: str,
    plan: RatingPlan,
    votes: Sequence[Vote],
    run: BatchRunRecord,
    samples: Sequence[BatchSample],
) -> None:
    """The next pair to vote on (or that every vote is cast), the last vote's reveal, and Undo."""
    st.progress(len(votes) / plan.total, text=f"{len(votes):,} of {plan.total:,} votes")
    _reveal(S.get(P("reveal")), votes, ratings, rating_id)
    matchup = plan.next(votes)
    if matchup is None:
        st.info(
            f"Every one of the {plan.total:,} votes is cast. The Leaderboard tab has the ratings.",
            icon=":material/task_alt:",
        )
        return
    text, left, right = plan.shown(matchup, run, samples)
    with st.container(border=True):
        st.caption("Input")
        st.markdown(display_text(text))
    sides = st.columns(2)
    for column, side, reply in ((sides[0], "Left", left), (sides[1], "Right", right)):
        with column.container(border=True):
            st.markdown(f"**{side}**")
            st.markdown(display_text(reply) if reply.strip() else "*(an empty reply)*")
    buttons = st.columns(4)
    for column, (outcome, (label, shortcut, icon)) in zip(buttons, BUTTONS.items(), strict=True):
        column.button(
            label,
            key=P("vote", outcome),
            icon=icon,
            shortcut=shortcut,
            on_click=_cast,
            args=(ratings, rating_id, plan, matchup, outcome, run, samples),
            type="primary" if outcome in (LEFT, RIGHT) else "secondary",
            width="stretch",
        )
    st.caption(KEYS_HELP)
