"""What a call cost: per-model prices (USD per 1M tokens) from an editable prices.yaml.

An unknown model has no price, and its cost is None (shown blank), never a guessed zero.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from chatlab.events import Usage
from chatlab.yamlguard import YamlFileError, load_yaml_guarded, node_line, read_text_capped

PRICES_ENV = "CHATLAB_PRICES"
DEFAULT_PRICES_PATH = Path(__file__).resolve().parent / "prices.yaml"
TOKENS_PER_UNIT = 1_000_000  # prices are per million tokens
MAX_PRICES_BYTES = 512 * 1024

_PRICE_KEYS = ("input", "cached_input", "output", "aliases")
_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")
_QUANT_SUFFIX = re.compile(r"[-._](i?q\d\w*|f16|f32|bf16)$")  # llama.cpp / GGUF file names


def prices_path() -> Path:
    """The prices file in use: `$CHATLAB_PRICES` when set, otherwise chatlab/prices.yaml."""
    override = os.environ.get(PRICES_ENV, "").strip()
    return Path(override).expanduser() if override else DEFAULT_PRICES_PATH


class PricesError(YamlFileError):
    """prices.yaml could not be used; the message names the file and line."""


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens. `cached_input` None: cached prompt tokens cost the normal input price."""

    input: float
    output: float
    cached_input: float | None = None

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float:
        """USD for one call. `cached_tokens` is the part of `prompt_tokens` served from the cache."""
        prompt, completion, cached = (
            _tokens(n, label)
            for n, label in (
                (prompt_tokens, "prompt_tokens"),
                (completion_tokens, "completion_tokens"),
                (cached_tokens, "cached_tokens"),
            )
        )
        cached = min(cached, prompt)
        cached_rate = self.input if self.cached_input is None else self.cached_input
        dollars = (prompt - cached) * self.input + cached * cached_rate + completion * self.output
        return dollars / TOKENS_PER_UNIT


