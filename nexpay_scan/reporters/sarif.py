"""`--format sarif`: SARIF 2.1.0 as GitHub code scanning accepts it (one run, one tool)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path, PurePath
from urllib.parse import quote

from nexpay_scan import __version__
from nexpay_scan.config import builtin_rules
from nexpay_scan.findings import CLIENT_ID, LIVE, SECRET, Finding
from nexpay_scan.records import Record
from nexpay_scan.reporters import Report, display_path, skipped_lines
from nexpay_scan.reporters.json_report import finding_dict, summary_dict
from nexpay_scan.reporters.json_stream import Later, dumps_in_pieces
from nexpay_scan.reporters.remediation import REMEDIATION
from nexpay_scan.rules import Rule

TYPE_CHECKING = False  # typing is not imported at run time (start-up time)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/nexpay/nexpay-scan"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "nexpayScan/v1"
# GitHub ranks alerts by this score: 9.0+ critical, 7.0+ high, 4.0+ medium, else low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
_IMPACT = {
    SECRET: "A leaked secret lets anyone call the Nexpay API as the key's owner until the "
    "key is revoked.",
    CLIENT_ID: "A client ID names an API key; where it leaked, the key's secret often did too.",
}
# Said by the result's ruleId, message and location; the rest of the JSON contract goes in
# its properties.
_NOT_PROPERTIES = ("rule", "description", "file", "line", "column")


class RuleInfo(Record):
    """What a SARIF rule descriptor says about one rule in force."""

    id: str
    description: str
    kind: str
    severity: str
    precision: str


def render(report: Report) -> str:
    """The whole report as one SARIF log."""
    return "".join(render_pieces(report))


def render_pieces(report: Report) -> Iterator[str]:
    """`render`'s text in pieces, a result at a time (what `--format sarif` writes)."""
    shown = [*report.findings, *report.suppressed]
    rules = rules_in_force(report.rules or builtin_rules(), shown)
    index = {rule.id: i for i, rule in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "nexpay-scan",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [descriptor(rule) for rule in rules],
            }
        },
        "originalUriBaseIds": {
            SRCROOT: {"description": {"text": "The root of the scanned repository or folder."}}
        },
        "columnKind": "unicodeCodePoints",  # Finding.column counts characters
        "results": Later(shown, lambda f: result(f, index[f.rule_id], report)),
        "invocations": [_invocation(report)],
        "properties": {"summary": summary_dict(report)},
    }
    return dumps_in_pieces({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]})


def rules_in_force(in_force: Sequence[Rule], findings: list[Finding]) -> list[RuleInfo]:
    """Every rule the scan ran (built-in and the repository's, less those it disabled),
    then any other rule a finding names; a finding's own description of its rule wins."""
    rules = {rule.id: _info(rule) for rule in in_force}
    for f in findings:
        own = RuleInfo(f.rule_id, f.description, f.kind, f.severity, "high")
        known = rules.get(f.rule_id)
        if known is None or known._replace(precision="high") != own:
            rules[f.rule_id] = own
    return list(rules.values())


def _info(rule: Rule) -> RuleInfo:
    if rule.checksum is not None:
        precision = "very-high"
    else:  # a key without a prefix counts only near a mention of Nexpay: less certain
        precision = "medium" if rule.context is not None else "high"
    return RuleInfo(rule.id, rule.description, rule.kind, rule.severity, precision)


def descriptor(rule: RuleInfo) -> dict[str, Any]:
    """One SARIF reportingDescriptor, with the remediation steps as its help."""
    summary = _sentence(rule.description)
    return {
        "id": rule.id,
        "name": pascal_case(rule.id),
        "shortDescription": {"text": summary},
        "fullDescription": {"text": f"{summary} {_IMPACT.get(rule.kind, '')}".rstrip()},
        "help": {
            "text": f"{summary}\n\n{REMEDIATION}",
            "markdown": f"**{summary}**\n\n{remediation_markdown()}",
        },
        "helpUri": INFORMATION_URI,
        "defaultConfiguration": {"level": LEVELS.get(rule.severity, "warning")},
        "properties": {
            "tags": ["security", "secret", "external/cwe/cwe-798"],
            "security-severity": SECURITY_SEVERITY.get(rule.severity, "5.5"),
            "precision": rule.precision,
        },
    }


