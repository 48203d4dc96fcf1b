"""The Blind rating page under AppTest: 30 blind votes between two roles give a leaderboard with intervals,
and the vote CSV recomputes to the same ratings — on the page, through its own recompute check."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from chatlab.batch.plan import BatchSpec, panes_for
from chatlab.batch.run import run_batch, start_batch
from chatlab.client import ChatClient
from chatlab.live import LIVE
from chatlab.rating.leaderboard import leaderboard
from chatlab.rating.votes import read_votes_csv, votes_csv
from chatlab.roles import Role
from chatlab.roles.custom import CustomRoles
from chatlab.store import Store
from chatlab.store.ratings import Ratings
from chatlab.testsets import from_messages
from chatlab_ui.rating.board import board_table
from tests.fake_openai import Reply
from tests.test_page_testsets import own_keys_only

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "pages/7_Blind_rating.py"
ROLES = [Role(name="Warm", system="Warm: be kind."), Role(name="Cold", system="Cold: be curt.")]


def by_role(request) -> Reply:
    """Each reply says which role wrote it, so the test can judge it as a person would: by its text."""
    messages = request.body["messages"]
    return Reply(text=f"[{messages[0]['content'][:4]}] an answer to {messages[-1]['content']}")


def store() -> Store:
    return Store(os.environ["CHATLAB_DB"])


def page() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60).switch_page(PAGE)


def add_roles() -> None:
    custom = CustomRoles(os.environ["CHATLAB_CUSTOM_ROLES"])
    for role in ROLES:
        custom.save(Role(name=role.name, system=role.system, builtin=False))


def shown_replies(at: AppTest) -> tuple[str, str]:
    left, right = [m.value for m in at.markdown if m.value.startswith("[")]
    return left, right


def vote(at: AppTest, outcome: str) -> AppTest:
    return at.button(key=f"rating.vote.{outcome}").click().run()


def opened(at: AppTest) -> str:
    value = at.query_params["rating"]
    return value[0] if isinstance(value, list) else value


def test_thirty_blind_votes_make_a_leaderboard_and_the_vote_csv_recomputes_it(app_env):
    """Done-when: two roles answer 15 free inputs; 30 blind votes; a leaderboard with intervals; the
    votes CSV, uploaded to the page's recompute check, gives the same ratings."""
    app_env.script_fn(by_role)
    add_roles()
    at = page().run()
    at.radio(key="rating.source").set_value("Free inputs, answered now").run()
    at.multiselect(key="rating.free.roles").set_value(["Warm", "Cold"])
    at.text_area(key="rating.free.inputs").input("\n".join(f"question {i}" for i in range(15)))
    at.number_input(key="rating.free.seed").set_value(11).run()
    assert any("Each role answers each of the 15 inputs once (30 requests" in c.value for c in at.caption)
    at.button(key="rating.free.start").click().run()
    assert not at.exception, at.exception
    rating_id = opened(at)
    rating = Ratings(store()).get(rating_id)
    assert rating.labels == ["Warm", "Cold"] and rating.seed == 11
    LIVE.get(f"batch.{rating.run_id}").wait(60)
    at.run()

    preference = ["left", "left", "right", "tie", "both_bad"]  # mostly for Warm, sometimes undecided
    sides_seen = []
    for i in range(30):
        left, right = shown_replies(at)
        assert {left[:5], right[:5]} == {"[Warm", "[Cold"}  # the two panes, names hidden
        if i == 0:  # before any vote: sides are "Left" and "Right", and no name is revealed
            assert not at.success and {"**Left**", "**Right**"} <= {m.value for m in at.markdown}
        choice = preference[i % len(preference)]
        sides_seen.append(left[:5])
        if choice in ("left", "right"):
            warm_side = "left" if left.startswith("[Warm") else "right"
            other = "right" if warm_side == "left" else "left"
            choice = warm_side if choice == "left" else other
        at = vote(at, choice)
        assert not at.exception, at.exception
        [revealed] = at.success
        assert f"Left was **{'Warm' if left.startswith('[Warm') else 'Cold'}**" in revealed.value
    assert sides_seen.count("[Warm") == 15  # random sides, balanced by the schedule
    assert any("Every one of the 30 votes is cast." in i.value for i in at.info)

    votes = Ratings(store()).votes(rating_id)
    assert len(votes) == 30
    at.session_state["rating.tab"] = "Leaderboard"
    at.run()
    assert not at.exception, at.exception
    shown = at.dataframe[0].value.set_index("Pane")
    assert list(shown.index) == ["Warm", "Cold"] and shown.loc["Warm", "Votes"] == 30
    assert all(shown["95% interval"].str.contains(" to "))
    said = "\n".join(m.value for m in at.markdown)
    assert "1\\. Warm is rated" in said and "95% interval" in said and "from 30 votes" in said
    assert "decisive votes" in said and "went to the left reply" in said
    own_keys_only(at, "rating")
    matrix = at.dataframe[1].value.set_index("Winner")
    assert matrix.loc["Warm", "Cold"] == sum(1 for v in votes if v.winner is not None and v.winner == 0)
    assert any(b.proto.label == "Download the 30 votes (CSV)" for b in at.get("download_button"))

    # What Download gives, read back and refitted: the same table as the page shows…
    data = votes_csv(votes, rating.labels)
    again_votes, again_labels = read_votes_csv(data)
    again = leaderboard(again_votes, again_labels, seed=rating.seed)
    pd.testing.assert_frame_equal(board_table(again), at.dataframe[0].value, check_dtype=False)
    # …and the page's own check says so.
    at.file_uploader(key="rating.board.recompute.file").set_value(("votes.csv", data, "text/csv")).run()
    assert "Recomputed from the file: the same ratings, intervals, win matrix and position bias." in [
        s.value for s in at.success
    ]


def test_undo_brings_the_last_pair_back_and_a_batch_run_can_be_rated(app_env, fake_endpoint):
    app_env.script_fn(by_role)
    s = store()
    client = ChatClient(fake_endpoint)
    spec = BatchSpec(tuple(panes_for(ROLES, model="gpt-4o-mini")), from_messages(["a", "b", "c"], "abc"))
    run_id = start_batch(s, spec)
    list(run_batch(s, run_id, [client, client], spec))
    client.close()

    at = page()
    at.query_params["run"] = run_id  # the Batch runs page's "Rate these replies blind" link
    at.run()
    assert at.selectbox(key="rating.from_run.run").value == run_id
    assert any("6 votes: every pair of the 2 panes on each of 3 cases" in c.value for c in at.caption)
    at.button(key="rating.from_run.start").click().run()
    rating_id = opened(at)
    first = shown_replies(at)
    own_keys_only(at, "rating")
    at = vote(at, "tie")
    assert "Last vote: *Tie*" in at.success[0].value and "neither won" in at.success[0].value
    assert len(Ratings(store()).votes(rating_id)) == 1
    at.button(key="rating.undo").click().run()
    assert Ratings(store()).votes(rating_id) == [] and shown_replies(at) == first
    # Another tab votes on the pair this one shows: this tab's click on it then casts nothing.
    other = page()
    other.query_params["rating"] = rating_id
    other.run()
    assert shown_replies(other) == first
    vote(other, "left")
    at = vote(at, "right")
    [only] = Ratings(store()).votes(rating_id)
    assert only.outcome == "left" and shown_replies(at) != first
