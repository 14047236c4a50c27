"""Blobs read in this process, from the repository's own object store, through libgit2
(pygit2): the blob engine's reading of a whole history (see `blobs`).

`git cat-file --batch` hands every blob over a pipe, which on a whole history cost more
than git's reading itself: celery's 934 MB of blobs took 2.4-2.5 CPU-s through the pipe
(git 1.0 of its own, then 0.8 in the kernel writing the pipe and 0.5 reading it), and
1.0-1.3 CPU-s read here; the whole scan, 10-17% less CPU (`bench/README.md`). A blob is
the same bytes by its id whichever reads it, so the readers build exactly the block `git
cat-file --batch` would have written and search it as before.

git stays the reader wherever this one might not see what git sees, and for whatever
this one cannot read: pygit2 not installed, git's place for objects set by the
environment (a hook's quarantine, GIT_DIR), a repository libgit2 will not open (an
extension it does not know, SHA-256 objects), an object it cannot read. A batch with such
an object is read again by git, whole (`read_by_git`).
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

from nexpay_scan.sources.git import git_command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# git reads its objects from elsewhere when one of these is set (a pre-receive hook's
# quarantine sets the first two): libgit2, opened on the repository, would not
_GIT_PLACES = (
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_QUARANTINE_PATH",
    "GIT_DIR",
    "GIT_COMMON_DIR",
)
# 1 MB pack windows, 4 MB of them mapped at most (the readers' git: 8 MB): libgit2 keeps
# 16 MB of delta bases of its own (git: 4), and the memory bound holds for the whole
# process tree (see `blobs.IN_PROCESS_CHUNK_BYTES`)
_WINDOW_BYTES = 1 << 20
_MAPPED_BYTES = 4 << 20
# pack files held open at once (libgit2's default: no bound; a clone never repacked can
# hold thousands of packs, past the limit on open files), the least recent closed first
_OPEN_PACKS = 128

_loaded: list[Any] = []  # the pygit2 module, once loaded
_loading: list[threading.Thread] = []  # `load_beside`'s thread, until `load` waits for it
# (scans may run on several threads of one process: `org`'s Dask workers)
_lock = threading.Lock()


def load_beside() -> None:
    """Starts loading pygit2 (`load`) on a thread, while this one waits on git for other
    work: the import is not on the scan's path. `load` waits for it, before any fork."""
    with _lock:
        if _loaded or _loading or _elsewhere():
            return
        thread = threading.Thread(target=_load, daemon=True)
        try:
            thread.start()
        except RuntimeError:  # (no thread to be had: `load` imports it, when asked)
            return
        _loading.append(thread)


def _wait_for_loading() -> None:
    while True:
        with _lock:
            if not _loading:
                return
            thread = _loading.pop()
        thread.join()


def _elsewhere() -> bool:
    return any(os.environ.get(name) for name in _GIT_PLACES)


def ready(wanted: bool) -> bool:
    """Whether a scan that `wanted` to read in process does (`load`); either way, no
    thread of `load_beside` runs once it returns (the readers may be forked)."""
    if wanted:
        return load()
    _wait_for_loading()
    return False


def load() -> bool:
    """Imports pygit2 and sets libgit2 up for reading blobs (once per process): no hash
    check on each read (git cat-file does none either; with it, reading took three times
    as long), no object cache, small pack windows. False when pygit2 is not installed (or
    too old), or when the environment points git elsewhere (checked at each scan). Called
    before the readers are forked, so that they share the import (60-90 ms); no thread
    of `load_beside` runs once it returns."""
    _wait_for_loading()
    return not _elsewhere() and _load()


def _load() -> bool:
    """`load`'s work. Whatever goes wrong (pygit2 missing or too old, its library not
    loading) leaves the reading to git: nothing is raised, on `load_beside`'s thread
    either."""
    if _loaded:
        return True
    try:
        import pygit2

        pygit2.settings.enable_strict_hash_verification(False)
        pygit2.settings.enable_caching(False)
        pygit2.settings.mwindow_size = _WINDOW_BYTES
        pygit2.settings.mwindow_mapped_limit = _MAPPED_BYTES
        pygit2.settings.mwindow_file_limit = _OPEN_PACKS
    except Exception:
        return False
    _loaded.append(pygit2)
    return True


class ObjectStore:
    """The repository's object store, opened in this process (after any fork: each
    reader opens its own, as each ran its own git)."""

    def __init__(self, repository: Any) -> None:
        self._get = repository.get

    def block(self, ids: Sequence[bytes], sizes: Sequence[int]) -> bytes | None:
        """The blobs `ids` framed as `git cat-file --batch` writes them (`<id> blob
        <size>`, a newline, the content, a newline), or None if one cannot be read here
        or is not the blob of that size the listing said (or libgit2 fails on it)."""
        parts: list[bytes | memoryview] = []
        get, blob_type = self._get, _loaded[0].Blob
        try:
            for sha, size in zip(ids, sizes, strict=True):
                blob = get(sha.decode("ascii"))
                if type(blob) is not blob_type or blob.size != size:
                    return None
                # (a view of libgit2's own buffer: the join below is the one copy)
                parts += (sha, b" blob ", b"%d\n" % size, memoryview(blob), b"\n")
        except Exception:  # (git then reads the batch, and says what is wrong, if anything)
            return None
        return b"".join(parts)


def opened(repo: Path) -> ObjectStore | None:
    """The object store of `repo` through libgit2, if `load` succeeded and libgit2 opens
    the repository; else None (git reads)."""
    if not _loaded:
        return None
    try:
        return ObjectStore(_loaded[0].Repository(os.fspath(repo)))
    except Exception:  # (an extension libgit2 does not know, SHA-256 objects, ownership)
        return None


def read_by_git(repo: Path, settings: Sequence[str], ids: Sequence[bytes]) -> bytes:
    """What `git cat-file --batch` writes for `ids`: a batch this process could not read."""
    return subprocess.run(
        git_command(repo, *settings, "cat-file", "--batch"),
        input=b"".join(sha + b"\n" for sha in ids),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        check=False,
    ).stdout
