"""Archives and compressed streams: zip, tar, gzip and tar.gz, told by their magic numbers,
members read through capped streams. The archive libraries are imported on first use: the
hook's start-up never pays for them."""

from __future__ import annotations

import io

from nexpay_scan.decoders.model import (
    BUDGET_SPENT,
    Budget,
    Decoder,
    Span,
    Unwrapped,
)

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    import tarfile
    import zipfile
    from collections.abc import Callable, Sequence
    from typing import IO, TypeVar

    from nexpay_scan.decoders.zip_directory import Entry, Unlisted

    _T = TypeVar("_T")
    # what a member is read from: zipfile's and tarfile's streams, `_Inflating`, or the
    # bytes of a member inflated at once (`zip_directory`)
    _Stream = IO[bytes] | io.RawIOBase | io.BufferedIOBase
    # a zip member as its archive's directory gives it, or as its local header does
    _Member = zipfile.ZipInfo | Entry | Unlisted

MIB = 1024 * 1024
# archive members (pieces of them) held in one archive (those that could hold a key); past
# them, only those holding a key that proves itself (see `_past_the_cap`)
MAX_MEMBERS = 1000
# members looked at in one archive: those that can hold no key (see `Budget.given_back`)
# count only here, so that a thousand harmless ones do not hide a key after them
LOOKED_AT_MOST = 16 * MAX_MEMBERS
# an archive member or a gzip stream is read in pieces of a MiB; those that can hold no key
# are read past, and at most MAX_MEMBER_SIZE bytes of the others are held (see `_pieces`)
PIECE = MIB
MAX_MEMBER_SIZE = 2 * PIECE
# what a piece repeats of the one before it: a key cut by the piece's start is whole in it,
# with the lines around it that name it (50 lines at most, see rules' `context`)
OVERLAP = 64 * 1024
MAX_TAR_STREAM = 8 * MIB  # bytes of a gzip-compressed tar inflated to reach its members
_STEP_IN = 64 * 1024  # compressed bytes handed to zlib at a time (see `_Inflating`)
_STEP_OUT = 256 * 1024  # bytes inflated at a time
# A tar is read past a header that is not one (a bad checksum: GNU tar says "Skipping to
# next header" and extracts the members after it) and past its end-of-archive blocks (a
# tar after another: `tar -i` extracts it): a damaged header hid every member after it
_ON_PAST = {"ignore_zeros": True}
_ZIP_MAGIC = b"PK\x03\x04"
_STORED, _DEFLATED = 0, 8  # the zip methods read (in bounded steps)
END_MAGIC = b"PK\x05\x06"  # a zip's end of central directory record
_END_RECORD_SIZE = 22  # with no comment
# the end of an archive searched for its end record, as zipfile searches it: the record
# and 64 KiB before it (a comment's length field holds at most 0xFFFF)
ZIP_REACH = _END_RECORD_SIZE + (1 << 16)
_GZIP_MAGIC = b"\x1f\x8b"
_UNBOUNDED = 1 << 62  # the size of a gzip stream: known only once it is inflated
# zip compression methods zipfile cannot read in bounded steps, or at all
_METHODS = {12: "bzip2", 14: "lzma", 93: "zstd", 95: "xz", 98: "ppmd", 99: "AES"}
_MANY_MEMBERS = (
    f"more than {MAX_MEMBERS} members that could hold a key (or {LOOKED_AT_MOST} in all): "
    "those past them not decoded"
)
_HELD_MOST = f"more than {MAX_MEMBER_SIZE} bytes to decode: the rest not decoded"
_UNLISTED_PAST = (
    "a zip member found by its local header alone (the directory does not list it, or is "
    "cut off), over 2 MiB: the rest of it not decoded"
)
_UNLISTED_MANY = (
    f"more than {LOOKED_AT_MOST} local headers outside the zip's directory: those past "
    "them not read"
)
_TAR_PAST = (
    f"a tar over {MAX_MEMBER_SIZE} bytes: past them, its members searched as they are, not opened"
)


def is_zip(data: bytes) -> bool:
    """True when `data` starts as a zip archive does."""
    return data.startswith(_ZIP_MAGIC)


def is_zip_behind(data: bytes) -> bool:
    """True when `data` ends as a zip with something before it does (`ends_as_zip`)."""
    return ends_as_zip(data, 0, len(data), data.rfind)


