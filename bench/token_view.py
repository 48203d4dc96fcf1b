"""The token view of a 2,000-token reply with top-20 alternatives, drawn in Chromium, vs its plain text;
and the bytes the store keeps per token.

Both views show the same stored reply on a small page (tests/token_view_app.py, `streamlit run`), in one
headless Chromium, switched with the reply's Text/Tokens control:
  baseline  a click on "Text" until the reply's last word is in the page's DOM, and painted
  figure    a click on "Tokens" until the token view's last token is in the DOM, and painted
Each includes the script rerun, loading the tokens (cached after the first) and the what-if, building
the HTML, Streamlit's websocket delta and the browser's layout. Runs alternate; medians are compared.
Target: the token view within 0.5 s.

Storage: the blob for a 4,000-token reply with top-20 alternatives (chatlab.tokenprobs.codec), per
token, beside the same data as OpenAI's JSON (`logprobs.content`, compact) — target ≤ 150 bytes a token,
so a 4,000-token reply stays under 600 KB. The synthetic reply's alternatives are random words with
random probabilities, which compress worse than a real model's (README gives both figures).

    python bench/token_view.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench`, `chatlab` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BenchResult, limit_result, median, print_results  # noqa: E402
from bench.stream_overhead import reply_text  # noqa: E402
from chatlab.store import Store  # noqa: E402
from chatlab.tokenprobs.codec import encode  # noqa: E402
from chatlab.tokenprobs.record import ReplyTokens, to_wire, token_prob  # noqa: E402
from tests.browser.harness import StreamlitServer, chromium_available, launch_chromium  # noqa: E402

TOKENS, TOP_K = 2_000, 20
STORED_TOKENS = 4_000
LAST_WORD = "Lighthouse-end-of-reply"
LIMIT_S = 0.5
BYTES_LIMIT = 150
ROUNDS, QUICK_ROUNDS = 5, 2

_VOCABULARY = [f" {w}" for w in reply_text(4_000, seed=9).replace(",", " ").replace(".", " ").split()]
_VOCABULARY += [",", ".", "\n", " the", " a", "ing", "ed", "s", ""]


def synthetic_reply(n: int = TOKENS, k: int = TOP_K, seed: int = 0) -> ReplyTokens:
    """Prose cut into ~4-character tokens ending with LAST_WORD; k alternatives each with probabilities
    that add up to less than 1; the written token is the likeliest 70 % of the time."""
    rng = random.Random(seed)
    text = reply_text(n * 4 - len(LAST_WORD) - 1, seed=seed) + " " + LAST_WORD
    pieces = [text[i : i + 4] for i in range(0, len(text), 4)]
    tokens = []
    for piece in pieces:
        names = [piece, *rng.sample([w for w in set(_VOCABULARY) if w != piece], k - 1)]
        weights = sorted((rng.random() ** 3 for _ in range(k)), reverse=True)
        total = sum(weights) / rng.uniform(0.6, 0.98)
        logprobs = [math.log(w / total) for w in weights]
        rank = 0 if rng.random() < 0.7 else rng.randrange(1, k)
        names[0], names[rank] = names[rank], names[0]
        tokens.append(token_prob(piece, logprobs[rank], zip(names, logprobs, strict=True)))
    return ReplyTokens.of(tokens)


def bytes_per_token(reply: ReplyTokens) -> tuple[float, float]:
    """(stored blob, compact OpenAI JSON) bytes per token."""
    blob = encode(reply)
    wire = json.dumps(to_wire(reply.tokens), ensure_ascii=False, separators=(",", ":")).encode()
    return len(blob) / len(reply), len(wire) / len(reply)


# Installed before the page's scripts: the time of a click on the view switch, and the first animation
# frame after the wanted text is in the DOM (so layout and paint are included).
_TIMING_SCRIPT = """
window.__clickAt = null; window.__shownAt = null; window.__want = null;
window.addEventListener('pointerdown', () => { window.__clickAt = performance.now(); }, true);
const seen = () => {
  if (window.__want === 'tokens') {
    return document.querySelectorAll('.clt-view span').length >= %d;
  }
  const message = document.querySelector('[data-testid=stChatMessage]');
  return !document.querySelector('.clt-view') && message && message.textContent.includes(%r);
};
new MutationObserver(() => {
  if (window.__shownAt !== null || window.__clickAt === null || window.__want === null || !seen()) return;
  const at = performance.now();
  requestAnimationFrame(() => requestAnimationFrame(() => { window.__shownAt = at; window.__painted = performance.now(); }));
  window.__shownAt = -1;
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def _switch(page, view: str) -> float:
    """Seconds from the click on `view` until it is drawn and painted."""
    page.evaluate(
        f"() => {{ window.__clickAt = null; window.__shownAt = null; window.__want = {view.lower()!r}; }}"
    )
    page.get_by_text(view, exact=True).click()
    page.wait_for_function("() => window.__shownAt !== null && window.__shownAt >= 0", timeout=60_000)
    return page.evaluate("() => window.__painted - window.__clickAt") / 1000


def run(quick: bool = False) -> list[BenchResult]:
    if not chromium_available():
        raise RuntimeError("Chromium is not installed (scripts/install.sh --browser installs it)")
    from playwright.sync_api import sync_playwright

    rounds = QUICK_ROUNDS if quick else ROUNDS
    reply = synthetic_reply()
    stored, wire = bytes_per_token(synthetic_reply(STORED_TOKENS, seed=1))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.sqlite3")
        cid = store.create_conversation("token view bench")
        message_id = store.add_message(cid, "assistant", reply.text, params={"temperature": 1.0})
        store.save_reply_tokens(message_id, reply)
        store.close()
        server = StreamlitServer(
            {"CHATLAB_DB": str(Path(tmp) / "bench.sqlite3"), "CHATLAB_PASSWORD": ""},
            script="tests/token_view_app.py",
            log_path=Path(tmp) / "streamlit.log",
        ).start()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                try:
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    page.add_init_script(_TIMING_SCRIPT % (TOKENS, LAST_WORD))
                    page.goto(f"{server.url}/?m={message_id}")
                    page.get_by_text("Tokens", exact=True).wait_for(timeout=60_000)
                    _switch(page, "Tokens")  # warm-up: imports, the first load of the tokens
                    _switch(page, "Text")
                    tokens_s, text_s = [], []
                    for _ in range(rounds):
                        tokens_s.append(_switch(page, "Tokens"))
                        text_s.append(_switch(page, "Text"))
                finally:
                    browser.close()
        finally:
            server.stop()
    figure, base = median(tokens_s) * 1000, median(text_s) * 1000
    view = limit_result(
        f"token view: {TOKENS:,} tokens × top-{TOP_K}",
        figure,
        base,
        LIMIT_S * 1000,
        "ms",
        f"drawn and painted {figure:,.0f} ms after the click on Tokens (runs "
        f"{min(tokens_s) * 1000:,.0f}–{max(tokens_s) * 1000:,.0f} ms), the plain text {base:,.0f} ms "
        f"after the click on Text (median of {rounds}, same page, same Chromium)",
    )
    size = limit_result(
        f"stored bytes/token (top-{TOP_K})",
        stored,
        wire,
        BYTES_LIMIT,
        "B",
        f"a {STORED_TOKENS:,}-token reply keeps {stored * STORED_TOKENS / 1024:,.0f} KB "
        f"(as OpenAI's compact JSON, the baseline: {wire * STORED_TOKENS / 1024:,.0f} KB)",
    )
    return [view, size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds instead of {ROUNDS}")
    args = parser.parse_args()
    print_results(run(quick=args.quick))


if __name__ == "__main__":
    main()
