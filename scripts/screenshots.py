"""Regenerate the README's screenshots from a real Chromium session against the fake OpenAI server.

    .venv/bin/python scripts/screenshots.py [--out DIR]

Each page is driven the way a person would use it, then captured into docs/screenshots/ (or DIR, to look
at a build without touching the README's images).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.harness import (  # noqa: E402
    StreamlitServer,
    isolated_env,
    launch_chromium,
    send_chat,
    wait_until_idle,
)  # noqa: E402
from tests.fake_openai import FakeOpenAI, Reply  # noqa: E402

OUT = ROOT / "docs" / "screenshots"  # main(--out) may point it elsewhere
DEMO_REPLY = (
    "**Temperature** rescales the model's token probabilities before sampling:\n\n"
    "| temperature | what you get |\n|---|---|\n"
    "| 0 – 0.3 | focused, nearly repeatable answers |\n"
    "| 0.7 – 1.0 | the default balance |\n"
    "| 1.2 – 2.0 | varied, surprising, sometimes incoherent text |\n\n"
    "Change *either* temperature or top_p, rarely both."
)


def chat_page(page, url: str) -> None:
    page.goto(url)
    wait_until_idle(page, 60_000)
    send_chat(page, "What does temperature actually change?")
    thumb = page.locator("[data-testid=stSlider]").filter(has_text="Temperature").get_by_role("slider")
    for _ in range(6):
        thumb.focus()
        thumb.press("ArrowLeft")
        page.wait_for_timeout(250)
        wait_until_idle(page)
    send_chat(page, "Explain it to me in one sentence, 用中文也可以.")
    scroll_main(page, top=True)
    page.screenshot(path=OUT / "chat.png")
    page.locator("[data-testid=stExpander]").filter(has_text="What the next request will send").click()
    page.wait_for_timeout(600)
    scroll_main(page, top=False)
    page.screenshot(path=OUT / "request-preview.png")


def scroll_main(page, *, top: bool) -> None:
    """Streamlit scrolls its main area, not the window."""
    page.evaluate(
        "(top) => document.querySelectorAll('[data-testid=stMain], [data-testid=stAppScrollToBottomContainer]')"
        ".forEach(e => e.scrollTo(0, top ? 0 : e.scrollHeight))",
        top,
    )
    page.wait_for_timeout(300)


WORDS = (
    "the lighthouse keeper watched the sea glow under a quiet moon while ships passed slowly by "
    "and gulls slept on the old stone wall as waves kept their patient rhythm"
).split()


def varied_reply(request) -> Reply | None:
    """Sweep demo: higher temperature, more varied and longer wording (a stand-in for a real model)."""
    body = request.body or {}
    if "temperature" not in body:
        return None
    temperature = float(body["temperature"])
    rng = random.Random(hash((temperature, body.get("top_p"), len(request.headers))) ^ random.getrandbits(16))
    length = int(12 + 10 * temperature + rng.randint(0, 6))
    pool = WORDS[: max(4, int(len(WORDS) * min(1.0, 0.25 + temperature / 1.6)))]
    return Reply(text=" ".join(rng.choice(pool) for _ in range(length)).capitalize() + ".", chunk_chars=16)


def compare_page(page, url: str) -> None:
    page.goto(f"{url}/Compare_roles")
    wait_until_idle(page, 60_000)
    send_chat(page, "How should I prepare for a job interview next week?")
    scroll_main(page, top=True)
    page.screenshot(path=OUT / "compare.png")


def sweep_page(page, url: str) -> None:
    page.goto(f"{url}/Parameter_sweep")
    wait_until_idle(page, 60_000)
    page.get_by_role("button", name="Run sweep").click()
    page.get_by_text("Done:").wait_for(timeout=60_000)
    wait_until_idle(page)
    heading = page.get_by_role("heading", name="Is the difference real?")
    heading.evaluate("e => e.scrollIntoView({block: 'start'})")  # the verdicts and the error bars
    page.wait_for_timeout(800)
    page.screenshot(path=OUT / "sweep.png")


def history_page(page, url: str) -> None:
    page.goto(f"{url}/History")
    wait_until_idle(page, 60_000)
    page.wait_for_timeout(600)
    page.screenshot(path=OUT / "history.png")
    box = page.get_by_label("Search every message")
    box.fill("temperature")
    box.press("Enter")
    page.get_by_text("match").first.wait_for(timeout=15_000)
    wait_until_idle(page)
    page.screenshot(path=OUT / "history-search.png")


def roles_page(page, url: str) -> None:
    page.goto(f"{url}/Roles")
    wait_until_idle(page, 60_000)
    page.get_by_placeholder("name, description or prompt text").wait_for(timeout=30_000)
    page.get_by_role("link", name="Chat").wait_for(timeout=30_000)
    page.wait_for_timeout(800)
    page.screenshot(path=OUT / "roles.png")


def lock_screen(browser, fake: FakeOpenAI, tmp: Path) -> None:
    """A second server with CHATLAB_PASSWORD set: its lock screen, as every page shows it first."""
    env = isolated_env(tmp / "locked", base_url=fake.base_url, api_key="sk-demo-key-0000-7f3a")
    server = StreamlitServer({**env, "CHATLAB_PASSWORD": "demo-password"}, log_path=tmp / "locked.log")
    try:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(server.start().url)
        wait_until_idle(page, 60_000)
        page.get_by_label("Password", exact=True).wait_for(timeout=30_000)
        page.wait_for_timeout(600)
        page.screenshot(path=OUT / "lock.png")
        page.close()
    finally:
        server.stop()


def main() -> None:
    global OUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the PNGs go (default: {OUT})")
    OUT = parser.parse_args().out
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="chatlab-shots-"))
    fake = FakeOpenAI(
        default=Reply(text=DEMO_REPLY, chunk_chars=12, delay_s=0.005, usage_values=(58, 96)),
        models=("gpt-4o-mini", "gpt-4o", "o4-mini"),
    ).start()
    server = StreamlitServer(
        isolated_env(tmp, base_url=fake.base_url, api_key="sk-demo-key-0000-7f3a"),
        log_path=tmp / "streamlit.log",
    ).start()
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1440, "height": 1350})
            chat_page(page, server.url)
            fake.script_fn(varied_reply)
            compare_page(page, server.url)
            sweep_page(page, server.url)
            history_page(page, server.url)
            roles_page(page, server.url)
            lock_screen(browser, fake, tmp)
            browser.close()
    finally:
        server.stop()
        fake.stop()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