def ends_as_zip(
    data: bytes | memoryview, at: int, size: int, rfind: Callable[[bytes, int, int], int]
) -> bool:
    """True when the `size` bytes at `at` end as a zip does, for zipfile and `unzip`: an
    end record in their last ZIP_REACH bytes (`end_record_at`). A zip with something
    before it (a Python zipapp behind its `#!` line, a self-extracting archive, a Spring
    Boot jar behind its launch script) starts with that, not with a member, and may have
    bytes after it too (a comment, or bytes no comment counts: zipfile and `unzip` read
    it all the same). Its members are read as any zip's, past the prefix. Asked after
    every other whole decoder: content that starts as one is that (a gzip stream with an
    end record put after it is still inflated, not taken for an empty zip)."""
    return end_record_at(data, at, size, rfind) is not None


def end_record_at(
    data: bytes | memoryview, at: int, size: int, rfind: Callable[[bytes, int, int], int]
) -> int | None:
    """Where the end record of the zip that the `size` bytes at `at` end as starts, found
    as zipfile finds it: the last 22 bytes when they are one with no comment, else the last
    signature in the last ZIP_REACH bytes (`rfind`: a search of `data` from the end, as
    `bytes.rfind` does), when its record fits before the end; None when there is none."""
    end = at + size
    if size < _END_RECORD_SIZE:
        return None
    last = end - _END_RECORD_SIZE
    if data[last : last + 4] == END_MAGIC and data[end - 2 : end] == b"\0\0":  # (as a rule)
        return last
    record = rfind(END_MAGIC, max(at, end - ZIP_REACH), end)
    if record < 0 or record > last:
        return None
    return record


def is_gzip(data: bytes) -> bool:
    """True when `data` starts as a gzip stream does."""
    return data.startswith(_GZIP_MAGIC)


def is_tar(data: bytes) -> bool:
    """True when `data` holds a tar header ("ustar" at byte 257)."""
    return data[257:262] == b"ustar"


def is_archive(data: bytes) -> bool:
    """True when `data` is a zip, a gzip stream or a tar."""
    return data.startswith((_ZIP_MAGIC, _GZIP_MAGIC)) or data[257:262] == b"ustar"


def zip_members(data: bytes, budget: Budget, prefix: str) -> list[Unwrapped]:
    """The zip's members that can be read in bounded steps, in pieces (see `_pieces`):
    those of a plain archive read without `zipfile` (see `zip_directory`), others with it."""
    from functools import partial  # (not on the hook's path unless it meets an archive)

    from nexpay_scan.decoders.zip_directory import MemberReader, entries

    listed = _opened(partial(entries, data))
    if listed is None:
        return _zipfile_members(data, budget, prefix)
    reader = MemberReader(data, listed)
    try:
        members, open_ = _with_unlisted(data, listed, reader.open, budget, prefix)
        return _zip_read(members, open_, data, budget, prefix)
    finally:
        reader.close()


def _zipfile_members(data: bytes, budget: Budget, prefix: str) -> list[Unwrapped]:
    """`zip_members` through `zipfile`: an archive not laid out plainly, with the members
    its directory does not list (all of them, when zipfile cannot read the directory)."""
    import zipfile
    from functools import partial

    archive = _opened(partial(zipfile.ZipFile, io.BytesIO(data)))
    if archive is None:
        found, by_number = _with_unlisted(data, [], _never_opened, budget, prefix)
        return _zip_read(found, by_number, data, budget, prefix)
    with archive:
        infos = archive.infolist()

        def open_(number: int) -> _Stream:
            return archive.open(infos[number])

        members, by_number = _with_unlisted(data, infos, open_, budget, prefix)
        return _zip_read(members, by_number, data, budget, prefix)


def _never_opened(number: int) -> _Stream:
    raise IndexError(number)