def pascal_case(rule_id: str) -> str:
    """`nexpay-legacy-client-id` -> `NexpayLegacyClientId` (SARIF's readable rule name)."""
    words = re.findall(r"[A-Za-z0-9]+", rule_id)
    return "".join(w[:1].upper() + w[1:] for w in words) or "Rule"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def remediation_markdown() -> str:
    """REMEDIATION as Markdown: its numbered steps as a list, wrapped lines joined."""
    lines: list[str] = []
    for line in REMEDIATION.rstrip("\n").splitlines():
        step = re.match(r" {1,3}(\d+\. .*)", line)
        if step:
            if lines and not re.match(r"\d+\. ", lines[-1]):
                lines.append("")
            lines.append(step.group(1))
        elif line.startswith("    ") and lines:
            lines[-1] += " " + line.strip()
        else:
            if lines and re.match(r"\d+\. ", lines[-1]):
                lines.append("")
            lines.append(line)
    return "\n".join(lines)


def result(finding: Finding, rule_index: int, report: Report) -> dict[str, Any]:
    """One finding as a SARIF result: where, what, and how to match it across runs."""
    level = "error" if finding.status == LIVE else LEVELS.get(finding.severity, "warning")
    properties = finding_dict(finding, report)
    for key in _NOT_PROPERTIES:
        properties.pop(key, None)
    sarif_result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": level,
        "message": {"text": _message(finding, report)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact_location(finding.file),
                    "region": {
                        "startLine": finding.line,
                        "startColumn": finding.column,
                        "endColumn": finding.column + len(finding.secret.reveal()),
                    },
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": properties,
    }
    if finding.suppression is not None:
        properties.pop("suppression", None)
        sarif_result["suppressions"] = [
            {
                "kind": finding.suppression.kind,
                "status": "accepted",
                "justification": finding.suppression.justification,
            }
        ]
    return sarif_result


def _message(finding: Finding, report: Report) -> str:
    label = finding.label
    status = finding.status
    if finding.status_reason:
        status += f", {finding.status_reason}"
    text = (
        f"{finding.description}: {label} {report.shown(finding.secret.reveal())} "
        f"in {display_path(finding.file)} (status: {status})"
    )
    if finding.commit:
        text += f", introduced in {finding.commit.sha[:12]} by {finding.commit.author}"
    also = [n for n in finding.notes if n.startswith("also in this commit: ")]
    return text + "." + "".join(f" {n}." for n in also)


def artifact_location(path: str) -> dict[str, Any]:
    """A path as a SARIF artifactLocation: relative ones under %SRCROOT%, percent-encoded.

    Names that are not paths (`<stdin>`, `(unreachable blob …)`) are encoded the same way,
    so the log stays valid; GitHub then shows the alert without a file to open.
    """
    pure = PurePath(path)
    if pure.is_absolute():
        return {"uri": Path(path).as_uri()}
    raw = pure.as_posix().encode("utf-8", "surrogateescape")
    return {"uri": quote(raw, safe="/"), "uriBaseId": SRCROOT}


def _invocation(report: Report) -> dict[str, Any]:
    """The run's invocation: a notification per note, and one per piece of content that
    was not scanned whole (named, with the file it is in: an archive, for a member)."""
    invocation: dict[str, Any] = {"executionSuccessful": True}
    notifications: list[dict[str, Any]] = [
        {"message": {"text": note}, "level": "note"} for note in report.notes
    ]
    for item, line in zip(report.summary.gaps, skipped_lines(report), strict=True):
        notifications.append(
            {
                "message": {"text": line},
                "level": "warning",
                "locations": [
                    {"physicalLocation": {"artifactLocation": artifact_location(item.where)}}
                ],
                "descriptor": {"id": "nexpay-scan/not-scanned"},
            }
        )
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation
