"""The chat page in a real Chromium: chat twice, move a slider, check what the server got, download CSV."""

from __future__ import annotations

import csv
import io

from tests.browser.harness import send_chat, set_temperature, wait_until_idle


def test_chat_twice_move_a_slider_and_download_the_csv(live_app, page):
    server, fake = live_app
    page.goto(server.url)
    wait_until_idle(page)

    send_chat(page, "Hello, first message")
    messages = page.locator("[data-testid=stChatMessage]")
    assert messages.count() == 2
    assert "word by word." in messages.nth(1).inner_text()

    # Move the temperature slider with the keyboard to 0.80, until the server's preview has it too.
    set_temperature(page, 0.8)

    send_chat(page, "Second message, 你好")
    assert messages.count() == 4
    first, second = (r.body for r in fake.chat_requests)
    transport = {"model", "messages", "stream", "stream_options"}
    assert set(first) - transport == set()  # nothing ticked: the server's defaults apply
    assert set(second) - transport == {"temperature"} and second["temperature"] == 0.8
    assert second["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}
    # depth 10 covers both past messages: system + user + assistant + new user
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]
    assert second["messages"][-1]["content"] == "Second message, 你好"

    # Usage table shows two turns.
    assert page.locator("[data-testid=stMetricValue]").first.inner_text() == "2"

    # The downloads sit in the main area beside the conversation, in sight without opening anything.
    main = page.get_by_test_id("stMainBlockContainer")
    with page.expect_download() as download_info:
        main.get_by_role("button", name="Download CSV").click()
    raw = open(download_info.value.path(), "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV must carry a BOM so Excel reads UTF-8"
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["role"] for r in rows] == ["user", "assistant", "user", "assistant"]
    assert rows[2]["content"] == "Second message, 你好"
    assert rows[3]["temperature"] == "0.8" and rows[1]["temperature"] == ""
    assert "sk-browser-test" not in raw.decode("utf-8-sig")

    # A refresh keeps the conversation (its id is in the URL).
    page.reload()
    wait_until_idle(page)
    assert page.locator("[data-testid=stChatMessage]").count() == 4
    assert page.errors == []
