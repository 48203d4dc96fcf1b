"""Starting a blind rating: from a batch run's replies, or from free inputs the panes answer first; and
the stored ratings, to open again."""

from __future__ import annotations

import random

import pandas as pd
import streamlit as st

from chatlab.batch.plan import BatchSpec, panes_for, problems
from chatlab.endpoint import Endpoint
from chatlab.rating.plan import ROUNDS, pane_labels, plan_rating
from chatlab.roles import Role
from chatlab.safe_markdown import escape_markdown
from chatlab.store import Store
from chatlab.store.batches import BatchRunRecord, BatchRuns
from chatlab.store.ratings import Ratings
from chatlab.testsets import TestSetError, from_messages
from chatlab_ui.batch.running import running, start
from chatlab_ui.endpoint_panel import wait_for_offline
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.rating.state import RUN_PARAM, S, open_rating
from chatlab_ui.resources import get_client
from chatlab_ui.stored_list import pick_stored, when

MAX_INPUTS = 200


def seed_field(keys: PageKeys) -> int:
    """The schedule's (and the bootstrap's) seed: random at first, shown, and editable."""
    S.setdefault(keys("seed"), random.randrange(1, 10_000))
    return int(
        st.number_input(
            "Seed",
            step=1,
            key=keys("seed"),
            help="Decides which pairs come in which order and on which side, and the leaderboard's bootstrap. "
            "The same seed and replies give the same schedule.",
        )
    )


def _start(ratings: Ratings, labels: list[str], seed: int, run_id: str, title: str) -> None:
    open_rating(ratings.create(labels, seed=seed, run_id=run_id, title=title))


def from_run(ratings: Ratings, runs: BatchRuns, keys: PageKeys) -> None:
    """Pick a finished batch run and 2+ of its panes; Start."""
    usable = {r.id: r for r in runs.list() if len(r.panes) >= 2 and running(r.id) is None}
    if not usable:
        st.info(
            "No batch run with two or more panes yet: run one on the Batch runs page, or use free inputs."
        )
        return
    linked = st.query_params.pop(RUN_PARAM, None)
    if linked in usable:
        S[keys("run")] = linked
    run_id = st.selectbox(
        "Batch run",
        list(usable),
        key=keys("run"),
        format_func=lambda i: (
            f"{usable[i].title} · {', '.join(usable[i].labels)} · {when(usable[i].created_at)}"
        ),
    )
    run: BatchRunRecord = usable[run_id]
    names = pane_labels(run)
    chosen = st.multiselect("Panes to compare", names, default=names[:4], key=keys("panes", run_id))
    seed = seed_field(keys)
    try:
        plan = plan_rating(run, runs.samples(run_id), chosen, seed=seed)
    except ValueError as exc:
        st.warning(str(exc))
        return
    skipped = (
        f" ({plan.skipped_cases} cases left out: a chosen pane has no reply to them)"
        if plan.skipped_cases
        else ""
    )
    st.caption(
        f"{plan.total:,} votes: every pair of the {len(chosen)} panes on each of {len(plan.cases):,} cases, "
        f"{ROUNDS} times — once with each on the left{skipped}."
    )
    title = f"{run.title}: {' vs '.join(chosen)}"
    st.button(
        "Start rating", key=keys("start"), type="primary", icon=":material/how_to_vote:",
        on_click=_start, args=(ratings, chosen, seed, run_id, title),
    )  # fmt: skip


def free_inputs(
    store: Store, roles: list[Role], keys: PageKeys, *, model: str, endpoint: Endpoint, workers: int
) -> str | None:
    """Pick 2+ roles and type inputs; Start has them answer every input, then the voting begins. Returns
    the new rating's id once started (the page then opens it)."""
    by_name = {r.name: r for r in roles}
    chosen = st.multiselect("Roles to compare", list(by_name), key=keys("roles"))
    text = st.text_area(
        "Inputs, one a line", key=keys("inputs"), height=160, placeholder="How do I reset my password?\n…"
    )
    seed = seed_field(keys)
    lines = [line for line in text.splitlines() if line.strip()][: MAX_INPUTS + 1]
    found = [] if len(chosen) >= 2 else ["Pick at least two roles."]
    if not lines:
        found.append("Type at least one input.")
    if len(lines) > MAX_INPUTS:
        found.append(f"At most {MAX_INPUTS} inputs.")
    spec = None
    if not found:
        panes = panes_for([by_name[n] for n in chosen], model=model, endpoint_name=endpoint.name)
        try:
            inputs = from_messages(lines, "Free inputs")
        except TestSetError as exc:
            found.append(str(exc))
        else:
            spec = BatchSpec(tuple(panes), inputs, 1, f"Blind rating: {' vs '.join(chosen)}")
            found += problems(spec)
    for problem in found:
        st.caption(f":material/info: {escape_markdown(problem)}")
    if spec is not None:
        st.caption(
            f"Each role answers each of the {len(lines)} inputs once ({spec.total} requests to {model}); "
            "then the voting begins."
        )
    if not st.button("Answer and start rating", key=keys("start"), type="primary", disabled=spec is None):
        return None
    wait_for_offline(endpoint)
    run_id = start(store, spec, [get_client(endpoint)] * len(spec.panes), judge=None, workers=workers)
    return Ratings(store).create(
        [p.label for p in spec.panes],
        seed=seed,
        run_id=run_id,
        title=spec.title.removeprefix("Blind rating: "),
    )


def stored_ratings(ratings: Ratings, keys: PageKeys) -> None:
    """Every rating, most recently voted in first, and Open."""
    st.subheader("Ratings")
    listed = ratings.list()
    if not listed:
        st.caption("None yet.")
        return
    shown = pd.DataFrame(
        {
            "Title": [r.title or None for r in listed],
            "Panes": [", ".join(r.labels) for r in listed],
            "Votes": [r.vote_count for r in listed],
            "Seed": [r.seed for r in listed],
            "Last vote": [when(r.updated_at) for r in listed],
        }
    )
    by_id = {r.id: r for r in listed}
    pick_stored(
        shown,
        list(by_id),
        lambda i: by_id[i].title or ", ".join(by_id[i].labels),
        label="Rating",
        keys=keys,
        on_open=open_rating,
    )
