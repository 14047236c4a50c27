"""One file change of a diff (staged or in a commit): what it adds, as findings."""

from __future__ import annotations

from nexpay_scan.findings import Commit, Finding
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.git import BlobReader, RawChange
from nexpay_scan.sources.patch import added_lines, is_binary


def scan_change(
    change: RawChange,
    section: bytes,
    blobs: BlobReader,
    scanner: Scanner,
    commit: Commit | None = None,
) -> list[Finding]:
    """Findings on the lines `section` adds to the new blob of `change`.

    The whole new blob is scanned, so rules that need Nexpay context see the lines around
    a change; only findings on added lines are kept. A binary file has no lines: its
    findings are the credentials that its old version did not hold.
    """
    if not change.adds_content:
        if change.status[0] != "D":
            scanner.summary.skip("submodule", change.path, gap=False)
        return []
    data = blobs.read(change.new_sha)
    if data is None or scanner.too_big(len(data), change.path, commit.sha if commit else None):
        return []
    scanner.summary.files_scanned += 1
    if not is_binary(section):
        return scanner.scan(data, change.path, lines=added_lines(section), commit=commit)
    found = scanner.scan(data, change.path, commit=commit)
    if not found or not change.old_sha.strip("0"):
        return found
    old = blobs.read(change.old_sha) or b""
    return [f for f in found if f.secret.reveal().encode() not in old]
