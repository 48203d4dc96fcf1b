"""Regenerate the README's screenshots from a real Chromium session against the fake OpenAI server.

    .venv/bin/python scripts/screenshots.py [--out DIR]

Each page is driven the way a person would use it, then captured into docs/screenshots/ (or DIR, to look
at a build without touching the README's images).
"""

from __future__ import annotations

import argparse
import math
import random
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests import fake_models  # noqa: E402
from tests.browser.harness import (  # noqa: E402
    StreamlitServer,
    isolated_env,
    launch_chromium,
    send_chat,
    set_slider,
    settled,
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
    settled(page)
    page.screenshot(path=OUT / "history-search.png")


def roles_page(page, url: str) -> None:
    page.goto(f"{url}/Roles")
    wait_until_idle(page, 60_000)
    page.get_by_placeholder("name, description or prompt text").wait_for(timeout=30_000)
    page.get_by_role("link", name="Chat").wait_for(timeout=30_000)
    page.wait_for_timeout(800)
    page.screenshot(path=OUT / "roles.png")


# ---- Compare when panes fail ---------------------------------------------------------------------------

# The default roles of Compare and Batch runs, told apart by how their system prompts begin.
CHINESE, WARM, TEACHER = "你是", 'You are "Warm Companion"', "You are a patient"


def system_prompt(request) -> str:
    messages = (request.body or {}).get("messages") or [{}]
    return str(messages[0].get("content") or "") if messages[0].get("role") == "system" else ""


def failing_panes(request) -> Reply:
    """Each pane fails differently on the same turn, as real servers do; the ad-hoc pane answers."""
    system = system_prompt(request)
    if system.startswith(CHINESE):
        return Reply(status=500, error_message="The server had an error while processing your request.")
    if system.startswith(WARM):
        return Reply(status=401)
    if system.startswith(TEACHER):  # the connection drops after a few words: no finish, no [DONE]
        return Reply(text="Good question! Before we start, what do you already know about", cut_after=4)
    return Reply(text="Arr, practise yer answers aloud, research the ship ye be joining, and sleep well.")


def compare_failures_page(page, url: str) -> None:
    page.goto(f"{url}/Compare_roles")
    wait_until_idle(page, 60_000)
    # A fourth pane: an ad-hoc prompt, the one that answers (a text area commits on Ctrl+Enter or blur).
    adhoc = page.get_by_label("Ad-hoc system prompt (optional — adds a pane)")
    adhoc.fill("You answer like a pirate.")
    adhoc.press("Control+Enter")
    page.get_by_text("× 4 panes", exact=False).wait_for(timeout=30_000)  # the cost line counts it
    wait_until_idle(page)
    send_chat(page, "How should I prepare for a job interview next week?")
    for index in range(3):  # each failing pane offers its own Retry
        page.locator(f".st-key-compare-pane-{index}-retry-1").wait_for(timeout=60_000)
    wait_until_idle(page)
    page.wait_for_timeout(800)  # the page keeps itself scrolled to the chat input while it grows
    scroll_main(page, top=True)
    page.screenshot(path=OUT / "compare-failures.png")


# ---- Compare with samples ------------------------------------------------------------------------------


def samples_by_role(request) -> Reply:
    """Warm Companion writes about twice as much as the Chinese companion, with some spread either way."""
    warm = system_prompt(request).startswith(WARM)
    words = random.randint(55, 85) if warm else random.randint(25, 45)
    pool = WORDS if warm else "宝贝 别 紧张 先 了解 公司 再 练习 回答 常见 问题 早点 休息".split()
    joiner = " " if warm else ""
    text = joiner.join(random.choice(pool) for _ in range(words))
    # The fake counts a token a chunk: about 4 characters of English, 1–2 of Chinese.
    return Reply(text=text.capitalize() + ("." if warm else "。"), chunk_chars=4 if warm else 2)


def compare_samples_page(page, url: str) -> None:
    page.goto(f"{url}/Compare_roles")
    wait_until_idle(page, 60_000)
    # Two panes: drop the third default role from the picker.
    page.get_by_role("button", name="Remove Patient Teacher").click()
    wait_until_idle(page)
    set_slider(page, "Samples per pane", "ArrowRight", 8)
    send_chat(page, "How should I prepare for a job interview next week?", timeout_ms=120_000)
    heading = page.get_by_role("heading", name="Is the difference real?")
    heading.wait_for(timeout=60_000)
    wait_until_idle(page)
    page.wait_for_timeout(1500)  # the charts draw late and change the height; scroll once they have
    heading.evaluate("e => e.scrollIntoView({block: 'start'})")  # the sentences, the table and the charts
    page.wait_for_timeout(800)
    page.screenshot(path=OUT / "compare-samples.png")


# ---- Test sets, a batch run over one, and blind rating of its replies ----------------------------------

# (question, the word a right answer holds in English and in Chinese)
QUIZ = [
    ("What is the capital of France?", "Paris", "巴黎"),
    ("Which planet is the largest in our solar system?", "Jupiter", "木星"),
    ("What is H2O better known as?", "water", "水"),
    ("How many legs does a spider have?", "eight", "八"),
    ("Which ocean is the largest?", "Pacific", "太平洋"),
    ("What gas do plants take in from the air?", "carbon dioxide", "二氧化碳"),
]
# A promptfoo-style CSV, as a user would import it: a check per case, and a length limit for every case.
QUIZ_CSV = "message,topic,__expected1,__set_expected1\n" + "".join(
    f'"{question}",{topic},"icontains: {english}",max-chars: 160\n'
    for (question, english, _), topic in zip(
        QUIZ, ["geography", "astronomy", "chemistry", "biology", "geography", "biology"], strict=True
    )
)


def quiz_answers(request) -> Reply:
    """The Chinese companion answers briefly in Chinese (naming the English word only sometimes); Warm
    Companion always has the answer but often talks past the length limit."""
    asked = str(request.body["messages"][-1]["content"])
    english, chinese = next(((e, c) for q, e, c in QUIZ if q == asked), ("that", "这个"))
    if system_prompt(request).startswith(CHINESE):
        also = f"（{english}）" if random.random() < 0.5 else ""
        return Reply(text=f"宝贝，答案是{chinese}{also}。还有什么想知道的吗？", chunk_chars=2)
    chatter = " It's one of those little facts that makes the world feel a bit more wonderful, isn't it?"
    text = f"Oh dear, what a lovely question! It's {english}." + chatter * random.randint(0, 2)
    return Reply(text=text, chunk_chars=4)


def test_sets_page(page, url: str) -> None:
    page.goto(f"{url}/Test_sets")
    wait_until_idle(page, 60_000)
    page.get_by_role("tab", name="Import a file").click()
    wait_until_idle(page)
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(
        files=[{"name": "quiz.csv", "mimeType": "text/csv", "buffer": QUIZ_CSV.encode()}]
    )
    page.get_by_role("button", name="Save test set").click()
    page.get_by_text("Imported 'quiz'").wait_for(timeout=30_000)
    wait_until_idle(page)
    page.get_by_text(f"The {len(QUIZ)} cases").click()  # the cases and their checks, not just the name
    wait_until_idle(page)
    page.wait_for_timeout(600)
    page.screenshot(path=OUT / "test-sets.png")


def batch_page(page, url: str) -> None:
    page.goto(f"{url}/Batch_runs")
    wait_until_idle(page, 60_000)
    # The only test set and the two default roles are already picked; k = 3 samples per case.
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_role("link", name="Rate these replies blind").wait_for(timeout=120_000)  # drawn once done
    wait_until_idle(page)
    page.wait_for_timeout(1000)
    # From the run's title and how it ended down to the grid and one cell's replies.
    page.get_by_role("heading", name="quiz", exact=True).evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(800)
    page.screenshot(path=OUT / "batch.png")


def rating_page(page, url: str) -> None:
    page.goto(f"{url}/Blind_rating")
    wait_until_idle(page, 60_000)
    # The batch run just made is the only one: its two panes are picked.
    page.get_by_role("button", name="Start rating").click()
    page.get_by_role("button", name="Left is better").wait_for(timeout=60_000)
    wait_until_idle(page)
    page.wait_for_timeout(600)
    page.screenshot(path=OUT / "rating.png")
    # Ten votes by the keyboard shortcuts, cast by reading the two replies as a rater would.
    for count in range(1, 11):
        left, right = (side_text(page, side) for side in ("Left", "Right"))
        liked = {True: "ArrowLeft", False: "ArrowRight"}
        page.keyboard.press("t" if taste(left) == taste(right) else liked[taste(left) > taste(right)])
        page.get_by_text(f"{count} of ", exact=False).first.wait_for(timeout=30_000)
        settled(page)  # the counter is drawn before the next pair
    page.get_by_role("tab", name="Leaderboard").click()
    page.get_by_text("Win matrix").wait_for(timeout=30_000)
    # The ratings table and the win matrix are drawn after the sentences.
    page.wait_for_function("() => document.querySelectorAll('[data-testid=stDataFrame]').length >= 2")
    wait_until_idle(page)
    page.wait_for_timeout(1500)
    page.screenshot(path=OUT / "rating-leaderboard.png")


def side_text(page, side: str) -> str:
    """The reply shown on one side of the vote screen."""
    return page.locator("[data-testid=stColumn]").filter(has=page.get_by_text(side, exact=True)).inner_text()


def taste(reply: str) -> int:
    """A rater who reads English and dislikes padding: an English answer, less each extra sentence."""
    if reply.count("Oh dear"):
        return 3 - reply.count("wonderful")
    return 2 if "（" in reply else 1  # the Chinese reply, better when it names the English word


# ---- The chat page's token view and capability probe ---------------------------------------------------

TOKEN_TEXT = "The sea was calm that night, and the old keeper lit the lamp before the storm came."
# The model's top alternatives where it hesitated (each list sums to under 1). At " old" and " storm"
# sampling took the runner-up, so the what-if marks them.
TOKEN_CHOICES = {
    " calm": [(" calm", 0.52), (" quiet", 0.21), (" still", 0.14), (" rough", 0.06)],
    " night": [(" night", 0.61), (" evening", 0.24), (" morning", 0.08)],
    " old": [(" young", 0.44), (" old", 0.31), (" lonely", 0.12), (" tired", 0.05)],
    " lit": [(" lit", 0.58), (" lighted", 0.22), (" checked", 0.11)],
    " lamp": [(" lamp", 0.49), (" light", 0.27), (" beacon", 0.13), (" fire", 0.04)],
    " before": [(" before", 0.55), (" as", 0.25), (" when", 0.12)],
    " storm": [(" rain", 0.41), (" storm", 0.29), (" dark", 0.16), (" tide", 0.07)],
    " came": [(" came", 0.57), (" broke", 0.2), (" arrived", 0.1), (" hit", 0.06)],
}
# Elsewhere the written word was near-certain; a real server still lists k alternatives.
FILLERS = [(" a", 0.02), (" the", 0.01), (",", 0.005), (" and", 0.003), (" in", 0.002)]


def token_reply(request) -> Reply | None:
    """One word a token, with top-k alternatives and their probabilities, when the request asks for them."""
    body = request.body or {}
    if body.get("logprobs") is not True:
        return None
    k = int(body.get("top_logprobs") or 1)
    words = re.findall(r"\s?[\w']+|[^\w\s]", TOKEN_TEXT)
    entries = []
    for word in words:
        named = TOKEN_CHOICES.get(word) or [(word, 0.95)]
        choices = [*named, *[f for f in FILLERS if f[0] not in dict(named)]]
        written = dict(choices)[word]
        entries.append(
            {
                "token": word,
                "logprob": math.log(written),
                "bytes": list(word.encode()),
                "top_logprobs": [
                    {"token": t, "logprob": math.log(p), "bytes": list(t.encode())} for t, p in choices[:k]
                ],
            }
        )
    return Reply(text=TOKEN_TEXT, chunks=tuple(words), token_logprobs=entries, delay_s=0.01)


def token_view_page(page, url: str) -> None:
    page.goto(url)
    wait_until_idle(page, 60_000)
    # Tick "Token probabilities (top-k)" in the sidebar: the request then asks for logprobs.
    page.locator(".st-key-chat-logprobs-on").get_by_role("checkbox").check(force=True)
    wait_until_idle(page)
    send_chat(page, "Start a short story about a lighthouse.")
    page.get_by_text("Tokens", exact=True).click()
    page.locator(".clt-view span").first.wait_for(timeout=30_000)
    wait_until_idle(page)
    page.wait_for_timeout(1000)  # the view settles (a late rerun would redraw it under the pointer)
    storm = page.locator(".clt-view span").filter(has_text="storm").first
    storm.hover()  # its alternatives, as a tooltip (a CSS ::after box, shown while hovered)
    page.wait_for_function(
        "e => getComputedStyle(e, '::after').content !== 'none'", arg=storm.element_handle(), timeout=10_000
    )
    page.wait_for_timeout(300)
    page.screenshot(path=OUT / "token-view.png")


def probe_page(page, url: str) -> None:
    page.goto(url)
    wait_until_idle(page, 60_000)
    # A reasoning model: the probe finds parameters it rejects, not only ones it accepts.
    page.locator("[data-testid=stSelectbox]").filter(has_text="Model").click()
    page.get_by_role("option", name="o4-mini", exact=True).click()
    wait_until_idle(page)
    panel = page.locator(".st-key-chat-probe")
    panel.get_by_text("Check parameters").click()
    wait_until_idle(page)
    panel.get_by_role("button", name=re.compile(r"^Check ")).click()
    panel.locator("[data-testid=stDataFrame]").wait_for(timeout=120_000)  # the findings, stored and drawn
    wait_until_idle(page)
    panel.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(800)
    page.screenshot(path=OUT / "probe.png")


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
        kinds={"o4-mini": fake_models.OPENAI_CATALOGUE["o4-mini"]},  # refuses sampling parameters
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
            # The shots below each start from a fresh tab (a new session): no choices left over.
            fresh = lambda: browser.new_page(viewport={"width": 1440, "height": 1350})  # noqa: E731
            fake.script_fn(failing_panes)
            compare_failures_page(fresh(), server.url)
            fake.script_fn(samples_by_role)
            compare_samples_page(fresh(), server.url)
            fake.script_fn(quiz_answers)
            test_sets_page(fresh(), server.url)
            batch_page(fresh(), server.url)
            rating_page(fresh(), server.url)
            fake.script_fn(token_reply)  # anything that does not ask for logprobs gets the demo reply
            token_view_page(fresh(), server.url)
            fake.script_fn(None)
            probe_page(fresh(), server.url)
            lock_screen(browser, fake, tmp)
            browser.close()
    finally:
        server.stop()
        fake.stop()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
