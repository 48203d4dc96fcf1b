"""The history page's parts: search hits with highlights, the conversation table, one conversation's actions."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from chatlab.prices import format_usd
from chatlab.safe_markdown import escape_markdown
from chatlab.store import Store
from chatlab.transcript import (
    FORMATS,
    TranscriptError,
    export_archive,
    export_conversation,
    import_transcript,
)

KINDS = {"All": None, "Chats": "chat", "Comparisons": "compare"}


def highlighted(snippet: str) -> str:
    """Markdown for a search snippet: its text escaped, the [[hit]] markers turned into a highlight."""
    parts = re.split(r"\[\[(.*?)\]\]", snippet)
    out = []
    for index, part in enumerate(parts):
        # A snippet is a glimpse, not a rendering: its text verbatim (escaped), on one line.
        text = escape_markdown(" ".join(part.split()))
        out.append(f":orange-background[**{text}**]" if index % 2 else text)
    return "".join(out)


def open_link(conversation_id: str, kind: str, comparison_id: str | None, label: str = "Open") -> None:
    """A link that reopens the conversation where it was made (the chat, or its comparison)."""
    if kind == "compare" and comparison_id:
        st.page_link(
            "pages/1_Compare_roles.py",
            label=label,
            icon=":material/open_in_new:",
            query_params={"cmp": comparison_id},
        )
    else:
        st.page_link(
            "app.py", label=label, icon=":material/open_in_new:", query_params={"c": conversation_id}
        )


def search_results(store: Store, query: str, kind: str | None) -> None:
    hits = store.search(query, limit=50, kind=kind)
    st.caption(
        f"{len(hits)} message{'s' if len(hits) != 1 else ''} match “{query}”"
        + (" (showing the first 50)" if len(hits) == 50 else "")
    )
    conversations = {s.id: s for s in store.conversation_summaries(limit=500, query=query)}
    for hit in hits:
        with st.container(border=True):
            title = escape_markdown(hit.conversation_title or "(untitled)")
            when = hit.created_at[:16].replace("T", " ")
            st.markdown(f"**{title}** · {hit.role} · {when}")
            st.markdown(highlighted(hit.snippet))
            summary = conversations.get(hit.conversation_id)
            open_link(
                hit.conversation_id,
                summary.kind if summary else "chat",
                summary.comparison_id if summary else None,
            )


def _title(summary, comparisons: dict[str, str]) -> str:
    """A comparison's pane is named by its comparison and its pane, so the rows read as one set."""
    title = summary.title or "(untitled)"
    if summary.kind == "compare" and summary.comparison_id:
        return f"{comparisons.get(summary.comparison_id) or 'Comparison'} — pane: {title}"
    return title


def conversation_table(store: Store, kind: str | None) -> str | None:
    """Every conversation, newest first; returns the id of the row the user selected."""
    summaries = store.conversation_summaries(limit=500, kind=kind)
    if not summaries:
        st.info("No conversations yet. Chat, compare or import a transcript and it appears here.")
        return None
    comparisons = {c.id: c.title for c in store.list_comparisons(limit=1000)}
    frame = pd.DataFrame(
        {
            "Title": [_title(s, comparisons) for s in summaries],
            "Kind": [f"{s.kind} · imported" if s.imported_at else s.kind for s in summaries],
            "Updated": [s.updated_at[:16].replace("T", " ") for s in summaries],  # an import: when imported
            "Model": [s.model or "" for s in summaries],
            "Role": [s.role_name or "" for s in summaries],
            "Messages": [s.message_count for s in summaries],
            "Tokens": [(s.prompt_tokens or 0) + (s.completion_tokens or 0) for s in summaries],
            "Cost": [format_usd(s.cost_usd) for s in summaries],
        }
    )
    event = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="history.table",
    )
    rows = event.selection.rows
    st.caption(f"{len(summaries)} conversations. Select a row to open, rename, export or delete it.")
    return summaries[rows[0]].id if rows else None


def conversation_actions(store: Store, conversation_id: str) -> None:
    conversation = store.get_conversation(conversation_id)
    if conversation is None:
        return
    with st.container(border=True):
        # A title is plain text (an imported file may carry any): never Markdown, so never a loaded image.
        st.subheader(escape_markdown(conversation.title) if conversation.title else "(untitled)")
        open_link(conversation.id, conversation.kind, conversation.comparison_id, label="Open and continue")
        title = st.text_input("Title", value=conversation.title, key=f"history.title.{conversation_id}")
        if title.strip() and title != conversation.title:
            st.button(
                "Rename",
                key="history.rename",
                icon=":material/edit:",
                on_click=lambda: store.rename_conversation(conversation_id, title.strip()),
            )
        columns = st.columns(len(FORMATS))
        for column, (fmt, mime) in zip(columns, FORMATS.items(), strict=True):
            column.download_button(
                f"Export {fmt.upper()}",
                data=lambda fmt=fmt: export_conversation(store, conversation_id, fmt),
                file_name=f"chatlab-{conversation_id}.{fmt}",
                mime=mime,
                on_click="ignore",
                icon=":material/download:",
                key=f"history.export.{fmt}",
            )
        confirm_key = f"history.confirm_delete.{conversation_id}"
        if st.session_state.get(confirm_key):
            st.warning(
                f"Delete “{conversation.title}” and its {store.count_messages(conversation_id)} messages? "
                "This cannot be undone."
            )
            yes, no = st.columns(2)
            yes.button(
                "Delete for good",
                type="primary",
                key="history.delete.yes",
                on_click=lambda: (
                    store.delete_conversation(conversation_id),
                    st.session_state.pop(confirm_key),
                ),
            )
            no.button("Keep it", key="history.delete.no", on_click=lambda: st.session_state.pop(confirm_key))
        else:
            st.button(
                "Delete…",
                key="history.delete",
                icon=":material/delete:",
                on_click=lambda: st.session_state.update({confirm_key: True}),
            )


def export_all(store: Store, kind: str | None) -> None:
    ids = [s.id for s in store.conversation_summaries(limit=100_000, kind=kind)]
    fmt = st.selectbox(
        "Format",
        list(FORMATS),
        key="history.export_all.format",
        format_func=lambda f: {"csv": "CSV", "json": "JSON", "md": "Markdown"}[f],
    )
    st.download_button(
        f"Download all {len(ids)} as a zip",
        data=lambda: export_archive(store, ids, fmt),
        file_name=f"chatlab-history-{fmt}.zip",
        mime="application/zip",
        on_click="ignore",
        icon=":material/folder_zip:",
        key="history.export_all",
        disabled=not ids,
    )


def import_files(store: Store) -> None:
    uploads = st.file_uploader(
        "Import transcripts (CSV or JSON exported by Chat Lab)",
        type=["csv", "json"],
        accept_multiple_files=True,
        key="history.import",
    )
    for upload in uploads or []:
        marker = f"history.imported.{upload.file_id}"
        if marker in st.session_state:
            st.success(st.session_state[marker])
            continue
        try:
            new_id = import_transcript(store, upload.getvalue(), upload.name)
        except TranscriptError as exc:
            st.error(f"{upload.name} was not imported (nothing was written): {exc}")
            continue
        st.session_state[marker] = (
            f"Imported {upload.name} as a new conversation ({store.count_messages(new_id)} messages)."
        )
        st.success(st.session_state[marker])
