"""The Batch runs page's setup: the test set, k samples, what stops the run, and what it may cost."""

from __future__ import annotations

import streamlit as st

from chatlab.batch.plan import MAX_SAMPLES, BatchSpec, estimate_cost, problems
from chatlab.checks import Judge
from chatlab.safe_markdown import escape_markdown
from chatlab.store.testsets import TestSets
from chatlab.testsets import TestSet
from chatlab_ui.batch.state import SET_PARAM
from chatlab_ui.navigation import TEST_SETS
from chatlab_ui.page_keys import PageKeys

S = st.session_state


def choose_test_set(sets: TestSets, keys: PageKeys) -> TestSet | None:
    """The stored test set to run (a ?set= link from the Test sets page picks it); None when none exists."""
    summaries = {s.id: s for s in sets.list()}
    if not summaries:
        st.info("There is no test set yet. Create one (or import a CSV or JSONL file) first.")
        st.page_link(TEST_SETS, label="Open Test sets", icon=":material/fact_check:")
        return None
    linked = st.query_params.pop(SET_PARAM, None)
    if linked in summaries:
        S[keys("set")] = linked
    if S.get(keys("set")) not in summaries:
        S[keys("set")] = next(iter(summaries))
    chosen = st.selectbox(
        "Test set",
        list(summaries),
        key=keys("set"),
        format_func=lambda i: f"{summaries[i].name} · {summaries[i].case_count:,} cases",
    )
    return sets.get(chosen)


def samples_per_case(keys: PageKeys) -> int:
    return st.slider(
        "Samples per case (k)", 1, MAX_SAMPLES, 3, key=keys("samples"),
        help="Each pane answers each case k times, as separate requests (never cached).",
    )  # fmt: skip


def before_starting(spec: BatchSpec, judge: Judge | None, more: list[str]) -> bool:
    """List what stops the run, then what it may cost; True when it may start."""
    found = [*more, *problems(spec, judge)]
    if found:
        st.error(
            "Nothing can start yet:\n" + "\n".join(f"- {escape_markdown(p)}" for p in found),
            icon=":material/block:",
        )
    estimate = estimate_cost(spec, judge)
    st.info(
        f"**Before starting:** {estimate.note} Tokens are counted offline and every reply is assumed to use "
        "all of max_tokens (300 when it is not set), so this is an upper-end estimate.",
        icon=":material/payments:",
    )
    return not found
