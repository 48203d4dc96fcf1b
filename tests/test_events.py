"""The typed events of a streamed reply (chatlab/events.py): when a reply counts as interrupted."""

from __future__ import annotations

import pytest

from chatlab.events import StreamDone, StreamError, Timings, Usage

TIMINGS = Timings(ttft_s=0.1, duration_s=1.0, tokens_per_s=10.0)


@pytest.mark.parametrize(
    ("finish_reasons", "error", "interrupted"),
    [
        ({0: "stop"}, None, False),
        ({0: "length", 1: "stop"}, None, False),  # cut by max_tokens is a finished reply
        ({}, None, True),  # the server closed the stream before any finish
        ({0: "stop", 1: None}, None, True),  # one choice of several never finished
        ({0: "stop"}, StreamError(kind="server", message="boom"), True),
    ],
)
def test_a_reply_is_interrupted_when_a_choice_has_no_finish_or_an_error_came(
    finish_reasons, error, interrupted
):
    done = StreamDone(usage=Usage(1, 2), timings=TIMINGS, finish_reasons=finish_reasons, error=error)
    assert done.interrupted is interrupted


def test_usage_totals_prompt_and_completion():
    assert Usage(prompt_tokens=7, completion_tokens=5, cached_tokens=3).total_tokens == 12
