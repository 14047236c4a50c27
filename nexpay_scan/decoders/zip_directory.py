"""A zip archive's members read without `zipfile`, in the plain case: one directory at the
end (zip64 or not), members deflated or stored whole in a few MiB.
That is nearly every wheel, jar and zip in a tree. `zipfile` took 8-13 ms to import in each
process that met an archive, and 15 ms of its own for pip's wheel's 507 members, beside 21
ms of inflating them (the bench's tree holds two such wheels: a third of the CPU of its
whole scan went to them).

The directory is read as `zipfile` reads it (Python 3.10 to 3.13 alike), past whatever is
before the archive, its zip64 records and fields included; an archive laid out any other
way (an archive on several disks, a UTF-8 name field `zipfile` reads, a name it cannot
decode, a directory cut short) is left to `zipfile` whole (`entries` answers None). A
member that does not inflate to its size, or is too big to hold at once, is read through
`zipfile` (`MemberReader.open`). A CRC that does not match, or a local header naming
another file, keeps no member from the scan (`unzip` warns and extracts it); members the
directory does not list are found by their local headers (`unlisted`), and a listed
member whose local header says otherwise than the directory is read again as the local
header says (`read_on`): Java's `ZipInputStream` goes by the local headers."""

from __future__ import annotations

import io
import os

from nexpay_scan.decoders.inflate import inflater

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    import zipfile
    from collections.abc import Sequence
    from typing import IO, TypeVar

    _S = TypeVar("_S")

_ZIP64_LOCATOR = b"PK\x06\x07"  # just before the end record of a zip64 archive
_ZIP64_LOCATOR_SIZE = 20
_ZIP64_END = b"PK\x06\x06"  # the zip64 end record, just before the locator
_ZIP64_END_SIZE = 56
_CENTRAL = b"PK\x01\x02"
_CENTRAL_SIZE = 46
_LOCAL = b"PK\x03\x04"
_LOCAL_SIZE = 30
_MAX_EXTRACT_VERSION = 63  # (zipfile refuses the whole archive past it)
_UTF8_NAME = 1 << 11
_PATCHED, _STRONG_ENCRYPTION = 1 << 5, 1 << 6  # (zipfile will not open such members)
_DESCRIPTOR = 1 << 3  # the sizes and CRC follow the member's bytes
_ENCRYPTED = 1
_DESCRIPTOR_SIGNATURE = b"PK\x07\x08"  # (that may start a data descriptor)
_STORED, _DEFLATED = 0, 8
# the methods zip tools write (those not read are named: see `archives._readable`)
_KNOWN_METHODS = frozenset({0, 1, 6, 8, 9, 12, 14, 93, 95, 98, 99})
# extra fields that change what zipfile reads: zip64 sizes and offsets, and (from 3.12)
# a UTF-8 name
_ZIP64_FIELD, _UTF8_NAME_FIELD = 0x0001, 0x7075
_FULL = 0xFFFFFFFF  # a 32-bit field that says "see the zip64 extra field"
# a member inflated at once up to this size; a bigger one through zipfile, in pieces
HELD_AT_ONCE = 2 * 1024 * 1024
_STEP_IN = 64 * 1024  # compressed bytes given to zlib at a time (see `_inflated`)


class Entry:
    """One member as the central directory gives it, under the names `zipfile.ZipInfo`
    uses for the same fields."""

    __slots__ = (
        "CRC",
        "compress_size",
        "compress_type",
        "file_size",
        "filename",
        "flag_bits",
        "header_offset",
        "orig_filename",
    )

    def __init__(self, fields: tuple[int, ...], orig_filename: str, header_offset: int) -> None:
        self.flag_bits, self.compress_type = fields[0], fields[1]
        self.CRC, self.compress_size, self.file_size = fields[2], fields[3], fields[4]
        self.orig_filename = orig_filename
        null = orig_filename.find("\0")  # (as ZipInfo cuts and turns it)
        name = orig_filename if null < 0 else orig_filename[:null]
        self.filename = name.replace(os.sep, "/") if os.sep != "/" else name
        self.header_offset = header_offset


