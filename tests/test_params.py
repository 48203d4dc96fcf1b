import pytest

from chatlab.capabilities import capabilities_for
from chatlab.params import GenerationParams, ParamError, request_kwargs


def test_only_parameters_the_user_set_are_sent():
    params = GenerationParams(temperature=0.7, seed=3)
    assert request_kwargs("gpt-4o-mini", params).kwargs == {"temperature": 0.7, "seed": 3}
    assert request_kwargs("gpt-4o-mini", GenerationParams()).kwargs == {}


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
    ],
)
def test_values_outside_the_api_range_are_refused_with_the_name(field, value):
    with pytest.raises(ParamError, match=field):
        GenerationParams(**{field: value})


def test_stop_takes_at_most_four_strings_and_drops_empty_ones():
    assert GenerationParams(stop=("a", "", "b")).stop == ("a", "b")
    with pytest.raises(ParamError, match="stop"):
        GenerationParams(stop=("a", "b", "c", "d", "e"))


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
    assert GenerationParams.from_dict({"max_tokens": 100.0, "stop": "X", "unknown": 1}) == GenerationParams(
        max_tokens=100, stop=("X",)
    )


@pytest.mark.parametrize("model", ["o1", "o3-mini", "o4-mini-2025-04-16", "gpt-5", "gpt-5-mini", "openai/o3"])
def test_reasoning_models_get_max_completion_tokens_and_no_sampling(model):
    plan = request_kwargs(model, GenerationParams(temperature=0.5, top_p=0.9, max_tokens=50, seed=1))
    assert plan.kwargs == {"max_completion_tokens": 50, "seed": 1}
    assert any("temperature" in note and "reasoning" in note for note in plan.notes)


def test_unknown_and_general_models_get_everything_the_user_set():
    params = GenerationParams(temperature=0.5, max_tokens=50, stop=("x",))
    for model in ("gpt-4o", "smollm2-135m", "my-finetune", "gpt-5-chat-latest"):
        assert request_kwargs(model, params).kwargs == {"temperature": 0.5, "max_tokens": 50, "stop": ["x"]}
    assert capabilities_for("some-new-model").family == "general"
