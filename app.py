"""Chat Lab — the frame every page runs in. Run with: streamlit run app.py

Once per run and before any page: the page config, the access check (a locked session sees the lock
screen and nothing else runs), the shared resources, then the page the URL asks for.
"""

from __future__ import annotations

import streamlit as st

from chatlab_ui.access import require_access, unlocked
from chatlab_ui.navigation import route
from chatlab_ui.resources import get_roles, get_store

st.set_page_config(page_title="Chat Lab", page_icon="🧪", layout="wide")
page = route(menu=unlocked())  # the lock screen shows no page menu
require_access()
st.set_page_config(page_title=f"{page.title} · Chat Lab")
# Opened here so every page finds them ready: the history database (replies a dead process left
# 'streaming' are marked interrupted once) and the role library. Both are cached per process.
get_store()
get_roles()
if __name__ == "__main__":  # else a page file ran this frame itself (navigation.require_frame)
    page.run()
