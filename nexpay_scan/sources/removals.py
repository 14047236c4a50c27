"""When a key left the branch tips: the latest commit that took it out of a file it was
added to (for the audit reports' timeline). Read from the history of those files only."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

from nexpay_scan.findings import Finding
from nexpay_scan.sources.blob_reader import BlobReader
from nexpay_scan.sources.git import decode_path, streamed


def mark_left(root: Path, findings: list[Finding]) -> None:
    """Sets `left_at` (an ISO date) on each finding no branch or tag tip holds any more:
    the author date of the latest commit that changed one of its files from a version
    holding the key to one without it. Left None when it is still present, or when no
    such commit is on a ref (its branch was deleted). One `git log` of all their files,
    and each version read once (a log and reads for each key took 3.6 s for 200 keys
    removed from a history of 3,000 commits)."""
    gone = [f for f in findings if not f.unreachable and f.at_head is False and not f.present_at]
    at_path: dict[str, list[Finding]] = {}
    for finding in gone:
        for path in sorted({p for _, p, _ in finding.places} or {finding.file}):
            at_path.setdefault(path, []).append(finding)
    if not at_path:
        return
    changes = list(_changes(root, sorted(at_path)))
    asked: dict[str, set[bytes]] = {}  # a version -> the keys asked of it
    for _, path, old, new in changes:
        for finding in at_path[path]:
            for blob in (old, new):
                asked.setdefault(blob, set()).add(finding.secret.reveal().encode())
    with BlobReader(root) as blobs:
        holding = {blob: blobs.holding(blob, keys) for blob, keys in asked.items() if blob}
    for date, path, old, new in changes:
        for finding in at_path[path]:
            value = finding.secret.reveal().encode()
            if value not in holding.get(old, ()) or value in holding.get(new, ()):
                continue  # (no removal of this key)
            if finding.left_at is None or _timestamp(date) > _timestamp(finding.left_at):
                finding.left_at = date


def _changes(root: Path, paths: list[str]) -> Iterator[tuple[str, str, str, str]]:
    """(author date, path, old blob, new blob: "" for none) of each change to `paths` in
    the commits of every ref, a merge's against each of its parents. The paths go to git's
    standard input (as many as there are keys: past what a command line holds), one with
    a newline in it on the command line."""
    plain = [p for p in paths if "\n" not in p]
    odd = [f":(literal){p}" for p in paths if "\n" in p]
    with streamed(
        root,
        "log",
        "--all",
        "-m",  # a merge's changes against each parent: one can take a key out
        "--no-renames",
        "--raw",
        "-z",
        "--no-abbrev",
        "--format=%x01%aI",
        "--stdin",
        "--end-of-options",
        "--",
        *odd,
        stdin=["--", *(f":(literal){p}" for p in plain)] if plain else [],
    ) as output:
        listing = output.read()
    for record in listing.split(b"\x01")[1:]:
        date, _, raw = record.partition(b"\0")
        fields = raw.lstrip(b"\n").split(b"\0")
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            parts = meta.decode(errors="replace").split()
            if len(parts) >= 5 and meta.startswith(b":"):
                old, new = (sha if sha.strip("0") else "" for sha in parts[2:4])
                yield date.decode(), decode_path(path), old, new


def _timestamp(date: str) -> float:
    """An ISO date's time; -1 for none (or one git gave that no calendar holds)."""
    try:
        return datetime.datetime.fromisoformat(date).timestamp()
    except (ValueError, OverflowError, OSError):
        return -1.0
