"""The noise floor: the baseline pane run against an identical copy of itself (chatlab.samples.a_versus_a),
fresh samples of the same message with the same context, to see how large a difference chance alone
produces per metric (chatlab.stats.noise_floor).

The run is a comparison of its own (History lists it, titled "Noise floor …"), named in the URL
(`?noise=<id>`) so a reload still shows it; it runs on its own like any send (chatlab.live).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from chatlab.client import ChatClient
from chatlab.compare import PaneSpec, create_comparison
from chatlab.events import StreamDone
from chatlab.live import LIVE
from chatlab.prices import format_usd
from chatlab.samples import a_versus_a, latest_turn, send_samples, statistics
from chatlab.stats import format_difference, metric_named, noise_floor
from chatlab.store import Message, Store
from chatlab_ui.compare.sending import live_key, running_send, stop_send
from chatlab_ui.compare.state import CompareSend, Sampling
from chatlab_ui.compare.statistics_view import RELATIVE, turn_stamp
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.tables import table

# What a copied message keeps: the thread as the baseline pane had it before the measured turn.
_COPIED = ("role", "content", "turn", "status", "reasoning", "model", "role_name", "system_prompt")


def _thread_before(store: Store, conversation_id: str, turn: int) -> tuple[list[Message], Message | None]:
    """The pane's thread before `turn` (each turn's message and the reply it went on from), and the turn's
    own user message."""
    messages = store.messages(conversation_id)
    earlier = [m for m in messages if m.turn < turn and (m.role == "user" or m.choice_index == 0)]
    user = next((m for m in messages if m.turn == turn and m.role == "user"), None)
    return earlier, user


def start_noise_floor(
    store: Store,
    client: ChatClient,
    comparison_id: str,
    pane: PaneSpec,
    pane_index: int,
    turn: int,
    samples: int,
    sampling: Sampling,
) -> str:
    """Create the A-vs-A comparison (with the baseline's thread copied into both panes) and start its
    samples; returns its id."""
    conversation = store.comparison_panes(comparison_id)[pane_index]
    earlier, user = _thread_before(store, conversation.id, turn)
    if user is None:
        raise ValueError(f"Turn {turn} of this pane has no message to send again.")
    panes = a_versus_a(pane)
    noise_id = create_comparison(store, panes, title=f"Noise floor (A vs A) of {pane.label}: {user.content}")
    rows = [{name: getattr(m, name) for name in _COPIED} | {"params": m.params} for m in earlier]
    for copy in store.comparison_panes(noise_id):
        if rows:
            store.add_messages_bulk(copy.id, rows)
    what = CompareSend(user.content, (0, 1), (turn, turn), samples)
    LIVE.start(
        live_key(noise_id),
        lambda: send_samples(
            store,
            [client, client],
            noise_id,
            panes,
            user.content,
            samples=samples,
            use_n=sampling.use_n,
            max_workers=sampling.max_workers,
            cancel=what.cancel,
        ),
        what=what,
    )
    return noise_id


@st.cache_data(max_entries=8, show_spinner=False)
def _floor(_store: Store, store_url: str, noise_id: str, stamp: tuple):
    return noise_floor(statistics(_store, noise_id), RELATIVE)


def _follow(noise_id: str, keys: PageKeys) -> None:
    """Progress of a noise-floor run still arriving, with Cancel; returns when it has ended."""
    reply = running_send(noise_id)
    if reply is None:
        return
    send: CompareSend = reply.what
    st.button("Cancel the noise floor run", key=keys("noise", "cancel"), on_click=stop_send, args=(reply,))
    bar = st.progress(0.0, text="Measuring the noise floor…")
    done = 0
    for tagged in reply.follow():
        if isinstance(tagged.event, StreamDone):  # one request's samples have finished
            done += len(tagged.event.finish_reasons) or 1
            bar.progress(min(1.0, done / send.total), text=f"Noise floor: {done} of {send.total} samples")
    st.rerun()


def _cost(store: Store, conversation_id: str, turn: int) -> str:
    """What the baseline pane's samples of this turn cost: the run costs about twice that."""
    replies = [m for m in store.reply_metrics(conversation_id) if m.turn == turn]
    costs = [m.cost_usd for m in replies]
    tokens = sum((m.prompt_tokens or 0) + (m.completion_tokens or 0) for m in replies)
    if costs and all(c is not None for c in costs):
        return f"about {format_usd(2 * sum(costs))} ({2 * tokens:,} tokens)"
    return f"about {2 * tokens:,} tokens (no price known for this model)"


def noise_floor_section(
    store: Store,
    client: ChatClient,
    comparison_id: str,
    panes: list[PaneSpec],
    turn: int,
    baseline: int,
    sampling: Sampling,
    keys: PageKeys,
) -> None:
    """The noise floor button (with what it costs), and the last run's findings."""
    st.markdown("**Noise floor** — how large a difference appears by chance alone")
    conversation = store.comparison_panes(comparison_id)[baseline]
    samples = max(2, sum(1 for m in store.reply_metrics(conversation.id) if m.turn == turn))
    label = panes[baseline].label
    noise_id = st.query_params.get("noise")
    running = running_send(noise_id) if noise_id else None
    if st.button(
        f"Measure the noise floor: {label} against itself, {samples} samples each",
        key=keys("noise", "run"),
        icon=":material/equalizer:",
        disabled=running is not None,
        help=f"Sends this turn's message again with {label}'s settings and thread, twice {samples} times, "
        f"and compares the two sets: {_cost(store, conversation.id, turn)}.",
    ):
        noise_id = start_noise_floor(
            store, client, comparison_id, panes[baseline], baseline, turn, samples, sampling
        )
        st.query_params["noise"] = noise_id
    if not noise_id or store.get_comparison(noise_id) is None:
        st.caption(
            f"Runs {label} twice with identical settings and compares the two: a difference between panes "
            "smaller than this is not worth believing, however small its p-value."
        )
        return
    _follow(noise_id, keys)
    noise_turn = latest_turn(store, noise_id)
    floor = (
        _floor(store, store.url, noise_id, turn_stamp(store, noise_id, noise_turn)) if noise_turn else None
    )
    if floor is None or floor.empty:
        st.caption("The noise floor run has no finished samples to compare.")
        return
    st.caption(f"From the run “{store.get_comparison(noise_id).title}” (History lists it).")
    st.markdown("\n".join(f"- {text}" for text in floor["summary"]))
    rows = []
    for _, r in floor.iterrows():
        metric = metric_named(r["metric"])
        chance = (
            None if pd.isna(r["floor"]) else "±" + format_difference(metric, float(r["floor"])).lstrip("+")
        )
        rows.append(
            {
                "Metric": metric.label,
                "Samples": f"{r['n_a']} and {r['n_b']}",
                "Chance difference up to": chance,
                "Of the mean": None if pd.isna(r["floor_relative"]) else 100 * float(r["floor_relative"]),
                f"Samples per pane for a {RELATIVE:.0%} difference": None
                if pd.isna(r["samples_needed"])
                else int(r["samples_needed"]),
            }
        )
    with st.expander("The noise floor as a table"):
        table(
            pd.DataFrame(rows),
            key=keys("noise", "table"),
            column_config={"Of the mean": st.column_config.NumberColumn(format="%.0f%%")},
        )
