"""The blob route through history: every unique blob read and searched once, in parallel.

`git log -p` re-reads and diffs every version of every file; most repositories hold no
Nexpay key at all. So: stream each unique blob once (`git cat-file --batch`, in pack order,
split over workers), search large blocks for the literal keywords, run the rules only on the
rare blobs with a hit, and only then walk the trees (`git log --raw`, no content) to find
the commits that add such a blob. Those few commits go through the diff route, so a finding
is exactly what `git log -p` would give: each secret at the commit that adds it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import tempfile
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import IO

from nexpay_scan.errors import FatalError
from nexpay_scan.findings import Finding, Suppression
from nexpay_scan.prefilter import prefilter_for, suspect_objects
from nexpay_scan.progress import Progress
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.git import (
    BlobReader,
    git_command,
    marked_blocks,
    piped,
    run_git,
    streamed,
)
from nexpay_scan.stats import Stats

CHUNK_BYTES = 2 << 20
LOCAL_ONLY = (
    "local only, never pushed: an object in this clone's .git/objects that no ref or "
    "reflog reaches (a commit the hook blocked, a `git add` undone); `git gc --prune=now` "
    "drops it"
)
# Each reader's git keeps its pack windows and delta cache small: the memory bound holds
# for the whole process tree, and reading whole blobs gains little from a bigger cache.
_LEAN_GIT = (
    "-c",
    "core.deltaBaseCacheLimit=32m",
    "-c",
    "core.packedGitWindowSize=8m",
    "-c",
    "core.packedGitLimit=48m",
)
# Listing objects and walking trees read headers and trees, not whole blobs: leaner still.
_LEANER_GIT = (
    "-c",
    "core.deltaBaseCacheLimit=16m",
    "-c",
    "core.packedGitWindowSize=1m",
    "-c",
    "core.packedGitLimit=16m",
)
WALK_MARKER = b"\x01nexpay-scan-walk-" + os.urandom(12).hex().encode() + b"\x01"  # see MARKER


class Batch:
    """Blobs for one worker to read in one go, in pack order (about CHUNK_BYTES of them)."""

    __slots__ = ("ids", "sizes", "total")

    def __init__(self) -> None:
        self.ids: list[bytes] = []
        self.sizes: list[int] = []
        self.total = 0  # bytes of content


_BATCH_CHECK = "--batch-check=%(objectname) %(objecttype) %(objectsize)"
_END = None


def blobs_with_candidates(
    repo: Path,
    scanner: Scanner,
    workers: int,
    on_first: Callable[[], None] = lambda: None,
    oversized: list[tuple[bytes, int]] | None = None,
    *,
    stats: Stats,
    progress: Progress,
) -> set[bytes]:
    """Ids of the blobs in which some rule finds something (before any path filter); the
    blobs over the size limit, never read, go to `oversized` (id, size).

    The object list streams from `git cat-file --batch-all-objects` (every blob, reachable
    or not) straight into `workers` readers, batch by batch in turn, so listing, reading and
    searching overlap. `on_first` runs once, as soon as the first such blob turns up."""
    found: set[bytes] = set()
    errors: list[BaseException] = []
    lock = threading.Lock()
    started = threading.Event()
    oversized = [] if oversized is None else oversized

    def first() -> None:
        with lock:
            if started.is_set():
                return
            started.set()
        on_first()

    def work(batches: queue.Queue[Batch | None]) -> None:
        try:
            hits = _read_batches(repo, batches, scanner, progress, first)
            with lock:
                found.update(hits)
        except BaseException as error:
            errors.append(error)

    queues: list[queue.Queue[Batch | None]] = [queue.Queue(maxsize=4) for _ in range(workers)]
    threads = [threading.Thread(target=work, args=(q,), daemon=True) for q in queues]
    for thread in threads:
        thread.start()
    try:
        _list_into(repo, scanner, queues, oversized, stats, progress)
    finally:
        for q in queues:
            q.put(_END)
        for thread in threads:
            thread.join()
        progress.finish()
    if errors:
        raise errors[0]
    return found


def _list_into(
    repo: Path,
    scanner: Scanner,
    queues: list[queue.Queue[Batch | None]],
    oversized: list[tuple[bytes, int]],
    stats: Stats,
    progress: Progress,
) -> None:
    """Streams the store's blob list into batches, dealt to the workers in turn; blobs over
    the size limit are counted and left out."""
    batch, turn, pending = Batch(), 0, b""
    listing = ("cat-file", "--batch-all-objects", "--unordered", _BATCH_CHECK)
    with streamed(repo, *listing, config=_LEANER_GIT) as output:
        while block := output.read(1 << 20):
            pending += block
            cut = pending.rfind(b"\n") + 1
            ids, sizes = _blobs_listed(pending[:cut], scanner, oversized)
            pending = pending[cut:]
            ends = list(accumulate(sizes))
            taken = 0
            while taken < len(ids):
                # up to and including the blob that brings the batch to CHUNK_BYTES
                done = ends[taken - 1] if taken else 0
                last = min(bisect_left(ends, done + CHUNK_BYTES - batch.total), len(ids) - 1)
                batch.ids += ids[taken : last + 1]
                batch.sizes += sizes[taken : last + 1]
                batch.total += ends[last] - done
                taken = last + 1
                if batch.total >= CHUNK_BYTES:
                    _deal(batch, queues[turn % len(queues)], stats, progress)
                    batch, turn = Batch(), turn + 1
    if batch.ids:
        _deal(batch, queues[turn % len(queues)], stats, progress)


def _blobs_listed(
    listing: bytes, scanner: Scanner, oversized: list[tuple[bytes, int]]
) -> tuple[list[bytes], list[int]]:
    """Ids and sizes of the blobs in whole lines of the listing (`<id> <type> <size>`),
    split in bulk: there are hundreds of thousands of lines, most not blobs. Blobs over the
    size limit go to `oversized` (id, size), unread, to be named once their paths are known."""
    lines = [line for line in listing.split(b"\n") if b" blob " in line]
    if not lines:
        return [], []
    fields = b" ".join(lines).split(b" ")
    ids, sizes = fields[0::3], list(map(int, fields[2::3]))
    limit = scanner.settings.max_file_size
    if max(sizes) <= limit:
        return ids, sizes
    oversized.extend((i, size) for i, size in zip(ids, sizes, strict=True) if size > limit)
    kept = [number for number, size in enumerate(sizes) if size <= limit]
    return [ids[n] for n in kept], [sizes[n] for n in kept]


def _deal(batch: Batch, to: queue.Queue[Batch | None], stats: Stats, progress: Progress) -> None:
    stats.bytes_scanned += batch.total
    progress.total += batch.total
    to.put(batch)


def _read_batches(
    repo: Path,
    batches: queue.Queue[Batch | None],
    scanner: Scanner,
    progress: Progress,
    on_hit: Callable[[], None],
) -> set[bytes]:
    """One `git cat-file --batch`: a feeder thread sends each batch's ids (and hands the
    batch on), this thread reads the objects back whole and searches them as one block.
    However it ends, `batches` is consumed to its end, so the lister never waits on it."""
    try:
        process = piped(
            git_command(repo, *_LEAN_GIT, "cat-file", "--batch"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        _drain(batches)
        raise
    assert process.stdin is not None and process.stdout is not None
    sent: queue.Queue[Batch | None] = queue.Queue(maxsize=2)
    feeder = threading.Thread(target=_feed, args=(process.stdin, batches, sent), daemon=True)
    feeder.start()
    hits: set[bytes] = set()
    try:
        while (batch := sent.get()) is not _END:
            found = _search_batch(process.stdout, batch, scanner)
            if found and not hits:
                on_hit()
            hits |= found
            progress.advance(batch.total)
    finally:
        process.kill()
        while feeder.is_alive():  # it may wait to hand on a batch nobody will read
            with contextlib.suppress(queue.Empty):
                sent.get(timeout=0.05)
        process.stdout.close()
        process.wait()
    return hits


def _drain(batches: queue.Queue[Batch | None]) -> None:
    while batches.get() is not _END:
        pass


def _feed(
    stdin: IO[bytes], batches: queue.Queue[Batch | None], sent: queue.Queue[Batch | None]
) -> None:
    try:
        while (batch := batches.get()) is not _END:
            sent.put(batch)
            stdin.write(b"\n".join(batch.ids) + b"\n")
            stdin.flush()
    except (BrokenPipeError, ValueError, OSError):
        _drain(batches)
    finally:
        sent.put(_END)
        with contextlib.suppress(OSError):
            stdin.close()


def _search_batch(stdout: IO[bytes], batch: Batch, scanner: Scanner) -> set[bytes]:
    """Reads the batch's objects as one block and returns the ids of those with a hit."""
    # each object comes as "<id> blob <size>\n", its content, "\n"
    framing = len(batch.ids[0]) + 8
    sizes = batch.sizes
    ends = list(accumulate(framing + len(str(size)) + size for size in sizes))
    starts = [end - size - 1 for end, size in zip(ends, sizes, strict=True)]
    total = ends[-1]
    data = stdout.read(total)
    if len(data) != total or not data.startswith(batch.ids[0] + b" blob "):
        raise FatalError("git cat-file returned an object other than the one asked for")
    hits: set[bytes] = set()
    prefilter = prefilter_for(scanner.detector.keywords)
    suspects = suspect_objects(prefilter, data, starts, batch.sizes)
    for number in suspects:
        content = data[starts[number] : starts[number] + batch.sizes[number]]
        if _has_candidate(content, scanner):
            hits.add(batch.ids[number])
    return hits


