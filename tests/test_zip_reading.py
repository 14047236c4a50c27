"""Zip archives: a plain one is read without `zipfile` (`decoders/zip_directory.py`), any
other through it, member by member where only a member is odd. Whichever way, the user
sees the same findings, named by their member."""

from __future__ import annotations

import io
import json
import random
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexpay_scan.decoders import archives
from nexpay_scan.decoders.model import MAX_TOTAL, Budget, Unwrapped
from nexpay_scan.decoders.zip_directory import HELD_AT_ONCE, entries
from testing.archives import Unseekable
from testing.cli import CliRun, Result
from testing.git_repo import Repo
from testing.keys import secret


def env(number: int) -> bytes:
    return f"LOG_LEVEL=debug\nNEXPAY_SECRET={secret(number)}\n".encode()


def zipped(
    members: list[tuple[str, bytes, int]], comment: bytes = b"", *, zip64: bool = False
) -> bytes:
    """An archive of `members` as zipfile writes it; `zip64`: as it writes one past 4 GiB
    or 65,535 members (a zip64 end record, and each member's sizes and offset in a zip64
    extra field), small as it is."""
    buffer = io.BytesIO()
    limits = {
        "ZIP64_LIMIT": zipfile.ZIP64_LIMIT,
        "ZIP_FILECOUNT_LIMIT": zipfile.ZIP_FILECOUNT_LIMIT,
    }
    if zip64:
        vars(zipfile).update(dict.fromkeys(limits, 0))
    try:
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, content, method in members:
                archive.writestr(name, content, compress_type=method)
            archive.comment = comment
    finally:
        vars(zipfile).update(limits)
    return buffer.getvalue()


