"""One file change of a diff (staged or in a commit): what it adds, as findings."""

from __future__ import annotations

from nexpay_scan.errors import FatalError
from nexpay_scan.findings import Commit, Finding
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.base import Fragment
from nexpay_scan.sources.blob_reader import POINTER_HEAD, POINTER_MOST, BlobReader
from nexpay_scan.sources.git import decode_path, missing_objects_error
from nexpay_scan.sources.gitlog import RawChange
from nexpay_scan.sources.patch import (
    added_spans,
    is_binary,
    is_deletion,
    section_path,
    split_sections,
)
from nexpay_scan.stats import Stats


def scan_change(
    change: RawChange,
    section: bytes | None,
    blobs: BlobReader,
    scanner: Scanner,
    commit: Commit | None = None,
    *,
    stats: Stats,
) -> list[Finding]:
    """Findings on the lines `section` adds to the new blob of `change`.

    The whole new blob is scanned, so rules that need Nexpay context see the lines around
    a change; only findings on added lines are kept. A binary file has no lines, and a
    change of a commit too big to hold has no `section` (None): their findings are the
    credentials that the old version did not hold. A new blob over the size limit is
    searched a window at a time (`windows`), never held whole: its findings too are the
    credentials the old version did not hold. What was read and passed over is counted
    in `stats`.
    """
    if not change.adds_content:
        if change.status[0] != "D":
            stats.skip("submodule", change.path, gap=False)
        return []
    data = blobs.read_or_stream(change.new_sha, scanner.settings.max_file_size)
    if data is None:  # never read is never clean
        raise missing_objects_error(1)
    if isinstance(data, bytes):
        if len(data) < POINTER_MOST and data.startswith(POINTER_HEAD):
            from nexpay_scan.sources.lfs import read_pointer

            in_lfs = read_pointer(data, change.path, blobs, scanner, commit, stats)
            if in_lfs is not None:
                return _not_held_before(in_lfs, change, blobs)
        stats.files_scanned += 1
        if section is not None and not is_binary(section):
            added = Fragment(data, change.path, added_spans(section), commit)
            return scanner.scan_fragment(added, stats)
        found = scanner.scan_fragment(Fragment(data, change.path, commit=commit), stats)
    else:  # over the size limit: searched a window at a time as git writes it
        from nexpay_scan.windows import scan_in_windows

        found = scan_in_windows(scanner, data, change.path, commit=commit, stats=stats)
    return _not_held_before(found, change, blobs)


def scan_blob(
    blobs: BlobReader, sha: str, path: str, scanner: Scanner, *, stats: Stats
) -> list[Finding] | None:
    """Findings in one blob, shown at `path` (a blob no change adds: a ref's, a dangling
    one); an LFS pointer's content, and content over the size limit in windows, as a
    change's are read. None when the object is missing."""
    from nexpay_scan.sources.lfs import read_pointer
    from nexpay_scan.windows import scan_read

    data = blobs.read_or_stream(sha, scanner.settings.max_file_size)
    if data is None:
        return None
    in_lfs = read_pointer(data, path, blobs, scanner, None, stats)
    return in_lfs if in_lfs is not None else scan_read(scanner, data, path, stats=stats)


def _not_held_before(found: list[Finding], change: RawChange, blobs: BlobReader) -> list[Finding]:
    """`found` but the credentials the change's old version held too (for content with no
    added lines to keep to: binary, too big to hold, kept in Git LFS)."""
    if not found or not change.old_sha.strip("0"):
        return found
    # the old blob is searched a piece at a time: it may be far bigger than the new one
    held = blobs.holding(change.old_sha, {f.secret.reveal().encode() for f in found})
    return [f for f in found if f.secret.reveal().encode() not in held]


def paired_sections(changes: list[RawChange], patch: bytes) -> list[tuple[RawChange, bytes]]:
    """Each raw record of a diff with its patch section, matched BY PATH, never by position:
    a type change (file <-> symlink) has two sections for one record, and a merge's `--cc`
    patch has none for a file git merged cleanly. A record without a section gets b""."""
    by_path: dict[str, list[bytes]] = {}
    for section in split_sections(patch):
        path = section_path(section)
        if path is None:
            raise FatalError("git diff: a patch section has no readable header")
        by_path.setdefault(decode_path(path), []).append(section)
    paired = [(change, _new_side(by_path.pop(change.path, []))) for change in changes]
    if by_path:  # content of a file no record names would go unscanned: fail closed
        raise FatalError(
            f"git diff: a patch section matches no changed file ({next(iter(by_path))!r})"
        )
    return paired


def _new_side(sections: list[bytes]) -> bytes:
    """One record's section; for a type change, the new file's creation (its deletion of
    the old one adds nothing and would hide a binary marker)."""
    if len(sections) == 1:
        return sections[0]
    created = [s for s in sections if not is_deletion(s)]
    return b"".join(created or sections)
