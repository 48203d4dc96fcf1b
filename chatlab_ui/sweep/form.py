"""The parameter-sweep page's forms: the sweep (prompt, context, one or two swept parameters, samples)
and the context-depth ablation (a stored conversation replayed at depth 0…N). Each returns the run its
button would queue, or None while something is missing or not valid (drawn where it is)."""

from __future__ import annotations

import streamlit as st

from chatlab.context import history_messages
from chatlab.params import CHOICE, PARAMS, SWEEPABLE
from chatlab.roles import Role
from chatlab.roles.variables import MissingValues, render_prompt
from chatlab.safe_markdown import escape_markdown
from chatlab.stats import MIN_SAMPLES
from chatlab.store import Store
from chatlab.sweep.ablation import AblationError, as_it_was, with_settings
from chatlab.sweep.plan import MAX_SAMPLES, SweepSpec, estimate_cost, parse_values
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.sweep.setup import Setup
from chatlab_ui.sweep.state import AblationRun, SweepRun

NO_AXIS = "(none)"
DEFAULT_SAMPLES = 5  # enough for a p-value (chatlab.stats.MIN_SAMPLES), cheap enough to try
DEFAULT_PROMPT = "Write a one-sentence story about a lighthouse keeper."


def axis_inputs(keys: PageKeys, label: str, *, optional: bool, default: str, disabled: bool):
    """A parameter picker and its values; returns (name, values) or None, drawing any parse error.

    A parameter with a fixed set of choices (reasoning_effort, verbosity) is picked from its choices, in
    their own order; a number is typed."""
    left, right = st.columns([1, 2])
    options = [NO_AXIS, *SWEEPABLE] if optional else list(SWEEPABLE)
    name = left.selectbox(label, options, index=options.index(default), key=keys("name"), disabled=disabled)
    if name == NO_AXIS:
        right.text_input("Values", value="", key=keys("values", "none"), disabled=True)
        return None
    param = PARAMS[name]
    if param.kind == CHOICE:
        key = keys("values", name)
        st.session_state.setdefault(key, list(parse_values(name, param.sweep_values)))
        chosen = right.multiselect("Values", param.choices, key=key, disabled=disabled)
        if not chosen:
            right.error(f"{name}: pick at least one value.")
            return None
        return name, tuple(c for c in param.choices if c in chosen)
    key = keys("values", name)
    st.session_state.setdefault(key, param.sweep_values)
    text = right.text_input(
        "Values", key=key, disabled=disabled, help="Numbers separated by commas or spaces."
    )
    try:
        return name, parse_values(name, text)
    except ValueError as exc:
        right.error(str(exc))
        return None


def context_picker(store: Store, key: str, *, disabled: bool, label: str) -> tuple[str | None, list[dict]]:
    """Choose a stored chat conversation; returns its id and its messages as context."""
    chats = [c for c in store.list_conversations(limit=50, kind="chat") if c.title]
    names = {c.id: f"{c.title} · {c.updated_at[:16].replace('T', ' ')}" for c in chats}
    chosen = (
        st.selectbox(
            label,
            ["", *names],
            format_func=lambda cid: names.get(cid, "No conversation"),
            key=key,
            disabled=disabled,
        )
        or None
    )
    return chosen, (history_messages(store.messages(chosen)) if chosen else [])


