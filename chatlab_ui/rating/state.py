"""What the Blind rating page's parts share: keys, URL parameters, tabs, and the last vote's reveal."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from chatlab_ui.page_keys import PageKeys

P = PageKeys("rating")  # every widget and session key of the Blind rating page
RATING_PARAM = "rating"  # ?rating=<id> opens a rating (and survives a reload)
RUN_PARAM = "run"  # ?run=<id>: rate this batch run's replies (the Batch runs page links so)
TAB_KEY = P("tab")
TAB_VOTE, TAB_BOARD = "Vote", "Leaderboard"
S = st.session_state


@dataclass(frozen=True)
class Reveal:
    """The vote just cast, with the names that were hidden while it was cast."""

    matchup: int
    outcome: str
    left: str
    right: str


def open_rating(rating_id: str) -> None:
    """Callback: show this rating (its id in the URL, so a reload reopens it)."""
    st.query_params[RATING_PARAM] = rating_id
    S.pop(P("reveal"), None)


def close_rating() -> None:
    st.query_params.pop(RATING_PARAM, None)
    S.pop(P("reveal"), None)
