"""Archives and compressed streams: zip, tar, gzip, bzip2, xz and zstd (and a tar in any of
the streams), told by their magic numbers, members read through capped streams. The archive
libraries are imported on first use: the hook's start-up never pays for them."""

from __future__ import annotations

import io

from nexpay_scan.decoders.model import (
    BUDGET_SPENT,
    Budget,
    Decoder,
    Span,
    Unwrapped,
)
from nexpay_scan.records import Record

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    import tarfile
    import zipfile
    from collections.abc import Callable, Sequence
    from typing import IO, Any, TypeVar

    from nexpay_scan.decoders.zip_directory import Entry, Unlisted

    _T = TypeVar("_T")
    # what a member is read from: zipfile's and tarfile's streams, `_Unpacking`, or the
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
MAX_TAR_STREAM = 8 * MIB  # bytes of a compressed tar unpacked to reach its members
_STEP_IN = 64 * 1024  # compressed bytes handed to the decompressor at a time (`_Unpacking`)
_STEP_OUT = 256 * 1024  # bytes unpacked at a time
# A tar is read past a header that is not one (a bad checksum: GNU tar says "Skipping to
# next header" and extracts the members after it) and past its end-of-archive blocks (a
# tar after another: `tar -i` extracts it): a damaged header hid every member after it
_ON_PAST = {"ignore_zeros": True}
_ZIP_MAGIC = b"PK\x03\x04"
# the zip methods read, in bounded steps: stored and deflated members through zipfile or
# `zip_directory`; bzip2, lzma, zstd and xz ones here (`_packed_member`: zipfile unpacks a
# chunk of bzip2 or lzma whole, and a small chunk can be a bomb; it reads no zstd or xz)
_STORED, _DEFLATED, _BZIP2, _LZMA, _ZSTD, _XZ = 0, 8, 12, 14, 93, 95
END_MAGIC = b"PK\x05\x06"  # a zip's end of central directory record
_END_RECORD_SIZE = 22  # with no comment
# the end of an archive searched for its end record, as zipfile searches it: the record
# and 64 KiB before it (a comment's length field holds at most 0xFFFF)
ZIP_REACH = _END_RECORD_SIZE + (1 << 16)
_GZIP_MAGIC = b"\x1f\x8b"
# bzip2: "BZh", the block size (1-9), then a block's magic (pi) or, for an empty stream, the
# end's (sqrt(pi)); xz: its six bytes
_BZIP2_MAGIC = b"BZh"
_BZIP2_SIZES = tuple(b"%d" % size for size in range(1, 10))
_BZIP2_BLOCKS = (b"1AY&SY", b"\x17rE8P\x90")
_XZ_MAGIC = b"\xfd7zXZ\x00"
_ZSTD_MAGIC = b"(\xb5/\xfd"
_ZSTD_SKIPPABLE = b"*M\x18"  # a skippable frame's magic, after its first byte (0x50-0x5F)
_ZSTD_SKIPPABLE_FIRST = tuple(bytes([first]) for first in range(0x50, 0x60))
# an LZ4 frame's magic (`lz4` writes frames; its legacy format, `lz4 -l`, is not read). LZ4
# shares zstd's skippable frames: a stream that starts with one is told by the frame after
_LZ4_MAGIC = b'\x04"M\x18'
_SKIPPABLE = tuple(first + _ZSTD_SKIPPABLE for first in _ZSTD_SKIPPABLE_FIRST)
_SKIPPED_MOST = 8  # skippable frames passed over to tell a stream's kind
# archives no decoder here opens (RAR 4's and 5's): named, never passed as bytes
_UNREAD = {b"Rar!\x1a\x07\x00": "RAR", b"Rar!\x1a\x07\x01\x00": "RAR"}
_7Z_MAGIC = b"7z\xbc\xaf'\x1c"  # (read by `sevenzip`)
# a .lzma file (`lzma`, `xz --format=lzma`, the LZMA SDK): no magic number, a header of 13
# bytes told as liblzma tells it: the properties every tool writes (lc=3, lp=0, pb=2), a
# dictionary of 2^n or 2^n + 2^(n-1) bytes (64 KiB or more: every preset's), and a size
# unknown (all ones) or under 256 GiB
_LZMA_ALONE_PROPERTIES = b"]\x00\x00"
_LZMA_ALONE_UNKNOWN = b"\xff" * 8
_MAGIC_MOST = 8  # bytes that a further stream is told by, at most (see `_Packing.magic`)
_UNBOUNDED = 1 << 62  # the size of a compressed stream: known only once it is unpacked
# The memory an xz stream (or a zip's lzma member) may need to unpack: its header names its
# dictionary, up to 1.5 GiB, which liblzma then allocates. 16 MiB takes `xz -7` and less
# (`xz` writes -6 by default: 8 MiB); a stream that needs more is named, not unpacked.
XZ_MEMORY = 16 * MIB
_XZ_REFUSED = f"a dictionary over {XZ_MEMORY} bytes to unpack: not decoded"
# zstd's window is its memory as xz's dictionary is (a frame's header names it, up to 2 GiB
# by default; `zstd` writes 8 MiB at most up to level 19, 16 at -19 and over for big input)
_ZSTD_REFUSED = f"a window over {XZ_MEMORY} bytes to unpack: not decoded"
_NO_ZSTD = "a zstd stream, and the zstandard module is not installed: not decoded"
_NO_LZ4 = "an lz4 stream, and the lz4 module is not installed: not decoded"
# zip compression methods not read (in bounded steps, or at all)
_METHODS = {98: "ppmd", 99: "AES"}
_PACKED_METHODS = {_BZIP2: "bzip2", _LZMA: "lzma", _ZSTD: "zstd", _XZ: "xz"}
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


