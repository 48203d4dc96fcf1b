"""Every widget key belongs to its page: a page's keys start with the page's own prefix (or the shared
endpoint picker's), so no two pages, and no two panes of one page, can ever share one. And every table
they draw shows a missing value as "—", not Streamlit's grey "None"."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.fake_openai import Reply

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SHARED = ("endpoint.",)  # one namespace on purpose: the endpoint picked on one page serves them all


def widget_keys(node) -> list[str]:
    """The keys of every keyed element and container under `node` (the whole drawn page)."""
    keys = []
    key = getattr(node, "key", None)
    if isinstance(key, str) and key:
        keys.append(key)
    for child in getattr(node, "children", {}).values():
        keys += widget_keys(child)
    return keys


def drawn(page: str | None, act=None) -> list[str]:
    """The page's widget keys, after `act`; checks on the way that each of its tables shows "—"."""
    at = AppTest.from_file(APP, default_timeout=60)
    if page:
        at.switch_page(page)
    at.run()
    if act:
        act(at)
    assert not at.exception, at.exception
    placeholders = {frame.key or "(no key)": frame.proto.placeholder for frame in at.dataframe}
    assert set(placeholders.values()) <= {"—"}, placeholders
    return widget_keys(at._tree)


def test_every_page_draws_only_its_own_keys(app_env):
    app_env.default = Reply(status=500, error_message="Every pane fails, so every pane offers Retry")
    pages = {
        "chat": drawn(None, lambda at: at.chat_input(key="chat.input").set_value("hello").run()),
        "compare": drawn(
            "pages/1_Compare_roles.py", lambda at: at.chat_input(key="compare.input").set_value("hi").run()
        ),
        "sweep": drawn("pages/2_Parameter_sweep.py", lambda at: at.button(key="sweep.run").click().run()),
        "history": drawn("pages/3_History.py"),
        "roles": drawn("pages/4_Roles.py"),
    }
    for prefix, keys in pages.items():
        assert keys, prefix
        strays = [k for k in keys if not k.startswith((f"{prefix}.", *SHARED))]
        assert strays == [], f"{prefix} draws keys of no page or of another page: {strays}"
        assert len(keys) == len(set(keys)), prefix
    # The compare page's panes each draw under their own pane namespace.
    pane_keys = [k for k in pages["compare"] if k.startswith("compare.pane.")]
    assert {k.split(".")[2] for k in pane_keys} == {"0", "1", "2"}
