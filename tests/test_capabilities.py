"""Which parameters a model takes (chatlab/capabilities.py): the model-family table, and a probe's findings
overriding it. What the request then sends is tests/test_request.py."""

from __future__ import annotations

import pytest

from chatlab.capabilities import GENERAL, Capabilities, capabilities_for, model_family
from chatlab.params import (
    ACCEPTED,
    DEEPSEEK_REASONER,
    GPT5,
    GPT5_1,
    IGNORED,
    O_SERIES,
    OPENAI_CHAT,
    REJECTED,
    RENAMED,
    Support,
)


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("o1", O_SERIES),
        ("o1-preview", O_SERIES),
        ("o3-mini", O_SERIES),
        ("openai/o3", O_SERIES),  # a provider prefix is ignored
        ("O4-MINI-2025-04-16", O_SERIES),
        ("gpt-5", GPT5),
        ("gpt-5-mini", GPT5),
        ("gpt-5.1", GPT5_1),  # sampling parameters only with reasoning_effort "none"
        ("gpt-5-chat-latest", OPENAI_CHAT),  # the chat variant takes sampling parameters
        ("deepseek-reasoner", DEEPSEEK_REASONER),
        ("gpt-4o-mini", OPENAI_CHAT),  # no reasoning controls
        ("o10-something", GENERAL),  # not o1
        ("smollm2-135m", GENERAL),
        ("", GENERAL),
    ],
)
def test_the_family_table(model, family):
    assert model_family(model)[0] == family


def test_the_reason_names_the_model():
    assert model_family("o3-mini")[1].startswith("o3-mini is a reasoning model")
    assert model_family("my-local-model")[1] == ""


def test_reasoning_models_reject_sampling_and_rename_max_tokens_general_models_take_both():
    o3, gpt4o = capabilities_for("o3"), capabilities_for("gpt-4o")
    assert o3.support("temperature").status == REJECTED
    assert o3.support("max_tokens") == Support(RENAMED, "max_completion_tokens")
    assert gpt4o.support("temperature").status == gpt4o.support("max_tokens").status == ACCEPTED


def test_a_probe_finding_overrides_the_table_for_that_parameter_only():
    caps = Capabilities(model="local", overrides={"seed": Support(IGNORED)})
    assert caps.support("seed").status == IGNORED
    assert caps.support("temperature").status == ACCEPTED