def entries(data: bytes) -> list[Entry] | None:
    """The members of the zip archive `data`, as `zipfile.ZipFile.infolist` gives them;
    None when the archive is not laid out in the plain way (see the module's docstring)
    or is damaged: `zipfile` decides then."""
    end = _end_record(data)
    if end is None:
        return None
    number = int.from_bytes
    count_here, count, size, offset = (
        number(data[end + 8 : end + 10], "little"),
        number(data[end + 10 : end + 12], "little"),
        number(data[end + 12 : end + 16], "little"),
        number(data[end + 16 : end + 20], "little"),
    )
    # what is before the archive (a zipapp's `#!` line, a self-extracting program): every
    # offset is shifted by it, as zipfile shifts them
    before = end - size - offset
    locator = end - _ZIP64_LOCATOR_SIZE
    if locator >= 0 and data.startswith(_ZIP64_LOCATOR, locator):
        zip64 = _zip64_end(data, locator)
        if zip64 is None:
            return None
        count_here, count, size, offset = zip64
        before = locator - _ZIP64_END_SIZE - size - offset
    elif _FULL in (size, offset) or 0xFFFF in (count, count_here):
        return None  # the fields of a zip64 archive, without its records
    if before < 0:
        return None  # a directory that is not where the end record says
    found: list[Entry] = []
    at = offset + before
    stop = at + size  # (the end record, or the zip64 one)
    while at < stop:
        entry, at = _central_entry(data, at, stop, before)
        if entry is None:
            return None
        found.append(entry)
    return found if len(found) == count else None


def _zip64_end(data: bytes, locator: int) -> tuple[int, int, int, int] | None:
    """The zip64 end record's counts of members (on this disk, in all), the directory's
    size and its offset, read as zipfile reads them: from the record right before the
    locator at `locator` (zipfile assumes it there, whatever the locator says). None for
    an archive on several disks (zipfile refuses it) or no record there (zipfile then
    reads the end record alone: rare enough to leave to it)."""
    number = int.from_bytes
    disk, disks = (
        number(data[locator + 4 : locator + 8], "little"),
        number(data[locator + 16 : locator + 20], "little"),
    )
    at = locator - _ZIP64_END_SIZE
    if disk != 0 or disks > 1 or at < 0 or not data.startswith(_ZIP64_END, at):
        return None
    return (
        number(data[at + 24 : at + 32], "little"),
        number(data[at + 32 : at + 40], "little"),
        number(data[at + 40 : at + 48], "little"),
        number(data[at + 48 : at + 56], "little"),
    )


def _end_record(data: bytes) -> int | None:
    """Where the end of central directory record starts, found as zipfile finds it (see
    `archives.end_record_at`)."""
    from nexpay_scan.decoders.archives import end_record_at

    return end_record_at(data, 0, len(data), data.rfind)


def _central_entry(data: bytes, at: int, stop: int, before: int) -> tuple[Entry | None, int]:
    """The directory entry at `at` (None when it is not a plain one), and where the next
    starts; `before`: the bytes before the archive."""
    record = data[at : at + _CENTRAL_SIZE]
    if len(record) < _CENTRAL_SIZE or not record.startswith(_CENTRAL) or at + 46 > stop:
        return None, stop
    if record[6] > _MAX_EXTRACT_VERSION:
        return None, stop
    number = int.from_bytes
    name_size, extra_size = number(record[28:30], "little"), number(record[30:32], "little")
    comment_size = number(record[32:34], "little")
    fields = (
        number(record[8:10], "little"),  # flags
        number(record[10:12], "little"),  # method
        number(record[16:20], "little"),  # CRC
        number(record[20:24], "little"),  # compressed size
        number(record[24:28], "little"),  # size
    )
    name_at = at + _CENTRAL_SIZE
    following = name_at + name_size + extra_size + comment_size
    if following > stop:
        return None, stop
    # the sizes and the local header's offset, each past 4 GiB read from the zip64 field
    wide = [fields[4], fields[3], number(record[42:46], "little")]
    extra = data[name_at + name_size : name_at + name_size + extra_size]
    if not _plain_extras(extra, wide) or _FULL in wide:
        return None, stop
    name = data[name_at : name_at + name_size]
    try:
        decoded = name.decode("utf-8" if fields[0] & _UTF8_NAME else "cp437")
    except UnicodeDecodeError:
        return None, stop
    fields = (*fields[:3], wide[1], wide[0])
    return Entry(fields, decoded, wide[2] + before), following


