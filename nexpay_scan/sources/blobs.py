"""Blobs read and searched in bulk: the blob engine's reading (see `blob_engine`).

`git log -p` re-reads and diffs every version of every file; most repositories hold no
Nexpay key at all. So the blob engine streams each unique blob once (`git cat-file --batch`,
split over workers), searches large blocks for the literal keywords, and runs the rules only
on the rare blobs with a hit. The blobs come from a listing: every object in the store (the
whole history), or the blobs a selection's commits add (see `BlobListing`).
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate
from pathlib import Path

from nexpay_scan.errors import FatalError
from nexpay_scan.prefilter import lfs_pointers, prefilter_for, suspect_objects
from nexpay_scan.progress import Progress
from nexpay_scan.records import Record
from nexpay_scan.scan import Scanner
from nexpay_scan.sources import object_store
from nexpay_scan.sources.blob_reader import CAT_FILE_DIED, POINTER_MOST
from nexpay_scan.sources.delta_order import WINDOW_BLOBS, FamilyWindow
from nexpay_scan.sources.git import (
    SpooledGit,
    git_command,
    missing_objects_error,
    piped,
    streamed,
)
from nexpay_scan.sources.reader_loads import ReaderLoads, ReadersGone
from nexpay_scan.stats import Stats

TYPE_CHECKING = False  # typing is not imported at run time (start-up time)
if TYPE_CHECKING:
    from typing import IO

CHUNK_BYTES = 2 << 20
# Batches read in the reader's own process (`object_store`) are half as big: the reader
# holds the blobs libgit2 read (and its 16 MB of delta bases) beside the block made of
# them. With 2 MB batches and 8 MB of pack windows, ipython's whole history peaked at
# 147-150 MB over the process tree; with 1 MB and 4 MB, 138-144, in the same time.
IN_PROCESS_CHUNK_BYTES = CHUNK_BYTES // 2
# a batch this big (a big blob in it) goes to one of the first BIG_READERS readers only
BIG_BATCH = 8 << 20
BIG_READERS = 2
# Each reader's git keeps its pack windows and delta cache small: the memory bound holds
# for the whole process tree. Reading the whole store in delta-family order (see
# `delta_order`), each delta comes right after its base: 4 MB of cache reads ipython's
# blobs as fast as 8 or 16 (2 MB: 25% slower), 7 MB smaller than 8; 8 MB of pack windows
# as fast as 16 (within noise, three runs each on celery and ipython), 6 MB smaller.
_LEAN_GIT = (
    "-c",
    "core.deltaBaseCacheLimit=4m",
    "-c",
    "core.packedGitWindowSize=1m",
    "-c",
    "core.packedGitLimit=8m",
)
# A selection's blobs come in walk order, newest first: each older version of a file is
# made from a newer one read a while before. A 16 MB cache keeps more of those bases:
# git's time on celery's main branch fell by a quarter, the whole scan's by 12%, for 2 to
# 5 MB more in the tree (its windows: 8 MB).
_SELECTION_GIT = (
    "-c",
    "core.deltaBaseCacheLimit=16m",
    "-c",
    "core.packedGitWindowSize=1m",
    "-c",
    "core.packedGitLimit=8m",
)
# Listing objects reads headers, not whole blobs: leaner still.
LEANER_GIT = (
    "-c",
    "core.deltaBaseCacheLimit=16m",
    "-c",
    "core.packedGitWindowSize=1m",
    "-c",
    "core.packedGitLimit=16m",
)
# Walking trees (`git log --raw --cc`) reads trees and commits, deltas of small bases: a
# 4 MB cache and 8 MB of pack windows take it as fast as 16 and 16, 15 MB smaller.
WALK_GIT = (
    "-c",
    "core.deltaBaseCacheLimit=4m",
    "-c",
    "core.packedGitWindowSize=1m",
    "-c",
    "core.packedGitLimit=8m",
)


class Batch:
    """Blobs for one worker to read in one go (about CHUNK_BYTES of them, or
    IN_PROCESS_CHUNK_BYTES)."""

    __slots__ = ("ids", "sizes", "total")

    def __init__(self) -> None:
        self.ids: list[bytes] = []
        self.sizes: list[int] = []
        self.total = 0  # bytes of content


_BATCH_CHECK = "--batch-check=%(objectname) %(objecttype) %(objectsize)"
# the store's listing names each object's delta base too, for the order it is read in
_STORE_CHECK = _BATCH_CHECK + " %(deltabase)"
END = None


class BlobListing:
    """Which blobs to read: a `git cat-file` call listing `<id> <type> <size>` lines.
    By default every object in the store, reachable or not (`--batch-all-objects`); with
    `ids`, just those objects, in that order, as they come (one missing is an error);
    with `spool`, the lines such a call wrote to that file (see `store_listing`)."""

    def __init__(self, ids: Iterable[bytes] | None = None, spool: IO[bytes] | None = None) -> None:
        self.ids, self.spool = ids, spool

    @contextlib.contextmanager
    def opened(self, repo: Path) -> Iterator[IO[bytes]]:
        """The listing's lines, to read as they come."""
        if self.spool is not None:
            self.spool.seek(0)
            yield self.spool
            return
        with streamed(repo, *self.command(), config=LEANER_GIT, stdin=self.stdin()) as output:
            yield output

    def command(self) -> tuple[str, ...]:
        """The `git cat-file` arguments."""
        if self.ids is None:
            return ("cat-file", "--batch-all-objects", "--unordered", _STORE_CHECK)
        return ("cat-file", _BATCH_CHECK)

    def stdin(self) -> Iterable[str]:
        """What git reads on its standard input."""
        return () if self.ids is None else (sha.decode() for sha in self.ids)