def _with_unlisted(
    data: bytes,
    listed: Sequence[zipfile.ZipInfo | Entry],
    open_: Callable[[int], _Stream],
    budget: Budget,
    prefix: str,
) -> tuple[list[_Member], Callable[[int], _Stream]]:
    """The `listed` members, then those whose local headers lie outside them (see
    `zip_directory.Unlisted`), and how to open the n-th of them all. One over HELD_AT_ONCE
    is read that far, and what is left of it is named."""
    from nexpay_scan.decoders.zip_directory import (
        HELD_AT_ONCE,
        by_local_header,
        covered_by,
        read_on,
        unlisted,
        without_crc_check,
    )

    spans = covered_by(data, [(info.header_offset, info.compress_size) for info in listed])
    found, more = unlisted(data, spans)
    if more:
        budget.skip(f"{prefix}zip", _UNLISTED_MANY)
    found.extend(read_on(data, listed))
    for member in found:
        if member.file_size > HELD_AT_ONCE:
            budget.skip(f"{prefix}zip:{member.filename}", _UNLISTED_PAST)
    count = len(listed)

    def opened(number: int) -> _Stream:
        if number >= count:
            return found[number - count].open()
        try:
            stream = open_(number)
        except Exception:  # zipfile will not open it: its local header is read instead
            info = listed[number]
            local = by_local_header(data, info.header_offset, info.compress_size, info.file_size)
            if local is None:
                raise
            return local.open()
        return without_crc_check(stream)

    return [*listed, *found], opened


def _zip_read(
    members: Sequence[_Member],
    open_: Callable[[int], _Stream],
    data: bytes,
    budget: Budget,
    prefix: str,
) -> list[Unwrapped]:
    """The `members` of the zip `data` (`open_(n)` opens the n-th), in pieces (see
    `_pieces`), up to LOOKED_AT_MOST of them and as far as the budget goes."""
    from functools import partial

    found: list[Unwrapped] = []
    for number, info in enumerate(members):
        if number == LOOKED_AT_MOST:
            budget.skip(f"{prefix}zip", _MANY_MEMBERS)
            break
        label = f"zip:{info.filename}"
        if not _readable(info, budget, prefix + label):
            continue
        if budget.remaining <= 0:
            budget.skip("", BUDGET_SPENT)
            break
        pieces = _pieces(partial(open_, number), info.file_size, budget, prefix + label)
        if len(found) >= MAX_MEMBERS:
            pieces = _past_the_cap(pieces, budget, f"{prefix}zip")
        at = _stored_at(data, info)
        found.extend(
            _member(label, info.filename, piece, data, at, start) for start, piece in pieces
        )
    return found


def _stored_at(data: bytes, info: _Member) -> int | None:
    """Where a stored (uncompressed) zip member's bytes start in `data`, after its local
    header; None for a compressed member, or a header that does not say so."""
    from nexpay_scan.decoders.zip_directory import data_start

    return data_start(data, info.header_offset) if info.compress_type == _STORED else None


def _readable(info: _Member, budget: Budget, where: str) -> bool:
    """False for folders, encrypted members, and methods that cannot be read in bounded
    steps: zipfile inflates a bzip2 or lzma chunk whole, and a small chunk can be a bomb.
    A member with content that is not read is noted as a skip."""
    # a member with no name at all is no folder (`is_dir` fails on it: IndexError)
    if info.filename.endswith("/"):
        return False
    if info.flag_bits & 0x1:
        budget.skip(where, "encrypted archive member: not decoded")
        return False
    if info.compress_type not in (_STORED, _DEFLATED):
        method = _METHODS.get(info.compress_type, f"method {info.compress_type}")
        budget.skip(where, f"archive member compressed with {method}: not decoded")
        return False
    return True


def tar_members(data: bytes, budget: Budget, prefix: str) -> list[Unwrapped]:
    """The tar's regular files, in pieces (see `_pieces`)."""
    import tarfile
    from functools import partial

    archive = _opened(partial(tarfile.open, fileobj=io.BytesIO(data), mode="r:", **_ON_PAST))
    return [] if archive is None else _tar_read(archive, budget, prefix, "tar", data)