def _tokens(value: Any, label: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or not math.isfinite(value):
        raise ValueError(f"{label} must be a non-negative number of tokens, got {value!r}")
    return int(value)


def parse_prices(text: str, source: str | Path | None = None) -> dict[str, Price]:
    """Prices from YAML text (`version: 1`, `models: {name: {input, cached_input?, output, aliases?}}`)."""
    data, root = load_yaml_guarded(text, source, error=PricesError, max_bytes=MAX_PRICES_BYTES)

    def fail(message: str, *keys: str) -> NoReturn:
        raise PricesError(message, source, node_line(root, *keys))

    if not isinstance(data, dict):
        fail("expected a mapping with 'version: 1' and a 'models:' mapping at the top level")
    for key in data:
        if key not in ("version", "models"):
            fail(f"unknown top-level key '{key}' (expected 'version' and 'models')", key)
    if data.get("version", 1) != 1 or isinstance(data.get("version"), bool):
        fail(f"unsupported version {data.get('version')!r}; this Chat Lab reads version 1", "version")
    models = data.get("models")
    if not isinstance(models, dict):
        fail("'models' must be a mapping of model names to prices", "models")

    prices: dict[str, Price] = {}
    defined_by: dict[str, str] = {}
    for name, entry in models.items():
        where = ("models", name)
        if not isinstance(name, str) or not name.strip():
            fail(f"model name {name!r} must be a string (quote it)", *where)
        if not isinstance(entry, Mapping):
            fail(f"model '{name}': expected a mapping with 'input' and 'output' prices", *where)
        for key in entry:
            if key not in _PRICE_KEYS:
                fail(
                    f"model '{name}': unknown key '{key}' (expected one of: {', '.join(_PRICE_KEYS)})",
                    *where,
                    key,
                )
        rates: dict[str, float | None] = {}
        for key in ("input", "cached_input", "output"):
            value = entry.get(key)
            if value is None:
                if key != "cached_input":
                    fail(f"model '{name}' has no '{key}' price", *where)
                rates[key] = None
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                fail(
                    f"model '{name}': {key} must be a non-negative number (USD per 1M tokens), got {value!r}",
                    *where,
                    key,
                )
            rates[key] = float(value)
        price = Price(input=rates["input"], output=rates["output"], cached_input=rates["cached_input"])
        aliases = entry.get("aliases") or []
        if isinstance(aliases, str):
            aliases = [aliases]
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            fail(f"model '{name}': aliases must be a list of model names", *where, "aliases")
        for model_id in [name, *aliases]:
            key = model_id.strip().lower()
            if key in defined_by:
                fail(f"model '{model_id}' is priced twice (also under '{defined_by[key]}')", *where)
            defined_by[key] = name
            prices[key] = price
    return prices


def load_prices(path: str | Path | None = None) -> dict[str, Price]:
    """The price table (model id, lowercased → Price) from `path` or `prices_path()`; raises PricesError."""
    path = Path(path) if path is not None else prices_path()
    return parse_prices(read_text_capped(path, PricesError, MAX_PRICES_BYTES), path)


_cache: dict[Path, tuple[tuple[int, int], dict[str, Price], str | None]] = {}


def load_prices_or_empty(path: str | Path | None = None) -> tuple[dict[str, Price], str | None]:
    """Never raises: (prices, None), or ({}, message) when the file is missing or broken.

    Cached per file until its modification time or size changes, so calling it per message is cheap.
    """
    path = Path(path) if path is not None else prices_path()
    try:
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = (-1, -1)
    cached = _cache.get(path)
    if cached is not None and cached[0] == stamp:
        return dict(cached[1]), cached[2]
    try:
        prices, error = load_prices(path), None
    except PricesError as exc:
        prices, error = {}, str(exc)
    except Exception as exc:  # a bad prices file must never break the chat
        prices, error = {}, f"{path}: could not load prices ({type(exc).__name__}: {exc})"
    _cache[path] = (stamp, prices, error)
    return dict(prices), error


def _candidates(model: str) -> list[str]:
    """Names to try for a model id, most specific first."""
    raw = model.strip()
    lowered = raw.lower()
    base = lowered.rsplit("/", 1)[-1]  # "openai/gpt-4o" → "gpt-4o"; also a GGUF file path
    names = [raw, lowered, base]
    if base.endswith(".gguf"):
        base = base[: -len(".gguf")]
        names.append(base)
    for name in list(names):
        names.append(_DATE_SUFFIX.sub("", name))
    names.append(_QUANT_SUFFIX.sub("", base))
    return list(dict.fromkeys(n for n in names if n))


def price_for(model: str | None, prices: Mapping[str, Price]) -> Price | None:
    """The price of `model`: exact id first, then without "provider/" prefix and date snapshot suffix.

    "gpt-4o-mini-2024-07-18" → gpt-4o-mini, "openai/gpt-4.1" → gpt-4.1; unknown models → None.
    """
    if not model or not model.strip():
        return None
    for name in _candidates(model):
        if name in prices:
            return prices[name]
    return None


def cost_usd(
    model: str | None,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    cached_tokens: int | None = 0,
    prices: Mapping[str, Price] | None = None,
) -> float | None:
    """USD for one call, or None when the model has no price (unknown model, or no usable table).

    `cached_tokens` is the part of `prompt_tokens` read from the prompt cache (OpenAI's
    usage.prompt_tokens_details.cached_tokens, DeepSeek's prompt_cache_hit_tokens); it is billed at
    `cached_input`, or at `input` when the model has no cached price. With `prices` None the default
    table is used (`load_prices_or_empty`: a broken file gives None costs, its error is reported there).
    """
    table = load_prices_or_empty()[0] if prices is None else prices
    price = price_for(model, table)
    if price is None:
        return None
    return price.cost(prompt_tokens or 0, completion_tokens or 0, cached_tokens or 0)


def usage_cost(model: str, usage: Usage | None) -> float | None:
    """The cost of a request's usage; None when it was not billed or the model has no known price."""
    if usage is None:
        return None
    return cost_usd(model, usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens)


def format_usd(cost: float | None) -> str:
    """A cost for display: "—" for unknown (never "$0"), "$0" for free, enough digits for fractions of a cent."""
    if cost is None:
        return "—"
    if cost == 0:
        return "$0"
    if cost >= 1:
        return f"${cost:,.2f}"
    if cost >= 0.01:
        return f"${cost:.4f}"
    return f"${cost:.6f}"
