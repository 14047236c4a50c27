"""Files and folders as they are on disk, and standard input."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence

from nexpay_scan.errors import FatalError
from nexpay_scan.findings import Finding
from nexpay_scan.records import Record
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.base import Fragment, Target
from nexpay_scan.stats import Stats

TYPE_CHECKING = False
if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from typing import BinaryIO

    from nexpay_scan.paths import StrPath

STDIN = "-"
_SKIPPED_DIRS = frozenset({".git"})
# Less than this is scanned in this process: starting workers would cost more than it saves.
PARALLEL_BYTES = 8 << 20
_BATCH_BYTES = 1 << 20  # of small files, read before the prefilter runs on them all


class _File(Record):
    """A file to scan: where it is, its shown name, its size, and whether it was named on
    the command line (then an unreadable file is an error, not a skip)."""

    path: str
    shown: str
    size: int
    named: bool = False


class FileSource:
    """Source: files and folders on disk (`-` for standard input), each named relative to
    `base` (see `scan_paths`); `root` is the repository (or folder) whose config applies."""

    mode = "files"
    ranges: Sequence[Sequence[str]] = ()

    def __init__(
        self, paths: Sequence[str], root: StrPath | None, *, jobs: int = 1, base: str | None = None
    ) -> None:
        self.paths, self.root, self.jobs, self.base = paths, root, jobs, base
        self.stats = Stats()

    def target(self) -> Target:
        """The folder whose config applies; no trusted side (nothing is a range)."""
        return Target(self.root)

    def findings(self, scanner: Scanner) -> list[Finding]:
        """Findings in every file under the paths (see `scan_paths`)."""
        return scan_paths(self.paths, scanner, self.stats, self.jobs, self.base)


def scan_paths(
    paths: Sequence[str],
    scanner: Scanner,
    stats: Stats,
    jobs: int = 1,
    base: str | None = None,
) -> list[Finding]:
    """Findings in every file under `paths`, each named relative to `base` (the top of the
    repository holding them, else the current folder): never relative to the folder given,
    so a file has one name, which allowlists, fingerprints and ignore entries all mean.
    More than PARALLEL_BYTES in all (a big tree, `pre-commit run --all-files`) are scanned
    by `jobs` processes. What was read and passed over is counted in `stats`."""
    findings: list[Finding] = []
    files: list[_File] = []
    top = os.path.realpath(base or os.getcwd())
    for given in paths:
        if given == STDIN:
            findings.extend(_scan_stdin(scanner, stats))
        elif os.path.isdir(given):
            files.extend(_walk(given, scanner, stats, _shown_name(given, top)))
        elif os.path.exists(given):
            files.extend(_named(given, scanner, stats, _shown_name(given, top)))
        else:
            raise FatalError(f"{given}: no such file or folder")
    if jobs > 1 and sum(f.size for f in files) >= PARALLEL_BYTES and _can_fork():
        return findings + _scan_in_workers(files, scanner, stats, jobs)
    return findings + _scan_files(files, scanner, stats)


def _shown_name(given: str, top: str) -> str:
    """`given` relative to `top` with `/` ("" for `top` itself); the link itself, not its
    target, when `given` is a symbolic link."""
    folder, name = os.path.split(os.path.abspath(given))
    real = os.path.join(os.path.realpath(folder), name) if name else os.path.realpath(folder)
    shown = os.path.relpath(real, top)
    shown = shown if os.sep == "/" else shown.replace(os.sep, "/")
    return "" if shown == "." else shown


def _named(given: str, scanner: Scanner, stats: Stats, shown: str) -> list[_File]:
    """The file named on the command line, unless it is over the size limit."""
    try:
        size = os.stat(given).st_size
    except OSError as error:
        raise FatalError(f"{given}: cannot read ({error.strerror})") from None
    return (
        [] if scanner.too_big(size, shown, stats=stats) else [_File(given, shown, size, named=True)]
    )


def _walk(root: str, scanner: Scanner, stats: Stats, named: str) -> Iterator[_File]:
    """Regular files under `root` (sorted, no symlinks followed, none over the size limit),
    each named `named/<path under root>` with `/`. Plain strings, not `pathlib`: tens of
    thousands of files pay for every path object."""
    prefix = len(os.path.join(root, ""))
    lead = f"{named}/" if named else ""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            stats.skip(f"unreadable folder ({error.strerror})", lead + folder[prefix:])
            continue
        subfolders = []
        for entry in entries:
            if entry.is_symlink():
                stats.skip("symbolic link", lead + entry.path[prefix:], gap=False)
            elif entry.is_dir():
                if entry.name not in _SKIPPED_DIRS:
                    subfolders.append(entry.path)
            elif entry.is_file():
                found = _walked(entry, prefix, lead, scanner, stats)
                if found is not None:
                    yield found
            else:
                stats.skip("not a regular file", lead + entry.path[prefix:], gap=False)
        stack.extend(reversed(subfolders))


def _walked(
    entry: os.DirEntry[str], prefix: int, lead: str, scanner: Scanner, stats: Stats
) -> _File | None:
    shown = lead + entry.path[prefix:]
    shown = shown if os.sep == "/" else shown.replace(os.sep, "/")
    try:
        size = entry.stat().st_size
    except OSError as error:
        stats.skip(f"unreadable ({error.strerror})", shown)
        return None
    if scanner.too_big(size, shown, stats=stats):
        return None
    return _File(entry.path, shown, size)


def _scan_files(files: Sequence[_File], scanner: Scanner, stats: Stats) -> list[Finding]:
    """Findings in the files. Small ones are read in batches of about _BATCH_BYTES that
    the prefilter reads at once (most files of a tree are small, and a call each costs
    more than reading them); a bigger one alone (not copied into a batch)."""
    findings: list[Finding] = []
    batch: list[tuple[_File, bytes]] = []
    size = 0
    for file in files:
        data = _read_file(file, scanner, stats)
        if data is None:
            continue
        if len(data) >= _BATCH_BYTES:
            findings.extend(_scan_batch([(file, data)], scanner, stats))
            continue
        batch.append((file, data))
        size += len(data)
        if size >= _BATCH_BYTES:
            findings.extend(_scan_batch(batch, scanner, stats))
            batch, size = [], 0
    if batch:
        findings.extend(_scan_batch(batch, scanner, stats))
    return findings


def _read_file(file: _File, scanner: Scanner, stats: Stats) -> bytes | None:
    """One file's bytes (its size already checked against the limit), or None when it is
    skipped (unreadable, or grown past the limit)."""
    limit = scanner.settings.max_file_size
    try:
        with open(file.path, "rb") as stream:
            data = _read_within(stream, file.size, limit)
    except OSError as error:
        if file.named:
            raise FatalError(f"{file.shown}: cannot read ({error.strerror})") from None
        stats.skip(f"unreadable ({error.strerror})", file.shown)
        return None
    if scanner.too_big(len(data), file.shown, stats=stats):
        return None
    return data


def _scan_batch(
    batch: Sequence[tuple[_File, bytes]], scanner: Scanner, stats: Stats
) -> list[Finding]:
    """Findings in a batch of files' contents. Most files hold no keyword, no base64 that
    decodes to one, no archive: the prefilter says so in one pass over them all, and the
    rules and decoders run on the rest only (the same answer: the history engines rely on
    it too)."""
    suspects = scanner.could_hold_keys([data for _, data in batch])
    findings: list[Finding] = []
    for number, (file, data) in enumerate(batch):
        stats.files_scanned += 1
        if number in suspects:
            findings.extend(scanner.scan_fragment(Fragment(data, file.shown), stats))
        else:
            stats.bytes_scanned += len(data)
    return findings


def _read_within(stream: BinaryIO, size: int, limit: int) -> bytes:
    """The file's bytes, never more than `limit` + 1 (a file may grow after its size was
    read, or be a device that never ends). Asked for as many as `size` said, and one more
    to see growth: a read of `limit` + 1 would allocate that much for every file."""
    expected = min(size, limit) + 1
    data = stream.read(expected)
    if len(data) == expected and expected <= limit:  # it grew: the rest, up to the limit
        data += stream.read(limit + 1 - expected)
    return data


def _scan_stdin(scanner: Scanner, stats: Stats) -> list[Finding]:
    """Findings in standard input, unless it runs past the size limit (then named as
    skipped, and not read further)."""
    data = sys.stdin.buffer.read(scanner.settings.max_file_size + 1)
    if scanner.too_big(len(data), "<stdin>", stats=stats):
        return []
    return _scan_content(Fragment(data, "<stdin>"), scanner, stats)


def _scan_content(fragment: Fragment, scanner: Scanner, stats: Stats) -> list[Finding]:
    """Findings in one content (see `_scan_batch`)."""
    stats.files_scanned += 1
    if not scanner.could_hold_keys([fragment.data]):
        stats.bytes_scanned += len(fragment.data)
        return []
    return scanner.scan_fragment(fragment, stats)


# -- several processes: the scan is pure Python and holds the GIL, so threads would not help


def _can_fork() -> bool:
    """Workers are forked (they share the compiled rules for free), on Linux only: other
    systems make fork unsafe or unavailable, and scan in one process there."""
    return sys.platform.startswith("linux")


class _Share(Record):
    """What one worker sends back: its findings and its counts, which merge into the run's."""

    findings: list[Finding]
    stats: Stats


