"""The git history a request names (every ref by default), as a source: each secret once
where it came in (or every occurrence), by the engine that fits; `history`, `ci`,
`baseline` and `org` read it."""

from __future__ import annotations

import os
from collections.abc import Sequence

from nexpay_scan.findings import Finding
from nexpay_scan.progress import Progress
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.base import Target
from nexpay_scan.stats import Stats

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from pathlib import Path

    from nexpay_scan.commands.options import HistoryRequest
    from nexpay_scan.sources.history import HistoryScan
    from nexpay_scan.trust import TrustedSide


class HistorySource:
    """Source: the git history `wanted` names (every ref by default), each secret once
    where it came in (or every occurrence). In a range scan (`trusted` given), also a
    finding for each suppression file of `watched` the range edits; `linked`: each finding
    notes its commit and line on the hosting platform (see `link_findings`)."""

    mode = "history"

    def __init__(
        self,
        root: Path,
        wanted: HistoryRequest,
        *,
        trusted: TrustedSide | None = None,
        watched: Sequence[str] = (),
        linked: bool = False,
        progress: Progress | None = None,
    ) -> None:
        self.root, self.wanted, self.trusted = root, wanted, trusted
        self.watched, self.linked, self.progress = watched, linked, progress
        self.stats = Stats()
        self.ranges = [wanted.revisions]

    def target(self) -> Target:
        """The repository, and in a range scan the side its config comes from."""
        return Target(self.root, self.trusted)

    def findings(self, scanner: Scanner) -> list[Finding]:
        """The history's findings (see `history_findings`), linked, then the changes of
        the range to its suppression files."""
        from nexpay_scan.sources.gitlog import log_revisions
        from nexpay_scan.sources.history import HistoryScan

        scan = HistoryScan(
            self.root,
            scanner,
            all_occurrences=self.wanted.all_occurrences,
            progress=self.progress,
        )
        changes = None
        if self.trusted is not None:  # (its log runs beside the scan)
            from nexpay_scan.trust import SuppressionLog

            revisions = log_revisions(self.wanted.revisions)
            changes = SuppressionLog(self.root, revisions, self.watched, self.trusted)
        try:
            findings = history_findings(self.wanted, self.root, scan)
            if self.linked:
                link_findings(self.root, findings)
            if changes is not None:
                findings += changes.findings()
        finally:
            self.stats.merge(scan.stats)
            if changes is not None:
                changes.cancel()
        return findings


def history_findings(wanted: HistoryRequest, root: Path, scan: HistoryScan) -> list[Finding]:
    """What `scan` finds in the history `wanted` names, by the engine it asks for (or the
    faster one), with the marks the audit report reads when it tracks places."""
    from nexpay_scan.sources.blob_engine import scan_by
    from nexpay_scan.sources.gitlog import is_whole_history, log_revisions

    scan.track_places = wanted.track_places
    branches = [f"refs/heads/{b}" for b in wanted.branches]
    rev_args = log_revisions([*branches, *wanted.revisions])
    dates = (
        ("since", day_bound(wanted.since, "00:00:00")),
        ("until", day_bound(wanted.until, "23:59:59")),
    )
    filters = [f"--{name}={value}" for name, value in dates if value]
    if not filters and is_whole_history(rev_args) and wanted.engine != "diff":
        _expect_blob_bytes(root, scan.scanner, scan.progress)
    findings = scan_by(wanted.engine, scan, [*filters, *rev_args], wanted.jobs)
    if scan.track_places:
        scan.mark_at_head(findings)
        _mark_at_tips(root, findings)
        from nexpay_scan.sources.removals import mark_left

        mark_left(root, findings)
    _mark_shallow_edges(root, findings)
    return findings


def _mark_shallow_edges(root: Path, findings: list[Finding]) -> None:
    """In a shallow clone, a key "introduced" at a commit where the clone's history is cut
    may be older: say so rather than name that commit as where it came in."""
    if not findings:  # (no git call for a clean scan: a pre-push hook waits for it)
        return
    from nexpay_scan.sources.git import shallow_edges

    edges = shallow_edges(root)
    for finding in findings:
        if finding.commit and finding.commit.sha in edges:
            finding.notes.append(
                "this clone is shallow and its history starts at this commit: the key may "
                "have come in earlier (fetch the full history: git fetch --unshallow)"
            )


def link_findings(root: Path, findings: list[Finding]) -> None:
    """A note on each finding with its commit and line on the hosting platform, when the
    CI's variables or the `origin` URL say which."""
    if not findings:  # (a clean scan loads no CI reader and asks git nothing)
        return
    from nexpay_scan.ci import web_links

    links = web_links(root, os.environ)
    if links is None:
        return
    for finding in findings:
        if finding.commit and not finding.unreachable:
            sha = finding.commit.sha
            finding.notes.append(
                f"on {links.platform}: {links.file_url(sha, finding.file, finding.line)} "
                f"(commit {links.commit_url(sha)})"
            )


# approxidate's words (git's date.c): anything else in a date is ignored by git, silently
def _expect_blob_bytes(root: Path, scanner: Scanner, progress: Progress) -> None:
    """The progress display's total for the blob engine over the whole history, known
    before it starts: the bytes of every blob it will read (its listing, counted first)."""
    if not progress.enabled:
        return
    from nexpay_scan.sources.git import run_git

    listing = run_git(
        root,
        "cat-file",
        "--batch-all-objects",
        "--unordered",
        "--batch-check=%(objecttype) %(objectsize)",
    )
    limit = scanner.settings.max_file_size
    total = 0
    for line in listing.split(b"\n"):
        if line.startswith(b"blob "):
            size = int(line[5:])
            total += size if size <= limit else 0
    progress.expect(total, "bytes")


def _mark_at_tips(root: Path, findings: list[Finding]) -> None:
    """For the audit report: every branch and tag tip whose files still hold the key,
    named (a key removed at HEAD but still at the tip of `feature` is not gone)."""
    from nexpay_scan.sources.history import holding_commits

    found = [f for f in findings if not f.unreachable]
    tips = _tips(root) if found else []
    held = holding_commits(root, found, list(dict.fromkeys(commit for commit, _ in tips)))
    for finding in found:
        finding.present_at = [tip for commit, tip in tips if commit in held[id(finding)]]


def _tips(root: Path) -> list[tuple[str, str]]:
    """(commit, short name) of every branch and tag (a tag peeled to what it points at)."""
    from nexpay_scan.sources.git import run_git

    listed = run_git(
        root,
        "for-each-ref",
        "--format=%(objectname) %(*objectname) %(refname:short)",
        "refs/heads",
        "refs/tags",
    ).decode(errors="replace")
    tips: list[tuple[str, str]] = []
    for line in listed.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            tips.append((parts[1] or parts[0], parts[2]))
    return tips


def day_bound(date: str | None, time_of_day: str) -> str | None:
    """A bare calendar date (`2024-01-02`) as the start (`--since`) or the end (`--until`)
    of that day: git reads it as that day at the current time of day, so the commits a
    scan selects would change with the hour it runs. Any other date is git's to read."""
    bare = date is not None and len(date) == 10 and date[4] == date[7] == "-"
    if bare and date is not None and date.replace("-", "").isdigit():
        return f"{date}T{time_of_day}"
    return date
