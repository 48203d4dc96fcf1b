"""The history at scale: exporting a 10,000-message conversation, and searching 100,000 messages.

  export  CSV of one 10,000-message conversation the way the history page makes it — load (get_conversation
          + Store.messages), chatlab.transcript.to_dataframe, to_csv_bytes. Target ≤ 1 s. Printed beside a
          naive export: pandas read_sql of the messages table + DataFrame.to_csv.
  search  Store.search over 100,000 stored messages (1,000 conversations, English and Chinese), median over
          English and Chinese queries — common and rare words, 2-character Chinese (the short-query path)
          included. Target ≤ 100 ms. Printed beside a naive LIKE '%q%' scan of the same tables.
  history list  Store.conversation_summaries for 500 conversations, beside the same totals gathered one
          conversation at a time (list_conversations + reply_metrics + count_messages). Target: faster.
Data is written straight into the tables with executemany in one transaction (the search index is built
by its triggers, as for any insert), then ANALYZEd (PostgreSQL: VACUUM ANALYZE) as a live database would be. Runs on a temporary SQLite file, or with --postgres on a throwaway PostgreSQL server
(Debian's binaries, as the tests use), or on --db-url (an empty database: the bench fills it).

    python bench/history_scale.py [--quick] [--postgres | --db-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench`, `chatlab` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.common import BenchResult, alternate, median, print_results, ratio_result  # noqa: E402
from chatlab.csvfile import to_csv_bytes  # noqa: E402
from chatlab.store import Store  # noqa: E402
from chatlab.store.db import writer  # noqa: E402
from chatlab.transcript import to_dataframe  # noqa: E402

EXPORT_MESSAGES = 10_000
SEARCH_MESSAGES, QUICK_SEARCH_MESSAGES = 100_000, 20_000
PER_CONVERSATION = 100
EXPORT_TARGET_S, SEARCH_TARGET_MS = 1.0, 100.0
SUMMARIES = 500  # conversations in the history list, as the history page asks for
ROUNDS, QUICK_ROUNDS = 5, 2
MODEL = "gpt-4o-mini"

_WORDS = (
    "the a keeper light sea storm night ship harbour rope lamp oil stairs window wave rock gull morning "
    "letter boat island wind salt fog bell quiet long old small bright cold tide model answer prompt "
    "temperature token context window reply question summary weather sunny rain tomorrow today"
).split()
_CHINESE = (
    "今天 天气 很好 明天 下雨 我们 学习 模型 参数 温度 回答 问题 数据 世界 朋友 时间 工作 灯塔 "
    "大海 风暴 夜晚 船只 港口 早上 信件 小岛 安静 明亮 寒冷 潮水 上下文 窗口 总结 阳光"
).split()
# (query, how often it is planted in a message): common words need no planting.
RARE = {"quasar": 0.0005, "量子纠缠": 0.0005, "鲸鱼": 0.0005}
# Common and rare, English and Chinese, 2 characters (the scan path) and more; "snowfall" is in no message.
QUERIES = ["harbour rope", "storm night", "quasar", "snowfall", "天气", "天气很好", "量子纠缠", "鲸鱼"]


def prose(rng: random.Random, chars: int) -> str:
    """About `chars` characters, English or Chinese, now and then carrying a rare word."""
    if rng.random() < 0.5:
        out = ""
        while len(out) < chars:
            out += " ".join(rng.choice(_WORDS) for _ in range(rng.randint(5, 14))) + rng.choice([". ", "? "])
    else:
        out = ""
        while len(out) < chars // 2:  # a Chinese character carries about two English ones' meaning
            out += "".join(rng.choice(_CHINESE) for _ in range(rng.randint(4, 10))) + rng.choice(["。", "，"])
    for word, rate in RARE.items():
        if rng.random() < rate:
            cut = rng.randrange(len(out))
            out = out[:cut] + f" {word} " + out[cut:]
    return out.strip()


def _message_rows(rng: random.Random, cid: str, count: int, start: datetime) -> list[dict]:
    """Alternating user/assistant rows as send_turn leaves them (replies with usage, params, request)."""
    rows = []
    for i in range(count):
        stamp = (start + timedelta(seconds=30 * i)).isoformat(timespec="milliseconds")
        reply = i % 2 == 1
        content = prose(rng, 600 if reply else 160)
        rows.append(
            {
                "conversation_id": cid,
                "seq": i + 1,
                "turn": i // 2 + 1,
                "role": "assistant" if reply else "user",
                "content": content,
                "model": MODEL,
                "params_json": json.dumps({"temperature": 0.7, "max_tokens": 512}) if reply else "{}",
                "request_json": json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "…"}]})
                if reply
                else None,
                "prompt_tokens": 200 + i if reply else None,
                "completion_tokens": 150 if reply else None,
                "cost_usd": 0.00012 if reply else None,
                "ttft_s": 0.3 if reply else None,
                "duration_s": 2.0 if reply else None,
                "finish_reason": "stop" if reply else None,
                "status": "complete",
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    return rows


def fill(
    store: Store, conversations: int, per_conversation: int, seed: int, title: str = "chat"
) -> list[str]:
    """`conversations` conversations of `per_conversation` messages, in one transaction; returns their ids."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids, convs, messages = [], [], []
    for n in range(conversations):
        cid = f"{title}-{seed}-{n:05d}"
        began = start + timedelta(hours=n)
        stamp = began.isoformat(timespec="milliseconds")
        ids.append(cid)
        convs.append({"id": cid, "title": f"{title} {n}", "kind": "chat", "model": MODEL, "at": stamp})
        messages += _message_rows(rng, cid, per_conversation, began)
    columns = list(messages[0])
    with writer(store.engine).begin() as db:
        db.execute(
            text(
                "INSERT INTO conversations (id, title, kind, model, created_at, updated_at)"
                " VALUES (:id, :title, :kind, :model, :at, :at)"
            ),
            convs,
        )
        db.execute(
            text(
                f"INSERT INTO messages ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
            ),
            messages,
        )
    return ids


