"""The determinism meter's tab: the same request K times with a seed and K times without, stored as it runs;
then how many replies were byte-identical, where they first differ, the fingerprints, and the verdict."""

from __future__ import annotations

import threading

import pandas as pd
import streamlit as st

from chatlab.determinism import (
    DEFAULT_SEED,
    MAX_RUNS,
    MIN_RUNS,
    Arm,
    Divergence,
    MeterSpec,
    finish_meter_run,
    meter_frame,
    run_meter,
    save_reply,
    start_meter_run,
)
from chatlab.estimate import RunPart, estimate_run
from chatlab.params import PARAMS, ParamError
from chatlab.safe_markdown import escape_markdown
from chatlab.store import Store
from chatlab.sweep.table import csv_bytes
from chatlab.tokens import count_message_tokens
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.sweep.progress import cancel_button
from chatlab_ui.sweep.setup import Setup
from chatlab_ui.sweep.state import MeterResults, MeterRun
from chatlab_ui.tables import table, table_with_csv

# meter_frame column -> heading shown on the page (the CSV keeps the column names)
HEADINGS = {
    "seeded": "Seeded",
    "index": "Reply",
    "text": "Text",
    "chars": "Characters",
    "identical_to_most_common": "Same as the most common",
    "finish_reason": "Finish",
    "system_fingerprint": "system_fingerprint",
    "duration_s": "Duration (s)",
    "error": "Error",
}


def meter_form(keys: PageKeys, setup: Setup, *, busy: bool) -> MeterRun | None:
    """The meter's prompt, K and seed; the run its button would queue, or None (the reason drawn)."""
    st.caption(
        "Sends one request K times without a seed, then K times with a fixed seed, and compares the replies "
        "byte for byte: does this endpoint and model honour `seed`? Every request carries the sidebar's "
        "model, role and fixed parameters."
    )
    prompt = st.text_area(
        "Prompt", "Tell me a story about a lighthouse keeper.", key=keys("prompt"), height=80, disabled=busy
    )
    left, right = st.columns(2)
    runs = left.slider("Requests of each kind (K)", MIN_RUNS, MAX_RUNS, 5, key=keys("runs"), disabled=busy)
    st.session_state.setdefault(keys("seed"), str(DEFAULT_SEED))
    seed_text = right.text_input("Seed", key=keys("seed"), disabled=busy)
    if not setup.fixed.ok:
        st.error(
            "Fix the fixed parameters first: " + "; ".join(setup.fixed.problems), icon=":material/block:"
        )
        return None
    try:
        seed = PARAMS["seed"].parse(seed_text)
        messages = setup.messages(prompt)
        spec = MeterSpec(setup.model, tuple(messages), setup.fixed.params, runs=runs, seed=seed)
    except (ParamError, ValueError) as exc:  # a bad seed, a variable without a value, an empty prompt
        st.error(escape_markdown(str(exc)), icon=":material/block:")
        return None
    params = spec.params.without("seed")
    cost = estimate_run(
        [
            RunPart(
                spec.model,
                count_message_tokens(messages),
                requests=2 * runs,
                replies=2 * runs,
                max_tokens=params.max_tokens,
            )
        ]
    )
    st.caption(
        f"{2 * runs} requests to {escape_markdown(spec.model)} with {escape_markdown(params.describe())}: "
        f"{runs} without a seed, then {runs} with seed {seed}. Estimated: {cost.describe()}"
    )
    if params.temperature == 0:
        st.info(
            "At temperature 0 the replies may be identical with or without a seed; the meter then says it "
            "cannot tell whether seed is honoured. Temperature 1 shows it.",
            icon=":material/info:",
        )
    return MeterRun(spec)


