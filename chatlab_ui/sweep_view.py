"""The parameter-sweep page's parts: the form, a cancellable run with progress, results and charts."""

from __future__ import annotations

from collections.abc import Iterator

import altair as alt
import pandas as pd
import streamlit as st

from chatlab.context import history_messages
from chatlab.params import PARAMS, SWEEPABLE, GenerationParams
from chatlab.roles import Role
from chatlab.safe_markdown import escape_markdown
from chatlab.store import Store
from chatlab.sweep.ablation import AblationError, ReplaySource, ablation_frame, as_it_was, with_settings
from chatlab.sweep.plan import parse_values
from chatlab.sweep.table import chart_data, csv_bytes, sample_count_note, samples_frame, summarize
from chatlab_ui.page_keys import PageKeys

NO_AXIS = "(none)"
CHARTED = {
    "completion_tokens_mean": "Mean completion tokens",
    "distinct_1": "Distinct-1 (unique words)",
    "distinct_2": "Distinct-2 (unique word pairs)",
    "similarity": "Mean pairwise similarity",
    "duration_mean_s": "Mean latency (s)",
    "refusals": "Refusal-like replies",
}
SUMMARY_HEADINGS = {
    "completion_tokens_mean": "Tokens (mean)",
    "completion_tokens_median": "Tokens (median)",
    "completion_tokens_stdev": "Tokens (stdev)",
    "distinct_1": "Distinct-1",
    "distinct_2": "Distinct-2",
    "similarity": "Similarity",
    "duration_mean_s": "Latency (s)",
    "ttft_mean_s": "First token (s)",
    "refusals": "Refusal-like",
    "truncated": "Cut by max_tokens",
    "tokens_estimated": "Tokens estimated",
    "cost_usd": "Cost ($)",
    "samples": "Samples",
    "errors": "Errors",
}


def axis_inputs(prefix: str, label: str, *, optional: bool, default: str, disabled: bool):
    """A parameter picker and its values; returns (name, values) or None, drawing any parse error."""
    left, right = st.columns([1, 2])
    options = [NO_AXIS, *SWEEPABLE] if optional else list(SWEEPABLE)
    name = left.selectbox(
        label, options, index=options.index(default), key=f"{prefix}.name", disabled=disabled
    )
    if name == NO_AXIS:
        right.text_input("Values", value="", key=f"{prefix}.values.none", disabled=True)
        return None
    text = right.text_input(
        "Values",
        value=PARAMS[name].sweep_values,
        key=f"{prefix}.values.{name}",
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
            label, ["", *names], format_func=lambda cid: names.get(cid, "None"), key=key, disabled=disabled
        )
        or None
    )
    return chosen, (history_messages(store.messages(chosen)) if chosen else [])


def ablation_setup(
    store: Store,
    keys: PageKeys,
    roles: list[Role],
    *,
    model: str,
    role: Role,
    system_prompt: str,
    params: GenerationParams,
    disabled: bool,
) -> tuple[ReplaySource, list[int]] | None:
    """Choose a conversation, what to replay it with and up to how many past turns; None until ready."""
    conversation_id, _ = context_picker(store, keys("conversation"), disabled=disabled, label="Conversation")
    if not conversation_id:
        return None
    messages = store.messages(conversation_id)
    as_sent = st.radio(
        "Replay with",
        [True, False],
        format_func=lambda v: "the settings the conversation was sent with" if v else "this page's settings",
        key=keys("as_sent"),
        horizontal=True,
        disabled=disabled,
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
        disabled=disabled,
        help="A turn is a question and its reply; each depth is sent once.",
    )
    return source, list(range(top + 1))


def run_with_progress(state: dict, results: Iterator, total: int, noun: str) -> None:
    """Consume a run, appending each result to `state['items']` as it arrives (a Cancel click reruns the page,
    which closes the iterator: what finished is already kept)."""
    bar = st.progress(0.0, text=f"0 of {total} {noun}")
    st.button(
        "Cancel",
        key=f"{noun}.cancel",
        icon=":material/cancel:",
        help="Stops launching requests and closes the ones running; finished results are kept.",
    )
    try:
        for item in results:
            state["items"].append(item)
            done = len(state["items"])
            bar.progress(min(done / total, 1.0), text=f"{done} of {total} {noun}")
        state["finished"] = True
    finally:
        results.close()


