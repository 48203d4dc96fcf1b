"""chatlab.models: a newcomer's first message goes to a model that can answer it."""

from chatlab.models import chat_models, default_model, is_chat_model, not_found_hint
from tests.fake_models import OPENAI_CATALOGUE

CATALOGUE = sorted(OPENAI_CATALOGUE)


def test_the_picker_leaves_out_what_is_plainly_not_a_chat_model():
    offered = chat_models(CATALOGUE)
    assert CATALOGUE[0] == "babbage-002" and "babbage-002" not in offered
    for kind_of_model in (
        "text-embedding-3-small",
        "whisper-1",
        "tts-1",
        "dall-e-3",
        "gpt-image-1",
        "sora-2",
        "omni-moderation-latest",
        "gpt-4o-realtime-preview",
        "gpt-4o-mini-tts",
        "gpt-4o-mini-transcribe",
        "davinci-002",
        "gpt-3.5-turbo-instruct",
    ):
        assert not is_chat_model(kind_of_model), kind_of_model
    # Every model the fake knows to be a chat model is kept.
    assert {m for m, kind in OPENAI_CATALOGUE.items() if kind.chat} <= set(offered)
    assert is_chat_model("smollm2-135m") and is_chat_model("deepseek-chat") and is_chat_model("llama3.2")


def test_the_default_is_chosen_in_the_stated_order():
    assert default_model(CATALOGUE, profile_default="o4-mini", last_used="gpt-4o")[0] == "o4-mini"
    assert default_model(CATALOGUE, profile_default=None, last_used="gpt-4o")[0] == "gpt-4o"
    assert default_model(CATALOGUE, profile_default=None, last_used="gone-model")[0] == "gpt-4o-mini"
    assert default_model(CATALOGUE, profile_default=None, last_used=None) == (
        "gpt-4o-mini",
        "a good first choice this endpoint offers",
    )
    assert default_model(["whisper-1", "my-llama"], profile_default=None, last_used=None)[0] == "my-llama"
    assert default_model([], profile_default=None, last_used="typed-before")[0] == "typed-before"


def test_a_404_says_why_in_plain_words_and_suggests_a_model():
    hint = not_found_hint("This is not a chat model and thus not supported…", "babbage-002", CATALOGUE)
    assert hint == "babbage-002 is not a chat model. Pick a chat model instead, for example gpt-4o-mini."
    responses = not_found_hint(
        "This model is only supported in v1/responses and not in v1/chat/completions.", "gpt-5-pro", CATALOGUE
    )
    assert "Responses API" in responses
    assert not_found_hint("Unknown path", "gpt-4o", CATALOGUE) is None
