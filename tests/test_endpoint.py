"""Where requests go (chatlab/endpoint.py): keys are shown by their last 4 characters only, never in a repr."""

from __future__ import annotations

from chatlab.endpoint import Endpoint, mask_key, split_keys


def test_a_key_shows_only_its_last_four_characters():
    assert mask_key("sk-proj-SECRET-wxyz") == "…wxyz"
    assert mask_key("") == "(none)"


def test_several_keys_in_one_variable_are_split_on_commas():
    assert split_keys(" sk-a , sk-b,,sk-c ") == ("sk-a", "sk-b", "sk-c")
    assert split_keys(None) == split_keys("") == ()


def test_an_endpoint_never_prints_its_keys():
    endpoint = Endpoint(base_url="http://127.0.0.1:9/v1", api_keys=("sk-CANARY-1111", "sk-CANARY-2222"))
    for text in (repr(endpoint), str(endpoint)):
        assert "CANARY" not in text
    assert endpoint.masked_keys == ("…1111", "…2222")


def test_no_base_url_means_openai():
    assert Endpoint().display_url == "https://api.openai.com/v1"
    assert Endpoint(base_url="http://localhost:11434/v1").display_url == "http://localhost:11434/v1"