def _scan_in_workers(
    files: Sequence[_File], scanner: Scanner, stats: Stats, jobs: int
) -> list[Finding]:
    """The files dealt into `jobs` shares of about equal bytes; this process scans the first
    while forked workers scan the others and send their findings back through a pipe."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    first, *others = _dealt(files, jobs)
    sys.stdout.flush()  # a forked worker flushes its copy of what is buffered: no twice
    sys.stderr.flush()
    workers = []
    for share in others:
        receiver, sender = context.Pipe(duplex=False)
        worker = context.Process(target=_work, args=(share, scanner, sender), daemon=True)
        worker.start()
        sender.close()
        workers.append((worker, receiver))
    findings = _scan_files(first, scanner, stats)
    for worker, receiver in workers:
        try:
            result = receiver.recv()
        except EOFError:
            result = "a scan worker ended without a result"
        finally:
            receiver.close()
            worker.join()
        if isinstance(result, str):
            raise FatalError(result)
        findings.extend(result.findings)
        stats.merge(result.stats)
    return findings


def _dealt(files: Sequence[_File], jobs: int) -> list[list[_File]]:
    """`jobs` shares, biggest files first, each to the share with the fewest bytes so far."""
    shares: list[list[_File]] = [[] for _ in range(jobs)]
    loads = [0] * jobs
    for file in sorted(files, key=lambda f: f.size, reverse=True):
        lightest = loads.index(min(loads))
        shares[lightest].append(file)
        loads[lightest] += file.size
    return shares


def _work(share: list[_File], scanner: Scanner, sender: Connection) -> None:
    """A worker's whole life: scan its share, send the findings and counts (or one line
    saying why not), end. Its counts start from zero, and so do the patterns its copy of
    the detector stops: the parent counts its own."""
    stats = Stats()
    timeouts = scanner.detector.timeouts
    timeouts.clear()
    try:
        findings = _scan_files(share, scanner, stats)
        stats.rule_timeouts.update(timeouts)
        sender.send(_Share(findings, stats))
    except FatalError as error:
        sender.send(str(error))
    except BaseException as error:  # reported by the parent, as one line
        sender.send(f"internal error in a scan worker ({type(error).__name__})")
    finally:
        sender.close()