def with_unicode_path_field(name: str, content: bytes) -> bytes:
    """A member whose directory entry carries Info-ZIP's UTF-8 name field (0x7075), which
    zipfile reads from Python 3.12 on."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    encoded = name.encode()
    field = struct.pack("<BI", 1, zlib.crc32(encoded)) + encoded
    info.extra = struct.pack("<HH", 0x7075, len(field)) + field
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, content)
    return buffer.getvalue()


FILLER = b"".join(b"line %d of nothing in particular\n" % n for n in range(120_000))
ARCHIVES = {
    "deflated.zip": zipped([("app/.env", env(1), zipfile.ZIP_DEFLATED)]),
    "stored.zip": zipped([("app/.env", env(2), zipfile.ZIP_STORED)]),
    "commented.zip": zipped([("app/.env", env(3), zipfile.ZIP_DEFLATED)], b"built by hand"),
    "utf8-name.zip": zipped([("конфиг/.env", env(4), zipfile.ZIP_DEFLATED)]),
    "many.zip": zipped(
        [(f"pkg/m{n}.py", b"x = %d\n" % n, zipfile.ZIP_DEFLATED) for n in range(300)]
        + [("pkg/settings.py", env(5), zipfile.ZIP_DEFLATED)]
    ),
    # read through zipfile: a member too big to inflate at once, a name field zipfile
    # reads; an archive after another: the last one's directory, every offset shifted
    "big-member.zip": zipped([("data/dump.txt", FILLER + env(6), zipfile.ZIP_DEFLATED)]),
    "appended.zip": zipped([("README", b"see the other archive\n", zipfile.ZIP_STORED)])
    + zipped([("app/.env", env(7), zipfile.ZIP_DEFLATED)]),
    "unicode-path.zip": with_unicode_path_field("app/.env", env(8)),
    "zip64.zip": zipped(
        [("README", b"nothing here\n", zipfile.ZIP_STORED), ("app/.env", env(9), 8)], zip64=True
    ),
    # a zip64 archive behind a program, as Python's own tests hold one
    "zip64-behind.exe": b"MZ" + bytes(700) + zipped([("app/.env", env(10), 8)], zip64=True),
}
MEMBERS = {
    "deflated.zip": "app/.env",
    "stored.zip": "app/.env",
    "commented.zip": "app/.env",
    "utf8-name.zip": "конфиг/.env",
    "many.zip": "pkg/settings.py",
    "big-member.zip": "data/dump.txt",
    "appended.zip": "app/.env",
    "unicode-path.zip": "app/.env",
    "zip64.zip": "app/.env",
    "zip64-behind.exe": "app/.env",
}
KEYS = dict(zip(MEMBERS, range(1, 11), strict=True))


def test_the_archives_take_the_ways_they_are_meant_to() -> None:
    plain = {name for name, data in ARCHIVES.items() if entries(data) is not None}
    assert plain == {
        "deflated.zip",
        "stored.zip",
        "commented.zip",
        "utf8-name.zip",
        "many.zip",
        "big-member.zip",  # (its directory is plain, its member too big to hold at once)
        "appended.zip",  # (read past the archive before it, as zipfile reads it)
        "zip64.zip",
        "zip64-behind.exe",
    }
    for name in ("zip64.zip", "zip64-behind.exe"):  # (zip64 records, and fields in each)
        assert ARCHIVES[name].count(b"PK\x06\x06") == 1
        assert ARCHIVES[name].count(b"\xff\xff\xff\xff") >= 4
    assert len(FILLER) > HELD_AT_ONCE


def test_a_key_in_any_zip_is_found_and_names_its_member(cli: CliRun, tmp_path: Path) -> None:
    for name, data in ARCHIVES.items():
        (tmp_path / name).write_bytes(data)
    run = cli("files", str(tmp_path), "--format", "json", "--no-redact")
    assert run.code == 1, run.err
    found = {(f["file"], f["match"], tuple(f["notes"])) for f in run.json()["findings"]}
    # a stored member's key is in the archive's own bytes: "in", not "decoded from"
    how = {name: "in" if name == "stored.zip" else "decoded from" for name in ARCHIVES}
    assert found == {
        (name, secret(KEYS[name]), (f"{how[name]} zip:{MEMBERS[name]}",)) for name in ARCHIVES
    }


def by_zipfile(data: bytes, budget: Budget, prefix: str) -> list[Unwrapped]:
    """The members as `zipfile` alone reads them (what the scan read before): the
    reference the plain reader is held to."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception:
        return []
    with archive:
        infos = archive.infolist()
        return archives._zip_read(infos, lambda n: archive.open(infos[n]), data, budget, prefix)


def read(route: str, data: bytes, budget_bytes: int = MAX_TOTAL) -> tuple[object, ...]:
    """What one way of reading a zip gives: each piece, what was noted as not read, and
    what is left of the budget."""
    skipped: list[tuple[str, str]] = []
    budget = Budget(3, budget_bytes, (b"nexpay",), skipped)
    unwrap = archives.zip_members if route == "plain" else by_zipfile
    found = unwrap(data, budget, "")
    return [(u.label, u.content, u.span, u.member) for u in found], skipped, budget.remaining


@st.composite
def archives_built(draw: st.DrawFn) -> bytes:
    rng = random.Random(draw(st.integers(0, 2**32)))
    members = []
    for number in range(draw(st.integers(1, 6))):
        method = rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
        content = (b"nexpay_key_%d = %d\n" % (number, rng.randrange(10**6))) * rng.randint(1, 900)
        members.append((rng.choice(["a/", "", "b/c/"]) + f"f{number}.txt", content, method))
    comment = rng.randbytes(rng.randint(0, 40)) if rng.random() < 0.3 else b""
    return zipped(members, comment, zip64=draw(st.booleans()))


@settings(max_examples=150, deadline=None)
@given(archives_built(), st.sampled_from([MAX_TOTAL, 20_000]))
def test_a_plain_zip_gives_what_zipfile_gives(data: bytes, budget: int) -> None:
    assert entries(data) is not None
    assert read("plain", data, budget) == read("zipfile", data, budget)


