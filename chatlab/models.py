"""Which of an endpoint's models to offer, and which to start with.

OpenAI's /v1/models lists some forty ids, most of them not chat models (embeddings, speech, images,
moderation, legacy completion models, realtime); sorted, the first is `babbage-002`, which answers a chat
request with 404. So the picker leaves out ids that are plainly not chat models, and the default is
chosen, not taken from the top of the list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Ids that are plainly not chat models (matched anywhere in the id, case-insensitive).
_NOT_CHAT = re.compile(
    r"embed|tts|whisper|transcri|audio|speech|dall-e|image|sora|moderation|realtime|"
    r"^babbage|^davinci|^ada(-|$)|^curie|instruct$|-instruct-|search-preview|computer-use",
    re.IGNORECASE,
)
# Good first choices, best first, when the endpoint offers them and nothing else decides.
KNOWN_GOOD = ("gpt-4o-mini", "gpt-4.1-mini", "gpt-5-mini", "deepseek-chat", "gpt-4o")
FALLBACK = "gpt-4o-mini"  # when the endpoint lists nothing (any id can still be typed)

NOT_A_CHAT_MODEL = re.compile(r"not a chat model", re.IGNORECASE)
RESPONSES_ONLY = re.compile(r"only supported in v1/responses", re.IGNORECASE)


def is_chat_model(model_id: str) -> bool:
    return not _NOT_CHAT.search(model_id)


def chat_models(listed: Sequence[str]) -> list[str]:
    """The listed ids that may be chat models, in their order."""
    return [m for m in listed if is_chat_model(m)]


def default_model(
    listed: Sequence[str], *, profile_default: str | None, last_used: str | None
) -> tuple[str, str]:
    """(model, why): the profile's default_model; else the model last used with this endpoint; else a
    known good model the endpoint offers; else its first chat model; else a fallback to type over."""
    offered = chat_models(listed)
    if profile_default:
        return profile_default, "the endpoint's default model"
    if last_used and (not listed or last_used in listed):
        return last_used, "the model last used with this endpoint"
    for model in KNOWN_GOOD:
        if model in offered:
            return model, "a good first choice this endpoint offers"
    if offered:
        return offered[0], "the first chat model this endpoint lists"
    return FALLBACK, "no chat model is listed: type the id you want"


def not_found_hint(message: str, model: str, listed: Sequence[str]) -> str | None:
    """A plain sentence for a 404 about the model, with a model to try instead (None if unrelated)."""
    if RESPONSES_ONLY.search(message):
        return f"{model} is served only by the Responses API: switch the API to Responses in the sidebar."
    if NOT_A_CHAT_MODEL.search(message) or (listed and model not in listed and "model" in message.lower()):
        instead, _ = default_model(listed, profile_default=None, last_used=None)
        what = (
            "is not a chat model" if NOT_A_CHAT_MODEL.search(message) else "is not offered by this endpoint"
        )
        return f"{model} {what}. Pick a chat model instead, for example {instead}."
    return None
