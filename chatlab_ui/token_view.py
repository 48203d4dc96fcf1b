"""The token view of a reply: every token tinted by its probability, its alternatives on hover,
the temperature/top_p what-if marking the tokens another setting would most likely change, the reply's
log-probability and perplexity, and its tokens as CSV.

Self-contained: a page gives it the reply's tokens (Store.reply_tokens) or lets `reply_token_panel` load
them when the user switches a reply to Tokens. The tokens are drawn as ONE HTML string with CSS-only
tooltips (no script, no element per alternative), so a 2,000-token reply with 20 alternatives each is
one DOM element per token. A reply is untrusted text: every token and alternative is HTML-escaped, and the
only markup is ours.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from chatlab.params import PARAMS
from chatlab.safe_markdown import escape_markdown
from chatlab.store import Message, Store, TokenInfo
from chatlab.tokenprobs.codec import TokenBlobError
from chatlab.tokenprobs.parting import Parting, parting
from chatlab.tokenprobs.record import ReplyTokens
from chatlab.tokenprobs.stats import entropies, reply_stats
from chatlab.tokenprobs.table import token_csv_bytes
from chatlab.tokenprobs.whatif import WhatIf, approximation_note, reweigh
from chatlab_ui.page_keys import PageKeys

TEXT, TOKENS = "Text", "Tokens"
# Probability bands, lowest first: (upper bound, CSS class, legend label).
BANDS = ((0.1, "p0", "< 10%"), (0.3, "p1", "10–30%"), (0.5, "p2", "30–50%"), (0.7, "p3", "50–70%"))
BANDS += ((0.9, "p4", "70–90%"), (math.inf, "p5", "≥ 90%"))

# Cheap to paint on purpose: only the hovered token is positioned, and the what-if's mark is a shadow
# (a wavy underline or 2,000 positioned spans each cost tens of milliseconds more in Chromium).
_STYLE = """<style>
.clt-view{white-space:pre-wrap;word-break:break-word;line-height:1.95;font-size:.95rem;padding-bottom:.5rem}
.clt-view span{border-radius:3px;cursor:help;padding:1px 0}
.clt-view span:hover{position:relative;outline:2px solid #4a6cf7;z-index:2}
.clt-view span:hover::after{content:attr(data-a);position:absolute;left:0;
 top:1.7em;z-index:1000;white-space:pre;background:#1f2430;color:#f5f6fa;padding:6px 9px;border-radius:6px;
 font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace;box-shadow:0 4px 14px rgba(0,0,0,.3);
 pointer-events:none}
.clt .p0{background:rgba(230,60,40,.55)}.clt .p1{background:rgba(240,110,40,.42)}
.clt .p2{background:rgba(245,160,40,.34)}.clt .p3{background:rgba(245,200,60,.28)}
.clt .p4{background:rgba(160,200,90,.2)}.clt .p5{background:transparent}
.clt .x{box-shadow:inset 0 -3px 0 #c4002b}
.clt .e{color:#888;font-size:.8em}
.clt-legend{font-size:.8rem;color:#666;line-height:2}
.clt-legend span{padding:1px .45rem;margin-right:.25rem;border-radius:3px;white-space:nowrap}
</style>"""


def _band(probability: float) -> str:
    for upper, css, _ in BANDS:
        if probability < upper:
            return css
    return BANDS[-1][1]


def _shown(token: str) -> str:
    """A token as a quoted literal, so spaces, newlines and empty tokens are visible: ' the', '\\n', ''."""
    return "'" + json.dumps(token, ensure_ascii=False)[1:-1].replace('\\"', '"') + "'"


def _percent(p: float) -> str:
    """Two significant digits, never in e-notation: 41%, 4.1%, 0.041%, 0.0000041%."""
    percent = float(f"{p * 100:.2g}")
    if percent >= 10:
        return f"{percent:.0f}%"
    if percent < 1e-7:
        return "0%"
    return f"{percent:.{1 - math.floor(math.log10(percent))}f}%"


def _attribute(text: str) -> str:
    """Text for inside a double-quoted attribute (a newline stays: the tooltip shows it as a break)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@functools.lru_cache(maxsize=8)
def _static_parts(reply: ReplyTokens) -> tuple[tuple[str, str, str], ...]:
    """Per token what no what-if changes: its tint, its escaped text, and its tooltip (the token, its
    probability and entropy, the alternatives). Built once per reply and kept for the next reruns.

    The only reply text in a tooltip is the token literals; each distinct one is escaped once."""
    entropy = entropies(reply).tolist()
    literals: dict[str, str] = {}

    def literal(text: str) -> str:
        found = literals.get(text)
        if found is None:
            found = literals[text] = _attribute(_shown(text))
        return found

    parts = []
    for i, t in enumerate(reply.tokens):
        p = math.exp(t.logprob)
        # Compact on purpose: 2,000 tokens × 20 alternatives is 40,000 lines in the page.
        lines = [f"#{i + 1} {literal(t.token)} {_percent(p)} · entropy {entropy[i]:.2f} bits"]
        listed = False
        for alt, logprob in t.top:
            written = alt == t.token
            listed = listed or written
            lines.append(f"{_percent(math.exp(logprob)):>7} {literal(alt)}{' ◀' if written else ''}")
        if t.top and not listed:
            lines.append(f"(the written token is not in the top {len(t.top)})")
        # An empty token is still something to hover; a newline token gets a visible mark before its break.
        text = '<i class="e">∅</i>' if t.token == "" else _text(t.token).replace("\n", "↵\n")
        parts.append((_band(p), text, "\n".join(lines)))
    return tuple(parts)


def _whatif_line(whatif: WhatIf, i: int) -> str:
    line = f"\nwhat-if: {_percent(float(whatif.probability[i]))} · nucleus {int(whatif.nucleus[i])}"
    if whatif.changed[i] and whatif.instead[i] is not None:
        instead = _attribute(_shown(whatif.instead[i]))
        line += f" · likely {instead} {_percent(float(whatif.instead_probability[i]))}"
    return line


def token_html(reply: ReplyTokens, whatif: WhatIf | None = None) -> str:
    """The tokens as one HTML string under a legend: tinted spans whose tooltip (on hover) lists the
    alternatives; positions the what-if marks are underlined. All reply text is escaped.

    Two attributes per token and no focus stops: Streamlit sanitises st.html with DOMPurify, whose cost
    grows with every element and attribute, and 2,000 tab stops would help no one."""
    parts = [_STYLE, _legend(), '<div class="clt clt-view">']
    changed = whatif.changed.tolist() if whatif is not None else [False] * len(reply)
    for i, (band, text, tip) in enumerate(_static_parts(reply) if reply else ()):
        if whatif is not None:
            tip += _whatif_line(whatif, i)
        css = f"{band} x" if changed[i] else band
        parts.append(f'<span class="{css}" data-a="{tip}">{text}</span>')
    parts.append("</div>")
    return "".join(parts)


def _legend() -> str:
    bands = "".join(f'<span class="{css}">{label}</span>' for _, css, label in BANDS)
    return (
        f'<div class="clt clt-legend">Probability of the written token: {bands}'
        '<span class="x">marked by the what-if</span></div>'
    )


def changed_table(reply: ReplyTokens, whatif: WhatIf, limit: int = 200) -> pd.DataFrame:
    """The positions the what-if marks: the token, its recorded and its new probability, what instead."""
    rows = [
        {
            "position": i + 1,
            "token": _shown(reply.tokens[i].token),
            "recorded": math.exp(reply.tokens[i].logprob),
            "what-if": float(whatif.probability[i]),
            "nucleus": int(whatif.nucleus[i]),
            "likely instead": _shown(whatif.instead[i]) if whatif.instead[i] is not None else "",
            "its probability": float(whatif.instead_probability[i]),
        }
        for i in whatif.positions[:limit]
    ]
    return pd.DataFrame(rows)


def _setting(name: str, value: float | None) -> float:
    """Where a what-if slider starts: the reply's own value, else the API default (1 for both)."""
    param = PARAMS[name]
    return float(value) if value is not None else float(param.default)


def token_view(
    keys: PageKeys,
    reply: ReplyTokens,
    *,
    temperature: float | None = None,
    top_p: float | None = None,
    file_name: str = "tokens.csv",
) -> WhatIf:
    """Draw a reply's token view with its what-if; `temperature`/`top_p` are the reply's own settings
    (where the sliders start). Returns the what-if for the sliders' current setting."""
    stats = reply_stats(reply)
    if stats is None:
        st.caption("This reply has no tokens to show.")
        return reweigh(reply, 1.0)
    st.caption(f"{stats.tokens:,} tokens · {stats.describe()}")
    with st.container(border=True):
        st.markdown("**What if** — the same reply under another sampling setting, without a request")
        left, right = st.columns(2)
        settings = {}
        for column, name, own in ((left, "temperature", temperature), (right, "top_p", top_p)):
            param = PARAMS[name]
            key = keys("whatif", name)
            st.session_state.setdefault(key, _setting(name, own))
            settings[name] = column.slider(
                param.label, float(param.low), float(param.high), step=float(param.step), key=key
            )
        whatif = reweigh(reply, settings["temperature"], settings["top_p"])
        changed = whatif.positions
        setting = f"temperature {whatif.temperature:g} and top_p {whatif.top_p:g}"
        if changed:
            first = changed[0]
            instead = whatif.instead[first]
            st.markdown(
                f"At {setting}, **{len(changed):,} of {len(reply):,} tokens** would more likely have come "
                f"out differently (the written token gets under 50%); the first at #{first + 1}"
                + (f", most likely {escape_markdown(_shown(instead))} instead" if instead is not None else "")
                + "."
            )
        else:
            st.markdown(
                f"At {setting}, every one of the {len(reply):,} tokens would most likely be written again."
            )
        st.caption(
            approximation_note(reply.top_k)
            + " The probabilities are the model's own: penalties a server applies (llama.cpp's default"
            " repeat penalty) are not in them, so the what-if shows temperature and top_p only."
        )
        if changed:
            # A toggle, not an expander: a table is only built and sent when someone asks for it.
            if st.toggle(f"List the marked positions ({len(changed):,})", key=keys("whatif", "list")):
                st.dataframe(
                    changed_table(reply, whatif),
                    hide_index=True,
                    column_config={
                        name: st.column_config.NumberColumn(name, format="percent")
                        for name in ("recorded", "what-if", "its probability")
                    },
                )
    st.html(token_html(reply, whatif))
    st.caption("Hover a token for its alternatives and what the what-if makes of it.")
    st.download_button(
        "Download tokens (CSV)",
        data=lambda: token_csv_bytes(reply),
        file_name=file_name,
        mime="text/csv",
        key=keys("tokens_csv"),
        on_click="ignore",
        icon=":material/download:",
    )
    return whatif


# A reply's tokens do not change once stored: keep the last few decoded (a rerun with the token view
# open then costs no database read).
@st.cache_resource(max_entries=16, show_spinner=False)
def _load(_store: Store, store_url: str, message_id: int) -> ReplyTokens | None:
    return _store.reply_tokens(message_id)


def why_no_tokens(message: Message, info: TokenInfo | None) -> str | None:
    """Why a reply that asked for token probabilities has none; None when it has some or never asked."""
    if info is not None:
        return None if info.available else info.note or "No token probabilities arrived."
    return None


def reply_token_panel(keys: PageKeys, store: Store, message: Message, info: TokenInfo | None) -> bool:
    """A Text/Tokens switch under a reply that has token probabilities (or the reason it has none);
    draws the token view when Tokens is chosen. Returns True when it drew the token view, so the page
    leaves out the reply's text."""
    reason = why_no_tokens(message, info)
    if reason is not None:
        st.caption(f":material/info: No token view: {reason}")
        return False
    if info is None:
        return False
    choice = st.segmented_control(
        "Show the reply as",
        (TEXT, TOKENS),
        default=TEXT,
        key=keys("view", message.id),
        label_visibility="collapsed",
    )
    if choice != TOKENS:
        return False
    try:
        reply = _load(store, store.url, message.id)
    except TokenBlobError as exc:
        st.warning(f"This reply's token probabilities cannot be read: {exc}")
        return False
    if reply is None:
        st.caption("This reply's token probabilities are gone.")
        return False
    params = message.params or {}
    token_view(
        keys.child("tokens", message.id),
        reply,
        temperature=params.get("temperature"),
        top_p=params.get("top_p"),
        file_name=f"chatlab-reply-{message.id}-tokens.csv",
    )
    return True


def parting_view(labels: Sequence[str], samples: Sequence[ReplyTokens]) -> Parting:
    """Where samples of one request part (n > 1, or repeated samples): the shared prefix, then each
    branch's token and probability at the first position where they differ. `labels` name the samples."""
    split = parting(samples)
    if split.identical:
        st.markdown(f"All {len(samples)} samples are the same ({split.shared:,} tokens).")
        return split
    st.markdown(
        f"The samples share **{split.shared:,} tokens**, then part at **#{split.shared + 1}**"
        + (f" after: {escape_markdown(_shown(split.prefix[-80:]))}" if split.prefix else "")
    )
    rows = [
        {
            "samples": ", ".join(labels[i] for i in branch.samples),
            "token": _shown(branch.token) if branch.token is not None else "(ended)",
            "probability": branch.probability,
        }
        for branch in split.branches
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        column_config={"probability": st.column_config.NumberColumn("probability", format="percent")},
    )
    return split
