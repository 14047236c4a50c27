"""Commit and tag messages in a history selection: read beside the scan of its changes.

A key pasted into a commit message or an annotated tag's message leaks as surely as one
in a file. Both history engines read the messages of the selection's commits here, on a
thread beside their own work (it mostly waits on git), and the tags pointing at them.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from nexpay_scan.findings import Commit
from nexpay_scan.prefilter import prefilter_for
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.blob_reader import BlobReader
from nexpay_scan.sources.git import objects_named, run_git, streamed
from nexpay_scan.sources.gitlog import (
    BLOCK_SIZE,
    MARKER,
    RECORD_FORMAT,
    DatedCommit,
    is_whole_history,
    marked_blocks,
    unmarked,
)

# an annotated tag read for its message: its name, its object's id and the object's bytes
TagRead = tuple[str, str, bytes]
# (ids of the commits listed, records of those whose message could hold a key, and when
# asked for, the annotated tags pointing at them: see `tags_pointing_at`)
MessagesListed = tuple[set[str], list[bytes], "list[tuple[str, str]] | None"]
# the same, and the first of those tags already read (see `messages_beside`)
MessagesRead = tuple[set[str], list[bytes], "list[tuple[str, str]] | None", list[TagRead]]
# `messages_beside` reads the tags' objects too, the first of them that fit in this much
# together (a release's few tags: all): that `git cat-file` then runs beside the blobs'
# readers, not after them (10-23 ms of a 50 commits' range with four tags). The others
# are read one by one as they are scanned, never held: a tag's message can be any size
TAGS_HELD_BYTES = 4 << 20


def tag_place(name: str) -> str:
    """How a finding in an annotated tag's message names its place."""
    return f"(tag message {name})"


def read_messages(
    repo: Path,
    rev_args: Sequence[str],
    scanner: Scanner,
    *,
    tags: bool = False,
    stopping: Callable[[], bool] = lambda: False,
) -> MessagesListed:
    """The ids of the commits `git log rev_args` lists, the records (MARKER, header
    fields, then the message) of those whose message could hold a key (see `Prefilter`),
    and with `tags` the annotated tags pointing at those commits (else None): listed here,
    on the thread beside the scan, not after it. Once `stopping` says so, it stops at the
    next block of git's output, and its git is ended (`Stopped`)."""
    words = prefilter_for(scanner.detector.keywords)
    listed: set[str] = set()
    suspects: list[bytes] = []
    log = ("log", "--no-color", f"{RECORD_FORMAT}%x00%B")
    with streamed(repo, *log, *rev_args, "--") as output:
        for block in marked_blocks(output, MARKER, BLOCK_SIZE):
            if stopping():
                raise Stopped
            chunks = block.split(MARKER)[1:]
            listed.update(c[:64].split(b"\0", 1)[0].decode("ascii", "replace") for c in chunks)
            if words.suspect(unmarked(block)):
                suspects += [MARKER + chunk for chunk in chunks if words.suspect(chunk)]
    return listed, suspects, tags_pointing_at(repo, listed, rev_args) if tags else None


class Stopped(Exception):
    """`read_messages` was told to stop (the scan beside it failed)."""


class Background:
    """A call run on a thread beside the scan (it mostly waits on git); `result` waits for
    it and raises what it raised; `cancel`, when the scan fails, stops it and its git."""

    def __init__(self, call: Callable[[Callable[[], bool]], MessagesRead]) -> None:
        self._value: MessagesRead | None = None
        self._error: BaseException | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[Callable[[], bool]], MessagesRead]) -> None:
        try:
            self._value = call(self._stopping.is_set)
        except BaseException as error:
            self._error = error

    def cancel(self) -> None:
        """Stops the call at its next block of git's output and waits for it: no git of
        its own is left running once this returns."""
        self._stopping.set()
        self._thread.join()

    def result(self) -> MessagesRead:
        """What the call returned, once it ends."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


def messages_beside(
    repo: Path, rev_args: Sequence[str], scanner: Scanner, *, tags: bool
) -> Background:
    """`read_messages` started on its own thread, which then reads the first of the
    annotated tags' objects too, while they fit in TAGS_HELD_BYTES together."""

    def call(stopping: Callable[[], bool]) -> MessagesRead:
        listed, suspects, pointing = read_messages(
            repo, rev_args, scanner, tags=tags, stopping=stopping
        )
        if not pointing or stopping():
            return listed, suspects, pointing, []
        return listed, suspects, pointing, tags_held(repo, pointing, TAGS_HELD_BYTES)

    return Background(call)