def reader_git(listing: BlobListing) -> tuple[str, ...]:
    """The settings of a reader's `git cat-file --batch` for blobs that `listing` lists."""
    return _LEAN_GIT if listing.ids is None else _SELECTION_GIT


def store_listing(repo: Path) -> SpooledGit:
    """Every object in the store listed (`git cat-file --batch-all-objects`) into an
    unlinked temporary file, started at once: the caller reads the commit messages
    meanwhile, and the blobs are read once it has ended (`BlobListing(spool=...)`). Then
    no lister runs beside the readers: its git holds every object id, tens of MB on a
    big history."""
    return SpooledGit(repo, *BlobListing().command(), config=LEANER_GIT)


class BlobSearch(Record):
    """One search of blobs, as `blobs_with_candidates` hands it to its readers (see
    there): where, with what, by how many readers, what to call, where to count."""

    repo: Path
    scanner: Scanner
    workers: int
    first: Callable[[], None]
    started: Callable[[], None]
    oversized: list[tuple[bytes, int]]
    listing: BlobListing
    stats: Stats
    progress: Progress
    # read in this process through libgit2 (`object_store`) where it can, not by git
    in_process: bool = False


def blobs_with_candidates(
    repo: Path,
    scanner: Scanner,
    workers: int,
    *,
    listing: BlobListing,
    oversized: list[tuple[bytes, int]],
    on_first: Callable[[], None] = lambda: None,
    stats: Stats,
    progress: Progress,
    started: Callable[[], None] = lambda: None,
    in_process: bool = False,
) -> set[bytes]:
    """Ids of the blobs in which some rule finds something (before any path filter); the
    blobs over the size limit, never read, go to `oversized` (id, size).

    The object list streams from `listing` (the store's, or a selection's) straight into
    `workers` readers, batch by batch in turn, so listing, reading and searching overlap.
    The readers are forked processes on Linux (the search is Python and holds the GIL:
    threads would share one core), threads elsewhere. `started` runs once the readers are
    up, before the listing: what else the caller runs beside on a thread starts there,
    after any fork (a thread running across a fork can leave a lock held in the child).
    `on_first` runs once, as soon as the first such blob turns up. With `in_process`
    (a whole history: reads of hundreds of MB), each reader reads the blobs itself
    through libgit2 where it can (`object_store`), not through a git's pipe."""
    from nexpay_scan.sources import blob_processes

    in_process = object_store.ready(in_process)  # (first: it may end a thread)
    readers = blob_processes.in_processes if blob_processes.can_fork() else _in_threads
    search = BlobSearch(
        repo,
        scanner,
        workers,
        _Once(on_first),
        started,
        oversized,
        listing,
        stats,
        progress,
        in_process,
    )
    try:
        return readers(search)
    finally:
        progress.finish()


