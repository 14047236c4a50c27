"""The audit report for people: each distinct key, live first, with what to do."""

from __future__ import annotations

from pathlib import Path

from nexpay_scan.errors import FatalError
from nexpay_scan.reporters import Report


def render_audit(report: Report, suffix: str, root: Path | None) -> str:
    """The report as HTML (`.html`/`.htm`) or Markdown (`.md`)."""
    if suffix in (".html", ".htm"):
        from nexpay_scan.reporters.audit_html import render_html

        return render_html(report, root)
    if suffix in (".md", ".markdown"):
        from nexpay_scan.reporters.audit_markdown import render_markdown

        return render_markdown(report, root)
    raise FatalError(f"--report: unknown report type {suffix!r} (use .html or .md)")