def settle(store: Store) -> None:
    """What a live database does soon after a bulk load: gather statistics (PostgreSQL: and vacuum)."""
    # On PostgreSQL, autovacuum wakes after a bulk insert; left to itself it may run in the middle of the
    # timings and change plans there (one run saw 138 ms instead of ~5 ms). Vacuuming now pre-empts it.
    statement = "VACUUM ANALYZE" if store.dialect == "postgresql" else "ANALYZE"
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        db.exec_driver_sql(statement)


def export_store(store: Store, cid: str) -> bytes:
    """What the history page's CSV download does."""
    return to_csv_bytes(to_dataframe(store.get_conversation(cid), store.messages(cid)))


def export_naive(store: Store, cid: str) -> bytes:
    with store.engine.connect() as db:
        df = pd.read_sql(
            text("SELECT * FROM messages WHERE conversation_id = :cid ORDER BY seq"), db, params={"cid": cid}
        )
    return df.to_csv(index=False).encode("utf-8")


def summaries_naive(store: Store, limit: int) -> list[tuple]:
    """The history list without the aggregate query: each conversation's replies read one by one."""
    rows = []
    for conversation in store.list_conversations(limit=limit):
        replies = store.reply_metrics(conversation.id)
        prompt = sum(r.prompt_tokens or 0 for r in replies)
        completion = sum(r.completion_tokens or 0 for r in replies)
        costs = [r.cost_usd for r in replies if r.cost_usd is not None]
        rows.append((conversation.id, store.count_messages(conversation.id), prompt, completion, sum(costs)))
    return rows


