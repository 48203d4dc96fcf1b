"""Widget and session-state keys owned by a page: every shared widget helper is given the page's keys.

Two pages, or two panes of one page, never collide: Compare's pane 2 draws its Retry under
`compare.pane.2.retry.3`, the chat page under `chat.retry.3`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageKeys:
    """A key namespace, e.g. PageKeys("compare").child("pane", 2)("retry", 3) == "compare.pane.2.retry.3"."""

    prefix: str

    def __call__(self, *parts: object) -> str:
        return ".".join([self.prefix, *(str(p) for p in parts)])

    def child(self, *parts: object) -> PageKeys:
        return PageKeys(self(*parts))
