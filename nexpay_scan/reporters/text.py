"""The default output: one block per finding, then what to do, for a person to read."""

from __future__ import annotations

from nexpay_scan.detector import PATTERN_TIMEOUT
from nexpay_scan.findings import LIVE, REVOKED, SECRET, SUPPRESSION, UNKNOWN, UNVERIFIED, Finding
from nexpay_scan.reporters import (
    Report,
    display_path,
    display_text,
    skipped_lines,
    suppressed_line,
)
from nexpay_scan.reporters.remediation import advice

_STYLES = {"bold": "1", "red": "31", "yellow": "33", "green": "32", "dim": "2"}
_STATUS_STYLE = {LIVE: "red", REVOKED: "green", UNKNOWN: "yellow"}


# gaps listed one a line in a terminal or a CI log; past these, counted (every report
# format lists them all: a history of thousands of Git LFS files not fetched names each)
SHOWN_GAPS = 100


def _shown_gaps(lines: list[str]) -> list[str]:
    if len(lines) <= SHOWN_GAPS:
        return lines
    more = len(lines) - SHOWN_GAPS
    return [
        *lines[:SHOWN_GAPS],
        f"not scanned: {more} more, each named in the JSON, SARIF and other reports",
    ]


def _paint(text: str, style: str, report: Report) -> str:
    return f"\033[{_STYLES[style]}m{text}\033[0m" if report.color else text


def finding_block(finding: Finding, report: Report) -> str:
    """The lines that show one finding: where, which rule, the credential, the commit.
    Everything that came from the repository, its config or the API is shown escaped."""
    where = f"{display_path(finding.file)}:{finding.line}:{finding.column}"
    lines = [
        f"{_paint(where, 'bold', report)}  {display_text(finding.rule_id)} ({finding.severity})",
        f"    {display_text(finding.description)}",
    ]
    if finding.kind != SUPPRESSION:
        lines.append(f"    {finding.label}: {report.shown(finding.secret.reveal())}")
    lines.append(f"    fingerprint: {finding.fingerprint}")
    if finding.commit:
        commit = finding.commit
        times = f", {finding.occurrences} occurrences" if finding.occurrences > 1 else ""
        lines.append(
            f"    introduced in {display_text(commit.sha[:12])} by "
            f"{display_text(commit.author)} <{display_text(commit.email)}> "
            f"on {display_text(commit.date)}{times}"
        )
    if finding.status != UNVERIFIED or finding.status_reason:
        lines.append("    " + _status_line(finding, report))
    lines.extend(f"    note: {display_text(note)}" for note in finding.notes)
    return "\n".join(lines)


def _status_line(finding: Finding, report: Report) -> str:
    style = _STATUS_STYLE.get(finding.status)
    status = _paint(finding.status.upper(), style, report) if style else finding.status
    parts = [f"status: {status}"]
    if finding.account:
        email = finding.account.get("email", "")
        parts.append(display_text(f"account {finding.account.get('id', '?')} {email}".rstrip()))
    if finding.verified_with:
        parts.append(f"checked with client ID {report.shown(finding.verified_with.reveal())}")
    if finding.status_reason:
        parts.append(display_text(finding.status_reason))
    return " - ".join(parts)


def _footer(report: Report) -> str:
    summary = report.summary
    if summary.mode in ("history", "pre-push", "pre-receive"):
        scanned = _count(summary.commits_scanned, "commit")
    elif summary.mode == "commit-msg":
        scanned = "the commit message"
    else:
        scanned = _count(summary.files_scanned, "file")
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(summary.skipped.items()))
    extra = f"; skipped: {skipped}" if skipped else ""
    if summary.suppressed:
        extra += f"; {summary.suppressed} suppressed (listed above, with why)"
    return f"Scanned {scanned} in {summary.duration:.2f}s{extra}."


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _timeout_warning(name: str) -> str:
    if name.startswith(PATTERN_TIMEOUT):  # an allowlist or context pattern, not a rule
        return (
            f"warning: {name} took over 2 s and was turned off for the rest of the run: it "
            "allowed nothing, so what it might have dropped is reported (fix the pattern)"
        )
    return (
        f"warning: rule {name} took over 2 s on one file and was turned off for the rest of "
        "the run: what it did not search is not covered (fix its regex)"
    )


def render(report: Report) -> str:
    """The whole text report."""
    out: list[str] = []
    if report.findings:
        count = sum(1 for f in report.findings if f.kind != SUPPRESSION)
        changes = len(report.findings) - count
        noun = "credential" if count == 1 else "credentials"
        if count:
            out.append(_paint(f"nexpay-scan: {count} Nexpay {noun} found", "red", report) + "\n")
        if changes:
            files = "file" if changes == 1 else "files"
            out.append(
                _paint(
                    f"nexpay-scan: this change edits {changes} suppression {files}", "red", report
                )
                + "\n"
            )
        live = sum(1 for f in report.findings if f.status == LIVE and f.kind == SECRET)
        if live:
            keys = "key is" if live == 1 else "keys are"
            out.append(
                _paint(
                    f"{live} {keys} LIVE: anyone with the key can move money as its "
                    "owner right now. Revoke it first (shown first below).",
                    "red",
                    report,
                )
                + "\n"
            )
        out.extend(finding_block(f, report) + "\n" for f in report.findings)
        if count:
            out.append(advice(report.summary.mode))
    elif not report.quiet:
        out.append("nexpay-scan: no Nexpay credentials found.")
    if not report.quiet:  # --quiet: the findings and warnings only (the rest is in JSON/SARIF)
        out.extend(display_text(note) for note in report.notes)
        out.extend(suppressed_line(f, report) for f in report.suppressed)
    out.extend(_shown_gaps(skipped_lines(report)))  # a gap is a warning, shown even then
    out.extend(display_text(_timeout_warning(n)) for n in sorted(report.summary.rule_timeouts))
    if not report.quiet:
        out.append(_footer(report))
    return "\n".join(out) + ("\n" if out else "")