def search_naive(store: Store, query: str, limit: int = 50) -> list:
    """Without an index: every message's text scanned for the substring."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = "ILIKE" if store.dialect == "postgresql" else "LIKE"
    with store.engine.connect() as db:
        return db.execute(
            text(
                "SELECT m.conversation_id, c.title, m.id, m.seq, m.role, m.content, m.created_at"
                " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
                f" WHERE m.content {like} :pattern ESCAPE '\\' ORDER BY m.id DESC LIMIT :limit"
            ),
            {"pattern": f"%{escaped}%", "limit": limit},
        ).all()


@contextlib.contextmanager
def open_store(postgres: bool, db_url: str | None) -> Iterator[Store]:
    if db_url:
        store = Store(url=db_url)
        yield store
        store.close()
        return
    if postgres:
        from tests.postgres_server import PostgresServer, find_bin_dir

        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise SystemExit("PostgreSQL is not installed: scripts/install.sh --browser installs it")
        with PostgresServer(bin_dir) as server:
            store = Store(url=server.url(server.create_database()))
            yield store
            store.close()
        return
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "history.sqlite3")
        yield store
        store.close()


def run(quick: bool = False, postgres: bool = False, db_url: str | None = None) -> list[BenchResult]:
    rounds = QUICK_ROUNDS if quick else ROUNDS
    total = QUICK_SEARCH_MESSAGES if quick else SEARCH_MESSAGES
    with open_store(postgres, db_url) as store:
        backend = store.dialect
        started = time.perf_counter()
        (export_id,) = fill(store, 1, EXPORT_MESSAGES, seed=1, title="export")
        fill(store, (total - EXPORT_MESSAGES) // PER_CONVERSATION, PER_CONVERSATION, seed=2)
        settle(store)
        fill_s = time.perf_counter() - started
        stored = store.count_all_messages()

        times = alternate(
            {
                "store": lambda: export_store(store, export_id),
                "naive": lambda: export_naive(store, export_id),
            },
            rounds,
        )
        export_s, naive_s = median(times["store"]), median(times["naive"])
        size_mb = len(export_store(store, export_id)) / 1e6
        export = BenchResult(
            name=f"export CSV, {EXPORT_MESSAGES:,} messages ({backend})",
            figure=export_s * 1000,
            baseline=naive_s * 1000,
            ratio=export_s / naive_s,
            target=f"≤ {EXPORT_TARGET_S * 1000:g} ms",
            passed=export_s <= EXPORT_TARGET_S,
            unit="ms",
            note=f"{size_mb:.1f} MB of CSV; baseline: pandas read_sql + to_csv (no typed columns, no "
            "formula escaping, no parameter columns)",
        )

        per_query, per_query_naive, hit_counts = [], [], []
        for query in QUERIES:
            runs = alternate(
                {"store": lambda q=query: store.search(q), "naive": lambda q=query: search_naive(store, q)},
                rounds,
            )
            per_query.append(median(runs["store"]) * 1000)
            per_query_naive.append(median(runs["naive"]) * 1000)
            hit_counts.append(len(store.search(query)))
        search_ms, naive_ms = median(per_query), median(per_query_naive)
        detail = ", ".join(
            f"{q} {ms:.1f}/{naive:.1f} ms ({hits} hits)"
            for q, ms, naive, hits in zip(QUERIES, per_query, per_query_naive, hit_counts, strict=True)
        )
        search = BenchResult(
            name=f"search {stored:,} messages ({backend})",
            figure=search_ms,
            baseline=naive_ms,
            ratio=search_ms / naive_ms,
            target=f"≤ {SEARCH_TARGET_MS:g} ms",
            passed=search_ms <= SEARCH_TARGET_MS,
            unit="ms",
            note=f"median over {len(QUERIES)} queries, limit 50 (store/naive): {detail}; "
            f"filling the database took {fill_s:.1f} s",
        )
        times = alternate(
            {
                "store": lambda: store.conversation_summaries(limit=SUMMARIES),
                "naive": lambda: summaries_naive(store, SUMMARIES),
            },
            rounds,
        )
        summaries = ratio_result(
            f"history list, {SUMMARIES} conversations ({backend})",
            median(times["store"]) * 1000,
            median(times["naive"]) * 1000,
            1.0,
            "ms",
            note="Store.conversation_summaries (one aggregate query) vs list_conversations + reply_metrics "
            "and count_messages per conversation",
        )
    return [export, search, summaries]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_SEARCH_MESSAGES:,} messages, fewer rounds"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", action="store_true", help="on a throwaway PostgreSQL server")
    where.add_argument("--db-url", help="on this (empty) database instead of a temporary SQLite file")
    args = parser.parse_args()
    print_results(run(args.quick, args.postgres, args.db_url), title="History at scale")


if __name__ == "__main__":
    main()
