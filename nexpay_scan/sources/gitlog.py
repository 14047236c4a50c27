"""Git's history as records: the one format both history engines read.

Both engines walk the same commits with the same `git log` arguments (WALK_ARGS): the diff
engine adds the patch (`-p`), the blob engine reads only the raw records (which blob each
change makes) and the blobs themselves. Every record starts with MARKER and the commit's
header fields (HEADER_FORMAT, read by `parse_commit`); its raw records (`--raw -z`) are read
by `parse_raw_z`. Nothing else in the package parses `git log` output.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from itertools import chain

from nexpay_scan.errors import FatalError
from nexpay_scan.findings import Commit
from nexpay_scan.records import Record
from nexpay_scan.sources.git import SUBMODULE_MODE, decode_path, objects_named, run_git

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from typing import IO

    from nexpay_scan.paths import StrPath

BLOCK_SIZE = 1 << 20
# Where each commit's record starts in `git log` output. Author names, paths and content can
# hold any bytes, so the marker carries a random nonce of this run that no repository can
# know in advance: otherwise a crafted author name could cut a record and hide a key.
MARKER = b"\x01nexpay-scan-" + os.urandom(12).hex().encode() + b"\x01"
# the fields a commit's record starts with (see parse_commit)
HEADER_FORMAT = "%H%x00%ct%x00%an%x00%ae%x00%aI"
RECORD_FORMAT = "--format=" + MARKER.decode() + HEADER_FORMAT
# How both history engines walk: the same commits, in the same order, with the same changes.
WALK_ARGS = (
    "log",
    "--raw",
    "-z",
    # A file renamed with a key in it counts as adding it again, in both history engines.
    "--no-renames",
    # A merge's own changes (conflict resolutions, "evil" merges): what is new against
    # every parent. Without it `git log -p` shows merges as empty.
    "--cc",
    "--full-history",
    "--no-abbrev",
)
# The whole history: every ref, and every commit a reflog still names (a deleted branch's
# commits through HEAD's reflog, an amended or rebased commit, an older stash): such a
# commit is reported as itself (sha, author, date), not as a dangling blob.
WHOLE_HISTORY = ("--all", "--reflog")


def log_revisions(revisions: Sequence[str]) -> list[str]:
    """What `git log` is given: the whole history by default (WHOLE_HISTORY), else the
    user's revisions, as such."""
    if not revisions:
        return list(WHOLE_HISTORY)
    return ["--end-of-options", *revisions]


def revision_sides(revisions: Sequence[str]) -> list[str]:
    """The objects a list of `git log` revisions names: each side of a range (`A..B`,
    `A...B`, an empty side is HEAD), a revision with its `^` or its `^!`, `^@`, `^-N`
    taken off. A revision found by a message (`:/text`) names a commit by definition and
    is left out, as are options."""
    sides: list[str] = []
    for revision in revisions:
        if revision.startswith("-"):
            continue
        text = revision.removeprefix("^")
        for suffix in ("^!", "^@"):
            text = text.removesuffix(suffix)
        head, sep, count = text.rpartition("^-")
        if sep and (not count or count.isdigit()):
            text = head
        parts = text.split("...", 1) if "..." in text else text.split("..", 1)
        sides += [part or "HEAD" for part in parts if not part.startswith(":/")]
    return sides


Named = tuple[tuple[str, str], ...]  # git's answers for a side's `named_forms`


def named_forms(side: str) -> list[str]:
    """What `commits_named_by` asks git of a side: itself, the commit it names, the object
    a tag peels to. `REV:path` names what a tree holds at `path`, and a suffix would be
    part of the path: it is asked three times as it is."""
    return [side] * 3 if _names_a_path(side) else [side, f"{side}^{{commit}}", f"{side}^{{}}"]


def commits_named_by(
    repo: StrPath, revisions: Sequence[str], known: Mapping[str, Named] | None = None
) -> dict[str, str]:
    """The commit each side of `revisions` names (see `revision_sides`), in one git call;
    none for the sides whose answers `known` holds (`ci` asked them of git while it
    planned, and fetched nothing since). A side that names a tree or a blob (`HEAD:src`,
    `v1^{tree}`, a tag on a file) is a one-line error, not a scan of no commits that exits
    clean; so is one that names nothing."""
    sides = revision_sides(revisions)
    if not sides:
        return {}
    known = known or {}
    asked: list[str] = []
    for side in sides:
        if "\n" in side:
            raise FatalError(f"git rev-parse: bad revision {side!r}")
        if side not in known:
            asked += named_forms(side)
    answered = iter(objects_named(repo, asked) if asked else [])
    commits: dict[str, str] = {}
    for side in sides:
        named = known.get(side) or tuple(next(answered) for _ in range(3))
        itself, commit, peeled = named
        kind = peeled[1] if itself[1] == "tag" else itself[1]
        if kind in ("tree", "blob"):
            how = _SCAN_INSTEAD[kind]
            raise FatalError(f"{side} names a {kind}, not a commit: history scans commits ({how})")
        if commit[1] != "commit":
            raise FatalError(
                f"git rev-parse: bad revision {side!r} (check the revision or range; fetch "
                "it first if it is remote)"
            )
        commits[side] = commit[0]
    return commits


