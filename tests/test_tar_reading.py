"""Tar archives read as GNU tar reads them: past a header that is not one, and past the
end-of-archive blocks of one tar into the next."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from testing.cli import CliRun
from testing.keys import secret


def _tar(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _members(number: int) -> dict[str, bytes]:
    """Three members, the key gzipped in the last (nowhere in the tar's bytes as it is)."""
    key = gzip.compress(f"NEXPAY_SECRET={secret(number)}\n".encode(), mtime=0)
    return {"a.txt": b"nothing here\n", "b.txt": b"nor here\n", "app/.env.gz": key}


def _broken_header(data: bytes, member: int) -> bytes:
    """`data` with the checksum of its `member`-th header (from 0) wrong: GNU tar says
    "Skipping to next header" and extracts the members after it."""
    damaged = bytearray(data)
    at = 0
    for _ in range(member):
        size = int(damaged[at + 124 : at + 135].decode(), 8)
        at += 512 + (size + 511) // 512 * 512
    damaged[at + 148 : at + 156] = b"0000000\0"
    return bytes(damaged)


@pytest.mark.parametrize(
    "damage", ["first header", "second header", "a tar after another", "gzip, second header"]
)
def test_a_damaged_header_or_an_end_hides_no_member_after_it(
    cli: CliRun, tmp_path: Path, damage: str
) -> None:
    members = _members(31)
    if damage == "first header":
        data = _broken_header(_tar(members), 0)
    elif damage == "second header":
        data = _broken_header(_tar(members), 1)
    elif damage == "a tar after another":
        data = _tar({"README": b"see the other archive\n"}) + _tar(members)
    else:
        data = gzip.compress(_broken_header(_tar(members), 1), mtime=0)
    assert secret(31).encode() not in data
    (tmp_path / "bundle.tar").write_bytes(data)
    run = cli("files", str(tmp_path), "--format", "json", "--no-redact")
    assert run.code == 1, run.err
    assert [f["match"] for f in run.json()["findings"]] == [secret(31)]
