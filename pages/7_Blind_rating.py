"""Blind pairwise rating: two anonymous replies to one input, pick the better; a Bradley-Terry leaderboard."""

from __future__ import annotations

import streamlit as st

from chatlab.rating.plan import plan_rating
from chatlab.store.batches import BatchRuns
from chatlab.store.ratings import Ratings
from chatlab_ui.batch.running import progress, running
from chatlab_ui.batch.sidebar import batch_sidebar
from chatlab_ui.navigation import require_frame
from chatlab_ui.rating.board import leaderboard_view
from chatlab_ui.rating.setup import free_inputs, from_run, stored_ratings
from chatlab_ui.rating.state import RATING_PARAM, TAB_BOARD, TAB_KEY, TAB_VOTE, P, close_rating, open_rating
from chatlab_ui.rating.vote import vote_screen
from chatlab_ui.resources import get_roles, get_store

require_frame()  # first: nothing of this page runs outside app.py's frame

store = get_store()
roles, _ = get_roles()
ratings, runs = Ratings(store), BatchRuns(store)
rating_id = st.query_params.get(RATING_PARAM)
rating = ratings.get(rating_id) if rating_id else None
if rating_id and rating is None:
    st.warning(f"Rating {rating_id} was not found; it may have been deleted.")
    close_rating()

st.title("Blind rating")
if rating is not None:
    st.button("New rating", key=P("new"), on_click=close_rating, icon=":material/add:")
    st.subheader(rating.title or " vs ".join(rating.labels))
    run = runs.get(rating.run_id) if rating.run_id else None
    if run is not None and running(run.id) is not None:
        st.info("The panes are answering the inputs; the voting starts when every reply is in.")
        progress(run.id, P.child("progress"))
        st.stop()
    votes = ratings.votes(rating.id)
    vote_tab, board_tab = st.tabs([TAB_VOTE, TAB_BOARD], key=TAB_KEY, on_change="rerun")
    if vote_tab.open:
        with vote_tab:
            if run is None:
                st.warning(
                    "The batch run these replies came from was deleted: its votes and leaderboard remain."
                )
            else:
                samples = runs.samples(run.id)
                try:
                    plan = plan_rating(run, samples, rating.labels, seed=rating.seed)
                except ValueError as exc:
                    st.error(str(exc))
                else:
                    vote_screen(ratings, rating.id, plan, votes, run, samples)
    if board_tab.open:
        with board_tab:
            leaderboard_view(rating, votes, P.child("board"))
    st.stop()

st.caption(
    "Two replies to the same input, from two panes, in random left/right order and without names: pick the "
    "better one (or tie, or both bad). Names show after each vote; the leaderboard fits Bradley-Terry ratings."
)
source = st.radio(
    "Replies from",
    ["A batch run", "Free inputs, answered now"],
    horizontal=True,
    key=P("source"),
)
if source == "A batch run":
    from_run(ratings, runs, P.child("from_run"))
else:
    with st.sidebar:
        side = batch_sidebar(P)
    started = free_inputs(
        store, roles, P.child("free"), model=side.model, endpoint=side.endpoint, workers=side.workers
    )
    if started is not None:
        open_rating(started)
        st.rerun()
stored_ratings(ratings, P.child("stored"))
