"""Files and folders as they are on disk, and standard input."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator, Sequence
from stat import S_ISREG

from nexpay_scan.errors import FatalError
from nexpay_scan.findings import Finding, finding_from_plain, plain_finding
from nexpay_scan.records import Record
from nexpay_scan.scan import SEPARATOR, Scanner
from nexpay_scan.signals import signals
from nexpay_scan.sources import tree_walk
from nexpay_scan.sources.base import Fragment, Target
from nexpay_scan.sources.blob_reader import POINTER_HEAD, POINTER_MOST
from nexpay_scan.sources.channel import Channel
from nexpay_scan.stats import Stats

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO, NoReturn

    from nexpay_scan.paths import StrPath
    from nexpay_scan.sources.tree_walk import Met

STDIN = tree_walk.STDIN
# Less than this is scanned in this process: starting workers would cost more than it saves.
PARALLEL_BYTES = 8 << 20
_BATCH_BYTES = 1 << 20  # of small files, read before the prefilter runs on them all
# a file bigger than this is first read a window at a time (see `_cleared_in_windows`)
_WINDOW_BYTES = 1 << 20
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
# workers take the units to scan by number, down a pipe
_TOKEN = 4
_TOKENS_AT_ONCE = 1024  # 4096 bytes a write: at most PIPE_BUF, so each lands whole
_ENDING = {signals.SIGINT, signals.SIGTERM}
# A file this big is scanned by one of the first _BIG_TAKERS processes only (memory)
_BIG_UNIT = 8 << 20
_BIG_TAKERS = 2


class _File(Record):
    """A file to scan: where it is, its shown name, its size, and whether it was named on
    the command line (then an unreadable file is an error, not a skip)."""

    path: str
    shown: str
    size: int
    named: bool = False
    stream: bool = False  # named, and no regular file (a FIFO, a device): read as it comes
    windowed: bool = False  # over the size limit: searched a window at a time (`windows`)


class FileSource:
    """Source: files and folders on disk (`-` for standard input), each named relative to
    `base` (see `scan_paths`); `root` is the repository (or folder) whose config applies."""

    mode = "files"
    ranges: Sequence[Sequence[str]] = ()

    def __init__(
        self, paths: Sequence[str], root: StrPath | None, *, jobs: int = 1, base: str | None = None
    ) -> None:
        self.paths, self.root, self.jobs, self.base = paths, root, jobs, base
        self.git_dir: str | None = None  # the repository's, when known
        self.stats = Stats()

    def target(self) -> Target:
        """The folder whose config applies; no trusted side (nothing is a range)."""
        return Target(self.root, git_dir=self.git_dir)

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
    folders: dict[str, str] = {}  # (see `_shown_file_name`)
    for given, found in zip(paths, tree_walk.listing(paths), strict=True):
        if found is None:  # standard input
            findings.extend(_scan_stdin(scanner, stats))
        elif found[0] == tree_walk.MISSING:
            raise FatalError(f"{given}: no such file or folder")
        elif found[0] == tree_walk.FOLDER:
            files.extend(_walked(given, found[3], scanner, stats, _shown_name(given, top)))
        else:
            shown = _shown_file_name(given, top, folders)
            files.extend(_named(given, found[1], found[2], scanner, stats, shown))
    if jobs > 1 and sum(f.size for f in files) >= PARALLEL_BYTES and _can_fork():
        return findings + _scan_in_workers(files, scanner, stats, jobs)
    return findings + _scan_files(files, scanner, stats)


def _shown_name(given: str, top: str, *, resolved: bool = False) -> str:
    """`given` relative to `top` with `/` ("" for `top` itself); the link itself, not its
    target, when `given` is a symbolic link (`resolved`: where it leads, for a folder
    whose files are named)."""
    folder, name = os.path.split(os.path.abspath(given))
    if resolved or not name:
        real = os.path.realpath(given)
    else:
        real = os.path.join(os.path.realpath(folder), name)
    shown = os.path.relpath(real, top)
    shown = shown if os.sep == "/" else shown.replace(os.sep, "/")
    return "" if shown == "." else shown


def _shown_file_name(given: str, top: str, folders: dict[str, str]) -> str:
    """`_shown_name` of a file that is not a folder, each folder's real path found once
    (`folders`: a folder as given, made absolute -> where it is relative to `top`):
    `realpath` of each of thousands of files named took most of the time before their
    reading. A file's path is never a folder that `top` is in, so its name is its
    folder's relative path and its own name."""
    folder, name = os.path.split(os.path.abspath(given))
    if not name:
        return _shown_name(given, top)
    shown = folders.get(folder)
    if shown is None:
        shown = folders[folder] = _shown_name(folder, top, resolved=True)
    return f"{shown}/{name}" if shown else name


