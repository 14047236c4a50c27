"""What the paths a `files` scan is given hold: each folder walked (its regular files and
their sizes, and what it passes over), each file named stat'ed once.

A `files` command line starts the walk of the folders it names as soon as it is read
(`start_early`), before the tool loads: GNU `find` lists them on another core (12 ms for
the bench's 2,687 files, where this process took 14-20 to walk them) while this process
imports the tool and reads its settings, and `listing` puts what it printed in the walk's
order (4 ms). Measured and not taken: the walk in a forked copy of this process (each page
this process then writes is copied: 4 ms more for every run, a small tree's included), or
in a fresh interpreter (its start-up alone takes as long as the tool's imports). The
folders are walked in this process instead where there is no GNU `find` (or no
`posix_spawn`, or one core), when nothing started it early (a command line that argparse
reads, a test calling `main`), and whenever `find` did not end well: a folder or a file it
could not read, a path that vanished. So `find`'s listing is only ever used whole. Only
`os` and `signals` are loaded for it.
"""

from __future__ import annotations

import os
import sys
from stat import S_ISDIR

from nexpay_scan.signals import signals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import TypeAlias

    # what `walked` meets: (kind, the path under the folder, a file's size, a reason)
    Met: TypeAlias = tuple[int, str, int, str]
    # what a path given comes to: (kind, st_mode, st_size, what a folder holds)
    Listed: TypeAlias = tuple[int, int, int, list[Met]]

SKIPPED_DIRS = frozenset({".git"})
STDIN = "-"
# what a path given comes to
MISSING, FOLDER, NAMED = 0, 1, 2
# what a walk meets in a folder: a regular file (its size), a symbolic link, something
# else (a FIFO, a socket, a device), a folder or a file that cannot be read (the reason)
FILE, LINK, OTHER, UNREADABLE_FOLDER, UNREADABLE_FILE = range(5)


def walked(root: str) -> list[Met]:
    """Everything under `root` in the scan's order (each folder's entries sorted by name,
    its files before its subfolders' content), no symbolic link followed, `.git` left out;
    each named by its path under `root` (`root`'s own path joined with "" goes before it).
    Plain strings, not `pathlib`: tens of thousands of files pay for every path object."""
    prefix = len(os.path.join(root, ""))
    met: list[Met] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            met.append((UNREADABLE_FOLDER, folder[prefix:], 0, f"{error.strerror}"))
            continue
        subfolders = []
        for entry in entries:
            if entry.is_symlink():
                met.append((LINK, entry.path[prefix:], 0, ""))
            elif entry.is_dir():
                if entry.name not in SKIPPED_DIRS:
                    subfolders.append(entry.path)
            elif entry.is_file():
                try:
                    met.append((FILE, entry.path[prefix:], entry.stat().st_size, ""))
                except OSError as error:
                    met.append((UNREADABLE_FILE, entry.path[prefix:], 0, f"{error.strerror}"))
            else:
                met.append((OTHER, entry.path[prefix:], 0, ""))
        stack.extend(reversed(subfolders))
    return met


def listed(
    paths: Sequence[str], walk: Callable[[str, int], list[Met]] = lambda given, at: walked(given)
) -> list[Listed | None]:
    """What each of `paths` comes to (None for standard input), in their order; each
    folder as `walk` (given the path and its place) lists it."""
    found: list[Listed | None] = []
    for at, given in enumerate(paths):
        if given == STDIN:
            found.append(None)
            continue
        try:  # (one stat a path: pre-commit names thousands of files)
            status = os.stat(given)
        except (OSError, ValueError):
            found.append((MISSING, 0, 0, []))
            continue
        if S_ISDIR(status.st_mode):
            found.append((FOLDER, 0, 0, walk(given, at)))
        else:
            found.append((NAMED, status.st_mode, status.st_size, []))
    return found