def _has_candidate(content: bytes, scanner: Scanner) -> bool:
    """True when some rule finds something in `content`, as it is or decoded."""
    return any(True for _ in scanner.sightings(content))


@dataclass
class Introductions:
    """What the tree walk found: commits adding a hit blob, hit blobs no commit adds, and
    how many commits it went through."""

    commits: list[str]
    unattributed: set[bytes]
    walked: int


class TreeWalk:
    """`git log --raw` over the history (trees only, no content), spooled to an unlinked
    temporary file: started as soon as the blob scan finds a first hit, it runs beside the
    rest of that scan, and is read once the full set of hits is known. If the spool fails
    (a full disk), the walk is run again, read straight from git."""

    def __init__(self, repo: Path, rev_args: Sequence[str]) -> None:
        from nexpay_scan.sources.history import WALK_ARGS

        self.repo = repo
        self.args = (*WALK_ARGS, f"--format={WALK_MARKER.decode()}%H", *rev_args, "--")
        self.spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self.process = subprocess.Popen(
            git_command(repo, *_LEANER_GIT, *self.args),
            stdout=self.spool,
            stderr=subprocess.DEVNULL,
        )

    def introductions(self, hits: set[bytes]) -> Introductions:
        """The commits (in `git log` order) whose changes add one of `hits`."""
        commits: list[str] = []
        seen: set[bytes] = set()
        walked = 0
        for block in self._blocks():
            walked += block.count(WALK_MARKER)
            for sha, fields in _records_naming(block, hits):
                new = {_new_blob(f) for f in fields if f.startswith(b":")} & hits
                if new:
                    commits.append(sha)
                    seen |= new
        return Introductions(commits, hits - seen, walked)

    def _blocks(self) -> Iterator[bytes]:
        if self.process.wait() == 0:
            self.spool.seek(0)
            yield from marked_blocks(self.spool, WALK_MARKER)
            return
        with streamed(self.repo, *self.args, config=_LEANER_GIT) as output:
            yield from marked_blocks(output, WALK_MARKER)

    def close(self) -> None:
        """Stops git if it still runs; the spool disappears with its file handle."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.spool.close()


def _records_naming(block: bytes, hits: set[bytes]) -> Iterator[tuple[str, list[bytes]]]:
    """The commit records of `block` that name one of `hits`, in order. With a few hits,
    only the records around where they occur are parsed: most blocks name none."""
    if len(hits) > 256:
        yield from (_walk_record(r) for r in block.split(WALK_MARKER) if r)
        return
    starts: set[int] = set()
    for sha in hits:
        position = block.find(sha)
        while position >= 0:
            start = block.rfind(WALK_MARKER, 0, position)
            starts.add(start)
            end = block.find(WALK_MARKER, position)
            position = block.find(sha, end) if end >= 0 else -1
    for start in sorted(starts):
        end = block.find(WALK_MARKER, start + len(WALK_MARKER))
        yield _walk_record(block[start + len(WALK_MARKER) : end if end >= 0 else len(block)])


def _new_blob(record: bytes) -> bytes:
    """The new side's blob of a raw record (`:` one parent, `::` a merge's two, ...)."""
    parents = len(record) - len(record.lstrip(b":"))
    tokens = record.split(b" ")
    return tokens[2 * parents + 1] if len(tokens) > 2 * parents + 1 else b""


def _walk_record(record: bytes) -> tuple[str, list[bytes]]:
    sha, _, rest = record.partition(b"\0")
    return sha.strip().decode(), [f.lstrip(b"\n") for f in rest.split(b"\0")]


def reachable_paths(repo: Path, rev_args: Sequence[str], wanted: set[bytes]) -> dict[bytes, str]:
    """For each wanted blob reachable from `rev_args`, one path it has in some tree."""
    if not wanted:
        return {}
    out = run_git(repo, "rev-list", "--objects", *rev_args, "--")
    found: dict[bytes, str] = {}
    for line in out.splitlines():
        sha, _, path = line.partition(b" ")
        if sha in wanted and sha not in found:
            found[sha] = path.decode("utf-8", "surrogateescape")
    return found


def name_oversized(
    repo: Path,
    scanner: Scanner,
    oversized: list[tuple[bytes, int]],
    rev_args: Sequence[str],
    stats: Stats,
) -> None:
    """Names each blob the listing passed over for its size: at a path it has and the
    first commit that adds it there, or as an unreachable blob."""
    if not oversized:
        return
    paths = reachable_paths(repo, rev_args, {sha for sha, _ in oversized})
    for sha, size in oversized:
        path = paths.get(sha)
        if path is None:
            scanner.too_big(size, f"(unreachable blob {sha.decode()[:12]})", stats=stats)
        else:
            first = _first_commit_adding(repo, rev_args, path, sha)
            scanner.too_big(size, path, first, stats=stats)


def _first_commit_adding(repo: Path, rev_args: Sequence[str], path: str, sha: bytes) -> str | None:
    """The oldest commit of `rev_args` whose change at `path` makes it the blob `sha`."""
    out = run_git(
        repo,
        "log",
        "--reverse",
        "--format=%x01%H",
        "--raw",
        "--no-abbrev",
        "--no-renames",
        "--full-history",
        *rev_args,
        "--",
        f":(literal,top){path}",
    )
    for record in out.split(b"\x01")[1:]:
        commit, _, raw = record.partition(b"\n")
        if b" " + sha + b" " in raw:
            return commit.decode().strip()
    return None


def unattributed_findings(
    repo: Path, scanner: Scanner, blobs: set[bytes], rev_args: Sequence[str], stats: Stats
) -> list[Finding]:
    """Findings in hit blobs no single-parent commit adds: dangling objects, or blobs
    that only a merge brings in. Reported apart from the history findings. In a work
    tree's repository a dangling object never left the machine (a commit the hook
    blocked, a `git add` undone): its finding is listed as local only and does not fail
    the run; in a bare repository (a server, a mirror) anyone can fetch it by its id."""
    paths = reachable_paths(repo, rev_args, blobs)
    bare = run_git(repo, "rev-parse", "--is-bare-repository").strip() == b"true"
    findings: list[Finding] = []
    with BlobReader(repo) as reader:
        for sha in sorted(blobs):
            data = reader.read(sha.decode()) or b""
            path = paths.get(sha)
            shown = path if path is not None else f"(unreachable blob {sha.decode()[:12]})"
            for finding in scanner.scan(data, shown, stats=stats):
                finding.notes.append(
                    "brought in by a merge commit, not by a single-parent change"
                    if path is not None
                    else f"in dangling object {sha.decode()}: no ref or reflog reaches it"
                )
                finding.unreachable = path is None
                if path is None and not bare and finding.suppression is None:
                    finding.suppression = Suppression("external", LOCAL_ONLY)
                findings.append(finding)
    return findings
