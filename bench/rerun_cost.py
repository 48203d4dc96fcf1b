"""What a long conversation costs the chat page on every rerun: 1,000 stored messages vs 10, per depth.

Every widget touch reruns the page from the top, so its cost with a long history is paid on each click.
For each context depth measured — 10 (the page's default) and "all" (the whole history goes with every
request) — two conversations are written to a temporary database (CHATLAB_DB) the way the app writes
them: alternating user/assistant messages of ~300 characters, replies with usage, timings, cost and the
request record at that depth (with "all", a reply's record holds every message before it). Each is
opened in Streamlit's AppTest (app.py routing to the chat page, which reopens the conversation at its
depth) and reruns are timed, alternating small and big after one warm-up run each. The fake OpenAI
server answers the model list call.

The figure is the process's CPU time per rerun (the script runs in one of its threads): what a rerun
costs, whatever else the machine is doing. Wall-clock medians are printed beside it for reference; on a
machine shared with other work they swing far more than the page does.

    python bench/rerun_cost.py [--quick] [--breakdown]

--breakdown (printed anyway when over target) times the parts of the chat page on each conversation.
AppTest builds its element tree in-process; a browser session pays for serialisation instead, so the
figures are for the script run, not for what the browser draws.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench`, `chatlab` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import streamlit as st  # noqa: E402
import streamlit.logger  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from bench.common import (  # noqa: E402
    ROOT,
    BenchResult,
    fake_server,
    median,
    print_results,
    ratio_result,
    timed,
)
from chatlab.params import GenerationParams  # noqa: E402
from chatlab.prices import cost_usd  # noqa: E402
from chatlab.roles import load_roles_or_default, roles_path  # noqa: E402
from chatlab.store import Message, Store  # noqa: E402
from chatlab.turn import TurnSettings, plan_context, plan_request  # noqa: E402

APP = ROOT / "app.py"
SMALL, BIG = 10, 1_000
MESSAGE_CHARS = 300
DEPTHS = {"10": 10, "all": None}  # label -> context depth (None: the whole history)
MODEL = "gpt-4o-mini"
LIMIT = 2.0
RUNS, QUICK_RUNS = 15, 5
TIMEOUT_S = 60

_WORDS = (
    "temperature top_p model answer token prompt context window sample creative focused reply request "
    "the a of to and in is that it for with as on be this are by can more less value higher lower "
    "system role message history usage cost latency stream chunk server parameter setting result"
).split()


def prose(rng: random.Random, chars: int = MESSAGE_CHARS) -> str:
    """About `chars` characters of sentences (varied, so nothing compresses or caches unusually well)."""
    out = ""
    while len(out) < chars:
        sentence = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(5, 14)))
        out += sentence[0].upper() + sentence[1:] + rng.choice([". ", ". ", ", ", "? "])
    return out[:chars].rstrip() + "."


def fill_conversation(store: Store, messages: int, seed: int, depth: int | None = 10) -> str:
    """A conversation of `messages` alternating user/assistant rows at context `depth`, as send_turn would
    have left it."""
    rng = random.Random(seed)
    role = load_roles_or_default(roles_path())[0][0]
    settings = TurnSettings(
        model=MODEL,
        params=GenerationParams(temperature=0.7),
        context_depth=depth,
        role_name=role.name,
        system_prompt=role.system,
        endpoint_name="environment",
    )
    cid = store.create_conversation(
        title=f"Benchmark: {messages} messages, depth {depth}",
        model=MODEL,
        role_name=role.name,
        system_prompt=role.system,
    )
    start = datetime(2026, 11, 1, tzinfo=UTC)
    history: list[Message] = []  # only what plan_context reads: role, content, choice, status
    rows: list[dict] = []
    for i in range(messages // 2):
        turn = i + 1
        user_text = prose(rng)
        stamp = (start + timedelta(minutes=2 * i)).isoformat(timespec="milliseconds")
        rows.append({"role": "user", "content": user_text, "turn": turn, "created_at": stamp, "model": MODEL})
        window = plan_context(history, settings, user_text)
        reply = prose(rng)
        prompt_tokens, completion_tokens = window.split.total, 60 + rng.randint(0, 40)
        duration = round(0.8 + rng.random() * 2, 3)
        rows.append(
            {
                "role": "assistant",
                "content": reply,
                "turn": turn,
                "created_at": (start + timedelta(minutes=2 * i + 1)).isoformat(timespec="milliseconds"),
                "role_name": settings.role_name,
                "system_prompt": settings.system_prompt,
                "model": MODEL,
                "endpoint_name": settings.endpoint_name,
                "params": settings.params.as_dict(),
                "context_depth": depth,
                "request": plan_request(settings, window).body,
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "ttft_s": round(0.2 + rng.random() * 0.5, 3),
                "duration_s": duration,
                "tokens_per_s": round(completion_tokens / duration, 1),
                "cost_usd": cost_usd(MODEL, prompt_tokens, completion_tokens),
                "finish_reason": "stop",
                "status": "complete",
                "response_id": f"chatcmpl-bench-{seed}-{turn}",
                "system_fingerprint": "fp_bench",
            }
        )
        for r in rows[-2:]:
            history.append(_history_message(r))
    store.add_messages_bulk(cid, rows)
    return cid


def _history_message(row: dict) -> Message:
    return Message(
        id=0,
        conversation_id="",
        seq=0,
        turn=row["turn"],
        role=row["role"],
        content=row["content"],
        created_at="",
        updated_at="",
    )


_BARE_MODE_WARNINGS = ("No runtime found", "missing ScriptRunContext")
_quieted = False


def quiet_bare_mode_warnings() -> None:
    """Drop the warnings caches and session state log when used outside `streamlit run` (expected here).

    A filter, not a log level: AppTest re-reads the config, which resets Streamlit's levels.
    """
    global _quieted
    if _quieted:
        return
    _quieted = True
    for name in (
        "streamlit.runtime.caching.cache_data_api",
        "streamlit.runtime.caching.cache_resource_api",
        "streamlit.runtime.scriptrunner_utils.script_run_context",
    ):
        streamlit.logger.get_logger(name).addFilter(
            lambda record: not any(text in record.getMessage() for text in _BARE_MODE_WARNINGS)
        )


@contextlib.contextmanager
def app_environment(db_path: Path) -> Iterator[dict[str, str]]:
    """The page's environment (fake endpoint, benchmark database) and fresh Streamlit caches; restored after."""
    quiet_bare_mode_warnings()
    with fake_server() as fake:
        values = {
            "CHATLAB_DB": str(db_path),
            "OPENAI_BASE_URL": fake.base_url,
            "OPENAI_API_KEY": "sk-bench-0000",
            "CHATLAB_MAX_RETRIES": "0",
        }
        saved = {name: os.environ.get(name) for name in values}
        os.environ.update(values)
        # The store and model list are process-wide caches: drop any built for another database.
        st.cache_resource.clear()
        st.cache_data.clear()
        try:
            yield values
        finally:
            st.cache_resource.clear()
            st.cache_data.clear()
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def open_page(cid: str) -> AppTest:
    """AppTest of app.py with the conversation in the URL, after its first (warm-up) run."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.query_params["c"] = cid
    at.run()
    _check(at)
    return at


def _check(at: AppTest) -> None:
    if at.exception:
        raise RuntimeError(f"app.py raised: {[e.message for e in at.exception]}")


def _rerun(at: AppTest) -> Callable[[], None]:
    def rerun() -> None:
        at.run()
        _check(at)

    return rerun


def setup(tmp: str) -> tuple[Path, dict[str, tuple[str, str]]]:
    """The benchmark database: depth label -> (small conversation id, big conversation id)."""
    db_path = Path(tmp) / "rerun.sqlite3"
    store = Store(db_path)
    conversations = {
        label: (fill_conversation(store, SMALL, 1, depth), fill_conversation(store, BIG, 2, depth))
        for label, depth in DEPTHS.items()
    }
    store.close()
    return db_path, conversations


def _measure(pages: dict[str, AppTest], runs: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """CPU and wall seconds of each rerun, the pages taking turns (small, big, small, …) so drift hits both."""
    cpu: dict[str, list[float]] = {name: [] for name in pages}
    wall: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(runs):
        for name, at in pages.items():
            gc.collect()
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            _rerun(at)()
            cpu[name].append(time.process_time() - cpu_start)
            wall[name].append(time.perf_counter() - wall_start)
    return cpu, wall


def run(quick: bool = False) -> list[BenchResult]:
    """Median rerun time of the chat page with 1,000 messages vs 10 at each depth, and their ratios."""
    runs = QUICK_RUNS if quick else RUNS
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        db_path, conversations = setup(tmp)
        with app_environment(db_path):
            for label, (small, big) in conversations.items():
                pages = {"small": open_page(small), "big": open_page(big)}
                cpu, wall = _measure(pages, runs)
                ms = {name: [t * 1000 for t in values] for name, values in cpu.items()}
                results.append(
                    ratio_result(
                        f"rerun: chat {BIG:,} vs {SMALL} messages, depth {label}",
                        median(ms["big"]),
                        median(ms["small"]),
                        LIMIT,
                        "ms CPU",
                        f"median CPU time of {runs} alternating AppTest reruns (big "
                        f"{min(ms['big']):,.0f}–{max(ms['big']):,.0f} ms, small {min(ms['small']):,.0f}–"
                        f"{max(ms['small']):,.0f} ms); wall-clock medians: big "
                        f"{median(wall['big']) * 1000:,.0f} ms, small {median(wall['small']) * 1000:,.0f} ms",
                    )
                )
    return results


# ---- where the time goes ------------------------------------------------------------------------

# (label, module, attribute): functions the chat page calls, wrapped with a timer while the breakdown
# runs. The page re-imports them on every run, so patching the module attribute reaches it; a part the
# build does not have is skipped.
_PARTS = [
    ("store.messages", "chatlab.store", "Store.messages"),  # split: whole history vs last N
    ("render_history (draw messages)", "chatlab_ui.chat_view", "render_history"),
    ("usage_table (table + totals)", "chatlab_ui.usage_view", "usage_table"),
    ("plan_context (preview window)", "chatlab.turn", "plan_context"),
    ("request_preview (JSON + tokens)", "chatlab_ui.request_preview", "request_preview"),
    ("chat_sidebar", "chatlab_ui.chat.sidebar", "chat_sidebar"),
    ("transcript downloads", "chatlab_ui.chat.transcript_panel", "downloads"),
]


@contextlib.contextmanager
def _timers() -> Iterator[dict[str, list[float]]]:
    """Wrap each part with a CPU timer; yields label -> seconds of every call."""
    import importlib

    spent: dict[str, list[float]] = defaultdict(list)
    restore = []
    for label, module_name, attribute in _PARTS:
        try:
            owner = importlib.import_module(module_name)
            *path, name = attribute.split(".")
            for part in path:
                owner = getattr(owner, part)
            original = getattr(owner, name)
        except (ImportError, AttributeError):
            continue

        def timed(*args, _original=original, _label=label, **kwargs):
            if _label == "store.messages":
                last = kwargs.get("last")
                _label += " (whole history)" if last is None else f" (last {last})"
            start = time.thread_time()  # the part runs in the script's thread: its CPU time
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_label].append(time.thread_time() - start)

        setattr(owner, name, timed)
        restore.append((owner, name, original))
    try:
        yield spent
    finally:
        for owner, name, original in reversed(restore):
            setattr(owner, name, original)


def breakdown(runs: int = 5) -> str:
    """Per rerun: how long each part of the chat page takes with the small and the big conversation."""
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        db_path, conversations = setup(tmp)
        with app_environment(db_path):
            for depth, (small, big) in conversations.items():
                for label, cid in (("small", small), ("big", big)):
                    at = open_page(cid)
                    with _timers() as spent:
                        whole = [timed(_rerun(at), time.process_time) for _ in range(runs)]
                    lines.append(
                        f"{label}, depth {depth}: rerun median {median(whole) * 1000:,.1f} ms CPU; per rerun:"
                    )
                    for part, calls in spent.items():
                        per_run = sum(calls) / runs * 1000
                        lines.append(f"  {part:<34} {per_run:8.1f} ms  ({len(calls) / runs:g} calls)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RUNS} reruns each instead of {RUNS}")
    parser.add_argument("--breakdown", action="store_true", help="time the parts of app.py as well")
    args = parser.parse_args(argv)
    results = run(quick=args.quick)
    print_results(
        results, title="Chat page rerun cost per context depth (AppTest, same process, same database)"
    )
    if args.breakdown or not all(r.passed for r in results):
        print("\nWhere a rerun's time goes (parts of the chat page, timed inside the script run):")
        print(breakdown(QUICK_RUNS if args.quick else 5))
    return 0  # a report, not a gate


if __name__ == "__main__":
    sys.exit(main())
