"""chatlab.params: the parameter table and GenerationParams, what a user of any page or the CLI meets."""

import pytest

from chatlab.params import (
    OVERRIDES,
    PARAM_NAMES,
    PARAMS,
    ROLE_PARAMS,
    STOPS,
    SWEEPABLE,
    GenerationParams,
    ParamError,
    number_text,
)


@pytest.mark.parametrize(
    "field,value",
    [
        ("temperature", 2.1),
        ("temperature", -0.1),
        ("top_p", 1.5),
        ("presence_penalty", -2.5),
        ("frequency_penalty", 3),
        ("n", 9),
        ("n", 0),
        ("max_tokens", 0),
        ("seed", 1.5),
        ("temperature", "hot"),
        ("temperature", float("nan")),
    ],
)
def test_values_outside_the_api_range_are_refused_with_the_name(field, value):
    with pytest.raises(ParamError, match=field):
        GenerationParams(**{field: value})


def test_range_errors_write_numbers_out_in_full():
    """Not 1e+06 or 9.22337e+18: a person reads the bound they have to stay within."""
    with pytest.raises(ParamError) as err:
        GenerationParams(max_tokens=2_000_000)
    assert str(err.value) == "max_tokens must be between 1 and 1,000,000, got 2,000,000"
    with pytest.raises(ParamError) as err:
        GenerationParams(seed=2**64)
    assert "-9,223,372,036,854,775,808 and 9,223,372,036,854,775,807" in str(err.value)
    assert number_text(1_000_000) == "1,000,000" and number_text(0.25) == "0.25"


def test_stop_takes_at_most_four_strings_and_drops_empty_ones():
    assert GenerationParams(stop=("a", "", "b")).stop == ("a", "b")
    assert GenerationParams().stop == ()
    with pytest.raises(ParamError, match="stop takes at most 4 strings, got 5"):
        GenerationParams(stop=("a", "b", "c", "d", "e"))


def test_unset_parameters_read_as_none_and_are_not_in_the_dict():
    params = GenerationParams(temperature=0.7, seed=3, user="  ")
    assert params.as_dict() == {"temperature": 0.7, "seed": 3}
    assert params.top_p is None and params.user is None
    assert params.describe() == "temperature=0.7, seed=3"
    assert GenerationParams().describe() == "server defaults"


def test_unknown_names_and_mutation_are_refused():
    with pytest.raises(TypeError, match="tempreature"):
        GenerationParams(tempreature=1)
    with pytest.raises(AttributeError):
        GenerationParams().temperature = 1  # type: ignore[misc]


def test_round_trip_through_a_dict_keeps_every_value():
    params = GenerationParams(
        temperature=0.2,
        top_p=0.9,
        presence_penalty=-0.5,
        frequency_penalty=1.0,
        max_tokens=100,
        n=2,
        seed=7,
        stop=("\n\n", "END"),
        user="u1",
    )
    assert GenerationParams.from_dict(params.as_dict()) == params
    assert hash(GenerationParams.from_dict(params.as_dict())) == hash(params)
    assert GenerationParams.from_dict({"max_tokens": 100.0, "stop": "X", "unknown": 1}) == GenerationParams(
        max_tokens=100, stop=("X",)
    )
    assert params.replace(temperature=None, seed=8).as_dict()["seed"] == 8
    assert "temperature" not in params.replace(temperature=None).as_dict()


def test_every_table_entry_is_usable():
    """Each default is a valid value, each typed sweep suggestion parses, each flag and heading exists."""
    for name, param in PARAMS.items():
        assert param.name == name and param.label and param.help
        if param.kind != STOPS and param.default not in ("",):
            assert param.check(param.default) == param.default
        if param.sweepable:
            assert [param.parse(p) for p in param.sweep_values.replace(",", " ").split()]
        assert param.cli_flag.startswith("--")
    assert set(SWEEPABLE) <= set(PARAM_NAMES) and "n" not in SWEEPABLE
    assert "n" not in ROLE_PARAMS and "user" not in ROLE_PARAMS
    assert set(OVERRIDES) <= set(ROLE_PARAMS)


def test_typed_text_is_parsed_per_parameter():
    assert PARAMS["seed"].parse(" 1,234 ") == 1234
    assert PARAMS["temperature"].parse("0.40") == 0.4
    with pytest.raises(ParamError, match="seed must be a whole number, not 'x'"):
        PARAMS["seed"].parse("x")