def is_bzip2(data: bytes) -> bool:
    """True when `data` starts as a bzip2 stream does (its header and first block's)."""
    return (
        data.startswith(_BZIP2_MAGIC) and data[3:4] in _BZIP2_SIZES and data[4:10] in _BZIP2_BLOCKS
    )


def is_xz(data: bytes) -> bool:
    """True when `data` starts as an xz stream does."""
    return data.startswith(_XZ_MAGIC)


def is_zstd(data: bytes) -> bool:
    """True when `data` starts as a zstd frame does, or as a skippable frame (magic
    0x184D2A50 to 0x184D2A5F: `zstd -d` passes over it to the frames after it) that no LZ4
    frame follows."""
    return data.startswith(_ZSTD_MAGIC) or (
        data.startswith(_SKIPPABLE) and not data.startswith(_LZ4_MAGIC, _past_skippable(data))
    )


def is_lzma_alone(data: bytes) -> bool:
    """True when `data` starts as a .lzma file's header does (see _LZMA_ALONE_PROPERTIES)."""
    if len(data) < 13 or not data.startswith(_LZMA_ALONE_PROPERTIES):
        return False
    dictionary = int.from_bytes(data[1:5], "little")
    low = dictionary & -dictionary  # (its lowest bit set)
    if dictionary not in (low, 3 * low) or dictionary < (1 << 16):
        return False
    return data[5:13] == _LZMA_ALONE_UNKNOWN or int.from_bytes(data[5:13], "little") < (1 << 38)


def is_lz4(data: bytes) -> bool:
    """True when `data` starts as an LZ4 frame does (`.lz4`), or as skippable frames
    before one."""
    return data.startswith(_LZ4_MAGIC, _past_skippable(data))


def _past_skippable(data: bytes) -> int:
    """Where the first frame that is not a skippable one starts (each gives its size after
    its magic), looking past _SKIPPED_MOST of them at most."""
    at = 0
    for _ in range(_SKIPPED_MOST):
        if not data.startswith(_SKIPPABLE, at) or len(data) < at + 8:
            break
        at += 8 + int.from_bytes(data[at + 4 : at + 8], "little")
    return at


def unread_kind(data: bytes) -> str | None:
    """The kind of archive (RAR) that `data` starts as, of those no decoder opens."""
    return next((kind for magic, kind in _UNREAD.items() if data.startswith(magic)), None)


def is_unread(data: bytes) -> bool:
    """True when `data` starts as an archive that is named, not opened (`unread_kind`)."""
    return unread_kind(data) is not None


def unread_archive(data: bytes, budget: Budget, prefix: str) -> list[Unwrapped]:
    """Names an archive no decoder opens, as a whole: its members are not read (a key in
    one would pass unseen). Nothing to scan comes of it."""
    kind = unread_kind(data)
    budget.skip(prefix.removesuffix(">"), f"a {kind} archive: its members not decoded")
    return []