@settings(max_examples=300, deadline=None)
@given(archives_built(), st.data())
def test_a_damaged_zip_gives_at_least_what_zipfile_gives(data: bytes, draw: st.DataObject) -> None:
    """Bytes changed, cut off or put before it: never an error, and every piece zipfile
    reads is read (zipfile 3.13 refuses members that overlap, where the plain reader
    reads what inflates to the member's CRC: more, never less)."""
    damaged = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 4))):
        how = draw.draw(st.sampled_from(["byte", "cut", "prefix"]))
        if how == "byte":
            damaged[draw.draw(st.integers(0, len(damaged) - 1))] = draw.draw(st.integers(0, 255))
        elif how == "cut" and len(damaged) > 1:
            del damaged[draw.draw(st.integers(1, len(damaged) - 1)) :]
        elif how == "prefix":
            damaged[0:0] = b"#" * draw.draw(st.integers(1, 30))
    plain, zipfile_read = read("plain", bytes(damaged)), read("zipfile", bytes(damaged))
    pieces = plain[0]
    assert isinstance(pieces, list) and isinstance(zipfile_read[0], list)
    assert set(zipfile_read[0]) <= set(pieces)


def test_without_isal_zlib_inflates_the_same(tmp_path: Path) -> None:
    """Where isal has no wheel it is not installed: zlib inflates, and the findings are
    the same."""
    import gzip
    import subprocess
    import sys
    import tarfile

    for name, data in ARCHIVES.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "settings.env.gz").write_bytes(gzip.compress(env(17)) + b"trailing bytes")
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w:gz") as archive:
        info = tarfile.TarInfo("app/.env")
        info.size = len(env(18))
        archive.addfile(info, io.BytesIO(env(18)))
    (tmp_path / "bundle.tar.gz").write_bytes(packed.getvalue())
    code = (
        "import sys; sys.modules['isal'] = None; from nexpay_scan.cli import main; "
        "code = main(sys.argv[1:]); "
        "assert 'zlib' in sys.modules and 'isal.isal_zlib' not in sys.modules; sys.exit(code)"
    )
    args = ["files", str(tmp_path), "--format", "json", "--no-redact", "--jobs", "1"]
    runs = [
        subprocess.run([sys.executable, *prefix, *args], capture_output=True, text=True)
        for prefix in (["-c", code], ["-m", "nexpay_scan"])
    ]
    assert [run.returncode for run in runs] == [1, 1], runs[0].stderr
    without, with_isal = (json.loads(run.stdout)["findings"] for run in runs)
    assert len(without) == len(ARCHIVES) + 2  # (and the gzip stream, the tar.gz)
    assert without == with_isal


# -- a zip with something before it: a Python zipapp, a self-extracting archive, a Spring
# Boot jar behind its launch script. It starts as its prefix does, not as a zip.