def _tar_read(
    archive: tarfile.TarFile,
    budget: Budget,
    prefix: str,
    label: str,
    data: bytes | None = None,
    given_back: Callable[[int], None] = lambda size: None,
) -> list[Unwrapped]:
    """The regular files of an opened tar (read in order: a stream's too), in pieces (see
    `_pieces`); `data`, the tar's bytes when they are scanned as they are (not inflated
    from a stream): its members are stored in them; `given_back` is told the size of each
    piece that the budget took back."""
    from functools import partial

    found: list[Unwrapped] = []
    with archive:
        for number in range(LOOKED_AT_MOST + 1):
            info = _opened(archive.next)
            if info is None:
                break
            if number == LOOKED_AT_MOST:
                budget.skip(prefix + label, _MANY_MEMBERS)
                break
            if not info.isfile():
                continue
            name = f"{label}:{info.name}"
            if budget.remaining <= 0:
                budget.skip("", BUDGET_SPENT)
                break
            opened = partial(archive.extractfile, info)
            pieces = _pieces(opened, info.size, budget, prefix + name, given_back)
            if len(found) >= MAX_MEMBERS:
                pieces = _past_the_cap(pieces, budget, prefix + label)
            at = info.offset_data
            found.extend(
                _member(name, info.name, piece, data, at, start) for start, piece in pieces
            )
    return found


def _pieces(
    open_: Callable[[], _Stream | None],
    size: int,
    budget: Budget,
    where: str,
    given_back: Callable[[int], None] = lambda size: None,
) -> list[tuple[int, bytes]]:
    """The pieces worth holding, with where each starts in it, of the member `open_`
    opens, `size` bytes long (or less: a stream may end first): read PIECE bytes at a
    time, each piece after the first starting OVERLAP bytes into the one before, each
    charged to the budget as read. A piece that can hold no key is given back
    (`Budget.given_back`, GIVEN_BACK_MOST bytes at most; `given_back` is told its size)
    and not held, and the member is read on past it: a key after a MiB of padding in one
    member went unread. Once MAX_MEMBER_SIZE bytes of a member are held (its pieces that
    could hold a key, and any once GIVEN_BACK_MOST is reached: a bomb of zeros stops
    there), what is left of it is named and not read. A member that is an archive itself
    is read as one content (`_archive_inside`); past that, a tar's bytes are read on in
    pieces like any member's (its members' bytes are in it as they are), and named: such
    a member holds twice MAX_MEMBER_SIZE at most (the tar read whole, then its pieces)."""
    from functools import partial

    stream = _opened(open_)
    if stream is None:
        return []
    kept: list[tuple[int, bytes]] = []
    tail = b""  # what the next piece repeats of this one
    read = held = 0
    with stream:
        while read < size:
            if held >= MAX_MEMBER_SIZE:
                if _more(stream, read, size):
                    budget.skip(where, _HELD_MOST)
                break
            step = min(PIECE - len(tail), size - read)
            allowed = min(step, budget.remaining)
            new = _opened(partial(stream.read, allowed)) if allowed > 0 else b""
            # charged as asked: a zip member that fails its CRC at the end cost as much
            budget.spend(allowed if new is None else len(new))
            if not new:
                if allowed < step:
                    budget.skip("", BUDGET_SPENT)
                break
            if not read and len(new) < size and is_archive(new):
                whole = _archive_inside(stream, new, size, budget)
                if not is_tar(whole) or not _tar_goes_on(whole, size, budget, where):
                    _name_cut(stream, whole, size, budget, where)
                    return [(0, whole)]
                # past what was read as a tar, its members' bytes are read on in pieces
                kept.append((0, whole))
                read, tail = len(whole), whole[-OVERLAP:]
                continue
            read += len(new)
            piece = tail + new
            if budget.given_back(piece, len(new)):
                given_back(len(new))
            else:
                kept.append((read - len(piece), piece))
                held += len(piece)
            if allowed < step and _more(stream, read, size):  # the budget ended it
                budget.skip("", BUDGET_SPENT)
                break
            tail = piece[-OVERLAP:]
    return kept


def _archive_inside(stream: _Stream, first: bytes, size: int, budget: Budget) -> bytes:
    """A member that is an archive itself, read on from its `first` piece as one content,
    MAX_MEMBER_SIZE bytes at most (and what the budget has left): its pieces would decode
    to nothing (a zip's directory is at its end, a deflate stream needs what came before,
    a tar member cut by a piece's end is lost, and the piece after it, with its header's
    NULs, is searched as binary: a legacy key in it went unread, and nothing was named)."""
    from functools import partial

    want = min(MAX_MEMBER_SIZE, size) - len(first)
    allowed = min(want, budget.remaining)
    rest = _opened(partial(stream.read, allowed)) if allowed > 0 else b""
    budget.spend(allowed if rest is None else len(rest))
    return first + (rest or b"")


