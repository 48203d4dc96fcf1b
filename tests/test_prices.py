"""Model prices: the shipped table, model-id matching, and the cost of a call."""

from __future__ import annotations

import textwrap

import pytest

from chatlab.prices import (
    DEFAULT_PRICES_PATH,
    Price,
    PricesError,
    cost_usd,
    format_usd,
    load_prices,
    load_prices_or_empty,
    price_for,
    prices_path,
)


@pytest.fixture(scope="module")
def prices() -> dict[str, Price]:
    return load_prices(DEFAULT_PRICES_PATH)


@pytest.mark.parametrize(
    "model, input_, cached, output",
    [
        ("gpt-4o", 2.50, 1.25, 10.00),
        ("gpt-4o-mini", 0.15, 0.075, 0.60),
        ("gpt-4.1", 2.00, 0.50, 8.00),
        ("gpt-4.1-mini", 0.40, 0.10, 1.60),
        ("gpt-4.1-nano", 0.10, 0.025, 0.40),
        ("o3", 2.00, 0.50, 8.00),
        ("o4-mini", 1.10, 0.275, 4.40),
        ("o3-mini", 1.10, 0.55, 4.40),
        ("gpt-5", 1.25, 0.125, 10.00),
        ("gpt-5-mini", 0.25, 0.025, 2.00),
        ("gpt-5-nano", 0.05, 0.005, 0.40),
        ("deepseek-chat", 0.27, 0.07, 1.10),
        ("deepseek-reasoner", 0.55, 0.14, 2.19),
        ("smollm2-135m", 0.0, 0.0, 0.0),
    ],
)
def test_shipped_table(prices, model, input_, cached, output):
    assert prices[model] == Price(input=input_, output=output, cached_input=cached)


def test_prices_path_env_override(monkeypatch, tmp_path):
    monkeypatch.delenv("CHATLAB_PRICES", raising=False)
    assert prices_path() == DEFAULT_PRICES_PATH
    custom = tmp_path / "p.yaml"
    custom.write_text("version: 1\nmodels:\n  my-model: {input: 1, output: 2}\n", encoding="utf-8")
    monkeypatch.setenv("CHATLAB_PRICES", str(custom))
    assert prices_path() == custom
    assert load_prices() == {"my-model": Price(input=1.0, output=2.0)}


def test_known_model_cost_by_hand(prices):
    # gpt-4o: 1,000 prompt tokens at $2.50/M + 500 completion tokens at $10/M
    expected = 1_000 * 2.50 / 1e6 + 500 * 10.00 / 1e6  # = 0.0075
    assert cost_usd("gpt-4o", 1_000, 500, prices=prices) == pytest.approx(expected)
    assert cost_usd("gpt-4o", 1_000, 500, prices=prices) == pytest.approx(0.0075)


def test_cached_tokens_are_billed_at_the_cached_rate(prices):
    # 1,000 prompt tokens of which 800 cached: 200 x $0.15 + 800 x $0.075 + 100 x $0.60, per million
    expected = (200 * 0.15 + 800 * 0.075 + 100 * 0.60) / 1e6
    assert cost_usd("gpt-4o-mini", 1_000, 100, cached_tokens=800, prices=prices) == pytest.approx(expected)
    assert cost_usd("gpt-4o-mini", 1_000, 100, 800, prices) < cost_usd("gpt-4o-mini", 1_000, 100, 0, prices)


def test_cached_tokens_without_a_cached_price_cost_the_input_price():
    table = {"m": Price(input=3.0, output=6.0)}
    assert cost_usd("m", 1_000, 0, cached_tokens=600, prices=table) == pytest.approx(1_000 * 3.0 / 1e6)


def test_cached_tokens_never_exceed_the_prompt():
    table = {"m": Price(input=1.0, output=1.0, cached_input=0.0)}
    assert cost_usd("m", 100, 0, cached_tokens=500, prices=table) == 0.0


def test_dated_snapshot_resolves_to_its_base(prices):
    assert price_for("gpt-4o-mini-2024-07-18", prices) == prices["gpt-4o-mini"]
    assert price_for("o3-mini-2025-01-31", prices) == prices["o3-mini"]
    assert price_for("gpt-4.1-2025-04-14", prices) == prices["gpt-4.1"]
    assert cost_usd("gpt-4o-mini-2024-07-18", 1_000_000, 0, prices=prices) == pytest.approx(0.15)


def test_exact_entry_beats_the_base_name(prices):
    assert price_for("gpt-4o-2024-05-13", prices) == Price(input=5.0, output=15.0)
    assert price_for("gpt-4o-2024-08-06", prices) == prices["gpt-4o"]


