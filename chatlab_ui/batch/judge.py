"""The judge of a batch run: where judge checks are sent (any endpoint — the panes', the local model, a
configured profile), with which model, and an optional judge check for every case (a grader role and a
rubric, built by the shared check form)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import streamlit as st

from chatlab.checks import Check, Judge
from chatlab.endpoint import Endpoint
from chatlab.offline import offline_available
from chatlab.params import GenerationParams
from chatlab.profiles import ProfilesError, configured_profiles, load_secrets
from chatlab.roles import Role
from chatlab.testsets import TestSet
from chatlab_ui.check_form import check_form
from chatlab_ui.endpoint_panel import OFFLINE_LABEL
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.resources import get_client, get_offline_server

SAME = "The panes' endpoint (sidebar)"
REPLY_LIMITS = [64, 128, 256, 512, 1024]
S = st.session_state


@dataclass(frozen=True)
class JudgeChoice:
    """The judge to send judge checks to, the check to add to every case (if any), its endpoint, and
    what stops the run (a judge check asked for but not usable yet)."""

    judge: Judge | None = None
    extra_check: Check | None = None
    endpoint: Endpoint | None = None
    problem: str | None = None


def _endpoints(panes_endpoint: Endpoint) -> dict[str, Endpoint | None]:
    """Label -> endpoint; None stands for the local model (started only when chosen)."""
    choices: dict[str, Endpoint | None] = {SAME: panes_endpoint}
    if offline_available()[0]:
        choices[OFFLINE_LABEL] = None
    try:
        profiles = configured_profiles(load_secrets())
    except ProfilesError:
        profiles = []  # the sidebar already says what is wrong with the secrets file
    choices.update({f"Profile: {p.name}": p for p in profiles if p.api_keys})
    return choices


def with_extra_check(test_set: TestSet, check: Check | None) -> TestSet:
    """The test set as the run sends it: with the judge check for every case, when one was added."""
    if check is None:
        return test_set
    return replace(test_set, checks=(*test_set.checks, check))


def judge_panel(
    keys: PageKeys, roles: list[Role], test_set: TestSet | None, *, panes_endpoint: Endpoint, model: str
) -> JudgeChoice:
    """Draw the judge settings; returns the judge (None when no check needs one)."""
    judged = (
        0
        if test_set is None
        else sum(c.kind == "judge" for i in range(len(test_set.cases)) for c in test_set.checks_for(i))
    )
    with st.expander("Judge", icon=":material/gavel:", expanded=bool(judged)):
        if judged:
            st.caption(f"The test set has {judged:,} judge checks: they are graded by the judge below.")
        add = st.toggle("Add a judge check to every case", key=keys("add"))
        extra = check_form(keys.child("check"), [r.name for r in roles], kinds=("judge",)) if add else None
        problem = "The judge check for every case needs a rubric." if add and extra is None else None
        if not (judged or extra):
            return JudgeChoice(problem=problem)
        choices = _endpoints(panes_endpoint)
        where = st.selectbox("Judge endpoint", list(choices), key=keys("endpoint"))
        endpoint = choices[where] or get_offline_server().endpoint()
        default = model if where == SAME else endpoint.default_model or model
        judge_model = st.text_input("Judge model", value=default, key=keys("model", where)).strip() or default
        limit = st.select_slider(
            "Judge reply limit (max_tokens)", REPLY_LIMITS, value=256, key=keys("max_tokens"),
            help="The grader thinks briefly, then writes its verdict line; temperature 0.",
        )  # fmt: skip
        judge = Judge(
            client=get_client(endpoint),
            model=judge_model,
            params=GenerationParams(temperature=0, max_tokens=limit),
            roles=tuple(roles),
        )
        return JudgeChoice(judge, extra, endpoint, problem)