class _Early:
    """`find` listing the folders among `paths` (see `start_early`) into `out`, a file in
    memory: each path as it was passed to `find` (`as_passed`), which `find` prints back
    before each of its entries. (Not a pipe: `find` would wait on it, full at 64 KB, until
    this process reads it; the bench's listing is 300 KB.)"""

    def __init__(self, paths: tuple[str, ...], as_passed: list[str], pid: int, out: int) -> None:
        self.paths, self.as_passed, self.pid, self.out = paths, as_passed, pid, out

    def take(self) -> list[Listed | None] | None:
        """What each path comes to, the folders as `find` listed them; None when `find`
        did not end well (then nothing it printed is used)."""
        try:
            _, status = os.waitpid(self.pid, 0)
            self.pid = 0
            if os.waitstatus_to_exitcode(status) != 0 or os.fstat(self.out).st_size > _PRINTED_MOST:
                return None
            printed = _read_whole(self.out)
        except OSError:
            return None
        finally:
            self.close()
        try:
            by_root = _printed(printed)
        except (ValueError, IndexError):  # (a `find` that prints otherwise: never used)
            return None
        if by_root is None:
            return None
        return listed(self.paths, walk=lambda given, at: by_root.get(self.as_passed[at], []))

    def close(self) -> None:
        """Stops `find` if it still runs, reaps it, and frees what it printed."""
        if self.pid:
            try:  # noqa: SIM105 - contextlib is not loaded on the hook's path
                os.kill(self.pid, signals.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = 0
        if self.out >= 0:
            os.close(self.out)
            self.out = -1


def _read_whole(fd: int) -> bytes:
    """Everything written to the file `fd`, from its start."""
    parts: list[bytes] = []
    at = 0
    while part := os.pread(fd, 1 << 20, at):
        parts.append(part)
        at += len(part)
    return b"".join(parts)


_early: list[_Early] = []  # started by `start_early`, not taken yet
_PATH_MOST = 4096  # Linux's PATH_MAX, with the NUL after it
# a listing bigger than this (about 300,000 files) is walked here instead: its walk is a
# small part of such a scan, and the listing and its parts would be held at once
_PRINTED_MOST = 32 << 20
_FIND = "/usr/bin/find"  # (not looked up on PATH: a listing decides what is scanned)
# (more paths than this are files that pre-commit names: each is stat'ed here, as before)
_EARLY_PATHS_MOST = 64
# `find`'s expression: no `.git` folder entered, no folder printed, and for everything
# else: the starting point it is under, its type and size, its path under that point
_PRUNED = [word for name in sorted(SKIPPED_DIRS) for word in ("-o", "-name", name)][1:]
_FIND_EXPRESSION = (
    "-mindepth", "1",
    "(", "-type", "d", "(", *_PRUNED, ")", "-prune", ")",
    "-o", "(", "-type", "d", ")",
    "-o", "-printf", "%H\\0%y%s\\0%P\\0",
)  # fmt: skip


def start_early(paths: Sequence[str]) -> None:
    """Starts `find` on `paths` (a few, at least one not standard input, none twice) where
    GNU `find`, `posix_spawn` and two cores or more are there to run it. Whatever goes
    wrong is left for `listing` to meet again, in this process."""
    discard_early()
    given = [p for p in paths if p != STDIN]
    if not given or len(paths) > _EARLY_PATHS_MOST or len(set(paths)) < len(paths):
        return
    if not hasattr(os, "memfd_create") or not hasattr(os, "posix_spawn"):  # (Linux)
        return
    if len(os.sched_getaffinity(0)) < 2 or not os.access(_FIND, os.X_OK):
        return
    # a path as `find` reads it: never as an option or an operator ("-name", "(")
    as_passed = [p if p.startswith("/") else f"./{p}" for p in paths]
    starts = [passed for passed, p in zip(as_passed, paths, strict=True) if p != STDIN]
    argv = [_FIND, "-H", *starts, *_FIND_EXPRESSION]
    out = null = -1
    try:
        out = os.memfd_create("nexpay-scan-listing", os.MFD_CLOEXEC)
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        if min(out, null) > 2:  # (else a standard stream was closed: leave it be)
            streams = [(os.POSIX_SPAWN_DUP2, fd, n) for n, fd in enumerate((null, out, null))]
            pid = os.posix_spawn(_FIND, argv, os.environ, file_actions=streams)
            _early.append(_Early(tuple(paths), as_passed, pid, out))
            out = -1
    except (OSError, ValueError):  # (a path holding a NUL byte: met again, as an error)
        pass
    finally:
        for fd in (out, null):
            if fd >= 0:
                os.close(fd)


def _printed(out: bytes) -> dict[str, list[Met]] | None:
    """What `find` printed, for each starting point: what `walked` would have met under
    it, in its order (each folder's entries sorted by name, its files before its
    subfolders' content). Names are decoded as `os.scandir` decodes them. None when a
    path printed is too long for the walk to reach (`find` goes down folder by folder):
    the walk names that folder as skipped, and then so does the scan."""
    encoding, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
    fields = out.decode(encoding, errors).split("\0")
    fields.pop()  # (after the last NUL)
    # (a starting point and a path under it, each up to 4 bytes a character)
    if fields and len(max(fields, key=len)) * 8 >= _PATH_MOST:
        return None
    # each starting point -> each folder under it (its path under the point) -> its entries
    roots: dict[str, dict[str, list[tuple[str, str, str]]]] = {}
    for at in range(0, len(fields) - 2, 3):
        folders = roots.get(fields[at])
        if folders is None:
            folders = roots[fields[at]] = {}
        under = fields[at + 2]
        folder, _, name = under.rpartition("/")
        entries = folders.get(folder)
        if entries is None:
            entries = folders[folder] = []
        entries.append((name, under, fields[at + 1]))
    return {root: _in_walk_order(folders) for root, folders in roots.items()}


def _in_walk_order(folders: dict[str, list[tuple[str, str, str]]]) -> list[Met]:
    """The entries of `folders` (by folder: name, path, type and size as `find` prints
    them) in `walked`'s order."""
    subfolders: dict[str, set[str]] = {}  # each folder -> the names of those under it
    for folder in folders:
        while folder:
            parent, _, name = folder.rpartition("/")
            names = subfolders.get(parent)
            if names is None:
                names = subfolders[parent] = set()
            if name in names:
                break
            names.add(name)
            folder = parent
    met: list[Met] = []
    stack = [""]
    while stack:
        folder = stack.pop()
        for _, under, kind in sorted(folders.get(folder, ())):
            if kind[0] == "f":
                met.append((FILE, under, int(kind[1:]), ""))
            else:
                met.append((LINK if kind[0] == "l" else OTHER, under, 0, ""))
        names = subfolders.get(folder)
        if names:
            lead = f"{folder}/" if folder else ""
            stack.extend(lead + name for name in sorted(names, reverse=True))
    return met


def listing(paths: Sequence[str]) -> list[Listed | None]:
    """What each of `paths` comes to (see `listed`): the folders as `find` started early
    for the same paths listed them, else walked now."""
    if _early and _early[0].paths == tuple(paths):
        found = _early.pop().take()
        if found is not None:
            return found
    discard_early()
    return listed(paths)


def discard_early() -> None:
    """Stops a listing started early that no scan took (the command line was wrong, the
    settings could not be read)."""
    while _early:
        _early.pop().close()
