"""Archives and compressed streams: zip, tar, gzip and tar.gz, told by their magic numbers,
members read through capped streams. The archive libraries are imported on first use: the
hook's start-up never pays for them."""

from __future__ import annotations

import io

from nexpay_scan.decoders.model import Budget, Decoder, Span, Unwrapped

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    import tarfile
    import zipfile
    from collections.abc import Callable
    from typing import IO, TypeVar

    _T = TypeVar("_T")

MIB = 1024 * 1024
MAX_MEMBERS = 1000  # archive members held in one archive (those that could hold a key)
# members looked at in one archive: those that can hold no key (see `Budget.given_back`)
# count only here, so that a thousand harmless ones do not hide a key after them
LOOKED_AT_MOST = 16 * MAX_MEMBERS
MAX_MEMBER_SIZE = MIB  # bytes read from one archive member or one gzip stream
MAX_TAR_STREAM = 8 * MIB  # bytes of a gzip-compressed tar inflated to reach its members
_STEP_IN = 64 * 1024  # compressed bytes handed to zlib at a time (see `_Inflating`)
_STEP_OUT = 256 * 1024  # bytes inflated at a time
_ZIP_MAGIC = b"PK\x03\x04"
_GZIP_MAGIC = b"\x1f\x8b"
# zip compression methods zipfile cannot read in bounded steps, or at all
_METHODS = {12: "bzip2", 14: "lzma", 93: "zstd", 95: "xz", 98: "ppmd", 99: "AES"}
_MANY_MEMBERS = (
    f"more than {MAX_MEMBERS} members that could hold a key (or {LOOKED_AT_MOST} in all): "
    "those past them not read"
)


def is_zip(data: bytes) -> bool:
    """True when `data` starts as a zip archive does."""
    return data.startswith(_ZIP_MAGIC)


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
    """The zip's members that can be read in bounded steps, each up to MAX_MEMBER_SIZE."""
    import zipfile
    from functools import partial  # (not on the hook's path unless it meets an archive)

    found: list[Unwrapped] = []
    archive = _opened(partial(zipfile.ZipFile, io.BytesIO(data)))
    if archive is None:
        return found
    with archive:
        members = archive.infolist()
        for number, info in enumerate(members):
            if len(found) == MAX_MEMBERS or number == LOOKED_AT_MOST:
                budget.skip(f"{prefix}zip", _MANY_MEMBERS)
                break
            label = f"zip:{info.filename}"
            if not _readable(info, budget, prefix + label):
                continue
            size = budget.read_size(prefix + label, info.file_size, MAX_MEMBER_SIZE)
            if size <= 0:
                break
            # charged before reading: a member that fails its CRC at the end cost as much
            charged = min(info.file_size, size)
            budget.spend(charged)
            content = _read(partial(archive.open, info), size)
            if content and not budget.given_back(content, charged):
                found.append(_member(label, info.filename, content))
    return found


def _readable(info: zipfile.ZipInfo, budget: Budget, where: str) -> bool:
    """False for folders, encrypted members, and methods that cannot be read in bounded
    steps: zipfile inflates a bzip2 or lzma chunk whole, and a small chunk can be a bomb.
    A member with content that is not read is noted as a skip."""
    import zipfile

    # a member with no name at all is no folder (`is_dir` fails on it: IndexError)
    if info.filename.endswith("/"):
        return False
    if info.flag_bits & 0x1:
        budget.skip(where, "encrypted archive member: not decoded")
        return False
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        method = _METHODS.get(info.compress_type, f"method {info.compress_type}")
        budget.skip(where, f"archive member compressed with {method}: not decoded")
        return False
    return True


def tar_members(data: bytes, budget: Budget, prefix: str) -> list[Unwrapped]:
    """The tar's regular files, each up to MAX_MEMBER_SIZE."""
    import tarfile
    from functools import partial

    archive = _opened(partial(tarfile.open, fileobj=io.BytesIO(data), mode="r:"))
    return [] if archive is None else _tar_read(archive, budget, prefix, "tar")