def tags_pointing_at(
    repo: Path, commits: set[str], rev_args: Sequence[str]
) -> list[tuple[str, str]]:
    """(name, tag object) of the annotated tags whose target is one of `commits` (through
    tags of tags); for the whole history, every annotated tag. The targets come from
    `show-ref -d`, which reads them off packed-refs where it can: `for-each-ref`'s
    `%(*objectname)` reads every tag object (10-19 ms for celery's 261 tags)."""
    listed = run_git(
        repo,
        "for-each-ref",
        "--format=%(objecttype) %(objectname) %(refname) %(refname:short)",
        "refs/tags",
    ).decode("utf-8", "surrogateescape")
    annotated = []
    for line in listed.splitlines():
        kind, sha, ref, name = [*line.split(" ", 3), "", "", ""][:4]
        if kind == "tag":
            annotated.append((name, sha, ref))
    if not annotated or is_whole_history(rev_args):
        return [(name, sha) for name, sha, _ in annotated]
    peeled = run_git(repo, "show-ref", "-d", "--tags", ok_codes=(0, 1))
    targets = {}
    for line in peeled.decode("utf-8", "surrogateescape").splitlines():
        target, _, ref = line.partition(" ")
        if ref.endswith("^{}"):
            targets[ref[:-3]] = target
    return [(name, sha) for name, sha, ref in annotated if targets.get(ref) in commits]


def read_tags(repo: Path, tags: Sequence[tuple[str, str]]) -> Iterator[TagRead]:
    """The objects of annotated tags ((name, id of a tag object)), one git call for all,
    each as it is read (a repository may have thousands)."""
    if not tags:
        return
    with BlobReader(repo) as reader:
        for name, sha in tags:
            yield name, sha, reader.read(sha) or b""


def tags_held(repo: Path, tags: Sequence[tuple[str, str]], room: int) -> list[TagRead]:
    """The first of `tags` read (as `read_tags` reads them) while their objects fit in
    `room` bytes together; the rest are left, from the first that does not fit."""
    held: list[TagRead] = []
    with BlobReader(repo) as reader:
        for name, sha in tags:
            raw = reader.read_within(sha, room)
            if isinstance(raw, int):
                break
            held.append((name, sha, raw or b""))
            room -= len(held[-1][2])
    return held


def object_types(repo: Path, shas: Sequence[str]) -> list[str]:
    """The type of each object named (`missing` for one not in the repository)."""
    return [kind for _, kind in objects_named(repo, shas)]


def parsed_tag(sha: str, raw: bytes) -> tuple[DatedCommit, bytes]:
    """The tagger (as a DatedCommit of the tag object) and the message of a tag object."""
    head, _, message = raw.partition(b"\n\n")
    tagger = next((h for h in head.split(b"\n") if h.startswith(b"tagger ")), None)
    name, email, stamp = "", "", 0
    if tagger is not None:
        who, _, when = tagger[len(b"tagger ") :].rpartition(b"> ")
        name_part, _, email_part = who.partition(b" <")
        name, email = name_part.decode("utf-8", "replace"), email_part.decode("utf-8", "replace")
        with contextlib.suppress(ValueError, IndexError):
            stamp = int(when.split()[0])
    date = iso_date(stamp) if stamp else ""
    return DatedCommit(Commit(sha=sha, author=name, email=email, date=date), stamp), message


def iso_date(stamp: int) -> str:
    """`stamp` (seconds since 1970) as ISO 8601 in UTC, as git's `%aI` gives a commit's
    date; "" for a time no calendar date holds (a crafted tag's: a year past 9999, or
    before 1, or past what the system's clock can count)."""
    from datetime import datetime, timezone

    try:
        return datetime.fromtimestamp(stamp, timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        return ""
