"""Server side: the commits a push would add, from a `pre-receive` hook's standard input.

Git runs the hook before any ref moves, with the pushed objects in a quarantine directory
that its environment (GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES) points at:
every git call inherits that environment, so the new objects are visible.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from nexpay_scan.errors import FatalError
from nexpay_scan.findings import Finding
from nexpay_scan.progress import Progress
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.base import Target
from nexpay_scan.sources.git import in_parts
from nexpay_scan.stats import Stats

TYPE_CHECKING = False
if TYPE_CHECKING:
    from nexpay_scan.trust import TrustedSide

BREAK_GLASS_OPTION = "nexpay-scan.break-glass="
BREAK_GLASS_LOG = "nexpay-scan-break-glass.log"


class ReceiveSource:
    """Source: what a push would add, server side (pre-receive): the new commits of each
    updated ref (`received_revisions`), the annotated tags pushed, blobs or trees pushed
    without a commit, and a finding for each suppression file (`watched`) the commits
    edit. `trusted`: the side whose config and suppressions apply (the refs' old values)."""

    mode = "pre-receive"

    def __init__(
        self,
        root: Path,
        lines: Sequence[str],
        trusted: TrustedSide | None,
        watched: Sequence[str] = (),
        progress: Progress | None = None,
    ) -> None:
        self.root, self.lines, self.trusted = root, lines, trusted
        self.watched, self.progress = watched, progress
        self.stats = Stats()
        self.ranges: list[list[str]] = []
        self.credentials = 0  # findings that are keys (not suppression changes): for the log

    def target(self) -> Target:
        """The repository receiving, read as the refs' old values have it."""
        return Target(self.root, self.trusted)

    def findings(self, scanner: Scanner) -> list[Finding]:
        """Each key the push adds, once, where it came in; then the suppression changes."""
        from nexpay_scan.sources.blob_engine import default_workers, scan_by
        from nexpay_scan.sources.history import HistoryScan
        from nexpay_scan.sources.push import objects_outside_commits, tag_name
        from nexpay_scan.trust import SuppressionLog

        scan = HistoryScan(self.root, scanner, progress=self.progress)
        scan.tags_of_range = False  # a pushed tag is no ref yet: named in the hook's input
        changes: list[Finding] = []
        self.ranges = list(received_revisions(self.lines))
        for revisions in self.ranges:
            # (a range's suppression log runs beside its scan: one at a time, however many
            # refs a push updates)
            log = None
            if self.trusted is not None:
                log = SuppressionLog(self.root, revisions, self.watched, self.trusted)
            try:
                scan_by("auto", scan, revisions, default_workers())
                changes += log.findings() if log is not None else []
            finally:
                if log is not None:
                    log.cancel()
        refs = received_refs(self.lines)
        scan.scan_tags([(tag_name(ref), sha) for ref, sha in refs])
        extra = objects_outside_commits(self.root, scanner, refs, ["--all"], self.stats)
        self.stats.merge(scan.stats)
        found = scan.findings() + extra
        self.credentials = len(found)
        return found + list({f.file: f for f in changes}.values())


def received_revisions(lines: Sequence[str]) -> Iterator[list[str]]:
    """`git log` arguments for the updated refs: their new commits that no existing ref
    has. One list for them all (each ref's would exclude the same `--all`): a push of
    thousands of refs (`--mirror` into a new repository) is one scan, not thousands, each
    walking the history the others do; past IDS_AT_ONCE refs, one list a part."""
    news: list[str] = []
    for line in lines:
        parts = line.split()
        if len(parts) != 3:
            raise FatalError(f"unexpected pre-receive input line: {line[:80]!r}")
        _, new, _ = parts
        if not set(new) <= {"0"}:  # (a deletion adds nothing)
            news.append(new)
    if news:  # (a part at a time past what one command line holds)
        for part in in_parts(list(dict.fromkeys(news))):
            yield [*part, "--not", "--all"]


def received_refs(lines: Sequence[str]) -> list[tuple[str, str]]:
    """(ref, new object) per updated ref that is not deleted."""
    refs = []
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and not set(parts[1]) <= {"0"}:
            refs.append((parts[2], parts[1]))
    return refs


def push_options(environ: Mapping[str, str]) -> list[str]:
    """The `git push -o` options the server received."""
    try:
        count = int(environ.get("GIT_PUSH_OPTION_COUNT", "0"))
    except ValueError:
        return []
    return [environ.get(f"GIT_PUSH_OPTION_{i}", "") for i in range(count)]


def break_glass_reason(environ: Mapping[str, str]) -> str | None:
    """The reason given with `git push -o nexpay-scan.break-glass=REASON`, if any."""
    for option in push_options(environ):
        if option.startswith(BREAK_GLASS_OPTION):
            reason = option[len(BREAK_GLASS_OPTION) :].strip()
            return reason or None
    return None


def pusher(environ: Mapping[str, str]) -> str:
    """Who pushed, as the git server tells it (GitLab, Gitea, Gogs, plain SSH)."""
    for name in ("GL_USERNAME", "GITEA_PUSHER_NAME", "GOGS_AUTH_USER_NAME", "REMOTE_USER"):
        if environ.get(name):
            return environ[name]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def log_break_glass(
    repo: Path, environ: Mapping[str, str], reason: str, lines: Sequence[str], found: int
) -> Path:
    """Appends one line per use to the repository's break-glass log; returns its path."""
    path = Path(os.environ.get("NEXPAY_SCAN_BREAK_GLASS_LOG") or repo / BREAK_GLASS_LOG)
    refs = ",".join(line.split()[2] for line in lines if len(line.split()) == 3)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    clean = " ".join(reason.split())[:300]
    entry = f"{stamp}\tpusher={pusher(environ)}\trefs={refs}\tfindings={found}\treason={clean}\n"
    try:
        with path.open("a", encoding="utf-8") as log:
            log.write(entry)
    except OSError as error:
        raise FatalError(
            f"break-glass refused: cannot write its log {path} ({error.strerror})"
        ) from None
    return path
