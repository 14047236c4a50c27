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