_SCAN_INSTEAD = {
    "tree": "to scan its files, check them out and run nexpay-scan files",
    "blob": "to scan it: git cat-file -p REV | nexpay-scan files -",
}


def _names_a_path(side: str) -> bool:
    """`REV:path` or `:path` (an index entry): a colon outside a reflog's `@{...}`."""
    while (start := side.find("@{")) >= 0 and (end := side.find("}", start)) >= 0:
        side = side[:start] + side[end + 1 :]
    return ":" in side


def is_whole_history(rev_args: Sequence[str]) -> bool:
    """True when `rev_args` select the whole history, unfiltered."""
    return list(rev_args) == list(WHOLE_HISTORY)


def count_commits(repo: StrPath, rev_args: Sequence[str]) -> int:
    """How many commits `git log rev_args` lists."""
    return int(run_git(repo, "rev-list", "--count", *rev_args, "--") or b"0")


class DatedCommit(Record):
    """A commit and its committer time, the order in which introductions are judged."""

    commit: Commit
    timestamp: int


def parse_commit(chunk: bytes) -> tuple[DatedCommit, bytes]:
    """A commit's header fields and the rest of its record (raw records, then any patch
    or message). `chunk` starts with MARKER."""
    fields = chunk[len(MARKER) :].split(b"\0", 5)
    sha, timestamp, author, email, date = (f.decode("utf-8", "replace") for f in fields[:5])
    commit = Commit(sha=sha, author=author, email=email, date=date)
    return DatedCommit(commit, _commit_time(timestamp)), _after_header(fields)


def _commit_time(text: str) -> int:
    """`%ct`, the committer's time; 0 where git gives none (a commit object written by
    hand whose committer line holds no time: git prints nothing there)."""
    try:
        return int(text)
    except ValueError:
        return 0


def record_body(chunk: bytes) -> bytes:
    """What `parse_commit` leaves of a record, its header not decoded."""
    return _after_header(chunk[len(MARKER) :].split(b"\0", 5))


def _after_header(fields: list[bytes]) -> bytes:
    return fields[5].lstrip(b"\0\n") if len(fields) > 5 else b""


def commit_records(block: bytes) -> Iterator[bytes]:
    """The records of a block (see `marked_blocks`), each starting with MARKER."""
    return (MARKER + chunk for chunk in block.split(MARKER)[1:])


def commits_in(block: bytes) -> int:
    """How many commit records a block holds."""
    return block.count(MARKER)


def unmarked(block: bytes) -> bytes:
    """A block of records without its markers, which name the tool (a keyword)."""
    return block.replace(MARKER, b"\x01")


def raw_fields(rest: bytes) -> list[bytes]:
    """The NUL-split raw records of a record with no patch (what `parse_commit` leaves)."""
    return rest.rstrip(b"\0\n").split(b"\0")


def raw_changes(rest: bytes) -> list[RawChange]:
    """The changes of a record with no patch (what `parse_commit` leaves of it)."""
    return list(parse_raw_z(raw_fields(rest)))


def walk_command(rev_args: Sequence[str], pathspecs: Sequence[str] = ()) -> tuple[str, ...]:
    """The git arguments of the raw walk over `rev_args` (records without content), the
    changes at `pathspecs` (all by default)."""
    return (*WALK_ARGS, RECORD_FORMAT, *rev_args, "--", *pathspecs)


def marked_blocks(stream: IO[bytes], marker: bytes, size: int = 1 << 20) -> Iterator[bytes]:
    """`stream` read `size` bytes at a time and handed on in blocks that each end where a
    `marker` (the start of a record) begins: no record is ever cut in two."""
    for block in marked_records(stream, marker, size):
        assert isinstance(block, bytes)  # no cap: no LongRecord
        yield block


def marked_records(
    stream: IO[bytes], marker: bytes, size: int = 1 << 20, cap: int | None = None
) -> Iterator[bytes | LongRecord]:
    """Like `marked_blocks`; and with a `cap`, no block is held past `cap` + `size` bytes:
    a record that grows past `cap` without the next `marker` is handed on as a LongRecord
    (its first bytes, and the rest to stream), which the caller reads or leaves; the
    blocks go on after it. Only new bytes are searched for the marker (no quadratic rescan)."""
    keep = len(marker) - 1  # a marker may begin in the last bytes already searched
    pending = b""
    searched = 0  # how much of `pending` holds no marker (but at 0) ending before keep
    while block := stream.read(size):
        pending += block
        cut = pending.rfind(marker, max(1, searched - keep))
        searched = len(pending)
        if cut > 0:
            yield pending[:cut]
            pending = pending[cut:]
            searched = len(pending)
        elif cap is not None and len(pending) > cap:
            record = LongRecord(pending[:-keep], pending[-keep:], stream, marker, size)
            pending = b""
            yield record
            pending, searched = record.finish(), 0
    if pending:
        yield pending


