"""Links between the pages, drawn at the top of every sidebar.

Streamlit's automatic page list would label the main page "app" (its file name), so it is switched off
in .streamlit/config.toml and these labelled links are drawn instead; the pages still live in pages/.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
PAGES = (
    ("app.py", "Chat", ":material/chat:"),
    ("pages/1_Compare_roles.py", "Compare roles", ":material/view_column:"),
    ("pages/2_Parameter_sweep.py", "Parameter sweep", ":material/tune:"),
    ("pages/3_History.py", "History", ":material/history:"),
    ("pages/4_Roles.py", "Roles", ":material/theater_comedy:"),
)


def page_nav() -> None:
    with st.sidebar:
        for path, label, icon in PAGES:
            if (ROOT / path).exists():
                st.page_link(path, label=label, icon=icon)
        st.divider()
