"""Full-text search, snippets and the history summaries, on SQLite and on PostgreSQL."""

import pytest

from chatlab.store import STREAMING, Store
from chatlab.store.search import snippet
from tests.old_database import old_database


def _chat(store, title, *texts, kind="chat", **meta):
    cid = store.create_conversation(title, kind=kind, **meta)
    for n, text in enumerate(texts):
        store.add_message(cid, "user" if n % 2 == 0 else "assistant", text)
    return cid


def test_chinese_and_english_are_found_with_the_hit_marked(store):
    weather = _chat(store, "天气", "今天天气很好", "Is it SUNNY today? Yes, sunny all day.")
    _chat(store, "other", "明天下雨", "rain tomorrow")

    two_chars = store.search("天气")  # shorter than a trigram: SQLite scans
    assert [(h.conversation_id, h.conversation_title, h.seq, h.role) for h in two_chars] == [
        (weather, "天气", 1, "user")
    ]
    assert two_chars[0].snippet == "今天[[天气]]很好"
    assert [h.snippet for h in store.search("天气很好")] == ["今天[[天气很好]]"]
    sunny = store.search("sunny")
    assert [h.seq for h in sunny] == [2]
    assert sunny[0].snippet == "Is it [[SUNNY]] today? Yes, [[sunny]] all day."  # any case, text's own case
    assert store.search("unn")[0].message_id == sunny[0].message_id  # a substring, not only a word
    assert store.search("雪") == [] and store.search("snow") == []


def test_hits_come_newest_first_up_to_the_limit(store):
    cid = _chat(store, "many", *[f"note {n} about tea" for n in range(12)])
    hits = store.search("about tea", limit=5)
    assert [h.seq for h in hits] == [12, 11, 10, 9, 8]
    assert {h.conversation_id for h in hits} == {cid} and all(h.created_at for h in hits)


def test_kind_keeps_one_kind_of_conversation(store):
    chat = _chat(store, "chat", "a shared phrase here")
    comparison = store.create_comparison("cmp")
    pane = _chat(
        store, "pane", "a shared phrase there", kind="compare", comparison_id=comparison, pane_index=0
    )
    assert {h.conversation_id for h in store.search("shared phrase")} == {chat, pane}
    assert [h.conversation_id for h in store.search("shared phrase", kind="chat")] == [chat]
    assert [h.conversation_id for h in store.search("shared phrase", kind="compare")] == [pane]
    assert store.search("shared phrase", kind="sweep") == []


QUERIES = ['"', '""', '"""', "AND OR", "OR", "NOT x", "*", "a*", "NEAR(a b)", "'", "';--", "\\", "%", "_",
           "(", ")", "^", "col:x", "{a b}", ":id", "$1", "%(x)s", "?", "a\"b'c"]  # fmt: skip


@pytest.mark.parametrize("query", QUERIES)
def test_query_syntax_is_plain_text(store, query):
    cid = _chat(store, "syntax", f"before {query} after", "nothing special here")
    hits = store.search(query)
    assert [h.conversation_id for h in hits] == [cid] and len(hits) == 1
    assert f"[[{query}]]" in hits[0].snippet
    assert [s.id for s in store.conversation_summaries(query=query)] == [cid]


def test_like_wildcards_match_only_themselves(store):
    _chat(store, "w", "100% sure", "snake_case", "plain words")
    assert [h.snippet for h in store.search("%")] == ["100[[%]] sure"]
    assert [h.snippet for h in store.search("_")] == ["snake[[_]]case"]
    assert [h.snippet for h in store.search("0% s")] == ["10[[0% s]]ure"]


def test_blank_queries_find_nothing(store):
    _chat(store, "x", "text")
    assert store.search("") == [] and store.search("   ") == []
    assert len(store.conversation_summaries(query="  ")) == 1  # a blank query filters nothing


def test_the_index_follows_edits_deletes_and_streaming(store):
    cid = store.create_conversation("live")
    reply = store.add_message(cid, "assistant", "", status=STREAMING)
    store.update_message(reply, content="a growing answer about lighthouses")
    assert store.search("lighthouse") == []  # not indexed while it streams
    store.update_message(reply, content="a finished answer about lighthouses", status="complete")
    assert [h.message_id for h in store.search("lighthouse")] == [reply]
    store.update_message(reply, content="rewritten about harbours")
    assert store.search("lighthouse") == [] and len(store.search("harbours")) == 1
    store.update_message(reply, status="stopped")  # same text, new status: still found once
    assert len(store.search("harbours")) == 1
    kept = store.add_message(cid, "user", "harbours again")
    store.delete_messages([reply])
    assert [h.message_id for h in store.search("harbours")] == [kept]
    store.delete_conversation(cid)
    assert store.search("harbours") == [] and store.search("ha") == []


def test_an_interrupted_reply_becomes_searchable(store):
    cid = store.create_conversation("x")
    store.add_message(cid, "assistant", "cut off mid sentence", status=STREAMING)
    assert store.interrupt_abandoned_replies() == 1
    assert [h.conversation_id for h in store.search("mid sentence")] == [cid]


def test_an_existing_database_is_indexed_when_it_upgrades(db_url):
    """A database made before search existed (m001 and m002 only) gains the index, back-filled."""
    with old_database(db_url, migrations=2) as db:
        db.exec_driver_sql(
            "INSERT INTO conversations (id, title, created_at, updated_at) VALUES ('old', 'kept', 'x', 'x')"
        )
        for seq, (content, status) in enumerate(
            [("今天天气很好", "complete"), ("still 天气 streaming", STREAMING)], 1
        ):
            db.exec_driver_sql(
                "INSERT INTO messages (conversation_id, seq, turn, role, content, status, created_at, updated_at)"
                f" VALUES ('old', {seq}, 1, 'user', '{content}', '{status}', 'x', 'x')"
            )
    store = Store(url=db_url)
    assert [h.seq for h in store.search("天气很")] == [1]
    assert [h.seq for h in store.search("天气")] == [1]
    assert store.interrupt_abandoned_replies() == 1
    assert [h.seq for h in store.search("天气")] == [2, 1]
    store.close()