class LongRecord:
    """A record too long to hold: its first bytes (`head`), and the rest read on demand in
    pieces of about `size` bytes, up to the next marker or the end of the stream."""

    def __init__(self, head: bytes, carry: bytes, stream: IO[bytes], marker: bytes, size: int):
        self.head = head
        self._carry, self._stream, self._marker, self._size = carry, stream, marker, size
        self._next = b""  # the bytes from the next marker on, once found
        self._done = False

    def rest(self) -> Iterator[bytes]:
        """The bytes after `head`, in bounded pieces, up to the next record."""
        keep = len(self._marker) - 1
        while not self._done:
            block = self._stream.read(self._size)
            data = self._carry + block
            at = data.find(self._marker)
            if at >= 0 or not block:
                self._done = True
                self._next = data[at:] if at >= 0 else b""
                yield data[:at] if at >= 0 else data
                return
            self._carry = data[-keep:]
            yield data[:-keep]

    def finish(self) -> bytes:
        """Passes over what was not read of the record; returns what follows it."""
        for _ in self.rest():
            pass
        return self._next


class RawChange(Record):
    """One line of `git diff --raw -z`: a file's old and new blob and what happened."""

    old_mode: str
    new_mode: str
    old_sha: str
    new_sha: str
    status: str
    path: str
    old_path: str

    @property
    def adds_content(self) -> bool:
        """True when the new side holds file content worth scanning."""
        return self.new_mode not in ("000000", SUBMODULE_MODE) and set(self.status) != {"D"}


def parse_raw_z(fields: list[bytes]) -> Iterator[RawChange]:
    """RawChanges from the NUL-split fields of `--raw -z` output: renames and copies have two
    paths; a merge's combined record (`::…`, with `--cc`) has a mode and a blob per parent,
    and the first parent stands for the old side. Stops at a malformed or cut record."""
    for parents, meta, new, old in _raw_records(fields):
        text = [token.decode("ascii", "replace") for token in meta]
        yield RawChange(
            text[0],
            text[parents],
            text[parents + 1],
            text[2 * parents + 1],
            text[-1],
            decode_path(new),
            decode_path(old),
        )


def added_blobs(fields: list[bytes]) -> Iterator[bytes]:
    """The new side's blob id of each change `parse_raw_z(fields)` reads whose new side
    holds content (see `RawChange.adds_content`): what the blob engine reads. The same
    records, without a RawChange built for each (a walk has hundreds of thousands)."""
    for parents, meta, _, _ in _raw_records(fields):
        if meta[parents] not in _NO_CONTENT_MODES and meta[-1].strip(b"D"):
            yield meta[2 * parents + 1]


_NO_CONTENT_MODES = (b"000000", SUBMODULE_MODE.encode())


def _raw_records(fields: list[bytes]) -> Iterator[tuple[int, list[bytes], bytes, bytes]]:
    """(parents, meta tokens, new path, old path) of each raw record in `fields`: modes,
    then blobs, one per parent and one for the new side, then the status. Stops at a
    malformed or cut record."""
    index = 0
    while index + 1 < len(fields) and fields[index].startswith(b":"):
        parents = len(fields[index]) - len(fields[index].lstrip(b":"))
        meta = fields[index][parents:].split(b" ")
        if len(meta) != 2 * parents + 3 or not meta[-1]:
            return
        if parents == 1 and meta[-1][:1] in (b"R", b"C"):
            if index + 2 >= len(fields):
                return
            old, new = fields[index + 1], fields[index + 2]
            index += 3
        else:
            old = new = fields[index + 1]
            index += 2
        yield parents, meta, new, old


def streamed_changes(first: bytes, rest: Iterator[bytes]) -> Iterator[RawChange]:
    """The raw records of a commit (`first`, then the pieces of `rest`), parsed as they
    come, a few at a time: a commit of a million files is never held. The log's raw records
    are all `:meta NUL path NUL` (renames are off); an empty field ends them, the patch
    follows. The rest of `rest` is left unread (LongRecord.finish passes over it)."""
    pending = b""
    for piece in chain((first,), rest):
        pending += piece
        fields = pending.split(b"\0")
        whole = fields[:-1]  # the last may be cut
        metas = range(0, len(whole), 2)
        end = next((n for n in metas if not whole[n].startswith(b":")), None)
        taken = len(whole) - len(whole) % 2 if end is None else end
        yield from parse_raw_z(whole[:taken])
        if end is not None:
            return
        pending = b"\0".join(fields[taken:])
