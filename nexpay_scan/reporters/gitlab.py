"""`--format gitlab`: a GitLab secret detection report (security report schema 15.0.6)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from itertools import chain

from nexpay_scan import __version__
from nexpay_scan.findings import Finding
from nexpay_scan.reporters import Report, display_path, skipped_lines, suppressed_line
from nexpay_scan.reporters.json_stream import Later, dumps_in_pieces
from nexpay_scan.reporters.remediation import REMEDIATION

TYPE_CHECKING = False  # typing is not imported at run time (start-up time)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

SCHEMA_VERSION = "15.0.6"
SCHEMA_URL = (
    "https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/"
    f"v{SCHEMA_VERSION}/dist/secret-detection-report-format.json"
)
INFORMATION_URI = "https://github.com/nexpay/nexpay-scan"
# The schema requires a commit; GitLab's own secrets analyzer writes this for content that
# is not (yet) in a commit, which is what `files` and `staged` scan.
NO_COMMIT = "0000000"
_TOOL = {"id": "nexpay-scan", "name": "nexpay-scan"}
_IDS = uuid.uuid5(uuid.NAMESPACE_URL, INFORMATION_URI)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"  # the schema's pattern: UTC, no zone, no fraction


def render(report: Report) -> str:
    """The whole report as one GitLab secret detection report."""
    return "".join(render_pieces(report))


def render_pieces(report: Report) -> Iterator[str]:
    """`render`'s text in pieces, a finding at a time (what `--format gitlab` writes)."""
    document = {
        "version": SCHEMA_VERSION,
        "schema": SCHEMA_URL,
        "scan": scan(report),
        "vulnerabilities": Later(report.findings, lambda f: vulnerability(f, report)),
    }
    return dumps_in_pieces(document)


def scan(report: Report) -> dict[str, Any]:
    """The `scan` object: which tool ran, when, and that it ran to the end."""
    end = datetime.now(timezone.utc)
    start = end - timedelta(seconds=report.summary.duration)
    tool = {**_TOOL, "version": __version__, "vendor": {"name": "nexpay-scan"}}
    document: dict[str, Any] = {
        "analyzer": tool,
        "scanner": {**tool, "url": INFORMATION_URI},
        "type": "secret_detection",
        "start_time": start.strftime(_TIME_FORMAT),
        "end_time": end.strftime(_TIME_FORMAT),
        "status": "success",
    }
    messages = [{"level": "info", "value": note} for note in report.notes]
    messages += [{"level": "warn", "value": line} for line in skipped_lines(report)]
    if messages or report.suppressed:
        # a line for each suppressed finding, made as it is written (there may be many)
        suppressed = (_suppressed_message(finding, report) for finding in report.suppressed)
        document["messages"] = Later(chain(messages, suppressed))
    return document


def _suppressed_message(finding: Finding, report: Report) -> dict[str, str]:
    return {"level": "info", "value": suppressed_line(finding, report)}


def vulnerability(finding: Finding, report: Report) -> dict[str, Any]:
    """One finding as a GitLab vulnerability; the credential only as `report.shown` allows."""
    shown = report.shown(finding.secret.reveal())
    path = display_path(finding.file)
    label = finding.label
    return {
        "id": str(uuid.uuid5(_IDS, _identity(finding))),
        "category": "secret_detection",
        "name": finding.description[:255],
        "description": (
            f"{finding.description}: {label} {shown} in {path} line {finding.line} "
            f"(status: {finding.status})."
        ),
        "severity": finding.severity.capitalize(),
        "solution": REMEDIATION,
        "scanner": _TOOL,
        "location": {
            "file": path,
            "start_line": finding.line,
            "end_line": finding.line,
            "commit": _commit(finding),
        },
        "identifiers": [
            {
                "type": "nexpay_scan_rule_id",
                "name": f"nexpay-scan rule {finding.rule_id}",
                "value": finding.rule_id,
            }
        ],
        "raw_source_code_extract": shown,
        "details": _details(finding),
    }


def _identity(finding: Finding) -> str:
    """What tells two findings apart: the same key in another commit or place is another."""
    sha = finding.commit.sha if finding.commit else NO_COMMIT
    return f"{finding.fingerprint}:{sha}:{finding.line}:{finding.column}"


def _commit(finding: Finding) -> dict[str, str]:
    if finding.commit is None:
        return {"sha": NO_COMMIT}
    commit = finding.commit
    return {"sha": commit.sha, "author": f"{commit.author} <{commit.email}>", "date": commit.date}


def _details(finding: Finding) -> dict[str, Any]:
    details: dict[str, Any] = {
        "status": {"name": "Status", "type": "text", "value": finding.status},
        "fingerprint": {"name": "Fingerprint", "type": "text", "value": finding.fingerprint},
        "secret_sha256": {
            "name": "SHA-256 of the credential",
            "type": "text",
            "value": finding.secret.sha256(),
        },
    }
    if finding.status_reason:
        details["status_reason"] = {
            "name": "Status reason",
            "type": "text",
            "value": finding.status_reason,
        }
    if finding.commit:
        details["occurrences"] = {
            "name": "Occurrences in history",
            "type": "value",
            "value": finding.occurrences,
        }
    return details