class _Once:
    """A call made the first time only, whichever thread asks first."""

    def __init__(self, call: Callable[[], None]) -> None:
        self.call = call
        self.lock = threading.Lock()
        self.done = False

    def __call__(self) -> None:
        with self.lock:
            if self.done:
                return
            self.done = True
        self.call()


def _in_threads(search: BlobSearch) -> set[bytes]:
    """`blobs_with_candidates` with `workers` reader threads (where forking is unsafe)."""
    progress, first = search.progress, search.first
    found: set[bytes] = set()
    errors: list[BaseException] = []
    lock = threading.Lock()

    loads = ReaderLoads(search.workers)

    def work(number: int, batches: queue.Queue[Batch | None]) -> None:
        def searched(batch: Batch, hits: set[bytes]) -> None:
            loads.answered(number)
            progress.advance(batch.total)
            if hits:
                first()
                with lock:
                    found.update(hits)

        try:
            read_batches(search, batches.get, searched)
        except BaseException as error:
            errors.append(error)
            loads.stop()

    # (a queue never holds more than the batches `loads` lets a reader hold, and END)
    queues: list[queue.Queue[Batch | None]] = [
        queue.Queue(maxsize=loads.depth + 1) for _ in range(search.workers)
    ]
    threads = [
        threading.Thread(target=work, args=(number, q), daemon=True)
        for number, q in enumerate(queues)
    ]
    for thread in threads:
        thread.start()
    try:
        search.started()
        with contextlib.suppress(ReadersGone):  # a reader failed: its error is raised below
            list_into(search, [q.put for q in queues], loads)
    finally:
        for q in queues:
            q.put(END)
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return found


def list_into(
    search: BlobSearch, readers: list[Callable[[Batch], None]], loads: ReaderLoads
) -> None:
    """Streams the blob list into batches, each dealt to the reader holding the fewest
    (`loads`); blobs over the size limit are counted and left out. The store's listing is
    dealt a window at a time, each in delta-family order (see `delta_order`); a
    selection's as it comes. Raises ReadersGone once the readers stop taking batches."""
    chunk = IN_PROCESS_CHUNK_BYTES if search.in_process else CHUNK_BYTES
    dealer = _Dealer(readers, loads, search.stats, search.progress, chunk)
    ordered = search.listing.ids is None
    window = FamilyWindow()
    with search.listing.opened(search.repo) as output:
        for ids, sizes, bases in _listed_blocks(output, search, ordered):
            if not ordered:
                dealer.add(ids, sizes)
                continue
            window.add(ids, sizes, bases)
            if len(window) >= WINDOW_BLOBS:
                dealer.add(*window.take())
    if len(window):
        dealer.add(*window.take())
    dealer.finish()


def _listed_blocks(
    output: IO[bytes], search: BlobSearch, with_bases: bool
) -> Iterator[tuple[list[bytes], list[int], list[bytes]]]:
    """The listing's blobs, a block of whole lines at a time: ids, sizes, and delta bases
    (the store's listing names them; else none)."""
    pending = b""
    while block := output.read(1 << 20):
        pending += block
        cut = pending.rfind(b"\n") + 1
        yield _blobs_listed(pending[:cut], search.scanner, search.oversized, with_bases)
        pending = pending[cut:]


