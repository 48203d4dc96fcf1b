"""A canary API key, used for a whole realistic session, never lands anywhere a person or a file could see it.

The app is started with OPENAI_API_KEY set to a random canary. A Chromium session then chats, opens the
request preview and every "View code" popover, downloads every transcript and export, and visits every
page. Afterwards the canary is searched for, byte for byte, in every file the app wrote (the SQLite
database with its -wal/-shm files, the server log), every download (zips opened), every page's HTML and
text, the code shown, and every websocket frame the browser received — what was sent to the page, drawn
or not. Only a mask showing the key's last four characters may appear.

The test proves it could fail: the fake server must have received the canary as a Bearer token, so the
key really was in use, and a planted copy of it is found by the same search.
"""

from __future__ import annotations

import io
import secrets
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.browser.harness import StreamlitServer, isolated_env, search_history, send_chat, wait_until_idle
from tests.fake_openai import FakeOpenAI, Reply

MESSAGES = "[data-testid=stChatMessage]"


class Evidence:
    """Everything the session produced that a person or a file could hold, as named blobs of bytes."""

    def __init__(self) -> None:
        self.blobs: list[tuple[str, bytes]] = []

    def add(self, name: str, data: bytes | str) -> None:
        self.blobs.append((name, data.encode("utf-8") if isinstance(data, str) else data))

    def add_download(self, name: str, data: bytes) -> None:
        self.add(name, data)
        if data.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:  # compressed: search each member too
                for member in archive.namelist():
                    self.add(f"{name}!{member}", archive.read(member))

    def page(self, page, label: str) -> None:
        self.add(f"{label} (HTML)", page.content())
        self.add(f"{label} (text)", page.locator("body").inner_text())

    def holding(self, needle: str) -> list[str]:
        raw = needle.encode("utf-8")
        return [name for name, data in self.blobs if raw in data]


def download(page, evidence: Evidence, button, name: str, folder: Path) -> bytes:
    # A deferred download clicked while the page reruns (a selectbox just changed) can be dropped by
    # Streamlit; a person would click again, and so does this.
    for attempt in range(3):
        try:
            with page.expect_download(timeout=20_000) as info:
                button.click()
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            wait_until_idle(page)
    path = folder / name
    info.value.save_as(path)
    data = path.read_bytes()
    evidence.add_download(f"download {name}", data)
    return data


def choose(page, selectbox, option: str) -> None:
    """Pick an option of a selectbox (a click that lands during a rerun may not open it: try again)."""
    for attempt in range(3):
        selectbox.click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=5_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
            wait_until_idle(page)
    wait_until_idle(page)


def view_code(page, evidence: Evidence, button, label: str) -> str:
    """Open a "View code" popover and read both tabs; returns the Python and curl text together.

    On a busy machine a click can land while the page reruns, which closes the popover or drops the
    click: each tab is waited for until it is selected, and the popover is reopened as a person would."""
    texts = []
    for tab in ("Python", "curl"):
        for attempt in range(3):
            try:
                body = page.locator("[data-testid=stPopoverBody]").last
                if not body.is_visible():
                    wait_until_idle(page)
                    button.click()
                    expect(body).to_be_visible(timeout=20_000)
                tab_button = body.get_by_role("tab", name=tab)
                tab_button.click(timeout=20_000)
                expect(tab_button).to_have_attribute("aria-selected", "true", timeout=20_000)
                code = body.locator("[data-testid=stCode]:visible").first
                expect(code).to_be_visible(timeout=20_000)
                texts.append(code.inner_text())
                break
            except (AssertionError, PlaywrightTimeoutError):
                if attempt == 2:
                    raise
                page.keyboard.press("Escape")
                wait_until_idle(page)
    evidence.add(f"view code: {label}", "\n".join(texts))
    page.keyboard.press("Escape")
    wait_until_idle(page)
    return "\n".join(texts)


@pytest.fixture
def canary_app(tmp_path):
    """The app with a random canary key, talking to the fake; yields (server, fake, key, app folder)."""
    key = f"sk-canary-{secrets.token_hex(16)}"
    folder = tmp_path / "app"
    folder.mkdir()
    fake = FakeOpenAI(default=Reply(text="A reply that quotes nothing secret.", chunk_chars=6)).start()
    server = StreamlitServer(
        isolated_env(folder, base_url=fake.base_url, api_key=key), log_path=folder / "streamlit.log"
    ).start()
    try:
        yield server, fake, key, folder
    finally:
        server.stop()
        fake.stop()