def _plain_extras(extra: bytes, wide: list[int]) -> bool:
    """Whether the extra fields are well formed (zipfile refuses the archive otherwise)
    and hold no UTF-8 name (0x7075: zipfile reads it from 3.12 on) and one zip64 field
    (0x0001) at most. That field gives, in this order, each of `wide` (the size, the
    compressed size, the local header's offset) that is _FULL in the directory: `wide` is
    updated as zipfile updates a ZipInfo (and a field too short is refused)."""
    zip64 = False
    while len(extra) >= 4:
        kind, size = int.from_bytes(extra[:2], "little"), int.from_bytes(extra[2:4], "little")
        if size + 4 > len(extra) or kind == _UTF8_NAME_FIELD or (kind == _ZIP64_FIELD and zip64):
            return False
        if kind == _ZIP64_FIELD:
            zip64 = True
            given = extra[4 : size + 4]
            for place in range(3):
                if wide[place] == _FULL:
                    if len(given) < 8:
                        return False
                    wide[place] = int.from_bytes(given[:8], "little")
                    given = given[8:]
        extra = extra[size + 4 :]
    return True


class MemberReader:
    """Opens the members of one archive whose directory `entries` read: a plain member
    inflated whole at once, any other through `zipfile` (opened on first need)."""

    def __init__(self, data: bytes, listed: list[Entry]) -> None:
        self._data = data
        self._entries = listed
        self._archive: zipfile.ZipFile | None = None
        self._infos: list[zipfile.ZipInfo] = []

    def open(self, number: int) -> IO[bytes] | io.BytesIO:
        """A stream of member `number`'s bytes; raises what zipfile raises for it."""
        content = self._plain_content(self._entries[number])
        if content is not None:
            return io.BytesIO(content)
        return self._through_zipfile(number)

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()

    def _plain_content(self, entry: Entry) -> bytes | None:
        """The member's bytes when they are plainly there: a local header where the
        directory says, and bytes that inflate (or are stored) to its size. Else None:
        zipfile reads it. Neither a CRC that does not match nor a local header naming
        another file keeps its bytes from the scan (zipfile fails such a member, `unzip`
        warns and extracts it: a key in it is as leaked)."""
        if entry.file_size > HELD_AT_ONCE or entry.flag_bits & (_PATCHED | _STRONG_ENCRYPTION):
            return None
        start = data_start(self._data, entry.header_offset)
        if start is None or start + entry.compress_size > len(self._data):
            return None
        packed = self._data[start : start + entry.compress_size]
        zlib = inflater()
        if entry.compress_type == _STORED:
            content = packed if entry.compress_size == entry.file_size else None
        elif entry.compress_type == _DEFLATED:
            try:
                content = zlib.decompressobj(-15).decompress(packed, entry.file_size)
            except zlib.error:
                return None
        else:
            return None
        if content is None or len(content) != entry.file_size:
            return None
        return content

    def _through_zipfile(self, number: int) -> IO[bytes]:
        import zipfile

        if self._archive is None:
            self._archive = zipfile.ZipFile(io.BytesIO(self._data))
            self._infos = self._archive.infolist()
        info = self._infos[number] if number < len(self._infos) else None
        entry = self._entries[number]
        if info is None or (info.orig_filename, info.header_offset) != (
            entry.orig_filename,
            entry.header_offset,
        ):
            raise ValueError("zipfile reads this archive's directory otherwise")
        return without_crc_check(self._archive.open(info))


def data_start(data: bytes, offset: int) -> int | None:
    """Where a member's bytes start: past the local header at `offset`, its name and its
    extra field; None when no local header is there."""
    header = data[offset : offset + _LOCAL_SIZE]
    if len(header) < _LOCAL_SIZE or not header.startswith(_LOCAL):
        return None
    names = int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
    return offset + _LOCAL_SIZE + names


def without_crc_check(stream: _S) -> _S:
    """A `zipfile` member's stream that does not fail its last read on a CRC that does not
    match (the bytes were read all the same: a key in them is as leaked); any other
    stream as it is."""
    if hasattr(stream, "_expected_crc"):  # (ZipExtFile, Python 3.10 to 3.13)
        setattr(stream, "_expected_crc", None)  # noqa: B010 - a private attribute
    return stream


def by_local_header(data: bytes, offset: int, packed_size: int, size: int) -> Unlisted | None:
    """A listed member that `zipfile` will not open (its local header names another
    file, say), read from the local header at `offset` with the directory's sizes; None
    when no local header is there."""
    start = data_start(data, offset)
    if start is None:
        return None
    return Unlisted(data, offset, start, min(start + packed_size, len(data)), size)


# -- members the directory does not list --------------------------------------------------

