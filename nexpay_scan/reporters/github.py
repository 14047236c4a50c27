"""GitHub Actions: an annotation per finding (workflow commands) and a Markdown job summary.

Both are written only inside a GitHub Actions job. Every value that came from the
repository is escaped as the workflow-command syntax asks, so a file name or an author
cannot end the command early or inject one of its own, and credentials are redacted as
everywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping

from nexpay_scan.findings import SUPPRESSION, Finding
from nexpay_scan.reporters import Report, display_path, display_text, skipped_lines
from nexpay_scan.reporters.remediation import REMEDIATION

TYPE_CHECKING = False  # typing is not imported at run time (start-up time)
if TYPE_CHECKING:
    from typing import IO


def _data(text: str) -> str:
    """A command's message, escaped as the runner expects (`%`, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """A command's property value, escaped as the runner expects (also `:` and `,`)."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding, report: Report) -> str:
    """`::error file=…,line=…,col=…,title=…::message` for one finding (redacted)."""
    shown = report.shown(finding.secret.reveal())
    level = "error" if finding.suppression is None else "notice"
    title = f"{finding.rule_id}: {finding.label}"
    message = f"{display_text(finding.description)} ({finding.label} {shown}"
    message += f", status {finding.status})" if finding.kind != SUPPRESSION else ")"
    if finding.suppression is not None:
        message += f"; suppressed: {display_text(finding.suppression.justification)}"
    message += "".join(
        f"; {display_text(n)}" for n in finding.notes if n.startswith("also in this commit: ")
    )
    where = (
        f"file={_property(display_path(finding.file))},line={finding.line},"
        f"col={finding.column},title={_property(title)}"
    )
    return f"::{level} {where}::{_data(message)}"


def annotation_lines(report: Report) -> str:
    """One annotation line per finding, suppressed ones as notices; one warning per piece
    of content that was not scanned whole."""
    lines = [annotation(f, report) for f in [*report.findings, *report.suppressed]]
    lines += [f"::warning title=nexpay-scan::{_data(line)}" for line in skipped_lines(report)]
    return "".join(f"{line}\n" for line in lines)


def _cell(text: str) -> str:
    return display_text(text).replace("|", "\\|").replace("`", "'")


def job_summary(report: Report) -> str:
    """The Markdown job summary: what was found, its status, what was suppressed and why,
    what could not be scanned, and what to do."""
    found = report.findings
    out = ["## nexpay-scan", ""]
    if found:
        out += [f"**{len(found)} finding(s): this change adds Nexpay credentials.**", ""]
        out += [
            "| file | line | kind | credential | status | commit |",
            "|---|---|---|---|---|---|",
        ]
        for f in found:
            commit = f.commit.sha[:12] if f.commit else ""
            shown = report.shown(f.secret.reveal()) if f.kind != SUPPRESSION else ""
            out.append(
                f"| {_cell(display_path(f.file))} | {f.line} | {f.label} | `{_cell(shown)}` "
                f"| {f.status} | {commit} |"
            )
        out.append("")
    else:
        out += ["No Nexpay credentials found.", ""]
    if report.suppressed:
        out += ["### Suppressed (shown, not failing)", ""]
        out += [
            f"- {_cell(display_path(f.file))}:{f.line} {f.label}: "
            f"{_cell(f.suppression.justification if f.suppression else '')}"
            for f in report.suppressed
        ]
        out.append("")
    missing = skipped_lines(report)
    if missing:
        out += ["### Not scanned whole", "", *(f"- {_cell(line)}" for line in missing), ""]
    if report.notes:
        out += ["### Notes", "", *(f"- {_cell(note)}" for note in report.notes), ""]
    if any(f.kind != SUPPRESSION for f in found):
        out += ["### What to do", "", "```", REMEDIATION.rstrip(), "```", ""]
    return "\n".join(out) + "\n"


def write_to_actions(report: Report, environ: Mapping[str, str], stream: IO[str]) -> None:
    """Inside a GitHub Actions job: annotations on `stream` (stdout, where the runner reads
    them, unless the report itself is there) and the job summary appended to
    $GITHUB_STEP_SUMMARY. Elsewhere, nothing."""
    if environ.get("GITHUB_ACTIONS") != "true":
        return
    stream.write(annotation_lines(report))
    stream.flush()
    path = environ.get("GITHUB_STEP_SUMMARY")
    if path:
        try:
            with open(path, "a", encoding="utf-8") as stream:
                stream.write(job_summary(report))
        except OSError:
            pass  # the summary is a courtesy: the job's result does not depend on it
