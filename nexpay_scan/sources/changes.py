"""One file change of a diff (staged or in a commit): what it adds, as findings."""

from __future__ import annotations

from nexpay_scan.findings import Commit, Finding
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.git import BlobReader, RawChange
from nexpay_scan.sources.patch import added_spans, is_binary


def scan_change(
    change: RawChange,
    section: bytes | None,
    blobs: BlobReader,
    scanner: Scanner,
    commit: Commit | None = None,
) -> list[Finding]:
    """Findings on the lines `section` adds to the new blob of `change`.

    The whole new blob is scanned, so rules that need Nexpay context see the lines around
    a change; only findings on added lines are kept. A binary file has no lines, and a
    change of a commit too big to hold has no `section` (None): their findings are the
    credentials that the old version did not hold. A new blob over the size limit is not
    read, but named as skipped.
    """
    if not change.adds_content:
        if change.status[0] != "D":
            scanner.summary.skip("submodule", change.path, gap=False)
        return []
    sha = commit.sha if commit else None
    data = blobs.read_within(change.new_sha, scanner.settings.max_file_size)
    if data is None:
        return []
    if isinstance(data, int):  # its size: over the limit, passed over unread
        scanner.too_big(data, change.path, sha)
        return []
    scanner.summary.files_scanned += 1
    if section is not None and not is_binary(section):
        return scanner.scan(data, change.path, lines=added_spans(section), commit=commit)
    found = scanner.scan(data, change.path, commit=commit)
    if not found or not change.old_sha.strip("0"):
        return found
    # the old blob is searched a piece at a time: it may be far bigger than the new one
    held = blobs.holding(change.old_sha, {f.secret.reveal().encode() for f in found})
    return [f for f in found if f.secret.reveal().encode() not in held]