def zipapp(settings: bytes, padding: int = 0, comment: bytes = b"") -> bytes:
    """A Python zipapp (`python -m zipapp` makes them so): a `#!` line, then a zip holding
    `__main__.py` and `app/settings.py`; `padding` bytes of stored text in a further
    member make it big (text that names nothing: no window of it may hold a key, and only
    its end tells it is a zip); `comment`, the zip's (its end record is then not last)."""
    words = b"Lorem ipsum dolor sit amet; consectetur adipiscing elit.\n"
    noise = (words * (padding // len(words) + 1))[:padding]
    members = [
        ("__main__.py", b"from app import settings\n", zipfile.ZIP_DEFLATED),
        ("app/settings.py", settings, zipfile.ZIP_DEFLATED),
    ]
    if padding:
        members.append(("app/data.txt", noise, zipfile.ZIP_STORED))
    return b"#!/usr/bin/env python3\n" + zipped(members, comment)


SETTINGS = f'NEXPAY_SECRET = "{secret(11)}"\n'.encode()


def findings_of(run: Result) -> set[tuple[str, str, tuple[str, ...]]]:
    assert run.code == 1, run.err
    return {(f["file"], f["match"], tuple(f["notes"])) for f in run.json()["findings"]}


@pytest.mark.parametrize("comment", [0, 13, 65535], ids=["no comment", "a comment", "64 KiB"])
@pytest.mark.parametrize("padding", [0, 5 * 1024 * 1024], ids=["small", "5 MB"])
def test_a_key_in_a_zipapp_is_found_in_every_mode(
    cli: CliRun, repo: Repo, padding: int, comment: int
) -> None:
    """Staged, as files, in history: the same finding, named by its member. (A big one is
    read a window at a time first, by `files` and by the history's readers: its end tells
    it is a zip, and a comment of up to 64 KiB may put its end record in the window before
    the last.)"""
    words = b"a comment that names nothing, "
    _found_in_every_mode(cli, repo, zipapp(SETTINGS, padding, (words * 2200)[:comment]))


@pytest.mark.parametrize("padding", [0, 5 * 1024 * 1024], ids=["small", "5 MB"])
def test_a_zipapp_with_bytes_after_it_is_read_as_zipfile_reads_it(
    cli: CliRun, repo: Repo, padding: int
) -> None:
    """Bytes after the end record that no comment counts (appended by a build step, or by
    hand): zipfile and `unzip` read the archive all the same, within 64 KiB of its end, and
    so does the scan, in every mode. Taken for a zip only when the end record came last,
    it hid its members from every mode."""
    data = zipapp(SETTINGS, padding) + b"\0bytes after the archive, in no comment\n" * 1500
    assert len(data) - data.rfind(b"PK\x05\x06") < 22 + (1 << 16)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("app/settings.py") == SETTINGS
    _found_in_every_mode(cli, repo, data)


def _found_in_every_mode(cli: CliRun, repo: Repo, data: bytes) -> None:
    """`data` as `tool.pyz`, staged, then as files and in history: each finds the key in
    its member `app/settings.py`, named by it."""
    repo.write("tool.pyz", data)
    repo.stage()
    expected = {("tool.pyz", secret(11), ("decoded from zip:app/settings.py",))}
    args = ["--format", "json", "--no-redact"]
    assert findings_of(cli("staged", "--repo", str(repo.path), *args)) == expected
    repo.commit()
    assert findings_of(cli("files", str(repo.path), *args)) == expected
    assert findings_of(cli("history", "--repo", str(repo.path), *args)) == expected


def test_a_gzip_stream_with_an_end_record_after_it_is_still_inflated(
    cli: CliRun, tmp_path: Path
) -> None:
    """Bytes that end as a zip are taken for one only when nothing else claims them: a
    gzip stream followed by an empty zip's end record (22 bytes) is inflated as before."""
    import gzip

    end_record = zipped([])
    assert len(end_record) == 22
    (tmp_path / "settings.py.gz").write_bytes(gzip.compress(SETTINGS) + end_record)
    found = findings_of(cli("files", str(tmp_path), "--format", "json", "--no-redact"))
    assert found == {("settings.py.gz", secret(11), ("decoded from gzip",))}


# -- members a zip's directory does not list


def without_last_entry(data: bytes, kept: int | None = None) -> bytes:
    """`data` (a zip) with its directory rewritten to leave out its last member (or all
    but the first `kept`), whose local headers and bytes stay where they were."""
    end = len(data) - 22
    count, _, offset = struct.unpack_from("<HIIxx", data, end + 10)
    kept = count - 1 if kept is None else kept
    at = offset
    for _ in range(kept):
        names = struct.unpack_from("<HHH", data, at + 28)
        at += 46 + sum(names)
    directory = data[offset:at]
    record = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, kept, kept, len(directory), offset, 0)
    return data[:offset] + directory + record


def test_a_member_the_directory_leaves_out_is_read(cli: CliRun, tmp_path: Path) -> None:
    """A directory rewritten to leave a member out, or an archive put before another (the
    last directory is the one read): `unzip` lists nothing of it, Java's ZipInputStream
    reads it, and so does the scan."""
    hidden = without_last_entry(
        zipped([("README", b"nothing here\n", zipfile.ZIP_DEFLATED), ("app/.env", env(12), 8)])
    )
    with zipfile.ZipFile(io.BytesIO(hidden)) as archive:
        assert archive.namelist() == ["README"]
    (tmp_path / "hidden.zip").write_bytes(hidden)
    (tmp_path / "two.zip").write_bytes(
        zipped([("app/.env", env(13), zipfile.ZIP_DEFLATED)])
        + zipped([("README", b"see the other archive\n", zipfile.ZIP_STORED)])
    )
    # a zip cut short: its directory is gone, its members are still there
    whole = zipped([("app/.env", env(14), zipfile.ZIP_DEFLATED), ("b", b"x" * 5000, 8)])
    (tmp_path / "cut.zip").write_bytes(whole[: whole.index(b"PK\x01\x02") - 10])
    found = findings_of(cli("files", str(tmp_path), "--format", "json", "--no-redact"))
    assert found == {
        ("hidden.zip", secret(12), ("decoded from zip:app/.env",)),
        ("two.zip", secret(13), ("decoded from zip:app/.env",)),
        ("cut.zip", secret(14), ("decoded from zip:app/.env",)),
    }


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_member_claiming_more_bytes_than_it_has_hides_no_member_after_it(
    cli: CliRun, tmp_path: Path, method: int
) -> None:
    """The directory gives the listed member far more bytes than its local header does:
    the member after them, which the directory leaves out, is not taken for its bytes.
    Java's ZipInputStream (`jar xf`) goes by the local headers, and extracts it."""
    data = bytearray(
        without_last_entry(
            zipped([("README", b"nothing here\n" * 40, method), ("app/.env", env(20), 8)])
        )
    )
    central = data.index(b"PK\x01\x02")
    data[central + 20 : central + 24] = struct.pack("<I", 0x7FFFFFFF)  # (its compressed size)
    (tmp_path / "claims.zip").write_bytes(bytes(data))
    found = findings_of(cli("files", str(tmp_path), "--format", "json", "--no-redact"))
    assert found == {("claims.zip", secret(20), ("decoded from zip:app/.env",))}


@pytest.mark.parametrize("sizes", ["in its local header", "in a data descriptor"])
def test_a_directory_claiming_fewer_bytes_hides_no_part_of_a_member(
    cli: CliRun, tmp_path: Path, sizes: str
) -> None:
    """The directory gives a member fewer bytes than it has; Java's ZipInputStream (`jar
    xf`) reads it as its local header says, or to the end of its deflate stream: the key
    after the bytes the directory gives is found."""
    rng = random.Random(3)  # (words from a few: some KB deflated, in Huffman codes)
    words = " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "omega"]) for _ in range(9000))
    content = words.encode() + b"\n" + env(21)
    target: Any = io.BytesIO() if sizes == "in its local header" else Unseekable()
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("app/.env", content, compress_type=zipfile.ZIP_DEFLATED)
    data = bytearray(target.getvalue() if isinstance(target, io.BytesIO) else target.written)
    assert bool(data[6] & 0x08) == (sizes == "in a data descriptor")
    central = data.index(b"PK\x01\x02")
    assert secret(21).encode() not in data
    data[central + 20 : central + 28] = struct.pack("<II", 2000, 2000)  # (compressed, size)
    (tmp_path / "fewer.zip").write_bytes(bytes(data))
    found = findings_of(cli("files", str(tmp_path), "--format", "json", "--no-redact"))
    assert found == {("fewer.zip", secret(21), ("decoded from zip:app/.env",))}


@pytest.mark.parametrize("claim", ["stored", "bzip2", "encrypted", "a folder"])
def test_a_directory_saying_otherwise_of_a_member_hides_it_not(
    cli: CliRun, tmp_path: Path, claim: str
) -> None:
    """The directory says the deflated member is stored (its deflated bytes were read as
    its content), compressed in a way not decoded, encrypted, or a folder (neither was
    read); Java's ZipInputStream (`jar xf`) inflates it as its local header says, and so
    does the scan."""
    data = bytearray(zipped([("app/.env", b"alpha beta gamma " * 200 + env(22), 8)]))
    assert secret(22).encode() not in data
    central = data.index(b"PK\x01\x02")
    if claim in ("stored", "bzip2"):
        data[central + 10 : central + 12] = struct.pack("<H", 0 if claim == "stored" else 12)
    elif claim == "encrypted":
        data[central + 8] |= 1
    else:
        data[central + 46 : central + 54] = b"app/.en/"
    (tmp_path / "method.zip").write_bytes(bytes(data))
    found = findings_of(cli("files", str(tmp_path), "--format", "json", "--no-redact"))
    assert found == {("method.zip", secret(22), ("decoded from zip:app/.env",))}


def test_a_zip_stored_in_a_zip_is_read_once(cli: CliRun, tmp_path: Path) -> None:
    """Its local headers lie inside its member's bytes: they are that member's, not
    members of the outer archive that its directory leaves out."""
    inner = zipped([("app/.env", env(15), zipfile.ZIP_DEFLATED)])
    (tmp_path / "outer.zip").write_bytes(zipped([("inner.zip", inner, zipfile.ZIP_STORED)]))
    run = cli("files", str(tmp_path), "--format", "json", "--no-redact")
    assert [(f["match"], f["notes"]) for f in run.json()["findings"]] == [
        (secret(15), ["decoded from zip:inner.zip>zip:app/.env"])
    ]


def test_decoys_outside_the_directory_do_not_hide_a_key_after_them(
    cli: CliRun, tmp_path: Path
) -> None:
    """1,500 harmless members the directory leaves out, then one holding a key: each is
    read as a listed one is, and those that can hold no key cost no budget."""
    decoys = [(f"pkg/m{n}.py", b"x = %d\n" % n, zipfile.ZIP_STORED) for n in range(1500)]
    members = [("README", b"nothing here\n", zipfile.ZIP_STORED), *decoys]
    data = without_last_entry(zipped([*members, ("app/.env", env(16), 8)]), kept=1)
    (tmp_path / "decoys.zip").write_bytes(data)
    found = findings_of(cli("files", str(tmp_path), "--format", "json", "--no-redact"))
    assert found == {("decoys.zip", secret(16), ("decoded from zip:app/.env",))}


def broken(route: str, damage: str) -> bytes:
    """A zip holding app/.env with a key, read the plain way or (`route` "zipfile": a
    name field zipfile reads) through zipfile, its CRC zeroed in both headers or its
    local header naming another file."""
    data = bytearray(
        with_unicode_path_field("app/.env", env(19))
        if route == "zipfile"
        else zipped([("app/.env", env(19), zipfile.ZIP_DEFLATED)])
    )
    central = data.index(b"PK\x01\x02")
    if damage == "crc":
        data[14:18] = data[central + 16 : central + 20] = bytes(4)
    else:
        data[30:38] = b"app/.enx"
    return bytes(data)


@pytest.mark.parametrize("damage", ["crc", "local name"])
@pytest.mark.parametrize("route", ["plain", "zipfile"])
def test_a_bad_crc_or_a_local_header_naming_another_file_hides_no_key(
    cli: CliRun, tmp_path: Path, route: str, damage: str
) -> None:
    """zipfile fails such a member (its last read, or its opening); `unzip` warns and
    extracts it all the same, so the key in it is as leaked, and found."""
    data = broken(route, damage)
    assert (entries(data) is not None) == (route == "plain")
    (tmp_path / "bundle.zip").write_bytes(data)
    found = findings_of(cli("files", str(tmp_path), "--format", "json", "--no-redact"))
    assert found == {("bundle.zip", secret(19), ("decoded from zip:app/.env",))}
