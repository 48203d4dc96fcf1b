"""What a user waits for in the browser: time to the last token of a 2,000-token reply, vs the raw SDK.

Both read the same reply from the same loopback fake server (tests/fake_openai.py in its own process),
paced like a fast hosted model: 2,000 chunks of 4 characters, 2.5 ms apart (about 370 tokens/s):
  baseline  openai.OpenAI(...).chat.completions.create(stream=True): from the call until the chunk
            holding the reply's last word has been read
  figure    the real app (`streamlit run app.py`) in headless Chromium: from the Enter key in the chat box
            (timed in the page) until the reply's last word is in the page's DOM (a MutationObserver)
The figure pays for everything between the two: the script rerun, the store's writes, Streamlit's
websocket deltas and React drawing the markdown. Runs alternate after a warm-up; medians are compared.

    python bench/browser_stream.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench`, `chatlab` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openai  # noqa: E402

from bench.common import BenchResult, fake_server_process, median, print_results, ratio_result  # noqa: E402
from bench.stream_overhead import reply_text  # noqa: E402
from tests.browser.harness import (  # noqa: E402
    StreamlitServer,
    chromium_available,
    isolated_env,
    launch_chromium,
    wait_until_idle,
)

MODEL = "gpt-4o-mini"
API_KEY = "sk-bench-0000"
CHUNK_CHARS = 4
TOKENS = 2_000  # one chunk of 4 characters is about one token
DELAY_S = 0.0025  # between chunks; with the server's own time, about 370 tokens/s
LAST_WORD = "Lighthouse-end-of-reply"  # unique, so "the last token is on screen" is one text test
PROMPT = "Tell me a long story about a lighthouse keeper."
LIMIT = 1.25
ROUNDS, QUICK_ROUNDS = 5, 2

# Installed before the page's own scripts: the Enter keydown and the first time the reply's last word is
# in a chat message, both on the page's clock. Only the newest message is read on each DOM change.
_TIMING_SCRIPT = """
window.__enterAt = null; window.__lastTokenAt = null;
window.addEventListener('keydown', e => {
  if (e.key === 'Enter' && window.__enterAt === null) window.__enterAt = performance.now();
}, true);
new MutationObserver(() => {
  if (window.__lastTokenAt !== null || window.__enterAt === null) return;
  const messages = document.querySelectorAll('[data-testid=stChatMessage]');
  const newest = messages[messages.length - 1];
  if (newest && newest.textContent.includes(%r)) window.__lastTokenAt = performance.now();
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def reply_with_last_word() -> str:
    body = reply_text(TOKENS * CHUNK_CHARS - len(LAST_WORD) - 1)
    return f"{body} {LAST_WORD}"


def sdk_time_to_last_token(client: openai.OpenAI) -> float:
    start = time.perf_counter()
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": PROMPT}],
        stream=True,
        stream_options={"include_usage": True},
    )
    seen, elapsed = "", None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            seen = (seen + chunk.choices[0].delta.content)[-len(LAST_WORD) :]
            if seen.endswith(LAST_WORD):
                elapsed = time.perf_counter() - start
    stream.close()
    if elapsed is None:
        raise RuntimeError(f"the reply never reached its last word {LAST_WORD!r}")
    return elapsed


def browser_time_to_last_token(browser, url: str) -> float:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.add_init_script(_TIMING_SCRIPT % LAST_WORD)
        page.goto(url)
        wait_until_idle(page)
        box = page.locator("[data-testid=stChatInput] textarea")
        box.fill(PROMPT)
        box.press("Enter")
        page.wait_for_function("() => window.__lastTokenAt !== null", timeout=120_000)
        ms = page.evaluate("() => window.__lastTokenAt - window.__enterAt")
        return ms / 1000
    finally:
        context.close()


def run(quick: bool = False) -> list[BenchResult]:
    if not chromium_available():
        raise RuntimeError("Chromium is not installed (scripts/install.sh --browser installs it)")
    from playwright.sync_api import sync_playwright

    rounds = QUICK_ROUNDS if quick else ROUNDS
    text = reply_with_last_word()
    extra = ["--delay", str(DELAY_S)]
    with (
        tempfile.TemporaryDirectory() as tmp,
        fake_server_process(text, CHUNK_CHARS, extra_args=extra) as base_url,
    ):
        server = StreamlitServer(
            isolated_env(Path(tmp), base_url=base_url, api_key=API_KEY), log_path=Path(tmp) / "streamlit.log"
        ).start()
        sdk = openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                try:
                    browser_time_to_last_token(browser, server.url)  # warm-up: imports, caches, first run
                    sdk_time_to_last_token(sdk)
                    browser_s, sdk_s = [], []
                    for _ in range(rounds):
                        sdk_s.append(sdk_time_to_last_token(sdk))
                        browser_s.append(browser_time_to_last_token(browser, server.url))
                finally:
                    browser.close()
        finally:
            sdk.close()
            server.stop()
    figure, base = median(browser_s) * 1000, median(sdk_s) * 1000
    return [
        ratio_result(
            "browser: last token of 2,000",
            figure,
            base,
            LIMIT,
            "ms",
            f"the page shows the last token {figure - base:,.0f} ms after the SDK has read it (median of "
            f"{rounds}); browser runs {min(browser_s) * 1000:,.0f}–{max(browser_s) * 1000:,.0f} ms, "
            f"SDK runs {min(sdk_s) * 1000:,.0f}–{max(sdk_s) * 1000:,.0f} ms; {TOKENS:,} chunks "
            f"{DELAY_S * 1000:g} ms apart",
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds instead of {ROUNDS}")
    args = parser.parse_args()
    print_results(run(quick=args.quick))


if __name__ == "__main__":
    main()