# local headers looked at that the directory does not list, in one archive: as many as
# members looked at in all (`archives.LOOKED_AT_MOST`), which then bounds them with the
# listed ones (a thousand decoys before a key do not hide it: see `archives._zip_read`)
UNLISTED_MOST = 16_000


class Unlisted:
    """A member found by its local header alone: the directory leaves it out (rewritten to,
    or an archive put before another: zipfile reads the last directory only). Java's
    `ZipInputStream` and `zip -FF` read such members, so anyone holding the file can; the
    scan reads them too. Its bytes are inflated when it is opened (`open`), at most
    HELD_AT_ONCE of them; `file_size` is what its header says, or that bound when the
    header leaves the sizes to a descriptor after the data."""

    __slots__ = (
        "_data",
        "_packed_end",
        "_start",
        "compress_type",
        "file_size",
        "filename",
        "flag_bits",
        "header_offset",
    )

    def __init__(
        self, data: bytes, at: int, start: int, packed_end: int | None, size: int | None = None
    ) -> None:
        header = data[at : at + _LOCAL_SIZE]
        self._data = data
        self._start = start
        self._packed_end = packed_end  # None: up to the end of the data (a descriptor's)
        self.header_offset = at
        self.flag_bits = int.from_bytes(header[6:8], "little")
        self.compress_type = int.from_bytes(header[8:10], "little")
        if size is None:  # (its header's, unless the directory's is known)
            size = int.from_bytes(header[22:26], "little")
        self.file_size = size if packed_end is not None else HELD_AT_ONCE
        name = data[at + _LOCAL_SIZE : start - int.from_bytes(header[28:30], "little")]
        decoded = name.decode("utf-8" if self.flag_bits & _UTF8_NAME else "cp437", "replace")
        self.filename = decoded.split("\0", 1)[0]

    @property
    def packed_span(self) -> tuple[int, int]:
        """Where its bytes lie, as they are (compressed), in the archive: from past its
        local header to its end, or to the archive's end when a descriptor gives it."""
        return self._start, len(self._data) if self._packed_end is None else self._packed_end

    def open(self) -> io.BytesIO:
        """The member's bytes (what inflates before damage, for a deflated one)."""
        end = len(self._data) if self._packed_end is None else self._packed_end
        packed = memoryview(self._data)[self._start : end]
        most = min(self.file_size, HELD_AT_ONCE)
        if self.compress_type == _STORED:
            return io.BytesIO(bytes(packed[:most]))
        return io.BytesIO(_inflated(packed, most))


def _inflated(packed: memoryview, most: int) -> bytes:
    """The raw deflate stream at the start of `packed`, inflated to its end or to `most`
    bytes (what inflates before damage). Fed _STEP_IN bytes at a time: zlib keeps what
    follows the stream's end as a copy (`unused_data`), and a member without its size runs
    to the archive's end, so a thousand such members copied it a thousand times (13 MB
    and 8,000 members: 2.2 s)."""
    zlib = inflater()
    inflating = zlib.decompressobj(-15)
    parts: list[bytes] = []
    held = at = 0
    try:
        while held < most and not inflating.eof:
            tail = inflating.unconsumed_tail
            if not tail:
                if at >= len(packed):
                    break
                tail, at = packed[at : at + _STEP_IN], at + _STEP_IN
            part = inflating.decompress(tail, most - held)
            parts.append(part)
            held += len(part)
    except zlib.error:
        pass
    return b"".join(parts)


def unlisted(data: bytes, covered: list[tuple[int, int]]) -> tuple[list[Unlisted], bool]:
    """The members whose local headers lie outside `covered` (where each listed member's
    header and bytes are: see `covered_by`), UNLISTED_MOST at most, and whether more
    were left. A stored member's bytes, and a deflated one's when its header gives their
    size, are passed over: a zip stored inside is its member's, not the archive's."""
    from bisect import bisect_right

    starts = [start for start, _ in covered]
    found: list[Unlisted] = []
    looked = 0
    at = data.find(_LOCAL)
    while at >= 0 and looked < UNLISTED_MOST:
        inside = bisect_right(starts, at) - 1
        if inside >= 0 and at < covered[inside][1]:
            at = data.find(_LOCAL, covered[inside][1])
            continue
        looked += 1
        member = _local_member(data, at)
        following = at + 4
        if member is not None:
            found.append(member)
            if member._packed_end is not None:
                following = max(following, member._packed_end)
        at = data.find(_LOCAL, following)
    return found, at >= 0


