"""The parameter-sweep page's forms: the sweep (prompt, context, one or two swept parameters, samples)
and the context-depth ablation (a stored conversation replayed at depth 0…N). Each returns the run its
button would queue, or None while something is missing or not valid (drawn where it is)."""

from __future__ import annotations

import streamlit as st

from chatlab.context import history_messages
from chatlab.params import PARAMS, SWEEPABLE, GenerationParams
from chatlab.roles import Role
from chatlab.safe_markdown import escape_markdown
from chatlab.store import Store
from chatlab.sweep.ablation import AblationError, as_it_was, with_settings
from chatlab.sweep.plan import MAX_SAMPLES, SweepSpec, parse_values
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.params_panel import ParamChoice
from chatlab_ui.sweep.state import AblationRun, SweepRun

NO_AXIS = "(none)"


def axis_inputs(keys: PageKeys, label: str, *, optional: bool, default: str, disabled: bool):
    """A parameter picker and its values; returns (name, values) or None, drawing any parse error."""
    left, right = st.columns([1, 2])
    options = [NO_AXIS, *SWEEPABLE] if optional else list(SWEEPABLE)
    name = left.selectbox(label, options, index=options.index(default), key=keys("name"), disabled=disabled)
    if name == NO_AXIS:
        right.text_input("Values", value="", key=keys("values", "none"), disabled=True)
        return None
    text = right.text_input(
        "Values",
        value=PARAMS[name].sweep_values,
        key=keys("values", name),
        disabled=disabled,
        help="Numbers separated by commas or spaces.",
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


def sweep_form(
    store: Store,
    keys: PageKeys,
    *,
    model: str,
    role: Role,
    system_prompt: str,
    fixed: ParamChoice,
    busy: bool,
) -> SweepRun | None:
    """The sweep's inputs and what they plan (settings × samples = replies in requests)."""
    prompt = st.text_area(
        "Prompt",
        "Write a one-sentence story about a lighthouse keeper.",
        key=keys("prompt"),
        disabled=busy,
        height=90,
    )
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
    samples = left.slider("Samples per setting", 1, MAX_SAMPLES, 3, key=keys("samples"), disabled=busy)
    use_n = right.checkbox(
        "One request per setting with n = samples",
        key=keys("use_n"),
        disabled=busy,
        help="Uses the API's n where the endpoint supports it; otherwise each sample is its "
        "own request. Nothing is ever cached.",
    )
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
            model=model,
            system_prompt=system_prompt,
            few_shot=tuple(role.few_shot_messages()),
            history=tuple(history),
            prompt=prompt,
            base_params=fixed.params,
            axes=tuple(a for a in (first, second) if a),
            samples=samples,
            use_n=use_n,
        )
    except ValueError as exc:
        st.error(str(exc))
        return None
    st.caption(
        f"{spec.points} settings × {samples} samples = {spec.total_samples} replies in {spec.calls} requests."
    )
    return SweepRun(spec)


def ablation_form(
    store: Store,
    keys: PageKeys,
    roles: list[Role],
    *,
    model: str,
    role: Role,
    system_prompt: str,
    params: GenerationParams,
    busy: bool,
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
            source = with_settings(
                messages,
                model=model,
                system_prompt=system_prompt,
                few_shot=role.few_shot_messages(),
                params=params,
                role_name=role.name,
            )
    except AblationError as exc:
        st.info(str(exc))
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
