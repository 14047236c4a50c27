"""The staged diff: what the next commit adds (the index against HEAD)."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from nexpay_scan.errors import FatalError
from nexpay_scan.findings import Finding
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.changes import scan_change
from nexpay_scan.sources.git import (
    BlobReader,
    RawChange,
    empty_tree,
    has_commits,
    parse_raw_z,
    run_git,
)
from nexpay_scan.sources.patch import split_sections

_DIFF = ("--raw", "-z", "-p", "-U0", "-M", "--no-ext-diff", "--no-abbrev", "--no-color")


def staged_changes(repo: Path) -> list[tuple[RawChange, bytes]]:
    """Each staged file change with its patch section (index against HEAD or empty tree)."""
    try:
        output = run_git(repo, "diff", "--cached", *_DIFF, "HEAD", "--")
    except FatalError:
        if has_commits(repo):
            raise
        # no commit yet: what the first commit adds, against the empty tree
        output = run_git(repo, "diff", "--cached", *_DIFF, empty_tree(repo), "--")
    raw, _, patch = output.partition(b"\0\0")
    changes = list(parse_raw_z(raw.split(b"\0")))
    sections = split_sections(patch)
    if len(sections) != len(changes):
        sections = _match_sections(changes, sections)
    return list(zip(changes, sections, strict=True))


def _match_sections(changes: list[RawChange], sections: list[bytes]) -> list[bytes]:
    """Fallback if git ever shows a change with no section: pair what is there in order."""
    return [*sections, *[b""] * len(changes)][: len(changes)]


def scan_staged(repo: Path, scanner: Scanner, only: Collection[str] | None = None) -> list[Finding]:
    """Findings on the lines the index adds; `only` limits the scan to those paths."""
    findings: list[Finding] = []
    with BlobReader(repo) as blobs:
        for change, section in staged_changes(repo):
            if only is not None and change.path not in only:
                continue
            findings.extend(scan_change(change, section, blobs, scanner))
    return findings