def _tar_read(
    archive: tarfile.TarFile,
    budget: Budget,
    prefix: str,
    label: str,
    given_back: Callable[[int], None] = lambda size: None,
) -> list[Unwrapped]:
    """The regular files of an opened tar (read in order: a stream's too), each up to
    MAX_MEMBER_SIZE; `given_back` is told the size of each that the budget took back."""
    from functools import partial

    found: list[Unwrapped] = []
    with archive:
        for number in range(LOOKED_AT_MOST + 1):
            info = _opened(archive.next)
            if info is None:
                break
            if len(found) == MAX_MEMBERS or number == LOOKED_AT_MOST:
                budget.skip(prefix + label, _MANY_MEMBERS)
                break
            if not info.isfile():
                continue
            name = f"{label}:{info.name}"
            size = budget.read_size(prefix + name, info.size, MAX_MEMBER_SIZE)
            if size <= 0:
                break
            content = _read(partial(archive.extractfile, info), size)
            if content:
                budget.spend(len(content))
                if budget.given_back(content, len(content)):
                    given_back(len(content))
                else:
                    found.append(_member(name, info.name, content))
    return found


def gzip_contents(data: bytes, budget: Budget, prefix: str) -> list[Unwrapped]:
    """A gzip stream's content, or the members of the tar inside it (see `_tar_in_gzip`)."""
    if is_tar(_gunzip(data, 512)[0]):
        return _tar_in_gzip(data, budget, prefix)
    cap = min(MAX_MEMBER_SIZE, budget.remaining)
    content, complete = _gunzip(data, cap)
    if not complete:
        budget.cut(f"{prefix}gzip", MAX_MEMBER_SIZE, cap)
    budget.spend(len(content))
    return [_member("gzip", None, content)] if content else []


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
    archive = _opened(partial(tarfile.open, fileobj=stream, mode="r|"))
    if archive is None:
        return []
    found = _tar_read(archive, budget, prefix, "gzip>tar", stream.extend)
    if stream.stopped:
        budget.cut(f"{prefix}gzip>tar", MAX_TAR_STREAM, first)
    return found


class _Inflating(io.RawIOBase):
    """The gzip members at the start of `data`, inflated as they are read (`read`, what
    `tarfile` asks of a stream), `allowed` bytes at most (`extend` adds to it), each
    charged to the budget; `stopped` when `allowed` ended it before the end. The input is
    fed _STEP_IN bytes at a time and inflated _STEP_OUT at a time (zlib hands back what is
    left of its input as a copy: all of it at each small read took the square of its size).
    Damage ends it quietly, as `_gunzip` does."""

    def __init__(self, data: bytes, allowed: int, budget: Budget) -> None:
        import zlib

        super().__init__()
        self._zlib = zlib
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
        self._budget.refund(size)

    def read(self, size: int = -1) -> bytes:
        left = self.allowed - self.read_so_far
        want = left if size < 0 else min(size, left)
        while len(self._buffer) < want and self._more():
            pass
        data = bytes(self._buffer[:want])
        del self._buffer[:want]
        self.read_so_far += len(data)
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
    import zlib

    out: list[bytes] = []
    left = size
    while is_gzip(data):
        if left <= 0:
            return b"".join(out), False
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = inflater.decompress(data, left)
        except zlib.error:
            break
        out.append(chunk)
        left -= len(chunk)
        if not inflater.eof:  # input left over: the cap stopped it; none: truncated
            return b"".join(out), not inflater.unconsumed_tail
        data = inflater.unused_data
    return b"".join(out), True


def _member(label: str, name: str | None, content: bytes) -> Unwrapped:
    return Unwrapped(label, content, Span(0, 0, "whole"), name)


def _opened(open_: Callable[[], _T]) -> _T | None:
    """What `open_` returns, or None when hostile bytes make it fail; archives fail in many
    ways (BadZipFile, ReadError, zlib.error, EOFError, struct.error, NotImplementedError,
    UnicodeDecodeError...) and none of them may stop a scan."""
    try:
        return open_()
    except Exception:
        return None


def _read(open_: Callable[[], IO[bytes] | None], size: int) -> bytes | None:
    """At most `size` bytes from the stream that `open_` opens; None when reading fails."""
    stream = _opened(open_)
    if stream is None:
        return None
    with stream:
        return _opened(lambda: stream.read(size))


ZIP = Decoder("zip", sniff=is_zip, unwrap=zip_members)
GZIP = Decoder("gzip", sniff=is_gzip, unwrap=gzip_contents)
TAR = Decoder("tar", sniff=is_tar, unwrap=tar_members)
