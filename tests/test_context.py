from itertools import pairwise

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


def test_history_leaves_out_failed_turns_whole_and_extra_choices(tmp_path):
    """A failed reply's question goes too: two user messages in a row break strict chat templates."""
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


def alternates(messages: list[dict]) -> bool:
    """Optional system, then user/assistant strictly alternating, ending with the new user message."""
    roles = [m["role"] for m in messages if m["role"] != "system"]
    return roles[:1] == ["user"] and roles[-1] == "user" and all(a != b for a, b in pairwise(roles))


def test_no_depth_ever_starts_the_history_with_a_reply():
    shots = [{"role": "user", "content": "ex"}, {"role": "assistant", "content": "EX"}]
    for depth in (None, 0, 1, 2, 3, 4, 5, 99):
        for few_shot in ((), shots):
            window = build_context(
                system_prompt="s", history=HISTORY, user_text="x", depth=depth, few_shot=few_shot
            )
            assert alternates(window.messages), (depth, window.messages)
    three = build_context(system_prompt="s", history=HISTORY, user_text="x", depth=3)
    assert three.history_sent == 2  # not half a turn: the reply whose question falls outside goes too


def test_a_history_that_does_not_alternate_is_cut_to_whole_turns_with_a_note():
    broken = [
        {"role": "assistant", "content": "orphan reply"},
        {"role": "user", "content": "q1"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "a2"},
        {"role": "assistant", "content": "a2 again"},
    ]
    window = build_context(system_prompt="", history=broken, user_text="x", depth=None)
    assert window.messages == [
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "a2"},
        {"role": "user", "content": "x"},
    ]
    assert window.notes == (
        "3 past messages left out: servers that require user and assistant to "
        "alternate would refuse the request.",
    )


def test_a_failed_turn_is_named_in_the_preview_notes(tmp_path):
    from chatlab.turn import TurnSettings, plan_context

    store = Store(tmp_path / "n.sqlite3")
    cid = store.create_conversation()
    store.add_message(cid, "user", "q1")
    store.add_message(cid, "assistant", "a1")
    store.add_message(cid, "user", "q2")
    store.add_message(cid, "assistant", "", status="error", error="HTTP 500")
    for depth, expected in ((None, 1), (10, 1), (0, 0)):
        window = plan_context(store.messages(cid), TurnSettings(model="m", context_depth=depth), "q3")
        assert alternates(window.messages)
        assert len(window.notes) == expected
    window = plan_context(store.messages(cid), TurnSettings(model="m", context_depth=None), "q3")
    assert window.notes[0].startswith("Turn 2's message is left out: its reply failed")