def test_summaries_total_each_conversation(store):
    empty = store.create_conversation("empty", created_at="2026-01-01T00:00:00.000+00:00")
    unpriced = store.create_conversation("unpriced", model="local", role_name="Tutor")
    store.add_message(unpriced, "user", "q")
    store.add_message(unpriced, "assistant", "a", prompt_tokens=7, completion_tokens=3)
    priced = store.create_conversation("priced", model="gpt-4o-mini")
    store.add_message(priced, "user", "q1")
    store.add_message(priced, "assistant", "a1", prompt_tokens=10, completion_tokens=5, cost_usd=0.25)
    store.add_message(priced, "user", "q2")
    store.add_message(priced, "assistant", "a2", prompt_tokens=20, completion_tokens=8, cost_usd=0.125)
    store.add_message(priced, "assistant", "a3 (no usage reported)")
    free = store.create_conversation("free")
    store.add_message(free, "assistant", "x", prompt_tokens=1, completion_tokens=1, cost_usd=0.0)

    summaries = store.conversation_summaries()
    assert [s.id for s in summaries] == [free, priced, unpriced, empty]  # newest first
    by_id = {s.id: s for s in summaries}
    p = by_id[priced]
    assert (p.title, p.kind, p.model, p.message_count, p.prompt_tokens, p.completion_tokens) == (
        "priced", "chat", "gpt-4o-mini", 5, 30, 13
    )  # fmt: skip
    assert p.cost_usd == pytest.approx(0.375)
    u = by_id[unpriced]
    assert (u.role_name, u.message_count, u.prompt_tokens, u.completion_tokens, u.cost_usd) == (
        "Tutor",
        2,
        7,
        3,
        None,
    )
    e = by_id[empty]
    assert (e.message_count, e.prompt_tokens, e.completion_tokens, e.cost_usd) == (0, 0, 0, None)
    assert e.created_at == "2026-01-01T00:00:00.000+00:00" and e.comparison_id is None
    assert by_id[free].cost_usd == 0.0  # a free model costs $0, which is not "no price"
    assert len(store.conversation_summaries(limit=2)) == 2


def test_summaries_filter_by_kind_and_search(store):
    chat = _chat(store, "weather chat", "今天天气很好")
    comparison = store.create_comparison("cmp")
    pane = _chat(store, "pane", "天气 in a pane", kind="compare", comparison_id=comparison, pane_index=0)
    _chat(store, "code", "review my recursion")
    assert [s.id for s in store.conversation_summaries(kind="compare")] == [pane]
    assert store.conversation_summaries(kind="compare")[0].comparison_id == comparison
    assert [s.id for s in store.conversation_summaries(query="天气")] == [pane, chat]
    assert [s.id for s in store.conversation_summaries(query="天气", kind="chat")] == [chat]
    summary = store.conversation_summaries(query="天气很好")[0]
    assert (summary.id, summary.message_count) == (chat, 1)  # totals cover every message, not just hits


def test_rename_keeps_the_conversation_in_place(store):
    first = _chat(store, "first", "x")
    second = _chat(store, "second", "y")
    before = store.get_conversation(first)
    store.rename_conversation(first, "名字 renamed")
    after = store.get_conversation(first)
    assert after.title == "名字 renamed" and after.updated_at == before.updated_at
    assert [s.id for s in store.conversation_summaries()] == [second, first]


# Snippets, without a database ------------------------------------------------------------------------


def test_a_snippet_centres_the_first_hit_and_marks_cuts():
    text = "x" * 300 + " needle " + "y" * 300
    cut = snippet(text, "needle")
    assert cut.startswith("…") and cut.endswith("…") and "[[needle]]" in cut
    assert 150 <= len(cut) <= 170
    left, right = cut.split("[[needle]]")
    assert abs(len(left) - len(right)) <= 2


def test_a_snippet_near_either_end_fills_the_width_from_the_other_side():
    start = snippet("needle " + "y" * 500, "needle")
    assert start.startswith("[[needle]]") and start.endswith("…") and len(start) == 160 + 4 + 1
    end = snippet("x" * 500 + " needle", "needle")
    assert end.endswith("[[needle]]") and end.startswith("…") and len(end) == 160 + 4 + 1


def test_a_snippet_squashes_whitespace_and_marks_every_hit():
    assert snippet("Tea?\n\n  TEA!\tteabag", "tea") == "[[Tea]]? [[TEA]]! [[tea]]bag"


def test_a_snippet_of_a_long_match_or_no_match():
    long_query = "z" * 200
    assert snippet("a" + long_query + "b", long_query) == f"…[[{long_query}]]…"
    assert snippet("no hit here", "absent") == "no hit here"
    assert snippet("n" * 400, "absent") == "n" * 160 + "…"


def test_a_snippet_reads_a_markdown_reply_as_prose_unless_the_query_is_markup():
    reply = (
        "## Why\n**Temperature** rescales the `logits`:\n\n| temperature | what you get |\n|---|:---:|\n"
        "| 0 – 0.3 | focused |\n> quoted"
    )
    assert snippet(reply, "temperature") == (
        "Why [[Temperature]] rescales the logits: [[temperature]] · what you get 0 – 0.3 · focused quoted"
    )
    assert "[[**]]" in snippet(reply, "**")  # looking for the markup itself finds it