def is_stream(data: bytes) -> bool:
    """True when `data` starts as a compressed stream the decoders unpack: gzip, bzip2,
    xz, zstd, lz4, lzma (.lzma)."""
    return (
        is_gzip(data)
        or is_bzip2(data)
        or is_xz(data)
        or is_zstd(data)
        or is_lz4(data)
        or is_lzma_alone(data)
    )


def is_7z(data: bytes) -> bool:
    """True when `data` starts as a 7z archive does."""
    return data.startswith(_7Z_MAGIC)


def sevenzip_members(data: bytes, budget: Budget, prefix: str) -> list[Unwrapped]:
    """A 7z archive's members (see `decoders.sevenzip`, imported only now: 2 ms)."""
    from nexpay_scan.decoders import sevenzip

    return sevenzip.sevenzip_members(data, budget, prefix)


def is_tar(data: bytes) -> bool:
    """True when `data` holds a tar header ("ustar" at byte 257)."""
    return data[257:262] == b"ustar"


def is_archive(data: bytes) -> bool:
    """True when `data` is a zip, a 7z, a compressed stream (`is_stream`), a tar, or an
    archive that is named but not opened (`unread_kind`)."""
    return (
        data.startswith(_ZIP_MAGIC)
        or is_7z(data)
        or is_stream(data)
        or data[257:262] == b"ustar"
        or is_unread(data)
    )


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
        if not _readable(info, data, budget, prefix + label):
            continue
        if budget.remaining <= 0:
            budget.skip("", BUDGET_SPENT)
            break
        opened = partial(_packed_member, data, info)
        if info.compress_type not in _PACKED_METHODS:
            opened = partial(open_, number)
        pieces = _pieces(opened, info.file_size, budget, prefix + label)
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


def _readable(info: _Member, data: bytes, budget: Budget, where: str) -> bool:
    """False for folders, encrypted members, methods not read (PPMd, AES, ...), a bzip2,
    lzma, zstd or xz member whose bytes are not where its local header should be (zipfile
    would unpack a chunk of it whole, or not read it: see `_packed_member`), and one that
    would need more memory than XZ_MEMORY or a module not installed. A member with content
    that is not read is noted as a skip."""
    # a member with no name at all is no folder (`is_dir` fails on it: IndexError)
    if info.filename.endswith("/"):
        return False
    if info.flag_bits & 0x1:
        budget.skip(where, "encrypted archive member: not decoded")
        return False
    method = info.compress_type
    if method in (_STORED, _DEFLATED):
        return True
    if method not in _PACKED_METHODS:
        named = _METHODS.get(method, f"method {method}")
        budget.skip(where, f"archive member compressed with {named}: not decoded")
        return False
    span = _packed_span(data, info)
    if span is None:
        budget.skip(where, f"archive member compressed with {_PACKED_METHODS[method]}: not found")
        return False
    dictionary = data[span[0] + 5 : span[0] + 9]  # (lzma: after its version and props' size)
    if method == _LZMA and int.from_bytes(dictionary, "little") > XZ_MEMORY:
        budget.skip(where, f"archive member compressed with lzma, {_XZ_REFUSED}")
        return False
    if method == _ZSTD and _zstd_packing() is None:
        budget.skip(where, f"archive member compressed with zstd: {_NO_ZSTD}")
        return False
    return True


def _packed_member(data: bytes, info: _Member) -> _Stream:
    """A bzip2, lzma, xz or zstd zip member, unpacked as it is read, _STEP_OUT bytes at a time (as
    `_pieces` reads any member: a bomb is bounded), from its bytes after its local header.
    A zip's lzma member starts with a header of its own (a version, then the length and
    bytes of its properties), then the raw stream (LZMA1), whose dictionary (its memory)
    is bounded as an xz stream's is."""
    span = _packed_span(data, info)
    if span is None:
        raise ValueError("no local header")
    packed = data[span[0] : span[1]]
    if info.compress_type == _BZIP2:
        return _Unpacking(packed, _UNBOUNDED, None, _bzip2_packing())
    if info.compress_type == _XZ:
        return _Unpacking(packed, _UNBOUNDED, None, _xz_packing())
    if info.compress_type == _ZSTD:
        zstd = _zstd_packing()
        if zstd is None:  # (named by `_readable`)
            raise ValueError(_NO_ZSTD)
        return _Unpacking(packed, _UNBOUNDED, None, zstd)
    import lzma
    from functools import partial

    size = int.from_bytes(packed[2:4], "little")
    properties = packed[4 : 4 + size]
    decoded = lzma._decode_filter_properties(lzma.FILTER_LZMA1, properties)  # type: ignore[attr-defined]
    if decoded.get("dict_size", 0) > XZ_MEMORY:  # (named by `_readable`)
        raise ValueError("a dictionary over the bound")
    raw = partial(lzma.LZMADecompressor, lzma.FORMAT_RAW, filters=[decoded])
    packing = _Packing("lzma", None, raw, (lzma.LZMAError, EOFError))
    return _Unpacking(packed[4 + size :], _UNBOUNDED, None, packing)


