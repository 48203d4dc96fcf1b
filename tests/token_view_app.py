"""A tiny page that shows one stored reply through chatlab_ui.token_view, for tests and the benchmark
(the pages are wired to it separately).

    CHATLAB_DB=… streamlit run tests/token_view_app.py   then open /?m=<message id>

With ?c=<conversation id> it also shows where that conversation's replies part.
"""

from __future__ import annotations

import streamlit as st

from chatlab.store import Store
from chatlab_ui.chat_view import display_text
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.token_view import parting_view, reply_token_panel

P = PageKeys("tokens_demo")


@st.cache_resource
def store() -> Store:
    return Store()


st.title("Token view")
db = store()
message_id = st.query_params.get("m", "")
row = db.get_message(int(message_id)) if message_id.isdigit() else None
if row is None:
    st.error("No such reply: open this page with ?m=<message id>.")
    st.stop()
info = db.token_info(row.conversation_id).get(row.id)
with st.chat_message("assistant"):
    if not reply_token_panel(P, db, row, info):
        st.markdown(display_text(row.content))

conversation_id = st.query_params.get("c")
if conversation_id:
    replies = [m for m in db.messages(conversation_id) if m.role == "assistant"]
    samples = [db.reply_tokens(m.id) for m in replies]
    st.subheader("Where the samples part")
    parting_view([f"sample {i + 1}" for i in range(len(replies))], [s for s in samples if s is not None])