def run_stored_meter(store: Store, client, spec: MeterSpec, keys: PageKeys, *, workers: int) -> MeterResults:
    """Run the meter, storing each reply as it arrives, with a progress bar and Cancel (what finished is
    kept; the page's address names the stored run, so a reload reopens it)."""
    run_id = start_meter_run(store, spec)
    st.query_params["meter"] = run_id  # a reload, or a cancel, reopens this run from the store
    total = 2 * spec.runs
    bar = st.progress(0.0, text=f"0 of {total} replies")
    cancel = threading.Event()
    cancel_button(cancel, keys)
    arrived = []

    def on_reply(reply) -> None:
        save_reply(store, run_id, reply)
        arrived.append(reply)
        bar.progress(len(arrived) / total, text=f"{len(arrived)} of {total} replies")

    finished = False
    try:
        report = run_meter(client, spec, max_workers=workers, cancel=cancel, on_reply=on_reply)
        finished = not cancel.is_set()
    finally:
        finish_meter_run(store, run_id, cancelled=not finished)
    return MeterResults(report, run_id, finished=finished)


def _arms_table(results: MeterResults, keys: PageKeys) -> None:
    report = results.report

    def column(arm: Arm) -> list:
        share = arm.identical_share
        return [
            arm.replies,
            f"{arm.identical} of {arm.replies}" + (f" ({share:.0%})" if share is not None else ""),
            arm.distinct,
            ", ".join(arm.fingerprints) or None,
            arm.errors,
        ]

    frame = pd.DataFrame(
        {
            "": [
                "Whole replies",
                "Byte-identical",
                "Different replies",
                "system_fingerprint",
                "Failed or cut",
            ],
            f"With seed {report.spec.seed}": column(report.seeded),
            "Without a seed": column(report.unseeded),
        }
    )
    shown = frame.map(lambda v: None if v is None else str(v))  # one text column each; "—" for none
    table(shown, key=keys("arms"))


def _divergence(title: str, where: Divergence) -> None:
    st.markdown(
        f"**{title}**: replies {where.first} and {where.second} first differ at character "
        f"{where.char_index:,} (token {where.token_index:,})."
    )
    if where.shared:
        st.caption("Both read, just before:")
        st.code("…" + where.shared, language=None, wrap_lines=True)
    left, right = st.columns(2)
    left.caption(f"Reply {where.first} (the most common text) goes on")
    left.code(where.first_text or "(the reply ends here)", language=None, wrap_lines=True)
    right.caption(f"Reply {where.second} goes on")
    right.code(where.second_text or "(the reply ends here)", language=None, wrap_lines=True)


def meter_results(results: MeterResults, keys: PageKeys) -> None:
    """The verdict, both halves side by side, where the replies first differ, and every reply."""
    report = results.report
    if not results.finished:
        st.warning(
            f"{results.stopped}: {len(report.replies)} of {2 * report.spec.runs} replies finished and are "
            "kept below.",
            icon=":material/cancel:",
        )
    spec = report.spec
    question = next((m.get("content") or "" for m in reversed(spec.messages) if m.get("role") == "user"), "")
    question = " ".join(str(question).split())
    st.caption(
        f"Run {escape_markdown(results.run_id or '')}: “{escape_markdown(question[:120])}” sent {spec.runs} times "
        f"without a seed and {spec.runs} times with seed {spec.seed} to {escape_markdown(spec.model)}, with "
        f"{escape_markdown(spec.params.without('seed').describe())}."
    )
    sentence = report.verdict[:1].upper() + report.verdict[1:]
    {True: st.success, False: st.warning}.get(report.seed_honoured, st.info)(escape_markdown(sentence))
    _arms_table(results, keys)
    for arm, title in (
        (report.unseeded, "Without a seed"),
        (report.seeded, f"With seed {report.spec.seed}"),
    ):
        if arm.divergence is not None:
            _divergence(title, arm.divergence)
    st.caption(
        "Token positions count o200k_base tokens: for another model's tokenizer they place the difference "
        "roughly; the character position is exact."
    )
    frame = meter_frame(report)
    table_with_csv(
        frame[list(HEADINGS)].rename(columns=HEADINGS),
        lambda: csv_bytes(frame),
        keys.child("replies"),
        label="Download replies CSV",
        file_name=f"determinism-{results.run_id or 'run'}.csv",
    )
