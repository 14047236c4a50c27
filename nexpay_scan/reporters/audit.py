"""The audit report for people: each distinct key, live first, with what to do."""

from __future__ import annotations

from pathlib import Path

from nexpay_scan.formats import audit_writer
from nexpay_scan.reporters import Report


def render_audit(report: Report, suffix: str, root: Path | None) -> str:
    """The report in the form `suffix` names (`formats.AUDIT_REPORTS`: HTML for `.html`,
    Markdown for `.md`)."""
    return audit_writer(suffix)(report, root)
