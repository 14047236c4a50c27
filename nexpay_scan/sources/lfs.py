"""Git LFS: a file that git-lfs tracks is committed as a pointer, and its content kept
beside the repository (`.git/lfs/objects`) and pushed to an LFS server.

A key in such a file never shows in a blob: the staged diff and the history hold only
`version https://git-lfs.github.com/spec/v1`, the object's id and its size. So a change
whose new blob is a pointer is scanned as the file's content, read from the local LFS
store (as the work tree shows it, where `files` reads it): at the file's own lines, with
a note naming the object. When the object is not here (a clone without `git lfs fetch`,
a server, which receives LFS content apart), the file is named as not scanned: never
reported clean unread.

Pointers are told by their content (the spec: the version line first, `oid sha256:` and
`size`, under 1024 bytes), so no `.gitattributes` is read, and no git-lfs is needed: the
store is `lfs.storage` (default `<git common dir>/lfs`), objects at
`objects/<oid[0:2]>/<oid[2:4]>/<oid>`.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator

from nexpay_scan.records import Record
from nexpay_scan.sources.blob_reader import POINTER_HEAD, POINTER_MOST

TYPE_CHECKING = False
if TYPE_CHECKING:
    from nexpay_scan.findings import Commit, Finding
    from nexpay_scan.paths import StrPath
    from nexpay_scan.scan import Scanner
    from nexpay_scan.sources.blob_reader import BlobReader
    from nexpay_scan.stats import Stats

# a change to a pointer adds this line in a patch (a new oid: the version line stays)
ADDED_OID = b"\n+oid sha256:"
NOT_HERE = "a Git LFS object not in this repository (run `git lfs fetch`): its content not scanned"
POINTER_IN_FOLDER = (
    "a Git LFS pointer: the content it stands for is not in this folder (`git lfs pull`, "
    "or scan the history, which reads the LFS store)"
)
_HEX = frozenset(b"0123456789abcdef")
_PIECE = 1 << 20


class Pointer(Record):
    """What an LFS pointer names: the object's id (sha256, hex) and size."""

    oid: str
    size: int

    @property
    def note(self) -> str:
        """What a finding in the object's content says of where it is."""
        return f"in the Git LFS object {self.oid[:12]}… (git holds a pointer to it)"


def read_pointer(
    data: bytes | Iterator[bytes],
    path: str,
    blobs: BlobReader,
    scanner: Scanner,
    commit: Commit | None,
    stats: Stats,
) -> list[Finding] | None:
    """Findings in the content a blob's bytes name when they are an LFS pointer (see
    `lfs_findings`); None when they are not one (then the bytes are the content)."""
    pointer = pointer_of(data) if isinstance(data, bytes) else None
    if pointer is None:
        return None
    return lfs_findings(pointer, path, blobs, scanner, commit, stats)


def pointer_of(data: bytes) -> Pointer | None:
    """The pointer `data` is, or None (most content: told by its first bytes)."""
    if len(data) >= POINTER_MOST or not data.startswith(POINTER_HEAD):
        return None
    oid, size = "", -1
    for line in data[len(POINTER_HEAD) :].split(b"\n"):
        key, _, value = line.partition(b" ")
        if key == b"oid" and value.startswith(b"sha256:"):
            digest = value[len(b"sha256:") :]
            if len(digest) == 64 and set(digest) <= _HEX:
                oid = digest.decode()
        elif key == b"size" and value.isdigit():
            size = int(value)
    return Pointer(oid, size) if oid and size >= 0 else None


class LfsStore:
    """The local LFS objects of a repository, found when first asked (two git calls)."""

    def __init__(self, repo: StrPath) -> None:
        self._repo = repo
        self._root: str | None = None

    def path(self, pointer: Pointer) -> str | None:
        """The object's file, when it is here and as big as the pointer says."""
        oid = pointer.oid
        path = os.path.join(self._objects(), oid[:2], oid[2:4], oid)
        try:
            size = os.stat(path).st_size
        except OSError:
            return None
        return path if size == pointer.size else None

    def holding(self, pointer: Pointer, values: Collection[bytes]) -> set[bytes]:
        """Which of `values` the object's content holds (none when it is not here), read a
        piece at a time."""
        path = self.path(pointer)
        found: set[bytes] = set()
        if path is None or not values:
            return found
        overlap = max(len(v) for v in values) - 1
        tail = b""
        with open(path, "rb") as stream:
            while piece := stream.read(_PIECE):
                window = tail + piece
                found.update(v for v in values if v not in found and v in window)
                tail = window[-overlap:] if overlap else b""
        return found

    def _objects(self) -> str:
        if self._root is None:
            from nexpay_scan.sources.git import run_git

            common = run_git(self._repo, "rev-parse", "--git-common-dir").strip()
            root = os.path.join(os.fspath(self._repo), os.fsdecode(common))
            configured = run_git(self._repo, "config", "--get", "lfs.storage", ok_codes=(0, 1))
            if configured.strip():
                root = os.path.join(root, os.fsdecode(configured.strip()))  # (relative: to it)
            else:
                root = os.path.join(root, "lfs")
            self._root = os.path.join(root, "objects")
        return self._root


def lfs_findings(
    pointer: Pointer,
    path: str,
    blobs: BlobReader,
    scanner: Scanner,
    commit: Commit | None,
    stats: Stats,
) -> list[Finding]:
    """Findings in the content a pointer at `path` names, as the file's own (each with a
    note naming the object); when the object is not here, the file is named as not
    scanned (a gap)."""
    found_at = blobs.lfs.path(pointer)
    if found_at is None:
        stats.skip(NOT_HERE, path, commit=commit.sha if commit is not None else None)
        return []
    from nexpay_scan.windows import read_pieces, scan_read

    limit = scanner.settings.max_file_size
    try:
        with open(found_at, "rb") as stream:
            whole = pointer.size <= limit
            data = stream.read(limit + 1) if whole else read_pieces(stream)
            found = scan_read(scanner, data, path, commit=commit, stats=stats)
    except OSError as error:
        stats.skip(f"a Git LFS object that cannot be read ({error.strerror})", path)
        return []
    for finding in found:
        finding.notes.append(pointer.note)
    return found
