from chatlab.prices import format_usd
from chatlab.store import Store
from chatlab.usage import describe_reply, totals, turn_usage


def test_usage_per_turn_and_totals_mark_estimates_and_unknown_prices(tmp_path):
    store = Store(tmp_path / "u.sqlite3")
    cid = store.create_conversation()
    store.add_message(cid, "user", "q1")
    store.add_message(
        cid,
        "assistant",
        "a",
        model="gpt-4o-mini",
        prompt_tokens=10,
        completion_tokens=5,
        cost_usd=0.001,
        finish_reason="stop",
        ttft_s=0.2,
        tokens_per_s=40.0,
    )
    store.add_message(cid, "user", "q2")
    store.add_message(
        cid,
        "assistant",
        "b",
        model="mystery",
        prompt_tokens=20,
        completion_tokens=7,
        usage_estimated=True,
        finish_reason="length",
    )
    store.add_message(cid, "assistant", "b2", model="mystery", choice_index=1, finish_reason="stop")
    rows = turn_usage(store.reply_metrics(cid))
    assert [(r.turn, r.prompt_tokens, r.completion_tokens, r.choices) for r in rows] == [
        (1, 10, 5, 1),
        (2, 20, 7, 2),
    ]
    assert rows[1].finish_reason == "length, stop" and rows[1].estimated
    sums = totals(rows)
    assert (sums.prompt_tokens, sums.completion_tokens, sums.estimated) == (30, 12, True)
    assert sums.cost_usd == 0.001 and sums.cost_complete is False  # "mystery" has no price


def test_cost_is_blank_not_zero_when_unknown_and_the_reply_line_says_estimated(tmp_path):
    assert format_usd(None) == "—" and format_usd(0.0) == "$0"
    store = Store(tmp_path / "d.sqlite3")
    cid = store.create_conversation()
    store.add_message(
        cid,
        "assistant",
        "x",
        model="smollm2-135m",
        prompt_tokens=3,
        completion_tokens=4,
        usage_estimated=True,
        ttft_s=0.15,
        tokens_per_s=50.0,
        finish_reason="stop",
    )
    line = describe_reply(store.messages(cid)[0])
    assert "3 → 4 tokens (estimated)" in line and "first token 0.15 s" in line and "50.0 tok/s" in line