def _named(
    given: str, mode: int, size: int, scanner: Scanner, stats: Stats, shown: str
) -> list[_File]:
    """The file named on the command line (`mode` and `size`: its `os.stat`); a FIFO or a
    device is read as a stream."""
    windowed = size > scanner.settings.max_file_size
    return [_File(given, shown, size, named=True, stream=not S_ISREG(mode), windowed=windowed)]


def _walked(
    root: str, met: list[Met], scanner: Scanner, stats: Stats, named: str
) -> Iterator[_File]:
    """The regular files `tree_walk.walked` met under `root`, each named `named/<path under
    root>` with `/`; what it passed over, named as skipped."""
    at = os.path.join(root, "")
    lead = f"{named}/" if named else ""
    slashed = os.sep == "/"
    limit = scanner.settings.max_file_size
    for kind, under, size, reason in met:
        shown = lead + (under if slashed else under.replace(os.sep, "/"))
        if kind == tree_walk.FILE:
            yield _File(at + under, shown, size, windowed=size > limit)
        elif kind == tree_walk.LINK:
            stats.skip("symbolic link", shown, gap=False)
        elif kind == tree_walk.OTHER:
            stats.skip("not a regular file", shown, gap=False)
        elif kind == tree_walk.UNREADABLE_FOLDER:
            stats.skip(f"unreadable folder ({reason})", shown)
        else:
            stats.skip(f"unreadable ({reason})", shown)


def _scan_files(files: Sequence[_File], scanner: Scanner, stats: Stats) -> list[Finding]:
    """Findings in the files, unit after unit (see `_units`)."""
    findings: list[Finding] = []
    buffer = _UnitBuffer()
    for unit in _units(files):
        findings.extend(_scan_unit(unit, scanner, stats, buffer))
    return findings


def _scan_unit(
    unit: Sequence[_File], scanner: Scanner, stats: Stats, buffer: _UnitBuffer
) -> list[Finding]:
    """Findings in one unit's files, read and then searched as one batch: small regular
    files into `buffer`, a big one a window at a time first, and a FIFO or a device named
    on the command line read as it comes."""
    if len(unit) > 1 and not any(file.stream for file in unit):
        laid = buffer.read(unit, stats)
        if laid is not None:
            return _scan_laid(laid, scanner, stats)
    big = len(unit) == 1 and not unit[0].stream and unit[0].size > _WINDOW_BYTES
    if big and _cleared_in_windows(unit[0], scanner, buffer):
        stats.files_scanned += 1
        stats.bytes_scanned += unit[0].size
        return []
    read = [(file, _read_file(file, scanner, stats)) for file in unit]
    batch = [(file, data) for file, data in read if isinstance(data, bytes)]
    windowed = [finding for _, data in read if isinstance(data, list) for finding in data]
    # (a big file's windows were asked already: not again in memory)
    return windowed + (_scan_batch(batch, scanner, stats, windowed=not big) if batch else [])


class _Laid(Record):
    """A unit's files as `_UnitBuffer` read them: a view of the buffer, and where each
    file's bytes are in it."""

    block: memoryview
    files: list[_File]
    starts: list[int]
    sizes: list[int]


