"""When a key left the branch tips: the latest commit that took it out of a file it was
added to (for the audit reports' timeline). Read from the history of those files only."""

from __future__ import annotations

import datetime
from pathlib import Path

from nexpay_scan.findings import Finding
from nexpay_scan.sources.blob_reader import BlobReader
from nexpay_scan.sources.git import run_git

_NO_BLOB = "0" * 40


def mark_left(root: Path, findings: list[Finding]) -> None:
    """Sets `left_at` (an ISO date) on each finding no branch or tag tip holds any more:
    the author date of the latest commit that changed one of its files from a version
    holding the key to one without it. Left None when it is still present, or when no
    such commit is on a ref (its branch was deleted)."""
    gone = [f for f in findings if not f.unreachable and f.at_head is False and not f.present_at]
    if not gone:
        return
    with BlobReader(root) as blobs:
        for finding in gone:
            finding.left_at = _left(root, finding, blobs)


def _left(root: Path, finding: Finding, blobs: BlobReader) -> str | None:
    paths = sorted({p for _, p, _ in finding.places} or {finding.file})
    listing = run_git(
        root,
        "log",
        "--all",
        "--no-renames",
        "--raw",
        "-z",
        "--no-abbrev",
        "--format=%x01%aI",
        "--end-of-options",
        "--",
        *(f":(literal){p}" for p in paths),
    )
    value = finding.secret.reveal().encode()
    removed = []
    for record in listing.split(b"\x01")[1:]:
        date, _, raw = record.partition(b"\0")
        if _removes(raw, value, blobs):
            removed.append(date.decode())
    return max(removed, key=_timestamp, default=None)


def _timestamp(date: str) -> float:
    try:
        return datetime.datetime.fromisoformat(date).timestamp()
    except ValueError:
        return 0.0


def _removes(raw: bytes, value: bytes, blobs: BlobReader) -> bool:
    """True when one of the commit's raw changes goes from a blob holding `value` to one
    without it (or deletes the file)."""
    fields = raw.lstrip(b"\n").split(b"\0")
    for meta in fields[0::2]:
        parts = meta.decode(errors="replace").split()
        if len(parts) < 5 or not meta.startswith(b":"):
            continue
        old, new = parts[2], parts[3]
        if old == _NO_BLOB or not blobs.holding(old, (value,)):
            continue
        if new == _NO_BLOB or not blobs.holding(new, (value,)):
            return True
    return False