class _Dealer:
    """Cuts the blobs it is given into batches of about `chunk` bytes, each dealt to the
    reader holding the fewest batches (`loads`); their bytes count as scanned (stats,
    progress total). A batch of BIG_BATCH bytes or more (a big blob) goes to one of the
    first BIG_READERS readers only: a reader holds a few copies of what it searches, and
    four readers each on a 47 MB blob at once peaked at 309 MB."""

    def __init__(
        self,
        readers: list[Callable[[Batch], None]],
        loads: ReaderLoads,
        stats: Stats,
        progress: Progress,
        chunk: int,
    ) -> None:
        self.readers, self.loads, self.chunk = readers, loads, chunk
        self.stats, self.progress = stats, progress
        self.batch = Batch()

    def add(self, ids: list[bytes], sizes: list[int]) -> None:
        batch = self.batch
        ends = list(accumulate(sizes))
        taken = 0
        while taken < len(ids):
            # up to and including the blob that brings the batch to `chunk` bytes
            done = ends[taken - 1] if taken else 0
            last = min(bisect_left(ends, done + self.chunk - batch.total), len(ids) - 1)
            batch.ids += ids[taken : last + 1]
            batch.sizes += sizes[taken : last + 1]
            batch.total += ends[last] - done
            taken = last + 1
            if batch.total >= self.chunk:
                self._deal(batch)
                batch = self.batch = Batch()

    def finish(self) -> None:
        if self.batch.ids:
            self._deal(self.batch)
            self.batch = Batch()

    def _deal(self, batch: Batch) -> None:
        self.stats.bytes_scanned += batch.total
        self.progress.total += batch.total
        big = batch.total >= BIG_BATCH and len(self.readers) > BIG_READERS
        self.readers[self.loads.pick(BIG_READERS if big else None)](batch)


def _blobs_listed(
    listing: bytes, scanner: Scanner, oversized: list[tuple[bytes, int]], with_bases: bool
) -> tuple[list[bytes], list[int], list[bytes]]:
    """Ids, sizes and (`with_bases`) delta bases of the blobs in whole lines of the
    listing (`<id> <type> <size>[ <base>]`), split in bulk: there are hundreds of
    thousands of lines, most not blobs. Blobs over the size limit go to `oversized` (id,
    size), unread, to be named once their paths are known."""
    lines = [line for line in listing.split(b"\n") if b" blob " in line]
    if listing.count(b" missing\n"):  # an object a selection's commit names is not here
        raise missing_objects_error(listing.count(b" missing\n"))
    if not lines:
        return [], [], []
    step = 4 if with_bases else 3
    fields = b" ".join(lines).split(b" ")
    ids, sizes = fields[0::step], list(map(int, fields[2::step]))
    bases = fields[3::step] if with_bases else []
    limit = scanner.settings.max_file_size
    if max(sizes) <= limit:
        return ids, sizes, bases
    oversized.extend((i, size) for i, size in zip(ids, sizes, strict=True) if size > limit)
    kept = [number for number, size in enumerate(sizes) if size <= limit]
    return (
        [ids[n] for n in kept],
        [sizes[n] for n in kept],
        [bases[n] for n in kept] if with_bases else [],
    )


