"""Reporters: one writer per output format, all reading the same `Report`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from nexpay_scan.findings import Finding, redact
from nexpay_scan.rules import rule_prefixes
from nexpay_scan.scan import Summary

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.rules import Rule


class Report:
    """What one run found, and how it may be shown."""

    def __init__(
        self,
        findings: list[Finding],
        summary: Summary,
        *,
        redact: bool = True,
        color: bool = False,
        quiet: bool = False,
        rules: Sequence[Rule] = (),
        suppressed: Sequence[Finding] = (),
        notes: Sequence[str] = (),
    ) -> None:
        self.findings = findings
        self.suppressed = list(suppressed)  # shown with why, but not failing the run
        self.rules = tuple(rules)  # the rules in force: SARIF lists every one
        self.summary = summary
        self.redact = redact
        self.color = color
        self.quiet = quiet
        self.notes = list(notes)  # about the run as a whole, for every format to show
        # what a redacted value keeps: the prefix of its rule (`nxp_sk_`), from rule data
        self.prefixes = rule_prefixes(self.rules)

    def shown(self, value: str) -> str:
        """`value` as it may appear in output: redacted (its rule's prefix and a few
        characters) unless --no-redact."""
        return redact(value, self.prefixes) if self.redact else value


def display_path(path: str) -> str:
    """A path safe to print: undecodable bytes and control characters made visible."""
    return display_text(path)


def display_text(text: str) -> str:
    """Text from a repository, a config or an API answer, safe to print on a terminal:
    control characters (escape sequences that retitle the window or hide the rest of the
    report), undecodable bytes and other unprintables are shown as escapes."""
    if text.isprintable():
        return text
    raw = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in raw)


def skipped_lines(report: Report) -> list[str]:
    """One line per piece of content that was not scanned whole, naming it and why."""
    lines = []
    for item in report.summary.gaps:
        where = display_path(item.shown)
        commit = f" in commit {item.commit[:12]}" if item.commit else ""
        lines.append(f"not scanned: {where}{commit} ({display_text(item.reason)})")
    return lines


def suppressed_line(finding: Finding, report: Report) -> str:
    """One line for a suppressed finding: where, which credential, and by what."""
    assert finding.suppression is not None
    where = f"{display_path(finding.file)}:{finding.line}"
    shown = report.shown(finding.secret.reveal())
    return (
        f"suppressed: {where} {finding.label} {shown} "
        f"({display_text(finding.suppression.justification)})"
    )


def get_writer(name: str) -> Callable[[Report], str | Iterator[str]]:
    """The writer for a format name (`formats.FORMATS`; imported only when used): its
    text whole, or in pieces to be written as they are made."""
    from nexpay_scan.formats import writer

    return writer(name)