def run_status(state: dict, total: int, noun: str) -> None:
    done = len(state["items"])
    if state.get("finished"):
        st.success(f"Done: {done} {noun}.", icon=":material/check_circle:")
    else:
        st.warning(
            f"Cancelled: {done} of {total} {noun} finished and are kept below.", icon=":material/cancel:"
        )


def metric_charts(summary: pd.DataFrame, axes: list[str]) -> None:
    """One small chart per statistic against the first swept parameter (colour: the second)."""
    long = chart_data(summary)
    long = long[long["metric"].isin(CHARTED)].assign(metric=lambda d: d["metric"].map(CHARTED))
    if long.empty:
        return
    x = alt.X(f"{axes[0]}:Q", title=axes[0])
    color = alt.Color(f"{axes[1]}:N", title=axes[1]) if len(axes) > 1 else alt.value("#e4572e")
    base = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=None),
            color=color,
            tooltip=[*axes, "metric", alt.Tooltip("value:Q", format=".3f")],
        )
    )
    chart = (
        base.properties(width=230, height=150)
        .facet(facet=alt.Facet("metric:N", title=None, sort=list(CHARTED.values())), columns=3)
        .resolve_scale(y="independent")
    )
    st.altair_chart(chart)


def sweep_results(state: dict) -> None:
    spec = state["spec"]
    samples = state["items"]
    run_status(state, spec.total_samples, "samples")
    if not samples:
        return
    summary = summarize(samples, spec)
    st.subheader("Per setting")
    if note := sample_count_note(samples):
        st.info(note, icon=":material/balance:")
    st.dataframe(
        summary.rename(columns=SUMMARY_HEADINGS), hide_index=True, width="stretch", key="sweep.summary"
    )
    metric_charts(summary, list(spec.axis_names))
    st.subheader("Every sample")
    frame = samples_frame(samples, spec)
    st.dataframe(
        frame[
            [
                *spec.axis_names,
                "sample",
                "text",
                "completion_tokens",
                "duration_s",
                "finish_reason",
                "refusal",
                "error",
            ]
        ],
        hide_index=True,
        width="stretch",
        key="sweep.samples",
    )
    st.download_button(
        "Download samples CSV (one row per sample, every parameter)",
        data=lambda: csv_bytes(frame),
        file_name="sweep-samples.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key="sweep.download",
    )
    with st.expander("How these are computed"):
        st.markdown(
            "- **Distinct-n**: unique n-grams ÷ all n-grams across the samples of a setting (Chinese characters "
            "count as words), on the same number of replies for every setting. Higher = more varied wording.\n"
            "- **Similarity**: mean Jaccard overlap of word-pair sets between every two samples. Higher = the "
            "samples say the same thing the same way.\n"
            '- **Refusal-like**: the reply opens with a refusal phrase ("I can\'t help with", "抱歉，我无法"…); a '
            "heuristic that misses refusals after a preamble.\n"
            "- Failed calls are counted under *errors* and left out of the other statistics."
        )


def ablation_results(state: dict) -> None:
    results = state["items"]
    run_status(state, state["total"], "depths")
    if not results:
        return
    source: ReplaySource = state["source"]
    st.caption(f"Replayed {source.origin}: {escape_markdown(source.describe())}.")
    frame = ablation_frame(results)
    long = frame.melt(
        id_vars=["turns"],
        value_vars=["prompt_tokens", "cost_usd", "reply_chars"],
        var_name="metric",
        value_name="value",
    ).dropna()
    if not long.empty:
        chart = (
            alt.Chart(long)
            .mark_line(point=True)
            .encode(
                x=alt.X("turns:Q", title="past turns sent", axis=alt.Axis(tickMinStep=1, format="d")),
                y=alt.Y("value:Q", title=None),
            )
            .properties(width=230, height=150)
            .facet(facet=alt.Facet("metric:N", title=None), columns=3)
        )
        st.altair_chart(chart.resolve_scale(y="independent"))
    st.dataframe(frame, hide_index=True, width="stretch", key="ablation.table")
    st.download_button(
        "Download CSV",
        data=lambda: csv_bytes(frame),
        file_name="depth-ablation.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key="ablation.download",
    )