def test_provider_prefix_and_case(prices):
    assert price_for("openai/gpt-4.1-mini", prices) == prices["gpt-4.1-mini"]
    assert price_for("deepseek/deepseek-chat", prices) == prices["deepseek-chat"]
    assert price_for("GPT-5", prices) == prices["gpt-5"]
    assert price_for("  gpt-5-nano ", prices) == prices["gpt-5-nano"]


def test_local_model_is_free_not_unknown(prices):
    for model in ("smollm2-135m", "SmolLM2-135M-Instruct", "/models/SmolLM2-135M-Instruct-Q8_0.gguf"):
        assert price_for(model, prices) == Price(0.0, 0.0, 0.0), model
        assert cost_usd(model, 5_000, 1_000, prices=prices) == 0.0
    assert format_usd(0.0) == "$0"


@pytest.mark.parametrize(
    "model", ["my-fine-tune", "gpt-4o-mini-search-preview", "o3-pro", "claude-3-opus", "", None]
)
def test_unknown_model_has_no_price(prices, model):
    assert price_for(model, prices) is None
    assert cost_usd(model, 1_000, 1_000, prices=prices) is None
    assert format_usd(cost_usd(model, 1_000, 1_000, prices=prices)) == "—"


def test_cost_with_default_table():
    assert cost_usd("gpt-4.1-nano", 1_000_000, 1_000_000) == pytest.approx(0.10 + 0.40)


def test_none_tokens_count_as_zero(prices):
    assert cost_usd("gpt-4o", None, None, None, prices) == 0.0


def test_negative_tokens_are_rejected(prices):
    with pytest.raises(ValueError, match="prompt_tokens"):
        cost_usd("gpt-4o", -1, 0, prices=prices)


def test_format_usd():
    assert format_usd(None) == "—"
    assert format_usd(12.3456) == "$12.35"
    assert format_usd(0.0123) == "$0.0123"
    assert format_usd(0.0000412) == "$0.000041"


def write(tmp_path, text):
    path = tmp_path / "prices.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("version: 1\nmodels:\n  a: {input: 1}\n", 3, "has no 'output' price"),
        ("version: 1\nmodels:\n  a: {input: -1, output: 1}\n", 3, "input must be a non-negative number"),
        (
            "version: 1\nmodels:\n  a:\n    input: 1\n    output: '2'\n",
            5,
            "output must be a non-negative number",
        ),
        ("version: 1\nmodels:\n  a: {input: 1, output: 1, cache: 1}\n", 3, "unknown key 'cache'"),
        (
            "version: 1\nmodels:\n  a: {input: 1, output: 1}\n  b: {input: 1, output: 1, aliases: [A]}\n",
            4,
            "priced twice",
        ),
        (
            "version: 1\nmodels:\n  a: {input: 1, output: 1}\n  a: {input: 2, output: 2}\n",
            4,
            "duplicate key 'a'",
        ),
        ("version: 1\nmodels:\n  a: {input: 1, output: 1\n", 4, "YAML syntax error"),
        ("version: 1\nmodels: [a, b]\n", 2, "'models' must be a mapping"),
    ],
)
def test_broken_prices_file_names_the_line(tmp_path, text, line, message):
    path = write(tmp_path, text)
    with pytest.raises(PricesError) as info:
        load_prices(path)
    assert message in str(info.value)
    assert info.value.line == line
    assert str(path) in str(info.value)


def test_load_prices_or_empty_never_raises(tmp_path):
    prices, error = load_prices_or_empty(tmp_path / "missing.yaml")
    assert prices == {} and error and "not found" in error
    path = write(tmp_path, "models:\n  a: {input: x, output: 1}\n")
    prices, error = load_prices_or_empty(path)
    assert prices == {} and "line 2" in error
    assert cost_usd("a", 10, 10, prices=prices) is None


def test_load_prices_or_empty_sees_edits(tmp_path):
    path = write(tmp_path, "models:\n  m: {input: 1, output: 1}\n")
    assert load_prices_or_empty(path) == ({"m": Price(1.0, 1.0)}, None)
    path.write_text("models:\n  m: {input: 2, output: 4, cached_input: 0.5}\n", encoding="utf-8")
    assert load_prices_or_empty(path) == ({"m": Price(2.0, 4.0, 0.5)}, None)


def test_prices_file_yaml_bomb_is_refused(tmp_path):
    lines = ['l0: &l0 "x"'] + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(PricesError, match="YAML bomb"):
        load_prices(path)
