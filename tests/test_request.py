"""chatlab.request: the one body every request sends, and the notes that explain any change to it."""

import pytest

from chatlab.capabilities import Capabilities, capabilities_for
from chatlab.params import IGNORED, REJECTED, GenerationParams, Support
from chatlab.request import Request, build_request, params_of, without_refused

MESSAGES = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}]


def test_only_parameters_the_user_set_are_sent_and_usage_is_asked_for():
    request = build_request("gpt-4o-mini", MESSAGES, GenerationParams(temperature=0.7, seed=3))
    assert request.body == {
        "model": "gpt-4o-mini",
        "messages": MESSAGES,
        "temperature": 0.7,
        "seed": 3,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert request.notes == ()
    bare = build_request("gpt-4o-mini", MESSAGES, GenerationParams()).body
    assert set(bare) == {"model", "messages", "stream", "stream_options"}


@pytest.mark.parametrize("model", ["o1", "o3-mini", "o4-mini-2025-04-16", "gpt-5", "gpt-5-mini", "openai/o3"])
def test_reasoning_models_get_max_completion_tokens_and_no_sampling(model):
    request = build_request(
        model, MESSAGES, GenerationParams(temperature=0.5, top_p=0.9, max_tokens=50, seed=1, stop=("x",))
    )
    sent = {
        k: v for k, v in request.body.items() if k not in ("model", "messages", "stream", "stream_options")
    }
    assert sent == {"max_completion_tokens": 50, "seed": 1}
    notes = " | ".join(request.notes)
    for name in ("temperature", "top_p", "stop"):
        assert f"{name} not sent" in notes
    assert "max_tokens sent as max_completion_tokens" in notes and "reasoning model" in notes


def test_unknown_and_general_models_get_everything_the_user_set():
    params = GenerationParams(temperature=0.5, max_tokens=50, stop=("x",))
    for model in ("gpt-4o", "smollm2-135m", "my-finetune", "gpt-5-chat-latest"):
        body = build_request(model, MESSAGES, params).body
        assert (body["temperature"], body["max_tokens"], body["stop"]) == (0.5, 50, ["x"])
    assert capabilities_for("some-new-model").family == "general"


def test_a_parameter_a_model_ignores_is_sent_with_a_note():
    request = build_request("deepseek-reasoner", MESSAGES, GenerationParams(temperature=0.3))
    assert request.body["temperature"] == 0.3
    assert request.notes == (
        "temperature is sent, but deepseek-reasoner ignores it (deepseek-reasoner ignores sampling "
        "parameters (DeepSeek docs)).",
    )


def test_a_probe_finding_overrides_the_family_table():
    caps = Capabilities(model="local", overrides={"seed": Support(REJECTED), "n": Support(IGNORED)})
    request = build_request("local", MESSAGES, GenerationParams(seed=1, n=2), capabilities=caps)
    assert "seed" not in request.body and request.body["n"] == 2
    assert [n.split(" ")[0] for n in request.notes] == ["n", "seed"]


def test_a_stored_body_is_sent_again_unchanged_and_its_parameters_read_back():
    body = build_request("o3", MESSAGES, GenerationParams(max_tokens=20, seed=4)).body
    assert Request.from_body(body).body == body
    # Read back by the name it was sent under: sent again, it is the same body.
    assert params_of(body) == GenerationParams(max_completion_tokens=20, seed=4)
    assert build_request("o3", MESSAGES, params_of(body)).body == body
    with pytest.raises(ValueError, match="no messages"):
        Request.from_body({"model": "x"})


def test_the_json_text_keeps_unicode_readable_and_survives_lone_surrogates():
    request = build_request("m", [{"role": "user", "content": "你好 \ud800"}], GenerationParams())
    text = request.to_json()
    assert "\\ud800" in text and text.encode("utf-8")
    assert "你好" in build_request("m", [{"role": "user", "content": "你好"}], GenerationParams()).to_json()


def test_gpt_5_1_takes_sampling_parameters_only_with_reasoning_effort_none():
    params = GenerationParams(temperature=0.4, reasoning_effort="low")
    request = build_request("gpt-5.1", MESSAGES, params)
    assert "temperature" not in request.body and request.body["reasoning_effort"] == "low"
    assert "unless reasoning_effort is 'none'" in request.notes[0]
    lifted = build_request("gpt-5.1", MESSAGES, params.replace(reasoning_effort="none")).body
    assert (lifted["temperature"], lifted["reasoning_effort"]) == (0.4, "none")


def test_reasoning_controls_go_only_where_they_exist():
    params = GenerationParams(reasoning_effort="high", verbosity="low", max_completion_tokens=300)
    chat = build_request("gpt-4o-mini", MESSAGES, params)
    assert "reasoning_effort" not in chat.body and "verbosity" not in chat.body
    assert chat.body["max_completion_tokens"] == 300 and len(chat.notes) == 2
    gpt5 = build_request("gpt-5-mini", MESSAGES, params).body
    assert (gpt5["reasoning_effort"], gpt5["verbosity"], gpt5["max_completion_tokens"]) == (
        "high",
        "low",
        300,
    )
    o4 = build_request("o4-mini", MESSAGES, params).body
    assert "verbosity" not in o4 and o4["reasoning_effort"] == "high"


def test_max_tokens_and_max_completion_tokens_together_send_the_one_the_model_takes():
    request = build_request("o3", MESSAGES, GenerationParams(max_tokens=50, max_completion_tokens=500))
    assert request.body["max_completion_tokens"] == 500 and "max_tokens" not in request.body
    assert "max_tokens not sent: max_completion_tokens is set too" in request.notes[0]


def test_the_responses_api_gets_the_same_parameters_where_it_has_them():
    from chatlab.request import RESPONSES

    params = GenerationParams(
        temperature=0.3, max_tokens=64, reasoning_effort="low", verbosity="high", seed=1, stop=("x",), n=2
    )
    request = build_request("gpt-4.1-mini", MESSAGES, params, protocol=RESPONSES)
    assert request.protocol == RESPONSES and request.path == "/responses"
    assert request.body == {
        "model": "gpt-4.1-mini",
        "input": MESSAGES,
        "temperature": 0.3,
        "max_output_tokens": 64,
        "stream": True,
    }  # gpt-4.1 has no reasoning controls; the Responses API has no n, seed or stop
    notes = " | ".join(request.notes)
    for name in ("n", "seed", "stop"):
        assert f"{name} not sent: the Responses API has no such parameter" in notes
    reasoning = build_request("gpt-5", MESSAGES, params, protocol=RESPONSES).body
    assert reasoning["reasoning"] == {"effort": "low"} and reasoning["text"] == {"verbosity": "high"}
    assert reasoning["max_output_tokens"] == 64 and "temperature" not in reasoning
    assert Request.from_body(reasoning).messages == MESSAGES


def test_token_probabilities_go_out_as_logprobs_and_top_logprobs_and_read_back():
    request = build_request("gpt-4o-mini", MESSAGES, GenerationParams(logprobs=5, temperature=0.2))
    assert request.body["logprobs"] is True and request.body["top_logprobs"] == 5
    assert "logprobs" in request.body and request.notes == ()
    assert params_of(request.body) == GenerationParams(logprobs=5, temperature=0.2)
    # A body that asks for the chosen token only (top_logprobs 0) has no top-k to show.
    assert params_of({"logprobs": True, "top_logprobs": 0}) == GenerationParams()
    with pytest.raises(ValueError, match="logprobs must be between 1 and 20"):
        GenerationParams(logprobs=21)


@pytest.mark.parametrize("model", ["o3", "gpt-5", "deepseek-reasoner"])
def test_models_that_refuse_token_probabilities_are_not_sent_them(model):
    request = build_request(model, MESSAGES, GenerationParams(logprobs=5))
    assert "logprobs" not in request.body and "top_logprobs" not in request.body
    assert any(note.startswith("logprobs not sent") for note in request.notes)
    assert "does not accept logprobs" in capabilities_for(model).control_note("logprobs")
    assert capabilities_for("gpt-4o").control_note("logprobs") is None


def test_a_refused_droppable_parameter_is_left_out_of_a_second_request():
    request = build_request("local", MESSAGES, GenerationParams(logprobs=3, seed=1))
    dropped = without_refused(request, "logprobs", "logprobs is not supported with this model.")
    assert dropped.name == "logprobs" and dropped.note == dropped.request.notes[-1]
    again = dropped.request
    assert "logprobs" not in again.body and "top_logprobs" not in again.body and again.body["seed"] == 1
    assert again.notes[-1].startswith("logprobs not sent: the server refused it: logprobs is not supported")
    # Named by its other field, or only in the message when the server gives no param.
    assert without_refused(request, "top_logprobs") is not None
    assert without_refused(request, None, "'top_logprobs' must be at most 5") is not None
    # Anything else is the user's to see: a refused seed, a message about something else, or a body that
    # no longer carries the parameter.
    assert without_refused(request, "seed", "seed is not supported") is None
    assert without_refused(request, None, "Invalid request (fake server).") is None
    assert without_refused(again, "logprobs") is None