def _packed_span(data: bytes, info: _Member) -> tuple[int, int] | None:
    """Where a zip member's bytes lie as they are (compressed), past its local header:
    None when no local header is where `info` says, or they run past the archive's end.
    (A member found by its local header alone knows where its bytes lie.)"""
    from nexpay_scan.decoders.zip_directory import Unlisted, data_start

    if isinstance(info, Unlisted):
        return info.packed_span
    start = data_start(data, info.header_offset)
    if start is None or start + info.compress_size > len(data):
        return None
    return start, start + info.compress_size


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
    if isinstance(stream, _Unpacking):
        _name_refused(stream, budget, where)
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
    """A gzip stream's content, or the members of the tar inside it."""
    return _stream_contents(data, budget, prefix, _gzip_packing())


def bzip2_contents(data: bytes, budget: Budget, prefix: str) -> list[Unwrapped]:
    """A bzip2 stream's content (`.bz2`), or the members of the tar inside it."""
    return _stream_contents(data, budget, prefix, _bzip2_packing())


def lzma_contents(data: bytes, budget: Budget, prefix: str) -> list[Unwrapped]:
    """A .lzma file's content, or the members of the tar inside it (`.tar.lzma`)."""
    return _stream_contents(data, budget, prefix, _lzma_alone_packing())


def xz_contents(data: bytes, budget: Budget, prefix: str) -> list[Unwrapped]:
    """An xz stream's content (`.xz`), or the members of the tar inside it."""
    return _stream_contents(data, budget, prefix, _xz_packing())


def zstd_contents(data: bytes, budget: Budget, prefix: str) -> list[Unwrapped]:
    """A zstd stream's content (`.zst`), or the members of the tar inside it; named where
    the zstandard module is not installed."""
    packing = _zstd_packing()
    if packing is None:
        budget.skip(f"{prefix}zstd", _NO_ZSTD)
        return []
    return _stream_contents(data, budget, prefix, packing)


def lz4_contents(data: bytes, budget: Budget, prefix: str) -> list[Unwrapped]:
    """An LZ4 stream's frames' content (`.lz4`), or the members of the tar inside it;
    named where the lz4 module is not installed."""
    packing = _lz4_packing()
    if packing is None:
        budget.skip(f"{prefix}lz4", _NO_LZ4)
        return []
    return _stream_contents(data, budget, prefix, packing)


def _stream_contents(
    data: bytes, budget: Budget, prefix: str, packing: _Packing
) -> list[Unwrapped]:
    """A compressed stream's content in pieces (see `_pieces`), or the members of the tar
    inside it (see `_tar_in_stream`)."""
    if is_tar(_Unpacking(data, 512, None, packing).read(512)):
        return _tar_in_stream(data, budget, prefix, packing)
    stream = _Unpacking(data, _UNBOUNDED, None, packing)
    pieces = _pieces(lambda: stream, _UNBOUNDED, budget, f"{prefix}{packing.name}")
    return [_member(packing.name, None, piece) for _, piece in pieces]


def _name_refused(stream: _Unpacking, budget: Budget, where: str) -> None:
    """Names a stream that its decompressor refused to unpack (an xz dictionary or a zstd
    window over XZ_MEMORY), rather than passing over it as damage."""
    if stream.refused is not None:
        budget.skip(where, stream.refused)


