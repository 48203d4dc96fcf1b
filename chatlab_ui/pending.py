"""What a chat-like page queues for its next run: a new message, or a turn to send again.

Callbacks run before the next script run, so that run already knows it will stream and can draw every
input disabled (a widget touched mid-stream would stop the run: streamlit#10578).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PendingTurn:
    text: str | None = None  # a new message…
    retry_turn: int | None = None  # …or this turn's stored message, sent again
    only: tuple[int, ...] | None = None  # Compare: the panes it goes to (None: every pane)
