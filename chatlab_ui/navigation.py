"""The pages of Chat Lab, declared once: file, title, icon and URL; app.py routes with them.

Links between pages (History's "Open", the lock screen keeping a deep link) name a page by its file,
which st.page_link and AppTest.switch_page resolve against the pages st.navigation registered.
"""

from __future__ import annotations

import runpy
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

APP = Path(__file__).resolve().parent.parent / "app.py"
CHAT = "pages/0_Chat.py"
COMPARE = "pages/1_Compare_roles.py"
SWEEP = "pages/2_Parameter_sweep.py"
HISTORY = "pages/3_History.py"
ROLES = "pages/4_Roles.py"
TEST_SETS = "pages/5_Test_sets.py"
BATCH = "pages/6_Batch_runs.py"
RATING = "pages/7_Blind_rating.py"


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to app.py
    title: str  # the navigation label; the browser tab reads "<title> · Chat Lab"
    icon: str
    url_path: str  # "" is the root URL: the default page


PAGES = (
    PageSpec(CHAT, "Chat", ":material/chat:", ""),
    PageSpec(COMPARE, "Compare roles", ":material/view_column:", "Compare_roles"),
    PageSpec(SWEEP, "Parameter sweep", ":material/tune:", "Parameter_sweep"),
    PageSpec(HISTORY, "History", ":material/history:", "History"),
    PageSpec(ROLES, "Roles", ":material/theater_comedy:", "Roles"),
    PageSpec(TEST_SETS, "Test sets", ":material/fact_check:", "Test_sets"),
    PageSpec(BATCH, "Batch runs", ":material/grid_view:", "Batch_runs"),
    PageSpec(RATING, "Blind rating", ":material/how_to_vote:", "Blind_rating"),
)


def route(*, menu: bool) -> st.Page:
    """Declare every page and return the one the URL asks for; `menu=False` hides the sidebar menu."""
    pages = [
        st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, default=p.path == CHAT)
        for p in PAGES
    ]
    return st.navigation(pages, position="sidebar" if menu else "hidden")


def require_frame() -> None:
    """First line of every page file: make sure the page runs inside app.py's frame (lock screen first).

    Until some run has called st.navigation, Streamlit treats a pages/ folder the old way: it executes
    the page file a URL names by itself, without app.py — on a fresh server the first visit to /History
    would skip the lock screen. A page run that way runs app.py's frame first (everything but its
    page.run(): this file is that page), which also switches the old way off for good. The frame's
    st.navigation resets the page's widget namespace to app.py's, so it runs in a scope of its own: this
    page's widgets keep the ids they have in every later run.
    """
    if PagesManager.uses_pages_directory:
        ctx = get_script_run_ctx()
        with ctx.run_with_active_hash(ctx.page_script_hash):
            runpy.run_path(str(APP), run_name=FRAME_ONLY)


FRAME_ONLY = "chatlab_frame_only"  # app.py's __name__ when a page enters the frame itself
