"""'Check parameters': what the capability probe found for this endpoint and model, and running it.

The findings are stored per endpoint and model (chatlab.probe); the request builder follows them, so the
page only shows them and runs the probe on request — its cost is said before anything is sent.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.params import ACCEPTED, IGNORED, PARAMS, REJECTED, RENAMED
from chatlab.prices import format_usd
from chatlab.probe import UNTESTED, ProbeReport, endpoint_key, estimate, run_probe, stored_report
from chatlab.store import Store
from chatlab_ui.page_keys import PageKeys
from chatlab_ui.tables import table

_SHOWN = {
    ACCEPTED: "✅ accepted",
    REJECTED: "⛔ rejected",
    IGNORED: "⚠️ ignored",
    RENAMED: "↪️ renamed",
    UNTESTED: "— not tried",
}


def findings_frame(report: ProbeReport) -> pd.DataFrame:
    """One row per parameter: what the server does with it, and what was seen."""
    rows = []
    for name, finding in report.findings.items():
        status = _SHOWN.get(finding.status, finding.status)
        if finding.renamed_to:
            status += f" → {finding.renamed_to}"
        rows.append({"Parameter": PARAMS[name].label, "Found": status, "Why": finding.detail, "Name": name})
    # "Found" next to the parameter: in the narrow sidebar the later columns need a scroll to be seen.
    return pd.DataFrame(rows, columns=["Parameter", "Found", "Why", "Name"], dtype="str")


def findings_summary(report: ProbeReport) -> str:
    """The findings in a line, the exceptions named: "9 accepted · ignored: Seed · rejected: Logit bias"."""
    by_status: dict[str, list[str]] = {}
    for name, finding in report.findings.items():
        renamed = f" → {finding.renamed_to}" if finding.renamed_to else ""
        by_status.setdefault(finding.status, []).append(PARAMS[name].label + renamed)
    parts = []
    order = list(_SHOWN)
    for status, labels in sorted(by_status.items(), key=lambda i: order.index(i[0]) if i[0] in order else 99):
        shown = _SHOWN.get(status, status)
        parts.append(f"{len(labels)} {shown}" if status == ACCEPTED else f"{shown}: {', '.join(labels)}")
    return " · ".join(parts)


def _run(
    keys: PageKeys, store: Store, client: ChatClient, endpoint: Endpoint, model: str, protocol: str
) -> None:
    box = st.status(f"Checking {model}'s parameters…", expanded=True)
    step = box.empty()
    report = run_probe(
        client, model, protocol=protocol, on_step=lambda i, n, what: step.write(f"{i} of {n}: {what}")
    )
    if report.failure:
        box.update(label="The check could not run", state="error")
        st.session_state[keys("probe", "failure")] = report.failure
        return
    store.save_probe(endpoint_key(endpoint), model, protocol, report.probed_at, report.to_record())
    box.update(label=f"Checked {model}: {report.requests} requests", state="complete", expanded=False)


def probe_panel(
    keys: PageKeys,
    store: Store,
    client: ChatClient,
    endpoint: Endpoint,
    model: str,
    protocol: str,
    *,
    disabled: bool,
) -> None:
    """A 'Check parameters' panel: the stored findings as a table, their date, and a button to (re)run."""
    with st.expander(
        "Check parameters", icon=":material/fact_check:", key=keys("probe"), on_change="rerun"
    ) as panel:
        if not panel.open:
            return  # closed: no query, no estimate
        report = stored_report(store, endpoint_key(endpoint), model, protocol)
        if report is not None and report.findings:
            tried = report.requests
            how = f"the probe of {report.probed_at[:10]}" if tried else "refusals met in chats"
            st.caption(f"What {model} does with each parameter, found by {how}. Requests follow it.")
            st.markdown(findings_summary(report))
            table(findings_frame(report), key=keys("probe", "table"))
        else:
            st.caption(
                f"Nothing is known about {model} here yet: requests follow the model-family table. The check "
                "sends a handful of tiny requests and sorts every parameter into accepted, rejected, ignored "
                "(taken without effect) or renamed."
            )
        if failure := st.session_state.pop(keys("probe", "failure"), None):
            st.error(failure, icon=":material/error:")
        requests, tokens, cost = estimate(model, protocol)
        price = "no known price" if cost is None else f"about {format_usd(cost)}"
        if st.button(
            f"Check {model} ({requests} requests, ~{tokens:,} tokens, {price})",
            key=keys("probe", "run"),
            icon=":material/play_arrow:",
            disabled=disabled,
        ):
            _run(keys, store, client, endpoint, model, protocol)
            st.rerun()