def _local_member(data: bytes, at: int) -> Unlisted | None:
    """The member whose local header is at `at`; None for bytes that only start as one
    (no name, a method no zip tool writes, a name past the end)."""
    header = data[at : at + _LOCAL_SIZE]
    if len(header) < _LOCAL_SIZE or header[26:28] == b"\0\0":
        return None
    if int.from_bytes(header[8:10], "little") not in _KNOWN_METHODS:
        return None
    flags = int.from_bytes(header[6:8], "little")
    packed_size = int.from_bytes(header[18:22], "little")
    start = (
        at
        + _LOCAL_SIZE
        + int.from_bytes(header[26:28], "little")
        + int.from_bytes(header[28:30], "little")
    )
    if start > len(data):
        return None
    if flags & _DESCRIPTOR:  # sizes after the data: stored bytes cannot be told apart
        method = int.from_bytes(header[8:10], "little")
        return None if method == _STORED else Unlisted(data, at, start, None)
    return Unlisted(data, at, start, min(start + packed_size, len(data)))


def read_on(data: bytes, listed: Sequence[zipfile.ZipInfo | Entry]) -> list[Unlisted]:
    """The listed members that a reader going by local headers (Java's `ZipInputStream`,
    `jar xf`) reads otherwise than the directory says, each to be read again as it reads
    them: by the local header's method when the directory gives another (stored where the
    member is deflated showed its deflated bytes), as a file when the directory calls it a
    folder, unencrypted when the directory calls it encrypted (neither was read at all),
    and as many bytes as the local header gives when that is more, or to the end of the
    deflate stream when the local header leaves the sizes to a data descriptor and none
    follows where the directory's size ends. A directory claiming fewer bytes, another
    method, a folder or encryption hid the member's content (a key there went unseen in
    every mode). An honest archive has none: its local headers and descriptors say what its
    directory says."""
    found: list[Unlisted] = []
    number = int.from_bytes
    for info in listed[:UNLISTED_MOST]:  # (members past it are not read: see `unlisted`)
        at = info.header_offset
        start = data_start(data, at)
        if start is None:
            continue
        flags, method = (
            number(data[at + 6 : at + 8], "little"),
            number(data[at + 8 : at + 10], "little"),
        )
        if method not in (_STORED, _DEFLATED):
            continue
        name_size = number(data[at + 26 : at + 28], "little")
        # read otherwise: another method, or not as a folder, or not as encrypted
        read_otherwise = (
            method != info.compress_type
            or (info.filename.endswith("/") and not data.startswith(b"/", at + 29 + name_size))
            or bool(info.flag_bits & ~flags & _ENCRYPTED)
        )
        if not flags & _DESCRIPTOR:
            packed, size = (
                number(data[at + 18 : at + 22], "little"),
                number(data[at + 22 : at + 26], "little"),
            )
            if _FULL in (packed, size):  # (in its zip64 field: the directory's, then)
                packed, size = info.compress_size, info.file_size
            if read_otherwise or packed > info.compress_size or size > info.file_size:
                found.append(Unlisted(data, at, start, min(start + packed, len(data)), size))
        elif method == _DEFLATED:
            end = start + info.compress_size
            crc = info.CRC.to_bytes(4, "little")
            described = data.startswith((crc, _DESCRIPTOR_SIGNATURE + crc), end)
            if read_otherwise or (not described and end < len(data)):
                found.append(Unlisted(data, at, start, None))
    return found


def covered_by(data: bytes, members: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Where the listed members lie, sorted: from each one's local header (at the offset
    the directory gives, with its `compress_size`) to the end of its bytes, as many as the
    local header gives when that is fewer. A directory claiming more would hide the
    members after the real bytes, which a reader going by local headers (Java's
    `ZipInputStream`, `jar xf`) extracts. A local header that leaves the sizes to a data
    descriptor after the bytes covers no bytes: a member found in them is read too."""
    spans = []
    for offset, packed_size in members:
        start = data_start(data, offset)
        if start is None:
            spans.append((offset, offset + _LOCAL_SIZE + packed_size))
            continue
        flags = int.from_bytes(data[offset + 6 : offset + 8], "little")
        local = (
            0 if flags & _DESCRIPTOR else int.from_bytes(data[offset + 18 : offset + 22], "little")
        )
        spans.append((offset, start + (packed_size if local == _FULL else min(packed_size, local))))
    return sorted(spans)
