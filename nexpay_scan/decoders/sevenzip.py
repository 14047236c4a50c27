"""7z archives (`.7z`: a backup of a config folder, a release bundle), their members read as
a zip's and a tar's are: in bounded pieces, a bomb named and never held.

The format (7-Zip's `7zFormat.txt`): a start header of 32 bytes says where the archive's
header lies (after the packed data); that header, packed itself as a rule (an "encoded
header"), lists the packed streams, the folders that unpack them (each a chain of coders),
how each folder's output is cut into files, and the files' names. Read here: the chains
that liblzma's raw decoder runs (LZMA or LZMA2, after BCJ filters for x86, PowerPC, IA-64,
ARM, ARM Thumb and SPARC code, or a delta filter), deflate and bzip2 alone, and copy (a
member stored as it is is placed byte for byte, as a zip's). Named as not read, never
passed in silence: encryption (AES), PPMd, BCJ2 and any other coder, a dictionary over
XZ_MEMORY (liblzma's raw decoder takes no memory limit: the dictionary is checked before),
headers that cannot be read or are over _HEADER_MOST. A solid folder is one stream through
its files: reaching a member means unpacking those before it, MAX_TAR_STREAM bytes at most
(as a compressed tar's stream), the rest named. Imported when a 7z is met (`archives.SEVENZIP`
tells one), never on the hook's path for nothing.
"""

from __future__ import annotations

import io

from nexpay_scan.decoders import archives
from nexpay_scan.decoders.archives import MAX_MEMBERS
from nexpay_scan.decoders.model import BUDGET_SPENT, Budget, Unwrapped
from nexpay_scan.records import Record

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable

_START_HEADER = 32
_HEADER_MOST = 4 * archives.MIB  # an archive's header, unpacked (names: ~100,000 files)
_MOST = 1 << 20  # folders, coders' streams, files... an archive may declare
_ENCODED_MOST = 4  # headers packed within headers
_STEP = 256 * 1024  # bytes read at a time from a folder's stream, to pass a member's rest
# the header's property ids
(_END, _HEADER, _ARCHIVE_PROPERTIES, _ADDITIONAL_STREAMS, _MAIN_STREAMS, _FILES_INFO) = range(6)
(_PACK_INFO, _UNPACK_INFO, _SUBSTREAMS_INFO, _SIZE, _CRC, _FOLDER) = range(6, 12)
(_CODERS_UNPACK_SIZE, _NUM_UNPACK_STREAM, _EMPTY_STREAM) = range(12, 15)
_NAME, _ENCODED_HEADER = 0x11, 0x17
# coders: copy; those liblzma runs raw (the compressor last in a chain); deflate, bzip2
_COPY = b"\x00"
_LZMA, _LZMA2, _DELTA = b"\x03\x01\x01", b"\x21", b"\x03"
_BCJ = {
    b"\x03\x03\x01\x03": "FILTER_X86",
    b"\x03\x03\x02\x05": "FILTER_POWERPC",
    b"\x03\x03\x04\x01": "FILTER_IA64",
    b"\x03\x03\x05\x01": "FILTER_ARM",
    b"\x03\x03\x07\x01": "FILTER_ARMTHUMB",
    b"\x03\x03\x08\x05": "FILTER_SPARC",
}
_DEFLATE, _BZIP2 = b"\x04\x01\x08", b"\x04\x02\x02"
_NAMED = {
    b"\x06\xf1\x07\x01": "AES (encrypted)",
    b"\x03\x04\x01": "PPMd",
    b"\x03\x03\x01\x1b": "BCJ2",
    b"\x04\x01\x09": "deflate64",
    b"\x04\xf7\x11\x01": "zstd",
    b"\x04\xf7\x11\x02": "brotli",
    b"\x04\xf7\x11\x04": "lz4",
    b"\x0a": "ARM64",
}


class _Unreadable(Exception):
    """Why an archive's members, or a folder's, cannot be read (its message)."""


class _Coder(Record):
    method: bytes
    properties: bytes
    ins: int
    outs: int


class _Folder(Record):
    """Coders, and how their streams connect: `bonds` (a coder's input stream, the
    output stream that feeds it), the input streams that packed streams feed, and each
    output stream's size."""

    coders: list[_Coder]
    bonds: list[tuple[int, int]]
    packed: list[int]
    sizes: list[int]

    def size(self) -> int:
        """The folder's output: the one output stream no bond takes."""
        bound = {out for _, out in self.bonds}
        free = [n for n in range(len(self.sizes)) if n not in bound]
        if len(free) != 1:
            raise _Unreadable("its headers are damaged")
        return self.sizes[free[0]]