def sweep_form(store: Store, keys: PageKeys, setup: Setup, *, busy: bool) -> SweepRun | None:
    """The sweep's inputs, what they plan (settings × samples = replies in requests) and what that costs."""
    # Defaults go through session state: a reopened sweep (chatlab_ui.sweep.stored) sets these keys.
    st.session_state.setdefault(keys("prompt"), DEFAULT_PROMPT)
    st.session_state.setdefault(keys("samples"), DEFAULT_SAMPLES)
    prompt = st.text_area("Prompt", key=keys("prompt"), disabled=busy, height=90)
    _, history = context_picker(
        store, keys("context"), disabled=busy, label="Conversation context (optional)"
    )
    first = axis_inputs(
        keys.child("axis1"), "Parameter", optional=False, default="temperature", disabled=busy
    )
    second = axis_inputs(
        keys.child("axis2"), "Second parameter (optional)", optional=True, default=NO_AXIS, disabled=busy
    )
    left, right = st.columns(2)
    samples = left.slider(
        "Samples per setting",
        1,
        MAX_SAMPLES,
        key=keys("samples"),
        disabled=busy,
        help=f"A difference can be shown only with at least {MIN_SAMPLES} replies per setting; with 10 or "
        "more, moderate differences show.",
    )
    use_n = right.checkbox(
        "One request per setting with n = samples",
        key=keys("use_n"),
        disabled=busy,
        help="Uses the API's n where the endpoint supports it; otherwise each sample is its "
        "own request. Nothing is ever cached.",
    )
    fixed = setup.fixed
    if not fixed.ok:
        st.error(
            "Nothing is run while a fixed parameter is not valid: " + "; ".join(fixed.problems),
            icon=":material/block:",
        )
        return None
    if not first:
        return None
    try:
        spec = SweepSpec(
            model=setup.model,
            system_prompt=setup.system_prompt,
            few_shot=setup.few_shot,
            history=tuple(history),
            prompt=prompt,
            base_params=fixed.params,
            axes=tuple(a for a in (first, second) if a),
            samples=samples,
            use_n=use_n,
            variables=setup.variables,
            values=setup.values,
        )
    except ValueError as exc:  # MissingValues among them: a variable with neither value nor default
        st.error(escape_markdown(str(exc)), icon=":material/block:")
        return None
    st.caption(
        f"{spec.points} settings × {samples} samples = {spec.total_samples} replies in {spec.calls} requests. "
        f"Estimated: {estimate_cost(spec).describe()}"
    )
    return SweepRun(spec)


def ablation_form(
    store: Store, keys: PageKeys, roles: list[Role], setup: Setup, *, busy: bool
) -> AblationRun | None:
    """A stored conversation, what to replay it with, and up to how many past turns; None until ready."""
    conversation_id, _ = context_picker(store, keys("conversation"), disabled=busy, label="Conversation")
    if not conversation_id:
        return None
    messages = store.messages(conversation_id)
    as_sent = st.radio(
        "Replay with",
        [True, False],
        format_func=lambda v: "the settings the conversation was sent with" if v else "this page's settings",
        key=keys("as_sent"),
        horizontal=True,
        disabled=busy,
        help="The conversation's own model, role, system prompt, few-shot examples and parameters (read "
        "back from its stored request), or the model, role and fixed parameters chosen on this page.",
    )
    try:
        if as_sent:
            source = as_it_was(messages, roles)
        else:
            system, few_shot = render_prompt(
                setup.system_prompt, setup.few_shot, setup.values, setup.variables
            )
            source = with_settings(
                messages,
                model=setup.model,
                system_prompt=system,
                few_shot=few_shot,
                params=setup.fixed.params,
                role_name=setup.role.name,
            )
    except (AblationError, MissingValues) as exc:
        st.info(escape_markdown(str(exc)))
        return None
    question = " ".join(source.question.split())
    st.caption(
        f"Replays “{escape_markdown(question[:120])}{'…' if len(question) > 120 else ''}” "
        f"{source.origin}: {escape_markdown(source.describe())}."
    )
    if not source.turns_available:
        st.info("That conversation has no answered turn before its last question: there is nothing to vary.")
        return None
    top = st.slider(
        "Up to how many past turns",
        0,
        source.turns_available,
        min(source.turns_available, 5),
        key=keys("max"),
        disabled=busy,
        help="A turn is a question and its reply; each depth is sent once.",
    )
    return AblationRun(source=source, turns=tuple(range(top + 1)))