def test_a_canary_key_appears_in_no_file_export_log_page_or_frame(canary_app, page, tmp_path):
    server, fake, key, folder = canary_app
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    evidence = Evidence()
    frames: list[bytes] = []

    def watch(ws) -> None:
        ws.on(
            "framereceived",
            lambda frame: frames.append(frame if isinstance(frame, bytes) else frame.encode()),
        )

    page.on("websocket", watch)

    # Chat twice, then look at everything the chat page can show about a request.
    page.goto(server.url)
    wait_until_idle(page)
    send_chat(page, "What is a canary in a coal mine?")
    send_chat(page, "And in software?")
    evidence.page(page, "chat")
    sidebar = page.locator("[data-testid=stSidebar]")
    sidebar.get_by_text("Connection", exact=True).click()
    evidence.add("sidebar (text)", sidebar.inner_text())

    page.get_by_text("What the next request will send", exact=True).click()
    preview = page.locator("[data-testid=stExpander]").filter(has_text="What the next request will send")
    preview.locator("[data-testid=stCode]").first.wait_for(timeout=15_000)
    evidence.add("request preview", preview.inner_text())
    code = view_code(
        page, evidence, page.get_by_role("button", name="View code for this request"), "next request"
    )
    assert "OPENAI_API_KEY" in code  # the code names the variable the key comes from...
    for index in range(2):  # ...as does the code under each stored reply
        reply = page.locator(MESSAGES).nth(2 * index + 1)
        view_code(page, evidence, reply.get_by_role("button", name="View code"), f"reply {index + 1}")
    evidence.page(page, "chat with popovers opened")

    # The transcript, in every format (its buttons sit under the conversation).
    main = page.get_by_test_id("stMainBlockContainer")
    for label, name in (("CSV", "chat.csv"), ("JSON", "chat.json"), ("Markdown", "chat.md")):
        download(page, evidence, main.get_by_role("button", name=f"Download {label}"), name, downloads)

    # A comparison, with its download.
    page.goto(f"{server.url}/Compare_roles")
    wait_until_idle(page)
    box = page.locator("[data-testid=stChatInput] textarea")
    box.fill("Compare canaries")
    box.press("Enter")
    csv_button = page.get_by_role("button", name="Download CSV (one row per pane per turn)")
    csv_button.wait_for(timeout=60_000)
    wait_until_idle(page)
    evidence.page(page, "compare")
    download(page, evidence, csv_button, "compare.csv", downloads)

    page.goto(f"{server.url}/Parameter_sweep")
    wait_until_idle(page)
    evidence.page(page, "sweep")

    page.goto(f"{server.url}/Roles")
    wait_until_idle(page)
    evidence.page(page, "roles")

    # History: search, then every conversation zipped in each format.
    page.goto(f"{server.url}/History")
    wait_until_idle(page)
    search_history(page, "canary")
    evidence.page(page, "history search")
    search = page.get_by_label("Search every message")
    search.fill("")
    search.press("Enter")
    wait_until_idle(page)
    history_sidebar = page.locator("[data-testid=stSidebar]")
    history_sidebar.get_by_text("Export all", exact=True).click()
    for label, fmt in (("CSV", "csv"), ("JSON", "json"), ("Markdown", "md")):
        choose(page, history_sidebar.locator("[data-testid=stSelectbox]").filter(has_text="Format"), label)
        archive = download(
            page,
            evidence,
            history_sidebar.get_by_role("button", name="as a zip"),
            f"history-{fmt}.zip",
            downloads,
        )
        assert len(zipfile.ZipFile(io.BytesIO(archive)).namelist()) >= 4  # 1 chat + 3 comparison panes
    evidence.page(page, "history")
    assert page.errors == []

    # The key was really in use: every request the app made carried it.
    chats = fake.chat_requests
    assert len(chats) >= 5
    assert {r.headers.get("authorization") for r in chats} == {f"Bearer {key}"}

    # Now the files, read as bytes while the server still runs (SQLite keeps recent writes in the -wal).
    def files_on_disk(label: str) -> None:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                evidence.add(f"{label} {path.relative_to(folder)}", path.read_bytes())

    files_on_disk("file (running)")
    assert (folder / "chatlab.sqlite3").exists() and (folder / "streamlit.log").exists()
    server.stop()
    files_on_disk("file (stopped)")
    for index, frame in enumerate(frames):
        evidence.add(f"websocket frame {index}", frame)
    assert len(evidence.blobs) > 40 and frames

    # The search itself works: a copy planted inside a compressed zip is found.
    probe, planted = Evidence(), io.BytesIO()
    with zipfile.ZipFile(planted, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("notes.txt", f"…text {key} text…")
    probe.add_download("planted.zip", planted.getvalue())
    assert probe.holding(key) == ["planted.zip!notes.txt"]

    assert evidence.holding(key) == []
    secret_part = key[:-4]  # everything but the last four characters, which the key mask may show
    assert evidence.holding(secret_part) == []
    assert evidence.holding(f"…{key[-4:]}"), "the masked key (last four characters) is shown somewhere"
