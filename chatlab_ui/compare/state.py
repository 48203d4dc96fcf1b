"""The Compare page's typed state: what a send carries for whoever draws it, and the sample settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab_ui.params_panel import ParamChoice


@dataclass(frozen=True)
class Sampling:
    """How many replies each pane gets per message, and how many requests may run at once."""

    samples: int = 1
    max_workers: int = 4
    use_n: bool = False  # ask for several samples per request with the API's `n`


@dataclass(frozen=True)
class CompareSend:
    """A send in progress (the LiveReply's `what`): enough for any page that finds it — the same tab after
    a reload, another tab — to draw it: the message, the panes it goes to and the turn each answers."""

    text: str  # the message (for a retry: the turn's stored message)
    panes: tuple[int, ...]
    turns: tuple[int, ...]  # the turn each of `panes` answers, in the same order
    samples: int = 1
    # Set by Stop/Cancel: every request stops at its next event and no new one starts (chatlab.parallel).
    cancel: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)

    def turn_of(self, pane: int) -> int | None:
        """The turn pane `pane` is answering, or None when this send does not go to it."""
        return self.turns[self.panes.index(pane)] if pane in self.panes else None

    @property
    def total(self) -> int:
        return len(self.panes) * self.samples


@dataclass(frozen=True)
class SidebarChoice:
    """What the sidebar holds: where requests go, the defaults for new panes, and the sample settings."""

    endpoint: Endpoint
    client: ChatClient
    model: str
    depth: int | None
    shared: ParamChoice
    sampling: Sampling