def _tar_in_stream(data: bytes, budget: Budget, prefix: str, packing: _Packing) -> list[Unwrapped]:
    """The members of the tar inside a compressed stream, read as the stream is unpacked
    (it is never held whole). The stream may take half of what the budget has left, and at
    most MAX_TAR_STREAM (its members, read from it, are charged too); what members the
    budget takes back (they can hold no key) the stream may read again: six harmless MiB
    before a key stopped it there."""
    import tarfile
    from functools import partial

    first = min(MAX_TAR_STREAM, budget.remaining // 2)
    stream = _Unpacking(data, first, budget, packing)
    archive = _opened(partial(tarfile.open, fileobj=stream, mode="r|", **_ON_PAST))
    if archive is None:
        return []
    label = f"{packing.name}>tar"
    found = _tar_read(archive, budget, prefix, label, None, stream.extend)
    _name_refused(stream, budget, f"{prefix}{packing.name}")
    if stream.stopped:
        budget.cut(f"{prefix}{label}", MAX_TAR_STREAM, first)
    return found


class _Packing(Record):
    """A compressed stream's format: its name, what a further stream after it starts with
    (None: no further stream is read), what makes a decompressor of it (its `decompress`
    takes a bound on what one call gives; it has `eof` and `unused_data`), and what that
    raises on damage. Or, for a format whose decompressor takes no such bound (zstd's),
    `reader`: what reads the whole input as a stream, a bounded `read` at a time."""

    name: str
    magic: bytes | tuple[bytes, ...] | None
    opener: Callable[[], Any] | None
    errors: tuple[type[Exception], ...]
    # of those errors, the one that is a refusal, not damage (see `_name_refused`)
    refusal: tuple[type[Exception], str, str] | None = None
    reader: Callable[[bytes], Any] | None = None


def _gzip_packing() -> _Packing:
    from functools import partial

    from nexpay_scan.decoders.inflate import inflater

    zlib = inflater()
    return _Packing(
        "gzip", _GZIP_MAGIC, partial(zlib.decompressobj, 16 + zlib.MAX_WBITS), (zlib.error,)
    )


def _bzip2_packing() -> _Packing:
    import bz2

    return _Packing("bzip2", _BZIP2_MAGIC, bz2.BZ2Decompressor, (OSError, EOFError, ValueError))


def _xz_packing() -> _Packing:
    import lzma
    from functools import partial

    xz = partial(lzma.LZMADecompressor, lzma.FORMAT_XZ, memlimit=XZ_MEMORY)
    refusal = (lzma.LZMAError, "Memory usage limit", _XZ_REFUSED)
    return _Packing("xz", _XZ_MAGIC, xz, (lzma.LZMAError, EOFError), refusal)


def _lzma_alone_packing() -> _Packing:
    """A .lzma file, its dictionary bounded as an xz stream's is."""
    import lzma
    from functools import partial

    alone = partial(lzma.LZMADecompressor, lzma.FORMAT_ALONE, memlimit=XZ_MEMORY)
    refusal = (lzma.LZMAError, "Memory usage limit", _XZ_REFUSED)
    return _Packing("lzma", None, alone, (lzma.LZMAError, EOFError), refusal)


def _zstd_packing() -> _Packing | None:
    """zstd, read through the zstandard module (its frames one after the other, the
    window bounded as an xz dictionary is); None where it is not installed."""
    try:
        import zstandard
    except ImportError:
        return None

    def reader(data: bytes) -> Any:
        # a decompressor each: two readers of one, read in turn, corrupt each other
        decompressor = zstandard.ZstdDecompressor(max_window_size=XZ_MEMORY)
        return decompressor.stream_reader(data, read_across_frames=True)

    refusal = (zstandard.ZstdError, "too much memory", _ZSTD_REFUSED)
    errors = (zstandard.ZstdError, ValueError, OSError)
    return _Packing("zstd", None, None, errors, refusal, reader)


def _lz4_packing() -> _Packing | None:
    """LZ4 frames, one after the other (a skippable frame is one to its decompressor);
    None where the lz4 module is not installed. A frame's blocks are 4 MiB at most: its
    decompressor holds no more than that, and no header can make it allocate more."""
    try:
        import lz4.frame
    except ImportError:
        return None
    magics = (_LZ4_MAGIC, *_SKIPPABLE)
    return _Packing("lz4", magics, lz4.frame.LZ4FrameDecompressor, (RuntimeError, EOFError))


class _Unpacking(io.RawIOBase):
    """The compressed streams (`packing`'s) at the start of `data`, one after the other,
    unpacked as they are read (`read`, what `tarfile` asks of a stream), `allowed` bytes at
    most (`extend` adds to it), each charged to the budget (if one is given: a plain
    stream's pieces are charged as `_pieces` reads them); `stopped` when `allowed` ended it
    before the end. The input is fed _STEP_IN bytes at a time and unpacked _STEP_OUT at a
    time (zlib hands back what is left of its input as a copy: all of it at each small read
    took the square of its size; bz2's and lzma's decompressors keep it, and say when they
    need more). Damage ends it quietly: what was unpacked before it is read."""

    def __init__(self, data: bytes, allowed: int, budget: Budget | None, packing: _Packing) -> None:
        super().__init__()
        self._packing = packing
        self._data = data
        self._at = 0  # input handed over so far
        self._tail = b""  # of it, what the decompressor has not taken yet
        self._unpacker = packing.opener() if packing.opener is not None else None
        self._reader = packing.reader(data) if packing.reader is not None else None
        self._buffer = bytearray()
        self._ended = False
        self._budget = budget
        self.allowed = allowed
        self.read_so_far = 0
        self.stopped = False
        self.refused: str | None = None  # why the decompressor would not go on, if it said

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
        """Unpacks the next piece into the buffer; False at the end (or on damage)."""
        if self._reader is not None:
            return self._read_more()
        while not self._ended:
            unpacker = self._unpacker
            assert unpacker is not None  # (a packing without a reader has an opener)
            # (zlib takes input each call; bz2 and lzma say when theirs is used up)
            wants = getattr(unpacker, "needs_input", True)
            if wants and not self._tail and self._at < len(self._data):
                self._tail = self._data[self._at : self._at + _STEP_IN]
                self._at += len(self._tail)
            try:
                out = unpacker.decompress(self._tail, _STEP_OUT)
            except self._packing.errors as error:
                self._ended = True
                self.refused = _refusal(self._packing, error)
                break
            self._tail = getattr(unpacker, "unconsumed_tail", b"")
            if unpacker.eof:  # a further stream follows, or the end (lz4's: None if none)
                self._next_stream(unpacker.unused_data or b"")
            elif not out and not self._tail and self._at >= len(self._data):
                # no input left, and none of what was given left to give: truncated (a
                # call bounded by _STEP_OUT gives something while output is pending)
                self._ended = True
            if out:
                self._buffer += out
                return True
        return False

    def _read_more(self) -> bool:
        """`_more` through the packing's reader: _STEP_OUT bytes at most a call."""
        if self._ended:
            return False
        try:
            out = self._reader.read(_STEP_OUT) if self._reader is not None else b""
        except self._packing.errors as error:
            out = b""
            self.refused = _refusal(self._packing, error)
        if not out:
            self._ended = True
            return False
        self._buffer += out
        return True

    def _next_stream(self, rest: bytes) -> None:
        """After a stream's end: a new decompressor for the next stream, when `rest` (and
        the input not yet handed over) starts as one; else the end."""
        magic = self._packing.magic
        ahead = rest + self._data[self._at : self._at + _MAGIC_MOST]
        if magic is None or not ahead.startswith(magic):
            self._ended = True
            return
        self._unpacker = self._packing.opener() if self._packing.opener is not None else None
        self._tail = rest


def _refusal(packing: _Packing, error: Exception) -> str | None:
    """What `error` says was refused (see `_Packing.refusal`), or None: damage."""
    if packing.refusal is None:
        return None
    kind, says, reason = packing.refusal
    return reason if isinstance(error, kind) and says in str(error) else None


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
BZIP2 = Decoder("bzip2", sniff=is_bzip2, unwrap=bzip2_contents)
XZ = Decoder("xz", sniff=is_xz, unwrap=xz_contents)
ZSTD = Decoder("zstd", sniff=is_zstd, unwrap=zstd_contents)
LZ4 = Decoder("lz4", sniff=is_lz4, unwrap=lz4_contents)
LZMA_ALONE = Decoder("lzma", sniff=is_lzma_alone, unwrap=lzma_contents)
SEVENZIP = Decoder("7z", sniff=is_7z, unwrap=sevenzip_members)
UNREAD = Decoder("unread", sniff=is_unread, unwrap=unread_archive)
TAR = Decoder("tar", sniff=is_tar, unwrap=tar_members)
