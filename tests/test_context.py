from chatlab.context import build_context, history_messages
from chatlab.store import Store

HISTORY = [
    {"role": "user", "content": "one"},
    {"role": "assistant", "content": "reply one"},
    {"role": "user", "content": "two"},
    {"role": "assistant", "content": "reply two"},
]


def test_depth_sends_exactly_that_many_past_messages():
    window = build_context(system_prompt="Be brief.", history=HISTORY, user_text="three", depth=2)
    assert window.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": "reply two"},
        {"role": "user", "content": "three"},
    ]
    assert (window.history_sent, window.history_available) == (2, 4)


def test_depth_zero_sends_no_history_and_none_sends_all():
    assert len(build_context(system_prompt="s", history=HISTORY, user_text="x", depth=0).messages) == 2
    assert len(build_context(system_prompt="s", history=HISTORY, user_text="x", depth=None).messages) == 6
    assert len(build_context(system_prompt="s", history=HISTORY, user_text="x", depth=99).messages) == 6


def test_few_shot_examples_follow_the_system_prompt_and_an_empty_prompt_is_omitted():
    shots = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "HI"}]
    window = build_context(system_prompt="  ", history=HISTORY, user_text="x", depth=0, few_shot=shots)
    assert window.messages == [*shots, {"role": "user", "content": "x"}]


def test_token_split_estimates_each_part():
    window = build_context(
        system_prompt="You are a helpful assistant.", history=HISTORY, user_text="你好，世界", depth=None
    )
    split = window.split
    assert split.system > 5 and split.history > 8 and split.new_message >= 4
    assert split.total > split.system + split.history + split.new_message
    huge = build_context(system_prompt="", history=[], user_text="word " * 250_000, depth=0)
    assert huge.split.new_message > 200_000


def test_history_skips_failed_replies_and_extra_choices(tmp_path):
    store = Store(tmp_path / "h.sqlite3")
    cid = store.create_conversation()
    store.add_message(cid, "user", "q1")
    store.add_message(cid, "assistant", "a1", choice_index=0)
    store.add_message(cid, "assistant", "a1 alt", choice_index=1)
    store.add_message(cid, "user", "q2")
    store.add_message(cid, "assistant", "", status="error", error="boom")
    store.add_message(cid, "user", "q3")
    store.add_message(cid, "assistant", "partial", status="stopped")
    assert history_messages(store.messages(cid)) == [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
        {"role": "user", "content": "q3"},
        {"role": "assistant", "content": "partial"},
    ]


def test_the_tail_the_preview_loads_holds_every_message_the_depth_needs(tmp_path):
    from chatlab.context import rows_needed

    store = Store(tmp_path / "tail.sqlite3")
    cid = store.create_conversation()
    for turn in range(12):
        store.add_message(cid, "user", f"q{turn}")
        for choice in range(8):  # n=8: the most rows a turn can hold
            store.add_message(cid, "assistant", f"a{turn}.{choice}", choice_index=choice)
    everything = history_messages(store.messages(cid))
    for depth in (0, 1, 2, 5, 9):
        tail = history_messages(store.messages(cid, last=rows_needed(depth)))
        full = build_context(system_prompt="", history=everything, user_text="x", depth=depth).messages
        cut = build_context(system_prompt="", history=tail, user_text="x", depth=depth).messages
        assert cut == full
