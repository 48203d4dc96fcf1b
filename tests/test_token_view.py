"""chatlab_ui.token_view under AppTest (tests/token_view_app.py shows one stored reply through it), and
its HTML checked directly: escaped, tinted, marked where the what-if says."""

from __future__ import annotations

import math
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.params import GenerationParams
from chatlab.store import Store
from chatlab.tokenprobs.record import ReplyTokens, token_prob
from chatlab.tokenprobs.whatif import reweigh
from chatlab.turn import TurnSettings, send_turn
from chatlab_ui.token_view import TOKENS, token_html
from tests.fake_openai import REJECT, Reply

PAGE = str(Path(__file__).resolve().parent / "token_view_app.py")
TEXT = "The keeper lit the lamp and watched the dark sea for ships."


def stored_reply(fake, n: int = 1, **params) -> tuple[Store, int, str]:
    """A reply from the fake through the one path, stored where the page will look."""
    store = Store(os.environ["CHATLAB_DB"])
    client = ChatClient(Endpoint(base_url=fake.base_url, api_keys=("sk-x",), max_retries=0))
    cid = store.create_conversation()
    settings = TurnSettings(model="gpt-4o-mini", params=GenerationParams(n=n, **params))
    list(send_turn(store, client, cid, settings, "Tell me about the lighthouse."))
    replies = [m for m in store.messages(cid) if m.role == "assistant"]
    return store, replies[0].id, cid


def page(message_id: int, conversation_id: str | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.query_params["m"] = str(message_id)
    if conversation_id:
        at.query_params["c"] = conversation_id
    return at.run()


def spans(body: str) -> list[tuple[str, str]]:
    """(class, text) of every token span in the view."""
    view = body.split('<div class="clt clt-view">', 1)[1]
    return re.findall(r'<span class="([^"]*)" data-a="[^"]*">(.*?)</span>', view, flags=re.S)


def test_a_reply_switches_to_its_tokens_and_the_what_if_marks_greedy_changes(app_env):
    app_env.default = Reply(text=TEXT, chunk_chars=4)
    store, message_id, _ = stored_reply(app_env, logprobs=5, temperature=0.8)
    at = page(message_id)
    assert not at.exception
    assert TEXT in at.markdown[-1].value and not at.html  # Text first: nothing token-related is drawn
    at.segmented_control[0].set_value(TOKENS).run()
    assert not at.exception
    body = at.html[0].value
    drawn = spans(body)
    tokens = store.reply_tokens(message_id)
    assert len(drawn) == len(tokens) and "".join(text for _, text in drawn) == TEXT
    captions = " ".join(c.value for c in at.caption)
    assert (
        "perplexity" in captions and "only the top 5" in captions.lower() or "top 5 alternatives" in captions
    )
    # The sliders start at the reply's own setting.
    assert [s.value for s in at.slider] == [0.8, 1.0]
    at.slider[0].set_value(0.0).run()
    marked = [i for i, (css, _) in enumerate(spans(at.html[0].value)) if css.endswith(" x")]
    # The fake's every fourth token was its runner-up: exactly those change under greedy decoding.
    assert marked == [i for i in range(len(tokens)) if i % 4 == 3]
    assert f"{len(marked)} of {len(tokens)} tokens" in " ".join(m.value for m in at.markdown)
    at.toggle[0].set_value(True).run()
    assert len(at.dataframe[0].value) == len(marked)
    assert not at.exception


def test_a_reply_whose_server_refused_logprobs_says_why(app_env):
    app_env.default = Reply(text=TEXT, logprobs=REJECT)
    _, message_id, _ = stored_reply(app_env, logprobs=5)
    at = page(message_id)
    assert not at.exception and not at.segmented_control
    note = " ".join(c.value for c in at.caption)
    assert "No token view" in note and "logprobs is not supported with this model" in note
    assert TEXT in at.markdown[-1].value


def test_where_two_samples_part(app_env):
    app_env.default = Reply(text=TEXT, chunk_chars=4)
    _, message_id, cid = stored_reply(app_env, n=2, logprobs=3)
    at = page(message_id, cid)
    assert not at.exception
    # The fake's second choice is the first plus " [choice 1]": they part after the whole first reply.
    summary = " ".join(m.value for m in at.markdown)
    assert f"share **{math.ceil(len(TEXT) / 4) - 1:,} tokens**" in summary
    table = at.dataframe[0].value
    assert list(table["samples"]) == ["sample 1", "sample 2"]


# The HTML itself ---------------------------------------------------------------------------------------


HOSTILE = [
    '<img src=x onerror="alert(1)">',
    "</span><script>alert(2)</script>",
    '" onmouseover="alert(3)',
    "&amp;",
]


class Elements(HTMLParser):
    """Every start tag in a piece of HTML, with its attributes as the browser would read them."""

    def __init__(self, body: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text = ""
        self.feed(body)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text += data


@pytest.mark.parametrize("hostile", HOSTILE)
def test_every_token_and_alternative_is_escaped(hostile):
    reply = ReplyTokens.of([token_prob(hostile, -0.5, [(hostile, -0.5), ("<b>x</b>", -1.0)])])
    view = token_html(reply, reweigh(reply, 0.0)).split("</style>", 1)[1]
    parsed = Elements(view)
    # Only our own markup: the legend's spans and the token's span, with our attributes only.
    assert {tag for tag, _ in parsed.tags} == {"div", "span"}
    assert all(set(attrs) <= {"class", "data-a"} for _, attrs in parsed.tags)
    token = parsed.tags[-1][1]
    assert hostile in token["data-a"] and "'<b>x</b>'" in token["data-a"]
    assert parsed.text.endswith(hostile)  # the token itself, shown as text


def test_tints_follow_the_probability_and_odd_tokens_stay_visible():
    reply = ReplyTokens.of(
        [
            token_prob("a", math.log(0.95)),
            token_prob("b", math.log(0.05)),
            token_prob("", -1.0),
            token_prob("\n", -1.0),
        ]
    )
    drawn = spans(token_html(reply))
    assert [css for css, _ in drawn] == ["p5", "p0", "p2", "p2"]
    assert drawn[2][1] == '<i class="e">∅</i>' and drawn[3][1] == "↵\n"


def test_the_chat_sidebar_says_when_a_model_refuses_token_probabilities(app_env):
    app_env.models = ["gpt-4o-mini", "o3-mini"]
    at = AppTest.from_file(str(Path(PAGE).parent.parent / "app.py"), default_timeout=30).run()
    at.selectbox(key="chat.model").set_value("o3-mini").run()
    notes = [c.value for c in at.sidebar.caption]
    assert any("o3-mini does not accept logprobs" in note for note in notes)
    at.selectbox(key="chat.model").set_value("gpt-4o-mini").run()
    assert not any("logprobs" in c.value for c in at.sidebar.caption)
    assert not at.exception
