"""Where requests go: base URL, keys, proxy, timeouts. Keys never leave this object in clear text."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_RETRIES = 2


def mask_key(key: str) -> str:
    """A key as it may be shown to a person: its last 4 characters only."""
    return f"…{key[-4:]}" if key else "(none)"


def split_keys(value: str | None) -> tuple[str, ...]:
    """`OPENAI_API_KEY` may hold several keys separated by commas."""
    return tuple(k.strip() for k in (value or "").split(",") if k.strip())


@dataclass(frozen=True)
class Endpoint:
    name: str = "environment"
    base_url: str | None = None  # None: the SDK's default, api.openai.com
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    proxy: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_MAX_RETRIES
    default_model: str | None = None
    protocol: str = "chat"  # "chat" (/v1/chat/completions) or "responses" (/v1/responses)
    offline: bool = False  # the local llama.cpp demo model

    @property
    def masked_keys(self) -> tuple[str, ...]:
        return tuple(mask_key(k) for k in self.api_keys)

    @property
    def display_url(self) -> str:
        return self.base_url or "https://api.openai.com/v1"
