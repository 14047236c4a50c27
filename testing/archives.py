"""Archives built in memory, for keys that leak inside a zip or a tarball."""

from __future__ import annotations

import io
import tarfile
import zipfile
from typing import Any, Literal


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive holding `members` (name -> content), compressed with `method`, each
    dated 2020-01-01: the same bytes whenever it is made (a time of day in a header can
    hold a line break, which moves every line a test counts in the archive)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, content in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=_DATED), content, method)
    return buffer.getvalue()


_DATED = (2020, 1, 1, 0, 0, 0)


def with_method(archive: bytes, method: int) -> bytes:
    """`archive` with each member's compression method set to `method`,
    in its local and central headers: one no reader here unpacks (zipfile writes none of
    zstd's, 93, or PPMd's, 98)."""
    data = bytearray(archive)
    for magic, field in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = data.find(magic)
        while at >= 0:
            data[at + field : at + field + 2] = method.to_bytes(2, "little")
            at = data.find(magic, at + 4)
    return bytes(data)


def tar_of(
    members: dict[str, bytes], mode: Literal["w", "w:gz", "w:bz2", "w:xz"] = "w:gz"
) -> bytes:
    """A tar archive holding `members`, gzipped unless `mode` is "w" (or "w:bz2", "w:xz")."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


class Unseekable(io.RawIOBase):
    """Where zipfile writes as to a pipe: each member's sizes in a data descriptor after
    its bytes, as `jar` and streaming zip tools write them (`written`)."""

    def __init__(self) -> None:
        self.written = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.written += data
        return len(data)


def seven_zip(
    members: dict[str, bytes], filters: list[dict[str, Any]] | None = None, **options: Any
) -> bytes:
    """A 7z archive holding `members` (in order, in one solid folder), packed with `filters`
    (py7zr's; its LZMA2 if None); `options`: py7zr's (`password`, `header_encryption`)."""
    import py7zr

    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w", filters=filters, **options) as archive:
        for name, content in members.items():
            archive.writestr(content, name)
    return buffer.getvalue()


def seven_zip_folders(members: dict[str, bytes]) -> bytes:
    """A 7z archive, written here, with each member in a folder of its own, stored as it
    is (the copy coder), and its header not packed: what py7zr does not write (one folder
    a member, thousands of them)."""

    def number(value: int) -> bytes:  # 7z's NUMBER: the first byte says how many follow
        for extra in range(9):
            if extra == 8 or value < 1 << (7 * extra + 7):
                first = (0xFF << (8 - extra)) & 0xFF | (value >> (8 * extra) if extra < 8 else 0)
                return bytes([first]) + (value & ((1 << (8 * extra)) - 1)).to_bytes(extra, "little")
        raise AssertionError

    count = number(len(members))
    sizes = b"".join(number(len(content)) for content in members.values())
    names = b"".join(name.encode("utf-16-le") + b"\0\0" for name in members)
    header = b"".join(
        [
            b"\x01\x04\x06",  # header, main streams, pack info
            number(0) + count + b"\x09" + sizes + b"\x00",
            b"\x07\x0b" + count + b"\x00" + b"\x01\x01\x00" * len(members),  # folders: copy
            b"\x0c" + sizes + b"\x00",  # each folder's size
            b"\x00",  # end of the streams
            b"\x05" + count + b"\x11" + number(len(names) + 1) + b"\x00" + names,  # names
            b"\x00\x00",
        ]
    )
    packed = b"".join(members.values())
    import zlib

    tail = len(packed).to_bytes(8, "little") + len(header).to_bytes(8, "little")
    tail += zlib.crc32(header).to_bytes(4, "little")
    start = b"\x00\x04" + zlib.crc32(tail).to_bytes(4, "little") + tail
    return b"7z\xbc\xaf'\x1c" + start + packed + header