def _tar_goes_on(content: bytes, size: int, budget: Budget, where: str) -> bool:
    """Whether a tar inside a member, read as one content (`content`), is read on past
    it in pieces: when it is bigger, and the budget did not cut it; named, as its members
    there are searched as they are, not opened (a key in one is still seen)."""
    if len(content) >= size or len(content) < MAX_MEMBER_SIZE:
        return False
    budget.skip(where, _TAR_PAST)
    return True


def _name_cut(stream: _Stream, content: bytes, size: int, budget: Budget, where: str) -> None:
    """Names what is left of a member read as one `content`, if anything is: past its
    bound (MAX_MEMBER_SIZE), or past what the budget had left."""
    if _more(stream, len(content), size):
        if len(content) < MAX_MEMBER_SIZE:
            budget.skip("", BUDGET_SPENT)
        else:
            budget.skip(where, _HELD_MOST)


def _past_the_cap(
    pieces: list[tuple[int, bytes]], budget: Budget, where: str
) -> list[tuple[int, bytes]]:
    """Of a member's pieces read once MAX_MEMBERS are held, those that hold a key that
    proves itself (`Budget.keyed`: a checksum that matches); the others are named as
    passed over. (A thousand members naming Nexpay held the cap before a key after them.)"""
    keyed = budget.keyed([piece for _, piece in pieces]) if budget.keyed and pieces else ()
    if len(keyed) < len(pieces):
        budget.skip(where, _MANY_MEMBERS)
    return [piece for number, piece in enumerate(pieces) if number in keyed]


def _more(stream: _Stream, read: int, size: int) -> bool:
    """Whether `stream`, `read` bytes into a member `size` bytes long (at most: a stream
    may end first), holds more (a byte is read to tell)."""
    return read < size and bool(_opened(lambda: stream.read(1)))


def gzip_contents(data: bytes, budget: Budget, prefix: str) -> list[Unwrapped]:
    """A gzip stream's content, or the members of the tar inside it (see `_tar_in_gzip`)."""
    if is_tar(_gunzip(data, 512)[0]):
        return _tar_in_gzip(data, budget, prefix)
    stream = _Inflating(data, _UNBOUNDED, None)
    pieces = _pieces(lambda: stream, _UNBOUNDED, budget, f"{prefix}gzip")
    return [_member("gzip", None, piece) for _, piece in pieces]


