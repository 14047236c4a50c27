"""The blob route through history: every unique blob read and searched once, in parallel.

`git log -p` re-reads and diffs every version of every file; most repositories hold no
Nexpay key at all. So: stream each unique blob once (`git cat-file --batch`, in pack order,
split over workers), search large blocks for the literal keywords, run the rules only on the
rare blobs with a hit, and only then walk the trees (`git log --raw`, no content) to find
the commits that add such a blob. Those few commits go through the diff route, so a finding
is exactly what `git log -p` would give: each secret at the commit that adds it.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from nexpay_scan.errors import FatalError
from nexpay_scan.filters import drop_reason, locate
from nexpay_scan.findings import Finding
from nexpay_scan.scan import Scanner, looks_binary
from nexpay_scan.sources.git import BlobReader, git_command, run_git

CHUNK_BYTES = 2 << 20
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
WALK_MARKER = b"\x01nexpay-scan-walk-" + os.urandom(12).hex().encode() + b"\x01"  # see MARKER


@dataclass
class BlobList:
    """Blob ids and sizes in pack order: compact, since a big history has millions."""

    ids: list[bytes]
    sizes: array[int]

    def shares(self, workers: int) -> list[tuple[int, int]]:
        """`workers` contiguous index ranges of about equal bytes (pack order kept)."""
        total = sum(self.sizes)
        bounds: list[tuple[int, int]] = []
        start, acc = 0, 0
        for index, size in enumerate(self.sizes):
            acc += size
            if len(bounds) < workers - 1 and acc >= total * (len(bounds) + 1) / workers:
                bounds.append((start, index + 1))
                start = index + 1
        bounds.append((start, len(self.ids)))
        return [b for b in bounds if b[0] < b[1]]


def list_blobs(repo: Path, scanner: Scanner) -> BlobList:
    """Every blob in the object store (reachable or not), over-size ones counted and left."""
    out = run_git(
        repo,
        "cat-file",
        "--batch-all-objects",
        "--unordered",
        "--batch-check=%(objectname) %(objecttype) %(objectsize)",
    )
    blobs = BlobList([], array("q"))
    limit = scanner.settings.max_file_size
    for line in out.splitlines():
        sha, kind, size = line.split(b" ")
        if kind != b"blob":
            continue
        if int(size) > limit:
            scanner.too_big(int(size))
            continue
        blobs.ids.append(sha)
        blobs.sizes.append(int(size))
    return blobs


def blobs_with_candidates(
    repo: Path, blobs: BlobList, scanner: Scanner, workers: int
) -> set[bytes]:
    """Ids of the blobs in which some rule finds something (before any path filter)."""
    found: set[bytes] = set()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(start: int, end: int) -> None:
        try:
            hits = _scan_share(repo, blobs, start, end, scanner)
            with lock:
                found.update(hits)
        except BaseException as error:
            errors.append(error)

    scanner.progress.start(sum(blobs.sizes), "bytes")
    threads = [
        threading.Thread(target=work, args=share, daemon=True) for share in blobs.shares(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    scanner.progress.finish()
    if errors:
        raise errors[0]
    scanner.summary.bytes_scanned += sum(blobs.sizes)
    return found


def _scan_share(repo: Path, blobs: BlobList, start: int, end: int, scanner: Scanner) -> set[bytes]:
    """One `git cat-file --batch` for blobs[start:end]: a thread reads its output in whole-
    object blocks while this one searches them, so git never waits for the search."""
    process = subprocess.Popen(
        git_command(repo, *_LEAN_GIT, "cat-file", "--batch"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None
    _widen_pipe(process.stdout)
    threading.Thread(target=_feed, args=(process.stdin, blobs.ids[start:end]), daemon=True).start()
    blocks: queue.Queue[_Block | BaseException | None] = queue.Queue(maxsize=2)
    reader = threading.Thread(
        target=_read_blocks, args=(process.stdout, blobs, start, end, blocks), daemon=True
    )
    reader.start()
    hits: set[bytes] = set()
    try:
        while (item := blocks.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            hits |= _search_block(item, blobs, scanner)
            scanner.progress.advance(len(item.data))
    finally:
        process.kill()
        reader.join()
        process.stdout.close()
        process.wait()
    return hits


@dataclass(frozen=True)
class _Block:
    """Whole objects blobs[first:first+len(starts)] as cat-file printed them."""

    first: int
    starts: list[int]  # where each object's content begins in `data`
    data: bytes


def _widen_pipe(stream: IO[bytes]) -> None:
    """A 1 MiB pipe (Linux) lets git run ahead of us with fewer wake-ups."""
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass


def _feed(stdin: IO[bytes], ids: Sequence[bytes]) -> None:
    try:
        for index in range(0, len(ids), 4096):
            stdin.write(b"\n".join(ids[index : index + 4096]) + b"\n")
        stdin.close()
    except (BrokenPipeError, ValueError):
        pass


def _read_blocks(
    stdout: IO[bytes],
    blobs: BlobList,
    start: int,
    end: int,
    blocks: queue.Queue[_Block | BaseException | None],
) -> None:
    """Reads blocks of about CHUNK_BYTES holding whole objects; None at the end."""
    try:
        index = start
        while index < end:
            starts, stop, total = [], index, 0
            while stop < end and (stop == index or total < CHUNK_BYTES):
                header = len(blobs.ids[stop]) + 7 + len(str(blobs.sizes[stop]))
                starts.append(total + header)
                total += header + blobs.sizes[stop] + 1
                stop += 1
            data = stdout.read(total)
            if len(data) != total or not data.startswith(blobs.ids[index] + b" blob "):
                raise FatalError("git cat-file returned an object other than the one asked for")
            blocks.put(_Block(index, starts, data))
            index = stop
        blocks.put(None)
    except BaseException as error:
        blocks.put(error)


def _search_block(block: _Block, blobs: BlobList, scanner: Scanner) -> set[bytes]:
    hits: set[bytes] = set()
    suspects = _hit_objects(block.data, block.starts, scanner) | _encoded_objects(block)
    for offset in suspects:
        begin = block.starts[offset]
        content = block.data[begin : begin + blobs.sizes[block.first + offset]]
        if _has_candidate(content, scanner):
            hits.add(blobs.ids[block.first + offset])
    return hits


def _hit_objects(block: bytes, starts: list[int], scanner: Scanner) -> set[int]:
    """Indexes (into `starts`) of the objects in `block` holding any keyword."""
    hit: set[int] = set()
    for pattern in scanner.detector.prefilters:
        position = 0
        while match := pattern.search(block, position, concurrent=True):
            number = bisect_right(starts, match.start()) - 1
            if number < 0:  # inside the first header: impossible for these keywords
                number = 0
            hit.add(number)
            position = starts[number + 1] if number + 1 < len(starts) else len(block)
    return hit


# What a blob that hides keys without showing a keyword starts with: an archive, UTF-16
# text with its byte-order mark, or base64 from its first byte (a committed `base64 .env`).
_ENCODED_HEAD = re.compile(rb"PK\x03\x04|\x1f\x8b|\xff\xfe|\xfe\xff|[A-Za-z0-9+/]{64}")


def _encoded_objects(block: _Block) -> set[int]:
    """Objects whose first bytes say they are encoded (tar is recognised at byte 257)."""
    data = block.data
    return {
        number
        for number, start in enumerate(block.starts)
        if _ENCODED_HEAD.match(data, start) or data[start + 257 : start + 262] == b"ustar"
    }


def _has_candidate(content: bytes, scanner: Scanner) -> bool:
    """True when some rule finds something in `content`, as it is or decoded."""
    from nexpay_scan.decoders import decoded_views

    views = [(content, None), *((v.data, v) for v in decoded_views(content))]
    for data, view in views:
        for candidate in scanner.detector.candidates(data, binary=looks_binary(data)):
            if view is not None and not view.decoded(candidate.start, candidate.end):
                continue
            if not drop_reason(candidate, locate(data, candidate.start)):
                return True
    return False


@dataclass
class Introductions:
    """What the tree walk found: commits adding a hit blob, and hit blobs no commit adds."""

    commits: list[str]
    unattributed: set[bytes]


def walk_for(repo: Path, rev_args: Sequence[str], hits: set[bytes]) -> Introductions:
    """The commits (in `git log` order) whose changes add one of `hits`: trees only."""
    from nexpay_scan.sources.history import WALK_ARGS

    argv = git_command(repo, *WALK_ARGS, f"--format={WALK_MARKER.decode()}%H", *rev_args, "--")
    commits: list[str] = []
    seen: set[bytes] = set()
    for sha, fields in _walk_records(argv):
        added = {_new_blob(f) for f in fields if f.startswith(b":")}
        new = added & hits
        if new:
            commits.append(sha)
            seen |= new
    return Introductions(commits, hits - seen)


def _walk_records(argv: list[str]) -> Iterator[tuple[str, list[bytes]]]:
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    pending = b""
    try:
        while block := process.stdout.read(1 << 20):
            pending += block
            records = pending.split(WALK_MARKER)
            pending = records.pop()
            yield from (_walk_record(r) for r in records if r)
        if pending:
            yield _walk_record(pending)
    finally:
        process.stdout.close()
        error = process.stderr.read()
        process.stderr.close()
        code = process.wait()
    if code != 0:
        message = error.decode("utf-8", "replace").strip().splitlines()
        raise FatalError(f"git log: {message[-1] if message else 'failed'}")


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


def unattributed_findings(
    repo: Path, scanner: Scanner, blobs: set[bytes], rev_args: Sequence[str]
) -> list[Finding]:
    """Findings in hit blobs no single-parent commit adds: dangling objects, or blobs
    that only a merge brings in. Reported apart from the history findings."""
    paths = reachable_paths(repo, rev_args, blobs)
    findings: list[Finding] = []
    with BlobReader(repo) as reader:
        for sha in sorted(blobs):
            data = reader.read(sha.decode()) or b""
            path = paths.get(sha)
            shown = path if path is not None else f"(unreachable blob {sha.decode()[:12]})"
            for finding in scanner.scan(data, shown):
                finding.notes.append(
                    "brought in by a merge commit, not by a single-parent change"
                    if path is not None
                    else f"in dangling object {sha.decode()}: no ref reaches it; it is not "
                    "pushed, but copies of this repository's folder or server hold it"
                )
                finding.unreachable = path is None
                findings.append(finding)
    return findings