class _Streams(Record):
    """Where the packed streams start (after the start header) and their sizes; the
    folders; and the sizes of the files each folder's output is cut into."""

    pack_at: int
    pack_sizes: list[int]
    folders: list[_Folder]
    files: list[list[int]]


class _Bytes:
    """A cursor over header bytes; running past their end is damage."""

    def __init__(self, data: bytes, at: int = 0, end: int | None = None) -> None:
        self.data, self.at = data, at
        self.end = len(data) if end is None else end

    def byte(self) -> int:
        if self.at >= self.end:
            raise _Unreadable("its headers are cut short")
        self.at += 1
        return self.data[self.at - 1]

    def take(self, size: int) -> bytes:
        if self.at + size > self.end:
            raise _Unreadable("its headers are cut short")
        self.at += size
        return self.data[self.at - size : self.at]

    def number(self) -> int:
        """7z's NUMBER: the first byte's high bits say how many bytes follow."""
        first = self.byte()
        mask, value = 0x80, 0
        for shift in range(0, 64, 8):
            if not first & mask:
                return value | (first & (mask - 1)) << shift
            value |= self.byte() << shift
            mask >>= 1
        return value

    def count(self) -> int:
        number = self.number()
        if number > _MOST:
            raise _Unreadable("its headers declare too much")
        return number

    def bits(self, count: int) -> list[bool]:
        """A bit vector, first bit highest."""
        packed = self.take((count + 7) // 8)
        return [bool(packed[n >> 3] & (0x80 >> (n & 7))) for n in range(count)]

    def defined(self, count: int) -> list[bool]:
        """Which of `count` items are defined: all, or a bit vector."""
        return [True] * count if self.byte() else self.bits(count)


def sevenzip_members(data: bytes, budget: Budget, prefix: str) -> list[Unwrapped]:
    """The 7z archive's files, in pieces (see `archives._pieces`); what is not read, named."""
    where = f"{prefix}7z"
    try:
        streams, files = _archive(data)
    except _Unreadable as why:  # (named as the archive itself, as a RAR archive is)
        budget.skip(prefix.removesuffix(">"), f"a 7z archive: {why}: its members not decoded")
        return []
    if streams is None:
        return []
    found: list[Unwrapped] = []
    names = iter(name for name, streamed in files if streamed)
    packs = iter(streams.pack_sizes)
    start = _START_HEADER + streams.pack_at  # where the folder's packed streams start
    looked_at = 0
    for folder, sizes in zip(streams.folders, streams.files, strict=True):
        members = [(next(names, ""), size) for size in sizes]
        packed = [next(packs, None) for _ in folder.packed]
        if looked_at + len(members) > archives.LOOKED_AT_MOST:
            budget.skip(where, archives._MANY_MEMBERS)
            break
        if budget.remaining <= 0:
            budget.skip("", BUDGET_SPENT)
            break
        looked_at += len(members)
        end = start + sum(size or 0 for size in packed)
        try:
            packing = _packing(folder)  # (names a coder not read: BCJ2's four streams...)
            if None in packed or end > len(data):
                raise _Unreadable("cut short")
        except _Unreadable as why:
            for name, size in members:
                if size:
                    budget.skip(f"{where}:{name}", f"archive member {why}: not decoded")
            start = end
            continue
        found += _folder_members(data, start, end, packing, members, budget, where, found)
        start = end
    return found


def _folder_members(
    data: bytes,
    start: int,
    end: int,
    packing: archives._Packing | None,
    members: list[tuple[str, int]],
    budget: Budget,
    where: str,
    found: list[Unwrapped],
) -> list[Unwrapped]:
    """The members one folder's output is cut into, read from it in order: from `data`
    itself for a folder stored as it is (`packing` None), else as the folder unpacks."""
    if packing is None:
        stream: io.RawIOBase | io.BufferedIOBase = io.BytesIO(data[start:end])
        given_back: Callable[[int], None] = lambda size: None  # noqa: E731
        allowed = None
    else:
        allowed = min(archives.MAX_TAR_STREAM, budget.remaining // 2)
        unpacking = archives._Unpacking(data[start:end], allowed, budget, packing)
        stream, given_back = unpacking, unpacking.extend
    read: list[Unwrapped] = []
    at = start  # where a stored member starts in `data`
    for name, size in members:
        if not size:
            continue
        label = f"7z:{name}"
        member = _Member(stream, size)
        pieces = archives._pieces(member.opened, size, budget, f"{where}:{name}", given_back)
        if len(found) + len(read) >= MAX_MEMBERS:
            pieces = archives._past_the_cap(pieces, budget, where)
        stored = at if packing is None else None
        read += [archives._member(label, name, piece, data, stored, s) for s, piece in pieces]
        member.pass_rest()
        at += size
        if isinstance(stream, archives._Unpacking) and stream.stopped:
            budget.cut(where, archives.MAX_TAR_STREAM, allowed or 0)
            break
    if isinstance(stream, archives._Unpacking):
        archives._name_refused(stream, budget, where)
    return read


class _Member(io.RawIOBase):
    """One member's bytes, read from its folder's stream (`size` of them at most)."""

    def __init__(self, folder: io.RawIOBase | io.BufferedIOBase, size: int) -> None:
        super().__init__()
        self._folder, self._left = folder, size

    def opened(self) -> _Member:
        """Itself (what `archives._pieces` opens)."""
        return self

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = self._left if size < 0 else min(size, self._left)
        data = self._folder.read(want) if want else b""
        self._left -= len(data or b"")
        return data or b""

    def pass_rest(self) -> None:
        """Reads what is left of it (what `_pieces` did not read), to reach the next."""
        while self._left and self.read(_STEP):
            pass


# -- the headers ------------------------------------------------------------------------------


def _archive(data: bytes) -> tuple[_Streams | None, list[tuple[str, bool]]]:
    """The archive's streams and its files (each name, and whether it has content)."""
    if len(data) < _START_HEADER:
        raise _Unreadable("its headers are cut short")
    offset = int.from_bytes(data[12:20], "little")
    size = int.from_bytes(data[20:28], "little")
    if not size:  # (an empty archive)
        return None, []
    start = _START_HEADER + offset
    if size > _HEADER_MOST or start + size > len(data):
        raise _Unreadable("its header is cut short or too big")
    header = data[start : start + size]
    for _ in range(_ENCODED_MOST):
        cursor = _Bytes(header)
        kind = cursor.byte()
        if kind == _HEADER:
            return _header(cursor)
        if kind != _ENCODED_HEADER:
            raise _Unreadable("its headers are damaged")
        header = _unpacked_header(_streams(cursor), data)
    raise _Unreadable("its headers are damaged")


def _unpacked_header(streams: _Streams, data: bytes) -> bytes:
    """An encoded header unpacked (its first folder), _HEADER_MOST bytes at most."""
    if not streams.folders or len(streams.folders[0].packed) != 1 or not streams.pack_sizes:
        raise _Unreadable("its headers are damaged")
    folder = streams.folders[0]
    size = folder.size()
    if size > _HEADER_MOST:
        raise _Unreadable("its header is too big")
    start = _START_HEADER + streams.pack_at
    end = start + streams.pack_sizes[0]
    if end > len(data):
        raise _Unreadable("its header is cut short")
    packing = _packing(folder)
    if packing is None:
        return data[start : start + size]
    header = archives._Unpacking(data[start:end], size, None, packing).read(size)
    if len(header) < size:
        raise _Unreadable("its header is damaged")
    return header


def _header(cursor: _Bytes) -> tuple[_Streams | None, list[tuple[str, bool]]]:
    kind = cursor.byte()
    if kind == _ARCHIVE_PROPERTIES:
        while cursor.byte() != _END:
            cursor.take(cursor.number())
        kind = cursor.byte()
    if kind == _ADDITIONAL_STREAMS:
        _streams(cursor)
        kind = cursor.byte()
    streams = None
    if kind == _MAIN_STREAMS:
        streams = _streams(cursor)
        kind = cursor.byte()
    files: list[tuple[str, bool]] = []
    if kind == _FILES_INFO:
        files = _files(cursor)
        kind = cursor.byte()
    if kind != _END:
        raise _Unreadable("its headers are damaged")
    return streams, files


def _streams(cursor: _Bytes) -> _Streams:
    """A StreamsInfo: where the packed streams are, the folders, each one's files."""
    pack_at, pack_sizes, folders = 0, [], []
    folder_digests: list[bool] = []
    kind = cursor.byte()
    if kind == _PACK_INFO:
        pack_at = cursor.number()
        count = cursor.count()
        while (kind := cursor.byte()) != _END:
            if kind == _SIZE:
                pack_sizes = [cursor.number() for _ in range(count)]
            elif kind == _CRC:
                _digests(cursor, count)
            else:
                raise _Unreadable("its headers are damaged")
        kind = cursor.byte()
    if kind == _UNPACK_INFO:
        if cursor.byte() != _FOLDER:
            raise _Unreadable("its headers are damaged")
        count = cursor.count()
        if cursor.byte():
            raise _Unreadable("its folders are kept elsewhere")
        folders = [_folder(cursor) for _ in range(count)]
        if cursor.byte() != _CODERS_UNPACK_SIZE:
            raise _Unreadable("its headers are damaged")
        for folder in folders:
            folder.sizes.extend(cursor.number() for _ in range(sum(c.outs for c in folder.coders)))
        folder_digests = [False] * len(folders)
        while (kind := cursor.byte()) != _END:
            if kind != _CRC:
                raise _Unreadable("its headers are damaged")
            folder_digests = _digests(cursor, len(folders))
        kind = cursor.byte()
    files = [[folder.size()] for folder in folders]
    if kind == _SUBSTREAMS_INFO:
        files = _substreams(cursor, folders, folder_digests)
        kind = cursor.byte()
    if kind != _END:
        raise _Unreadable("its headers are damaged")
    return _Streams(pack_at, pack_sizes, folders, files)


def _substreams(cursor: _Bytes, folders: list[_Folder], digested: list[bool]) -> list[list[int]]:
    """How many files each folder's output is cut into, and their sizes."""
    counts = [1] * len(folders)
    kind = cursor.byte()
    if kind == _NUM_UNPACK_STREAM:
        counts = [cursor.count() for _ in folders]
        kind = cursor.byte()
    files: list[list[int]] = []
    for folder, count in zip(folders, counts, strict=True):
        if not count:
            files.append([])
            continue
        sizes = [cursor.number() for _ in range(count - 1)] if kind == _SIZE else []
        total = folder.size()
        if sum(sizes) > total or (len(sizes) < count - 1):
            raise _Unreadable("its headers are damaged")
        files.append([*sizes, total - sum(sizes)])
    if kind == _SIZE:
        kind = cursor.byte()
    while kind != _END:
        if kind != _CRC:
            raise _Unreadable("its headers are damaged")
        unknown = sum(c for c, d in zip(counts, digested, strict=True) if c != 1 or not d)
        _digests(cursor, unknown)
        kind = cursor.byte()
    return files


def _digests(cursor: _Bytes, count: int) -> list[bool]:
    """Passes over `count` CRCs (those defined); which were."""
    defined = cursor.defined(count)
    cursor.take(4 * sum(defined))
    return defined


def _folder(cursor: _Bytes) -> _Folder:
    coders = []
    for _ in range(cursor.count()):
        flags = cursor.byte()
        if flags & 0x80:
            raise _Unreadable("its headers are damaged")
        method = cursor.take(flags & 0x0F)
        ins, outs = (cursor.count(), cursor.count()) if flags & 0x10 else (1, 1)
        properties = cursor.take(cursor.count()) if flags & 0x20 else b""
        coders.append(_Coder(method, properties, ins, outs))
    ins = sum(c.ins for c in coders)
    outs = sum(c.outs for c in coders)
    if not outs or ins > _MOST or outs > _MOST:
        raise _Unreadable("its headers are damaged")
    bonds = [(cursor.number(), cursor.number()) for _ in range(outs - 1)]
    if ins - len(bonds) < 1:
        raise _Unreadable("its headers are damaged")
    if ins - len(bonds) == 1:
        bound = {taking for taking, _ in bonds}
        packed = [next((n for n in range(ins) if n not in bound), 0)]
    else:
        packed = [cursor.number() for _ in range(ins - len(bonds))]
    return _Folder(coders, bonds, packed, [])


def _files(cursor: _Bytes) -> list[tuple[str, bool]]:
    """Each file's name, and whether it has content (folders and empty files have none)."""
    count = cursor.count()
    empty = [False] * count
    names = [""] * count
    while (kind := cursor.number()) != _END:
        size = cursor.number()
        end = cursor.at + size
        if end > cursor.end:
            raise _Unreadable("its headers are cut short")
        if kind == _EMPTY_STREAM:
            empty = _Bytes(cursor.data, cursor.at, end).bits(count)
        elif kind == _NAME:
            if cursor.data[cursor.at : cursor.at + 1] != b"\0":
                raise _Unreadable("its names are kept elsewhere")
            text = cursor.data[cursor.at + 1 : end].decode("utf-16-le", "replace")
            names = (text.split("\0") + [""] * count)[:count]
        cursor.at = end
    return [(name, not blank) for name, blank in zip(names, empty, strict=True)]


# -- the coders -------------------------------------------------------------------------------


def _packing(folder: _Folder) -> archives._Packing | None:
    """What unpacks the folder (None: it is stored as it is); `_Unreadable` names a
    coder not read, or a dictionary over XZ_MEMORY."""
    chain = [c for c in _chain(folder) if c.method != _COPY]
    if not chain:
        return None
    methods = [c.method for c in chain]
    if methods == [_DEFLATE]:
        from functools import partial

        from nexpay_scan.decoders.inflate import inflater

        zlib = inflater()
        return archives._Packing("deflate", None, partial(zlib.decompressobj, -15), (zlib.error,))
    if methods == [_BZIP2]:
        return archives._bzip2_packing()
    return _lzma_packing(chain)


def _chain(folder: _Folder) -> list[_Coder]:
    """The folder's coders from the one that gives its output to the one the packed
    stream feeds: a chain of one stream in and one out each (what 7-Zip writes but for
    BCJ2); anything else is not read."""
    coders = folder.coders
    if any(c.ins != 1 or c.outs != 1 for c in coders) or len(folder.packed) != 1:
        named = [_NAMED.get(c.method) for c in coders]
        raise _Unreadable(f"compressed with {next((n for n in named if n), 'coders not read')}")
    feeding = dict(folder.bonds)  # a coder's input -> the coder whose output feeds it
    bound = set(feeding.values())
    at = next((n for n in range(len(coders)) if n not in bound), None)
    chain: list[_Coder] = []
    while at is not None and len(chain) <= len(coders):
        if not 0 <= at < len(coders):
            raise _Unreadable("packed in a damaged folder")
        chain.append(coders[at])
        at = feeding.get(at)
    if len(chain) != len(coders):
        raise _Unreadable("packed in a damaged folder")
    return chain


def _lzma_packing(chain: list[_Coder]) -> archives._Packing:
    import lzma
    from functools import partial

    filters: list[dict[str, int]] = []
    for coder in chain:
        if coder.method in _BCJ:
            filters.append({"id": getattr(lzma, _BCJ[coder.method])})
        elif coder.method == _DELTA and len(coder.properties) == 1:
            filters.append({"id": lzma.FILTER_DELTA, "dist": coder.properties[0] + 1})
        elif coder.method == _LZMA and len(coder.properties) == 5:
            filters.append(_lzma1(coder.properties))
        elif coder.method == _LZMA2 and len(coder.properties) == 1:
            filters.append({"id": lzma.FILTER_LZMA2, "dict_size": _lzma2_dictionary(coder)})
        else:
            raise _Unreadable(f"compressed with {_NAMED.get(coder.method, 'a coder not read')}")
    if filters[-1]["id"] not in (lzma.FILTER_LZMA1, lzma.FILTER_LZMA2) or any(
        f["id"] in (lzma.FILTER_LZMA1, lzma.FILTER_LZMA2) for f in filters[:-1]
    ):
        raise _Unreadable("compressed with coders not read")
    if filters[-1]["dict_size"] > archives.XZ_MEMORY:
        kind = "LZMA" if filters[-1]["id"] == lzma.FILTER_LZMA1 else "LZMA2"
        raise _Unreadable(
            f"compressed with {kind}, {archives._XZ_REFUSED.removesuffix(': not decoded')}"
        )
    try:
        lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters)
    except (lzma.LZMAError, ValueError) as error:  # (properties liblzma refuses)
        raise _Unreadable("compressed with damaged coder properties") from error
    opener = partial(lzma.LZMADecompressor, lzma.FORMAT_RAW, filters=filters)
    return archives._Packing("7z", None, opener, (lzma.LZMAError, EOFError))


def _lzma1(properties: bytes) -> dict[str, int]:
    import lzma

    byte, dictionary = properties[0], int.from_bytes(properties[1:5], "little")
    if byte >= 9 * 5 * 5:
        raise _Unreadable("compressed with damaged coder properties")
    lc, rest = byte % 9, byte // 9
    return {
        "id": lzma.FILTER_LZMA1,
        "lc": lc,
        "lp": rest % 5,
        "pb": rest // 5,
        "dict_size": dictionary,
    }


def _lzma2_dictionary(coder: _Coder) -> int:
    code = coder.properties[0]
    if code > 40:
        raise _Unreadable("compressed with damaged coder properties")
    return 0xFFFFFFFF if code == 40 else (2 | (code & 1)) << (code // 2 + 11)