def _tar_in_gzip(data: bytes, budget: Budget, prefix: str) -> list[Unwrapped]:
    """The members of the tar inside a gzip stream, read as the stream is inflated (it is
    never held whole). The stream may take half of what the budget has left, and at most
    MAX_TAR_STREAM (its members, read from it, are charged too); what members the budget
    takes back (they can hold no key) the stream may read again: six harmless MiB before a
    key stopped it there."""
    import tarfile
    from functools import partial

    first = min(MAX_TAR_STREAM, budget.remaining // 2)
    stream = _Inflating(data, first, budget)
    archive = _opened(partial(tarfile.open, fileobj=stream, mode="r|", **_ON_PAST))
    if archive is None:
        return []
    found = _tar_read(archive, budget, prefix, "gzip>tar", None, stream.extend)
    if stream.stopped:
        budget.cut(f"{prefix}gzip>tar", MAX_TAR_STREAM, first)
    return found


class _Inflating(io.RawIOBase):
    """The gzip members at the start of `data`, inflated as they are read (`read`, what
    `tarfile` asks of a stream), `allowed` bytes at most (`extend` adds to it), each
    charged to the budget (if one is given: a plain gzip stream's pieces are charged as
    `_pieces` reads them); `stopped` when `allowed` ended it before the end. The input is
    fed _STEP_IN bytes at a time and inflated _STEP_OUT at a time (zlib hands back what is
    left of its input as a copy: all of it at each small read took the square of its size).
    Damage ends it quietly, as `_gunzip` does."""

    def __init__(self, data: bytes, allowed: int, budget: Budget | None) -> None:
        from nexpay_scan.decoders.inflate import inflater

        super().__init__()
        self._zlib = zlib = inflater()
        self._data = data
        self._at = 0  # input handed to zlib so far
        self._tail = b""  # of it, what zlib has not consumed yet
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._buffer = bytearray()
        self._ended = False
        self._budget = budget
        self.allowed = allowed
        self.read_so_far = 0
        self.stopped = False

    def readable(self) -> bool:
        return True

    def extend(self, size: int) -> None:
        """`size` bytes more may be read, and what they were charged is given back: a
        member the budget took back (`Budget.given_back`, which bounds them) was read
        from this stream too."""
        self.allowed += size
        if self._budget is not None:
            self._budget.refund(size)

    def read(self, size: int = -1) -> bytes:
        left = self.allowed - self.read_so_far
        want = left if size < 0 else min(size, left)
        while len(self._buffer) < want and self._more():
            pass
        data = bytes(self._buffer[:want])
        del self._buffer[:want]
        self.read_so_far += len(data)
        if self._budget is not None:
            self._budget.spend(len(data))
        if not data and (size < 0 or size > left):  # the allowance ended it: is there more?
            self.stopped = bool(self._buffer) or self._more()
        return data

    def _more(self) -> bool:
        """Inflates the next piece into the buffer; False at the end (or on damage)."""
        while not self._ended:
            if not self._tail and self._at < len(self._data):
                self._tail = self._data[self._at : self._at + _STEP_IN]
                self._at += len(self._tail)
            try:
                out = self._inflater.decompress(self._tail, _STEP_OUT)
            except self._zlib.error:
                self._ended = True
                break
            self._tail = self._inflater.unconsumed_tail
            if self._inflater.eof:  # a further gzip member follows, or the end
                rest = self._inflater.unused_data
                if not is_gzip(rest + self._data[self._at : self._at + 2]):
                    self._ended = True
                else:
                    self._inflater = self._zlib.decompressobj(16 + self._zlib.MAX_WBITS)
                    self._tail = rest
            elif not out and not self._tail and self._at >= len(self._data):
                self._ended = True  # truncated: no input left
            if out:
                self._buffer += out
                return True
        return False


def _gunzip(data: bytes, size: int) -> tuple[bytes, bool]:
    """At most `size` bytes inflated from the gzip members at the start of `data` (from a
    truncated or corrupt stream, what could be inflated before the damage), and False
    when `size` stopped it before the end."""
    from nexpay_scan.decoders.inflate import inflater

    zlib = inflater()

    out: list[bytes] = []
    left = size
    while is_gzip(data):
        if left <= 0:
            return b"".join(out), False
        inflating = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = inflating.decompress(data, left)
        except zlib.error:
            break
        out.append(chunk)
        left -= len(chunk)
        if not inflating.eof:  # input left over: the cap stopped it; none: truncated
            return b"".join(out), not inflating.unconsumed_tail
        data = inflating.unused_data
    return b"".join(out), True


def _member(
    label: str,
    name: str | None,
    content: bytes,
    data: bytes | None = None,
    at: int | None = None,
    start: int = 0,
) -> Unwrapped:
    """A member's content (or a piece of it, `start` bytes into it); when the member is
    stored as is from `at` on in the archive's bytes `data` (and they say so), placed byte
    for byte: a key in it is the one a plain scan of `data` finds, on the same line, and
    is reported once, not twice (the second time on the archive's first line)."""
    if data is not None and at is not None:
        at += start
        if data.startswith(content, at):
            return Unwrapped(label, content, Span(0, at, "stored"), name)
    return Unwrapped(label, content, Span(0, 0, "whole"), name)


def _opened(open_: Callable[[], _T]) -> _T | None:
    """What `open_` returns, or None when hostile bytes make it fail; archives fail in many
    ways (BadZipFile, ReadError, zlib.error, EOFError, struct.error, NotImplementedError,
    UnicodeDecodeError...) and none of them may stop a scan."""
    try:
        return open_()
    except Exception:
        return None


ZIP = Decoder("zip", sniff=is_zip, unwrap=zip_members)
ZIP_BEHIND = Decoder("zip", sniff=is_zip_behind, unwrap=zip_members)
GZIP = Decoder("gzip", sniff=is_gzip, unwrap=gzip_contents)
TAR = Decoder("tar", sniff=is_tar, unwrap=tar_members)
