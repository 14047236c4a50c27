"""`--format json`: the public contract other tools read (field names are kept)."""

from __future__ import annotations

from nexpay_scan import __version__
from nexpay_scan.findings import CLIENT_ID, SECRET, Finding
from nexpay_scan.reporters import Report
from nexpay_scan.reporters.json_stream import Later, dumps_in_pieces
from nexpay_scan.scan import Skipped

TYPE_CHECKING = False  # typing is not imported at run time (start-up time)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any


def finding_dict(finding: Finding, report: Report) -> dict[str, Any]:
    """One finding as the JSON contract names it."""
    item: dict[str, Any] = {
        "rule": finding.rule_id,
        "description": finding.description,
        "kind": finding.kind,
        "severity": finding.severity,
        "file": finding.file,
        "line": finding.line,
        "column": finding.column,
        "match": report.shown(finding.secret.reveal()),
        "secret_sha256": finding.secret.sha256(),
        "fingerprint": finding.fingerprint,
        "status": finding.status,
    }
    if finding.status_reason:
        item["status_reason"] = finding.status_reason
    if finding.account:
        item["account"] = finding.account
    if finding.verified_with:
        item["verified_with"] = report.shown(finding.verified_with.reveal())
    if finding.commit:
        item.update(
            commit=finding.commit.sha,
            author=finding.commit.author,
            email=finding.commit.email,
            date=finding.commit.date,
            occurrences=finding.occurrences,
        )
    if finding.notes:
        item["notes"] = finding.notes
    if finding.unreachable:
        item["unreachable"] = True
    if finding.suppression is not None:
        item["suppression"] = {
            "kind": finding.suppression.kind,
            "justification": finding.suppression.justification,
        }
    return item


def summary_dict(report: Report) -> dict[str, Any]:
    """Counts of the run: findings by kind, what was scanned and skipped, how long."""
    summary = report.summary
    kinds = [f.kind for f in report.findings]
    return {
        "mode": summary.mode,
        "findings": len(kinds),
        "secrets": kinds.count(SECRET),
        "client_ids": kinds.count(CLIENT_ID),
        "files_scanned": summary.files_scanned,
        "commits_scanned": summary.commits_scanned,
        "bytes_scanned": summary.bytes_scanned,
        "files_skipped": sum(summary.skipped.values()),
        "skipped": dict(summary.skipped),
        "skipped_files": [_skipped_dict(item) for item in summary.skipped_items],
        "suppressed": summary.suppressed,
        "notes": report.notes,
        "rule_timeouts": dict(summary.rule_timeouts),
        "duration_seconds": round(summary.duration, 3),
    }


def _skipped_dict(item: Skipped) -> dict[str, Any]:
    """One file passed over, by name: where, why, in which commit, and whether that
    leaves a gap in the scan."""
    named: dict[str, Any] = {"file": item.shown, "reason": item.reason, "gap": item.gap}
    if item.commit:
        named["commit"] = item.commit
    return named


def render(report: Report) -> str:
    """The whole report as one JSON document."""
    return "".join(render_pieces(report))


def render_pieces(report: Report) -> Iterator[str]:
    """`render`'s text in pieces, a finding at a time (what `--format json` writes)."""
    document = {
        "tool": {"name": "nexpay-scan", "version": __version__},
        "findings": Later(report.findings, lambda f: finding_dict(f, report)),
        "suppressed": Later(report.suppressed, lambda f: finding_dict(f, report)),
        "summary": summary_dict(report),
    }
    return dumps_in_pieces(document)