class _UnitBuffer:
    """One buffer of this process that a unit's small files are read into, one after
    the other, as the prefilter reads them in one block (see `scan._joined`): reused unit
    after unit. Each file read into new memory and then copied into one block made the
    reading of a tree as costly as searching it (fresh pages for each copy)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def read(self, unit: Sequence[_File], stats: Stats) -> _Laid | None:
        """The unit's files laid out in the buffer (unreadable ones skipped, as `_read_file`
        skips them; none is over the size limit, see `_units`); None when a file grew since
        its size was read (then the unit is read as it is, file by file)."""
        gap = len(SEPARATOR)
        view = self.room(gap + sum(file.size + 1 + gap for file in unit))
        files: list[_File] = []
        starts: list[int] = []
        sizes: list[int] = []
        at = 0
        for file in unit:
            view[at : at + gap] = SEPARATOR
            at += gap
            size = _read_into(file, view[at : at + file.size + 1], stats)
            if size is None:
                continue
            if size > file.size:  # it grew
                view.release()
                return None
            files.append(file)
            starts.append(at)
            sizes.append(size)
            at += size
        return _Laid(view[:at], files, starts, sizes)

    def room(self, size: int) -> memoryview:
        """`size` bytes of the buffer, to read into."""
        if len(self._buffer) < size:  # (a new one: views of the old may still be held)
            self._buffer = bytearray(max(size, 2 * _BATCH_BYTES))
        return memoryview(self._buffer)[:size]


def _cleared_in_windows(file: _File, scanner: Scanner, buffer: _UnitBuffer) -> bool:
    """True when a big file, read a window at a time into `buffer`, can hold no
    key (see `Scanner.window_may_hold_keys`): neither the file nor its two translations
    is then ever held whole (fresh pages for each: 110 ms for a 43 MB file, against 35).
    False when a window may hold one, when the file cannot be cut into windows (it has no
    byte that no base64 chain holds: base64 text, say), when it cannot be opened, or when
    it is not as big as it was when walked: the caller then reads it whole, as any file,
    and says why if it is skipped."""
    from nexpay_scan.prefilter import ZIP_BEHIND_TAIL, is_binary_start, window_cut, zip_behind

    overlap = scanner.window_overlap()
    room = buffer.room(_WINDOW_BYTES + overlap)
    try:
        handle = os.open(file.path, os.O_RDONLY | _O_CLOEXEC | _O_NONBLOCK)
    except OSError:
        return False
    try:
        tail = min(file.size, ZIP_BEHIND_TAIL)
        if zip_behind(os.pread(handle, tail, file.size - tail)):
            return False
        kept = total = 0  # bytes at the buffer's start repeated from the window before
        first = True
        binary = False  # (told by the first window)
        while True:
            got = _fill(handle, room, kept)
            total += got
            end = kept + got
            if total > file.size:  # it grew
                return False
            if first:
                binary = is_binary_start(room[:end])
            if end < len(room):  # the file's end: the last window
                return total == file.size and not scanner.window_may_hold_keys(
                    room[:end], first=first, binary=binary
                )
            # (cut past the window's half: each window takes half a window more at least)
            cut = window_cut(room[:end], max(kept, end // 2))
            if cut < 0 or scanner.window_may_hold_keys(room[:cut], first=first, binary=binary):
                return False
            first = False
            start = max(0, cut - overlap)
            room[: end - start] = room[start:end]
            kept = end - start
    except OSError:
        return False
    finally:
        os.close(handle)
        room.release()


def _fill(handle: int, room: memoryview, at: int) -> int:
    """Reads into `room` from `at` until it is full or the file ends; how many bytes."""
    got = 0
    while at + got < len(room) and (count := os.readv(handle, [room[at + got :]])):
        got += count
    return got


def _read_into(file: _File, room: memoryview, stats: Stats) -> int | None:
    """Reads a regular file into `room` (one byte more than its size: to see it grew);
    how many bytes it held, or None when it cannot be read (named as skipped; an error
    for a file named on the command line). Opened without waiting: a FIFO put in a
    regular file's place since its stat reads as empty, where a plain open would wait for
    a writer forever."""
    try:
        handle = os.open(file.path, os.O_RDONLY | _O_CLOEXEC | _O_NONBLOCK)
    except OSError as error:
        _unreadable(file, error, stats)
        return None
    try:
        return _fill(handle, room, 0)
    except OSError as error:
        _unreadable(file, error, stats)
        return None
    finally:
        os.close(handle)


def _unreadable(file: _File, error: OSError, stats: Stats) -> None:
    """A file that cannot be read: named as skipped, or an error for one named on the
    command line."""
    if file.named:
        raise FatalError(f"{file.shown}: cannot read ({error.strerror})") from None
    stats.skip(f"unreadable ({error.strerror})", file.shown)


def _scan_laid(laid: _Laid, scanner: Scanner, stats: Stats) -> list[Finding]:
    """`_scan_batch` for files laid out in a buffer: the files that may hold a key are
    copied out of it to be searched (the buffer is reused)."""
    suspects = (
        scanner.could_hold_keys_in(laid.block, laid.starts, laid.sizes) if laid.files else set()
    )
    findings: list[Finding] = []
    for number, (file, start, size) in enumerate(
        zip(laid.files, laid.starts, laid.sizes, strict=True)
    ):
        stats.files_scanned += 1
        if size < POINTER_MOST and laid.block[start : start + len(POINTER_HEAD)] == POINTER_HEAD:
            _name_lfs_pointer(file, bytes(laid.block[start : start + size]), stats)
        if number in suspects:
            data = bytes(laid.block[start : start + size])
            findings.extend(scanner.scan_fragment(Fragment(data, file.shown), stats))
        else:
            stats.bytes_scanned += size
    laid.block.release()
    return findings


def _read_file(file: _File, scanner: Scanner, stats: Stats) -> bytes | list[Finding] | None:
    """One file's bytes; or, over the size limit (or grown past it), its findings, searched
    a window at a time as it is read (`windows`); or None when it is skipped (unreadable).
    A regular file is opened without waiting, as `_read_into` opens it; a FIFO named on
    the command line (`stream`) waits for the writer that feeds it."""
    limit = scanner.settings.max_file_size
    flags = os.O_RDONLY | _O_CLOEXEC | (0 if file.stream else _O_NONBLOCK)
    try:
        with open(os.open(file.path, flags), "rb") as stream:
            data = b"" if file.windowed else _read_within(stream, file.size, limit)
            if file.windowed or len(data) > limit:
                return _scan_in_windows(data, stream, file.shown, scanner, stats)
    except OSError as error:
        _unreadable(file, error, stats)
        return None
    return data


def _scan_in_windows(
    head: bytes, stream: BinaryIO, shown: str, scanner: Scanner, stats: Stats
) -> list[Finding]:
    """Findings in content over the size limit: `head`, then the rest of `stream`,
    searched a window at a time (`windows.scan_in_windows`), never held whole."""
    from nexpay_scan.windows import read_pieces, scan_in_windows

    return scan_in_windows(scanner, read_pieces(stream, head), shown, stats=stats)


def _scan_batch(
    batch: Sequence[tuple[_File, bytes]], scanner: Scanner, stats: Stats, *, windowed: bool = True
) -> list[Finding]:
    """Findings in a batch of files' contents. Most files hold no keyword, no base64 that
    decodes to one, no archive: the prefilter says so in one pass over them all, and the
    rules and decoders run on the rest only (the same answer: the history engines rely on
    it too)."""
    suspects = scanner.could_hold_keys([data for _, data in batch], windowed=windowed)
    findings: list[Finding] = []
    for number, (file, data) in enumerate(batch):
        stats.files_scanned += 1
        if len(data) < POINTER_MOST and data.startswith(POINTER_HEAD):
            _name_lfs_pointer(file, data, stats)
        if number in suspects:
            findings.extend(scanner.scan_fragment(Fragment(data, file.shown), stats))
        else:
            stats.bytes_scanned += len(data)
    return findings


def _name_lfs_pointer(file: _File, data: bytes, stats: Stats) -> None:
    """Names a Git LFS pointer on disk (a checkout made without git-lfs, or with its
    smudge skipped: CI's default): the content it stands for is not in this folder."""
    from nexpay_scan.sources.lfs import POINTER_IN_FOLDER, pointer_of

    if pointer_of(data) is not None:
        stats.skip(POINTER_IN_FOLDER, file.shown)


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
    """Findings in standard input: past the size limit, searched a window at a time as it
    comes (`windows`)."""
    data = sys.stdin.buffer.read(scanner.settings.max_file_size + 1)
    if len(data) > scanner.settings.max_file_size:
        return _scan_in_windows(data, sys.stdin.buffer, "<stdin>", scanner, stats)
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
    """What one process scanned: for each unit it took (by number), its findings and its
    counts; or one line saying why it failed."""

    units: dict[int, tuple[list[Finding], Stats]]
    timeouts: dict[str, int]
    error: str | None = None


def _scan_in_workers(
    files: Sequence[_File], scanner: Scanner, stats: Stats, jobs: int
) -> list[Finding]:
    """The files cut into units (a big file alone, small ones by the batch), which this
    process and `jobs` - 1 forked workers take one at a time, biggest first, from pipes:
    a process that drew slow units (archives to open, a big binary) takes fewer, so all
    end together. A unit of _BIG_UNIT bytes or more goes to one of the first _BIG_TAKERS
    processes only: a scan holds a few copies of a file, and more processes each on a
    big file at once would multiply that (four 47 MB files: 396 MB with four processes).
    Findings and counts are merged in the order of the files, as one process would give
    them."""
    units = _units(files)
    # the prefilter imported and compiled once, before the workers are forked; `regex`
    # and the rules only by a process that meets a keyword: most trees name Nexpay in a
    # few files (the bench's tree: 168.5 against 177.0 ms, 21 paired rounds)
    scanner.warm_up(rules=False)
    sys.stdout.flush()  # a forked worker flushes its copy of what is buffered: no twice
    sys.stderr.flush()
    big, small = _Pipe(), _Pipe()
    workers: dict[int, Channel] = {}  # each worker not yet reaped, and its result's pipe
    done: dict[int, tuple[list[Finding], Stats]] = {}
    try:
        for number in range(jobs - 1):
            taking = [big, small] if number + 1 < _BIG_TAKERS else [small]
            pid, receiver = _fork_worker(units, taking, (big, small), scanner)
            workers[pid] = receiver
        sizes = [sum(file.size for file in unit) for unit in units]
        biggest_first = sorted(range(len(units)), key=lambda n: -sizes[n])
        dealt = [
            (big, [n for n in biggest_first if sizes[n] >= _BIG_UNIT]),
            (small, [n for n in biggest_first if sizes[n] < _BIG_UNIT]),
        ]
        feeder = threading.Thread(target=_feed, args=(dealt,), daemon=True)
        for pipe in (big, small):
            pipe.handed_on()  # the feeder's now: it closes each once its units are in
        feeder.start()
        done.update(_take_units(units, [big, small], scanner))
        errors = []
        for pid in list(workers):
            share = _share_of(workers[pid])
            workers.pop(pid).close()
            os.waitpid(pid, 0)
            if share.error is not None:
                errors.append(share.error)
            done.update(share.units)
            stats.rule_timeouts.update(share.timeouts)
        if errors:
            raise FatalError(errors[0])
    finally:
        for pid, receiver in workers.items():  # (the scan stopped: an error, a signal)
            receiver.close()
            try:  # noqa: SIM105 - contextlib is not loaded on the hook's path
                os.kill(pid, signals.SIGTERM)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
        for pipe in (big, small):  # (a feeder still writing then fails, and ends)
            pipe.close()
    findings: list[Finding] = []
    for number in range(len(units)):
        unit_findings, unit_stats = done[number]
        findings.extend(unit_findings)
        stats.merge(unit_stats)
    return findings


class _Pipe:
    """A pipe that units' numbers come down: its reading end, and its writing end until
    the feeder takes it (`handed_on`)."""

    def __init__(self) -> None:
        self.reading, self.writing = os.pipe()
        self._own_writing = True

    def handed_on(self) -> None:
        self._own_writing = False

    def close(self) -> None:
        os.close(self.reading)
        if self._own_writing:
            os.close(self.writing)


def _units(files: Sequence[_File]) -> list[list[_File]]:
    """The files in their order, cut into units that the prefilter reads at once: small
    ones together up to about _BATCH_BYTES (most files of a tree are small, and a call
    each costs more than reading them), a file of _BATCH_BYTES or more alone (not copied
    into a batch)."""
    units: list[list[_File]] = []
    batch: list[_File] = []
    size = 0
    for file in files:
        if file.size >= _BATCH_BYTES or file.windowed:
            units.append([file])
            continue
        batch.append(file)
        size += file.size
        if size >= _BATCH_BYTES:
            units.append(batch)
            batch, size = [], 0
    if batch:
        units.append(batch)
    return units


def _feed(dealt: Sequence[tuple[_Pipe, Sequence[int]]]) -> None:
    """Writes each pipe's units' numbers down it, _TOKEN bytes each, then closes it. Each
    write is at most PIPE_BUF bytes, so it lands whole: a process reading _TOKEN bytes
    always reads one number."""
    for pipe, order in dealt:
        try:
            for at in range(0, len(order), _TOKENS_AT_ONCE):
                chunk = order[at : at + _TOKENS_AT_ONCE]
                os.write(pipe.writing, b"".join(n.to_bytes(_TOKEN, "little") for n in chunk))
        except OSError:  # the scan stopped (an error): nobody reads any more
            pass
        finally:
            os.close(pipe.writing)


def _take_units(
    units: Sequence[Sequence[_File]], pipes: Sequence[_Pipe], scanner: Scanner
) -> dict[int, tuple[list[Finding], Stats]]:
    """Scans unit after unit, as their numbers come down each pipe in turn, until each
    has ended."""
    done: dict[int, tuple[list[Finding], Stats]] = {}
    buffer = _UnitBuffer()
    for pipe in pipes:
        while token := os.read(pipe.reading, _TOKEN):
            number = int.from_bytes(token, "little")
            unit_stats = Stats()
            found = _scan_unit(units[number], scanner, unit_stats, buffer)
            done[number] = (found, unit_stats)
    return done


def _fork_worker(
    units: Sequence[Sequence[_File]],
    taking: Sequence[_Pipe],
    pipes: Sequence[_Pipe],
    scanner: Scanner,
) -> tuple[int, Channel]:
    """Starts one worker process (see `_work`); its id, and the pipe its result comes
    down. Forked by hand, as the history's blob readers are: `multiprocessing` and
    `socket` took 21 ms to load before the first file was read. Ctrl-C and SIGTERM are
    held back across the fork: neither lands in the child before it has made them end it
    at once."""
    reading, writing = os.pipe()
    signals.pthread_sigmask(signals.SIG_BLOCK, _ENDING)
    try:
        pid = os.fork()
        if pid == 0:  # never returns
            os.close(reading)
            _work(units, taking, pipes, scanner, Channel(writing))
    finally:
        signals.pthread_sigmask(signals.SIG_UNBLOCK, _ENDING)
    os.close(writing)
    return pid, Channel(reading)


def _share_of(receiver: Channel) -> _Share:
    """What a worker sent (see `_sent`), or why it sent nothing."""
    try:
        counts, plain, timeouts, error = receiver.recv()
    except EOFError:
        return _Share({}, {}, "a scan worker ended without a result")
    found = {n: [finding_from_plain(f) for f in findings] for n, findings in plain.items()}
    units = {n: (found.get(n, []), Stats.from_plain(count)) for n, count in counts.items()}
    return _Share(units, timeouts, error)


def _sent(share: _Share) -> tuple[object, ...]:
    """`share` as a worker sends it: the counts and the findings in built-in types."""
    found = {
        n: [plain_finding(f) for f in findings]
        for n, (findings, _) in share.units.items()
        if findings
    }
    counts = {n: stats.as_plain() for n, (_, stats) in share.units.items()}
    return counts, found, share.timeouts, share.error


def _work(
    units: Sequence[Sequence[_File]],
    taking: Sequence[_Pipe],
    pipes: Sequence[_Pipe],
    scanner: Scanner,
    sender: Channel,
) -> NoReturn:
    """A worker's whole life: take units until there are none, send what it found (or
    one line saying why not), end without running any of the parent's clean-up. The
    patterns its copy of the detector stops are counted from zero: the parent counts its
    own."""
    code = 1
    try:
        # Ctrl-C and SIGTERM end it at once, quietly: the parent reports them, and ends
        # it too if it still runs
        for number in _ENDING:
            signals.signal(number, signals.SIG_DFL)
        signals.pthread_sigmask(signals.SIG_UNBLOCK, _ENDING)
        for pipe in pipes:  # the parent's writing ends: else no pipe would ever end here
            os.close(pipe.writing)
        timeouts = scanner.detector.timeouts
        timeouts.clear()
        try:
            share = _Share(_take_units(units, taking, scanner), dict(timeouts))
            code = 0
        except FatalError as error:
            share = _Share({}, {}, str(error))
        except BaseException as error:  # reported by the parent, as one line
            share = _Share({}, {}, f"internal error in a scan worker ({type(error).__name__})")
        sender.send(_sent(share))
    finally:
        os._exit(code)
