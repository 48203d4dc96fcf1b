"""The leaderboard of a rating: Bradley-Terry ratings with intervals, each also as a sentence; the win
matrix; the votes; the position bias; the votes CSV, and a check that recomputes all of it from a CSV."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from chatlab.rating.leaderboard import Leaderboard, leaderboard
from chatlab.rating.sentences import bias_sentence, lead_sentence, rating_sentences, votes_sentence
from chatlab.rating.votes import Vote, VoteError, read_votes_csv, votes_csv
from chatlab.safe_markdown import escape_markdown
from chatlab.store.ratings import RatingRecord, Ratings
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.resources import get_store
from chatlab_ui.tables import csv_download, table

METHOD = (
    "Bradley-Terry ratings on an Elo-like scale (1000 = average; 400 points = 10:1 odds), fitted by maximum "
    "likelihood with a weak prior so that a pane that wins every vote still gets a finite rating. 95% "
    "intervals: {bootstrap:,} bootstrap resamples of the votes, seed {seed}; the same votes and seed always "
    "give the same table. Position bias: the Wilson interval of the share of decisive votes that went left."
)


@st.cache_data(max_entries=16, show_spinner="Fitting the ratings…")
def _board(rating_id: str, signature: str) -> Leaderboard:
    """The rating's leaderboard, fitted once per set of votes (`signature` changes with them)."""
    ratings = Ratings(get_store())
    rating = ratings.get(rating_id)
    return leaderboard(ratings.votes(rating_id), rating.labels, seed=rating.seed)


def board_table(board: Leaderboard) -> pd.DataFrame:
    t = board.table
    return pd.DataFrame(
        {
            "Rank": t["rank"],
            "Pane": t["label"],
            "Rating": t["rating"].round(0),
            "95% interval": [
                f"{lo:,.0f} to {hi:,.0f}" if pd.notna(lo) and pd.notna(hi) else None
                for lo, hi in zip(t["low"], t["high"], strict=True)
            ],
            "Votes": t["votes"],
            "Wins": t["wins"],
            "Losses": t["losses"],
            "Ties": t["ties"],
            "Both bad": t["both_bad"],
            "Win rate": t["win_rate"],
        }
    )


def win_matrix(board: Leaderboard) -> pd.DataFrame:
    """The win matrix with a dash where a pane meets itself."""
    matrix = board.win_matrix.astype("Int64")
    for label in matrix.index:
        matrix.loc[label, label] = pd.NA
    return matrix.reset_index(names="Winner")


def _show(board: Leaderboard, keys: PageKeys) -> None:
    st.markdown("  \n".join(escape_markdown(s) for s in [lead_sentence(board), *rating_sentences(board)]))
    table(
        board_table(board),
        key=keys("table"),
        column_config={
            "Rating": st.column_config.NumberColumn(format="%.0f"),
            "Win rate": st.column_config.NumberColumn(format="percent"),
        },
    )
    st.markdown("**Win matrix**: decisive votes the row's pane won against the column's")
    table(win_matrix(board), key=keys("matrix"))
    st.markdown("**Votes and position bias**")
    st.markdown(
        escape_markdown(votes_sentence(board))
        + "  \n"
        + escape_markdown(bias_sentence(board.position_bias, board.confidence))
    )
    st.caption(METHOD.format(bootstrap=board.bootstrap, seed=board.seed))


def leaderboard_view(rating: RatingRecord, votes: Sequence[Vote], keys: PageKeys) -> None:
    """The leaderboard, the votes CSV, and the recompute check."""
    if not votes:
        st.info("No votes yet: the leaderboard appears with the first vote.")
        return
    signature = hashlib.sha1(
        repr([(v.matchup, v.left, v.right, v.outcome) for v in votes]).encode()
    ).hexdigest()
    board = _board(rating.id, signature)
    _show(board, keys)
    csv_download(
        f"Download the {len(votes):,} votes (CSV)",
        lambda: votes_csv(votes, rating.labels),
        f"rating-{rating.id}-votes.csv",
        key=keys("csv"),
        type="primary",
    )
    with st.expander("Recompute from a votes CSV"):
        st.caption(
            f"Upload a votes CSV (this one, or one edited elsewhere): the ratings are fitted again from its "
            f"rows alone, with the seed below (this rating's is {rating.seed})."
        )
        upload = st.file_uploader("Votes CSV", type=["csv"], key=keys("recompute", "file"))
        seed = st.number_input("Seed", value=rating.seed, step=1, key=keys("recompute", "seed"))
        if upload is None:
            return
        try:
            again_votes, labels = read_votes_csv(upload.getvalue(), upload.name)
        except VoteError as exc:
            st.error(f"Not recomputed: {exc}")
            return
        again = leaderboard(again_votes, labels, seed=int(seed))
        same = (
            again.table.equals(board.table)
            and again.win_matrix.equals(board.win_matrix)
            and again.position_bias == board.position_bias
        )
        if same:
            st.success("Recomputed from the file: the same ratings, intervals, win matrix and position bias.")
        else:
            st.warning("Recomputed from the file: it differs from this rating's leaderboard (shown below).")
            _show(again, keys.child("recomputed"))
