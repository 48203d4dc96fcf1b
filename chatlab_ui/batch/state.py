"""What the Batch runs page's parts share: its keys, and what a running batch tells whoever watches it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from chatlab_ui.page_keys import PageKeys

P = PageKeys("batch")  # every widget and session key of the Batch runs page
RUN_PARAM = "run"  # ?run=<id> opens a stored run (and survives a reload)
SET_PARAM = "set"  # ?set=<id> picks a test set in the setup (the Test sets page links so)


@dataclass(frozen=True)
class LiveBatch:
    """What a batch running on a process thread (chatlab.live) carries for the pages that watch it."""

    run_id: str
    total: int
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)


def live_key(run_id: str) -> str:
    return f"batch.{run_id}"
