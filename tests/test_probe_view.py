"""The capability probe's findings as the chat sidebar shows them: a line naming the exceptions, and a
table whose verdict sits next to the parameter (the sidebar is narrow)."""

from __future__ import annotations

from chatlab.params import ACCEPTED, IGNORED, REJECTED, RENAMED
from chatlab.probe import Finding, ProbeReport
from chatlab_ui.probe_view import findings_frame, findings_summary


def report() -> ProbeReport:
    findings = {
        "temperature": Finding(REJECTED, "Unsupported value: 'temperature'"),
        "n": Finding(ACCEPTED, "n=2 gave two choices"),
        "seed": Finding(IGNORED, "two seeded replies differed"),
        "top_p": Finding(REJECTED, "Unsupported parameter: 'top_p'"),
        "stop": Finding(ACCEPTED, "the reply ended before the stop text"),
        "max_tokens": Finding(RENAMED, "use max_completion_tokens", renamed_to="max_completion_tokens"),
    }
    return ProbeReport(model="o4-mini", protocol="chat", probed_at="2026-12-01T10:00:00", findings=findings)


def test_the_summary_counts_the_accepted_and_names_the_rest() -> None:
    assert findings_summary(report()) == (
        "2 ✅ accepted · ⛔ rejected: Temperature, Top P · ⚠️ ignored: Seed"
        " · ↪️ renamed: Max tokens → max_completion_tokens"
    )


def test_the_verdict_is_the_second_column() -> None:
    frame = findings_frame(report())
    assert list(frame.columns) == ["Parameter", "Found", "Why", "Name"]
    assert frame.loc[frame.Name == "seed", "Found"].item() == "⚠️ ignored"