def read_batches(
    search: BlobSearch,
    next_batch: Callable[[], Batch | None],
    searched: Callable[[Batch, set[bytes]], None],
    aborted: Callable[[], None] = lambda: None,
) -> None:
    """One `git cat-file --batch`: a feeder thread sends each batch's ids (and hands the
    batch on), this thread reads the objects back whole, searches them as one block and
    tells `searched` the ids with a hit. However it ends, the batches are taken to their
    end (`next_batch` gives None), so the lister never waits on this reader; `aborted` is
    called first when it ends by an exception (it can make `next_batch` end at once).
    With `search.in_process`, this process reads the blobs itself where it can
    (`_read_in_process`)."""
    store = object_store.opened(search.repo) if search.in_process else None
    if store is not None:
        _read_in_process(search, store, next_batch, searched, aborted)
        return
    # git is started once a first batch comes: a reader dealt none (a small selection is
    # one batch) starts no git, and the git of one that is starts beside less
    first = next_batch()
    if first is END:
        return
    next_batch = _after(first, next_batch)
    scanner = search.scanner
    try:
        process = piped(
            git_command(search.repo, *reader_git(search.listing), "cat-file", "--batch"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        _drain(next_batch)
        raise
    assert process.stdin is not None and process.stdout is not None
    sent: queue.Queue[Batch | None] = queue.Queue(maxsize=2)
    feeder = threading.Thread(target=_feed, args=(process.stdin, next_batch, sent), daemon=True)
    feeder.start()
    try:
        while (batch := sent.get()) is not END:
            searched(batch, _search_batch(process.stdout, batch, scanner))
    except BaseException:
        aborted()
        raise
    finally:
        process.kill()
        while feeder.is_alive():  # it may wait to hand on a batch nobody will read
            with contextlib.suppress(queue.Empty):
                sent.get(timeout=0.05)
        process.stdout.close()
        process.wait()


def _after(first: Batch, rest: Callable[[], Batch | None]) -> Callable[[], Batch | None]:
    """`rest`, with `first` given before it."""
    pending = [first]

    def next_batch() -> Batch | None:
        return pending.pop() if pending else rest()

    return next_batch


def _read_in_process(
    search: BlobSearch,
    store: object_store.ObjectStore,
    next_batch: Callable[[], Batch | None],
    searched: Callable[[Batch, set[bytes]], None],
    aborted: Callable[[], None],
) -> None:
    """`read_batches` reading through `store`; a batch it cannot read whole, by git."""
    try:
        while (batch := next_batch()) is not END:
            data = store.block(batch.ids, batch.sizes)
            if data is None:
                settings = reader_git(search.listing)
                data = object_store.read_by_git(search.repo, settings, batch.ids)
            searched(batch, _search_block(data, batch, search.scanner))
    except BaseException:
        aborted()
        _drain(next_batch)
        raise


def _drain(next_batch: Callable[[], Batch | None]) -> None:
    while next_batch() is not END:
        pass


def _feed(
    stdin: IO[bytes], next_batch: Callable[[], Batch | None], sent: queue.Queue[Batch | None]
) -> None:
    try:
        while (batch := next_batch()) is not END:
            sent.put(batch)
            stdin.write(b"\n".join(batch.ids) + b"\n")
            stdin.flush()
    except (BrokenPipeError, ValueError, OSError):
        _drain(next_batch)
    finally:
        sent.put(END)
        with contextlib.suppress(OSError):
            stdin.close()


def _search_batch(stdout: IO[bytes], batch: Batch, scanner: Scanner) -> set[bytes]:
    """Reads the batch's objects as one block and returns the ids of those with a hit."""
    ends = _framed(batch)
    return _search_block(stdout.read(ends[-1]), batch, scanner, ends)


def _framed(batch: Batch) -> list[int]:
    """Where each of the batch's objects ends in `git cat-file --batch`'s output: each
    comes as "<id> blob <size>\n", its content, "\n"."""
    framing = len(batch.ids[0]) + 8
    return list(accumulate(framing + len(str(size)) + size for size in batch.sizes))


def _search_block(
    data: bytes, batch: Batch, scanner: Scanner, ends: list[int] | None = None
) -> set[bytes]:
    """The ids of the batch's objects with a hit, in `data`, the batch as `git cat-file
    --batch` writes it (`ends`: `_framed(batch)`, if the caller has it)."""
    sizes = batch.sizes
    ends = _framed(batch) if ends is None else ends
    starts = [end - size - 1 for end, size in zip(ends, sizes, strict=True)]
    if len(data) != ends[-1] or not data.startswith(batch.ids[0] + b" blob "):
        raise FatalError(CAT_FILE_DIED)  # (it died, or said an object is missing)
    # a Git LFS pointer names content kept apart: the commits adding one are read for it
    hits = {batch.ids[n] for n in lfs_pointers(data, starts) if sizes[n] < POINTER_MOST}
    prefilter = prefilter_for(scanner.detector.keywords)
    suspects = suspect_objects(prefilter, data, starts, batch.sizes)
    for number in suspects:
        content = data[starts[number] : starts[number] + batch.sizes[number]]
        if has_candidate(content, scanner):
            hits.add(batch.ids[number])
    return hits


def has_candidate(content: bytes, scanner: Scanner) -> bool:
    """True when some rule finds something in `content`, as it is or decoded, or when the
    decoders could not read all of it (a member they do not open, a bomb's rest, the token
    cap): the commits adding it are then parsed as a hit's are, and the diff engine names
    what was not read there, with its commit, as every other mode does. (A gap a blob with
    no hit held went unnamed: `--fail-on skipped` passed a pull request adding it.)"""
    undecoded: list[tuple[str, str]] = []
    return any(True for _ in scanner.sightings(content, undecoded)) or bool(undecoded)
