"""bzip2, xz, zstd and lz4: a committed `.env.bz2`, a `.tar.xz` release bundle, a `.lz4`
log, a zip whose members are bzip2-, lzma-, xz- or zstd-compressed, base64 of each. Each is
unpacked as gzip is (in bounded steps, a bomb named and not held), in every mode, and the
prefilter lets each through."""

from __future__ import annotations

import base64
import bz2
import lzma
import random
import sys
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lz4.frame
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from nexpay_scan.decoders import MAX_MEMBER_SIZE, MIB
from nexpay_scan.decoders.archives import (
    XZ_MEMORY,
    bzip2_contents,
    is_bzip2,
    is_lz4,
    is_lzma_alone,
    is_xz,
    is_zstd,
    lz4_contents,
    lzma_contents,
    tar_members,
    xz_contents,
    zstd_contents,
)
from nexpay_scan.decoders.model import BUDGET_SPENT, Budget
from testing.archives import tar_of, zip_of
from testing.cli import CliRun
from testing.git_repo import Repo
from testing.keys import secret
from tests.test_decoders import damage, decoded_hits, decoded_views, env_file, exercise, values
from tests.test_prefilter import _scanner, _suspects

ENV = env_file(61)
KEYS = values(decoded_hits(b"\n".join(ENV.splitlines())))  # (what a plain scan finds)


def _xz(data: bytes) -> bytes:
    return lzma.compress(data, format=lzma.FORMAT_XZ)


def _zstd(data: bytes, window_log: int = 0) -> bytes:
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=window_log)
    return zstandard.ZstdCompressor(compression_params=params).compress(data)


def _lzma(data: bytes, preset: int = 6) -> bytes:
    """A .lzma file (`lzma`, `xz --format=lzma`)."""
    return lzma.compress(data, format=lzma.FORMAT_ALONE, preset=preset)


def _lz4(data: bytes) -> bytes:
    # (with its content checksum, as the `lz4` command writes a frame)
    return bytes(lz4.frame.compress(data, content_checksum=True))


_SKIPPABLE_FRAME = (0x184D2A5A).to_bytes(4, "little") + b"\x04\0\0\0abcd"


def zip_packed(name: str, content: bytes, packed: bytes, method: int) -> bytes:
    """A zip of one member whose bytes are `packed` (`content` compressed by a method
    zipfile does not write: zstd's 93, xz's 95), its headers saying so: written stored,
    then its method, sizes and CRC set in its local and central headers."""
    data = bytearray(zip_of({name: packed}, zipfile.ZIP_STORED))
    crc = zlib.crc32(content).to_bytes(4, "little")
    size = len(content).to_bytes(4, "little")
    for magic, at in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        where = data.index(magic) + at
        data[where : where + 2] = method.to_bytes(2, "little")
        data[where + 6 : where + 10] = crc
        data[where + 14 : where + 18] = size
    return bytes(data)


# -- each form, decoded ---------------------------------------------------------------------

# each form: how it packs an .env, and the encodings a key in it is found under
BUILDERS: dict[str, tuple[Callable[[bytes], bytes], set[str]]] = {
    "bzip2": (bz2.compress, {"bzip2"}),
    "xz": (_xz, {"xz"}),
    "tar.bz2": (lambda env: tar_of({"etc/app.env": env}, "w:bz2"), {"bzip2>tar:etc/app.env"}),
    "tar.xz": (lambda env: tar_of({"etc/app.env": env}, "w:xz"), {"xz>tar:etc/app.env"}),
    "zip of bzip2": (lambda env: zip_of({"app/.env": env}, zipfile.ZIP_BZIP2), {"zip:app/.env"}),
    "zip of lzma": (lambda env: zip_of({"app/.env": env}, zipfile.ZIP_LZMA), {"zip:app/.env"}),
    "two bzip2 streams": (lambda env: bz2.compress(b"x" * 5000) + bz2.compress(env), {"bzip2"}),
    "two xz streams": (lambda env: _xz(b"x" * 5000) + _xz(env), {"xz"}),
    "bzip2 in a zip": (
        lambda env: zip_of({"old.env.bz2": bz2.compress(env)}),
        {"zip:old.env.bz2>bzip2"},
    ),
    "xz in a tar.gz": (lambda env: tar_of({"env.xz": _xz(env)}), {"gzip>tar:env.xz>xz"}),
    "zstd": (_zstd, {"zstd"}),
    "tar.zst": (lambda env: _zstd(tar_of({"etc/app.env": env}, "w")), {"zstd>tar:etc/app.env"}),
    "two zstd frames": (lambda env: _zstd(b"x" * 5000) + _zstd(env), {"zstd"}),
    "zip of zstd": (lambda env: zip_packed("app/.env", env, _zstd(env), 93), {"zip:app/.env"}),
    "zip of xz": (lambda env: zip_packed("app/.env", env, _xz(env), 95), {"zip:app/.env"}),
    # a skippable frame first (`zstd -d` passes over it): still told as zstd
    "zstd after a skippable frame": (lambda env: _SKIPPABLE_FRAME + _zstd(env), {"zstd"}),
    # zstd read inside zstd: each reader has its own decompressor (two of one corrupt)
    "zstd in a tar.zst": (
        lambda env: _zstd(tar_of({"a.env.zst": _zstd(b"x" * 9000), "b.env.zst": _zstd(env)}, "w")),
        {"zstd>tar:b.env.zst>zstd"},
    ),
    "lz4": (_lz4, {"lz4"}),
    "tar.lz4": (lambda env: _lz4(tar_of({"etc/app.env": env}, "w")), {"lz4>tar:etc/app.env"}),
    "two lz4 frames": (lambda env: _lz4(b"x" * 5000) + _lz4(env), {"lz4"}),
    # zstd and lz4 share skippable frames: told by the frame after it, and between frames
    "lz4 after a skippable frame": (lambda env: _SKIPPABLE_FRAME + _lz4(env), {"lz4"}),
    "lz4, a skippable frame, lz4": (
        lambda env: _lz4(b"x" * 5000) + _SKIPPABLE_FRAME + _lz4(env),
        {"lz4"},
    ),
    "lzma": (_lzma, {"lzma"}),
    "tar.lzma": (lambda env: _lzma(tar_of({"etc/app.env": env}, "w")), {"lzma>tar:etc/app.env"}),
    "lz4 in a zip": (
        lambda env: zip_of({"logs/app.log.lz4": _lz4(env)}),
        {"zip:logs/app.log.lz4>lz4"},
    ),
}
FORMS = {form: (build(ENV), encodings) for form, (build, encodings) in BUILDERS.items()}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_form_is_unpacked_and_its_keys_found(form: str) -> None:
    data, encodings = FORMS[form]
    hits = decoded_hits(data)
    assert values(hits) >= {secret(61)}, form
    assert {h.encoding for h in hits if h.value == secret(61)} == encodings


PACKERS = {"bzip2": bz2.compress, "xz": _xz, "zstd": _zstd, "lz4": _lz4, "lzma": _lzma}


@pytest.mark.parametrize("name", sorted(PACKERS))
def test_base64_of_a_stream_is_unpacked_at_the_token(name: str) -> None:
    token = base64.b64encode(PACKERS[name](ENV)).decode()
    data = f"release:\n  blob: {token}\n".encode()
    hits = [h for h in decoded_hits(data) if h.value == secret(61)]
    assert [(h.encoding, h.origin) for h in hits] == [(f"base64>{name}", data.index(b"blob: ") + 6)]


def test_what_the_magic_numbers_tell() -> None:
    assert is_bzip2(bz2.compress(b"")) and is_bzip2(bz2.compress(ENV, 1))
    assert not is_bzip2(b"BZh9 is a line of text\n") and not is_bzip2(b"BZh")
    assert is_xz(_xz(b"")) and not is_xz(lzma.compress(ENV, format=lzma.FORMAT_ALONE))
    assert is_zstd(_zstd(b"")) and not is_zstd(b"(\xb5/")
    assert is_zstd(b"\x5f*M\x18\0\0\0\0") and not is_zstd(b"\x60*M\x18\0\0\0\0")
    assert is_lz4(_lz4(b"")) and not is_lz4(b'\x04"M') and not is_lz4(_zstd(ENV))
    # a skippable frame is zstd's unless an LZ4 frame follows it
    assert is_lz4(_SKIPPABLE_FRAME + _lz4(ENV)) and not is_zstd(_SKIPPABLE_FRAME + _lz4(ENV))
    assert is_zstd(_SKIPPABLE_FRAME * 2 + _zstd(ENV)) and not is_lz4(_SKIPPABLE_FRAME + _zstd(ENV))
    assert is_lz4(_SKIPPABLE_FRAME * 3 + _lz4(ENV))
    # a .lzma file has no magic number: its header, as liblzma tells one
    assert all(is_lzma_alone(_lzma(ENV, preset)) for preset in range(10))
    assert not is_lzma_alone(b"]\0\0\0\0" + b"\xff" * 8)  # (no dictionary)
    assert not is_lzma_alone(b"]\0\0\x05\0" + b"\xff" * 8)  # (5 << 16: no such size)
    assert not is_lzma_alone(b"]\0\0\x80\0" + bytes(7) + b"\x40")  # (a size of 2^62)
    assert not is_lzma_alone(b"] = [\n    1,\n    2,\n]\n") and not is_lzma_alone(_xz(ENV))
    assert not is_lz4(b"\x50*M\x18\xff\xff\xff\xff" + _lz4(ENV))  # (a frame past the end)


# -- damage and bombs -----------------------------------------------------------------------


def test_what_a_truncated_stream_held_is_still_scanned() -> None:
    # (bzip2 unpacks a block once it is whole: 100 kB blocks here, the key in the first)
    padding = "".join(f"LINE_{n}=value {n * 7919}\n" for n in range(20000)).encode()
    for packed in (bz2.compress(ENV + padding, 1), _xz(ENV + padding)):
        assert secret(61) in values(decoded_hits(packed[: len(packed) * 3 // 4]))


DAMAGED = [
    bz2.compress(ENV),
    _xz(ENV),
    _zstd(ENV),
    _lz4(ENV),
    _lzma(ENV),
    FORMS["tar.lz4"][0],
    FORMS["tar.xz"][0],
    FORMS["zip of lzma"][0],
    FORMS["zip of zstd"][0],
]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(DAMAGED), st.data())
def test_damaged_streams_never_raise(packed: bytes, data: st.DataObject) -> None:
    damaged = damage(data, packed)
    exercise(damaged[: data.draw(st.integers(0, len(damaged)))])
    for head in (b"BZh91AY&SY", b"\xfd7zXZ\x00", b"(\xb5/\xfd", b'\x04"M\x18', _SKIPPABLE_FRAME):
        exercise(head + damaged)
    exercise(b"]\x00\x00\x80\x00" + b"\xff" * 8 + damaged)


# what the decompressor itself holds: bzip2's blocks (900 kB at -9), xz's dictionary (-6),
# zstd's window (level 3: 1 MiB at most), lz4's blocks (4 MiB)
_DICTIONARY = {"bzip2": 4 * MIB, "xz": 9 * MIB, "zstd": 3 * MIB, "lz4": 9 * MIB, "lzma": 9 * MIB}


class _Packer:
    """Packs a stream a piece at a time, as bz2's and lzma's compressors do."""

    def __init__(self, pack: str) -> None:
        self._head = b""
        if pack == "zstd":
            self._packer: Any = zstandard.ZstdCompressor().compressobj()
        elif pack == "lz4":  # (4 MiB blocks: the most a frame may name)
            self._packer = lz4.frame.LZ4FrameCompressor(block_size=lz4.frame.BLOCKSIZE_MAX4MB)
            self._head = self._packer.begin()
        elif pack == "lzma":
            self._packer = lzma.LZMACompressor(lzma.FORMAT_ALONE)
        else:
            self._packer = bz2.BZ2Compressor(9) if pack == "bzip2" else lzma.LZMACompressor()

    def compress(self, data: bytes) -> bytes:
        head, self._head = self._head, b""
        return head + bytes(self._packer.compress(data))

    def flush(self) -> bytes:
        return bytes(self._packer.flush())


def _packed_zeros(pack: str, size: int, then: bytes) -> bytes:
    """`size` bytes of zeros then `then`, packed a MiB at a time (never held whole)."""
    packer = _Packer(pack)
    zeros = bytes(MIB)
    out = [packer.compress(zeros) for _ in range(size // MIB)]
    return b"".join([*out, packer.compress(then), packer.flush()])


@pytest.mark.parametrize("pack", ["bzip2", "xz", "zstd", "lz4", "lzma"])
def test_a_bomb_is_unpacked_within_its_bound_and_named(pack: str) -> None:
    """256 MiB of zeros and then a key, in a few hundred KiB: the zeros, harmless, are
    given back a piece at a time until they have cost as much as they may; what is past
    them is named, never held whole."""
    bomb = _packed_zeros(pack, 256 * MIB, ENV)
    assert len(bomb) < (2 * MIB if pack == "lz4" else MIB)  # (lz4 packs zeros 255 to 1)
    unpack = {
        "bzip2": bzip2_contents,
        "xz": xz_contents,
        "zstd": zstd_contents,
        "lz4": lz4_contents,
        "lzma": lzma_contents,
    }[pack]
    skipped: list[tuple[str, str]] = []
    budget = Budget(2, 1 << 30, (), skipped, lambda texts: set(range(len(texts))))
    tracemalloc.start()
    pieces = unpack(bomb, budget, "")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * MIB + _DICTIONARY[pack]
    assert sum(len(piece.content) for piece in pieces) <= 2 * MAX_MEMBER_SIZE
    assert skipped and skipped[0][0] in (pack, "")


@pytest.mark.parametrize("pack", ["bzip2", "xz", "zstd", "lz4", "lzma"])
def test_a_tar_bomb_is_read_as_it_unpacks_within_its_bound(pack: str) -> None:
    """A tar of 64 MiB of zeros in one member, then an .env, packed: read as the stream
    unpacks, the zeros let it read on only as far as they give back, the rest named."""
    import tarfile

    header = tarfile.TarInfo("zeros.bin")
    header.size = 64 * MIB
    tail = tarfile.TarInfo(".env")
    tail.size = len(ENV)
    after = tail.tobuf() + ENV + bytes(-len(ENV) % 512) + bytes(1024)
    packer = _Packer(pack)
    zeros = bytes(MIB)
    body = [packer.compress(header.tobuf()), *(packer.compress(zeros) for _ in range(64))]
    bomb = b"".join([*body, packer.compress(after), packer.flush()])
    skipped: list[tuple[str, str]] = []
    tracemalloc.start()
    views = list(decoded_views(bomb, skipped=skipped, worth=lambda texts: set()))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * MIB + _DICTIONARY[pack]
    cut = f"more than {MAX_MEMBER_SIZE} bytes to decode: the rest not decoded"
    assert views == []
    assert skipped == [(f"{pack}>tar:zeros.bin", cut), ("", BUDGET_SPENT)]


@settings(max_examples=40, deadline=None)
@given(
    contents=st.lists(st.binary(max_size=3000), min_size=1, max_size=6),
    pack=st.sampled_from(["w:bz2", "w:xz", "lz4"]),
)
def test_a_tar_read_as_it_unpacks_gives_what_it_held_unpacked_whole(
    contents: list[bytes], pack: str
) -> None:
    named = {
        f"m{n}": content + (b" nexpay" if n % 2 else b"") for n, content in enumerate(contents)
    }
    raw = tar_of(named, "w")
    packed = _lz4(raw) if pack == "lz4" else tar_of(named, pack)  # type: ignore[arg-type]
    assert lz4.frame.decompress(packed) if pack == "lz4" else True
    unpack = {"w:bz2": bzip2_contents, "w:xz": xz_contents, "lz4": lz4_contents}[pack]
    worth = lambda texts: {n for n, text in enumerate(texts) if b"nexpay" in text}  # noqa: E731
    streamed = unpack(packed, Budget(2, 1 << 30, (), [], worth), "")
    whole = tar_members(raw, Budget(2, 1 << 30, (), [], worth), "")
    assert [m.content for m in streamed] == [m.content for m in whole]


# -- the prefilter, and every mode ------------------------------------------------------------


@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_prefilter_lets_each_form_through(form: str) -> None:
    data, _ = FORMS[form]
    assert _suspects(b"x = 1\n", data) == {1}


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    lead=st.binary(max_size=5),
    name=st.sampled_from(
        [
            "bzip2",
            "xz",
            "zstd",
            "zstd after a skippable frame",
            "lz4",
            "lz4 after a skippable frame",
            "lzma",
        ]
    ),
)
def test_base64_of_a_stream_holding_a_key_is_suspect(seed: int, lead: bytes, name: str) -> None:
    # any bytes before the base64 (binary content is searched for no token: then neither
    # the scan nor the prefilter decodes it), any bytes before the stream in it
    text = f"token = {secret(seed)}\n".encode()
    packed = PACKERS[name](text) if name in PACKERS else BUILDERS[name][0](text)
    content = lead + b"\n" + base64.b64encode(lead + packed)
    if any(True for _ in _scanner().sightings(content)):
        assert _suspects(b"x = 1\n", content) == {1}
    plain = b"blob: " + base64.b64encode(packed) + b"\n"
    assert any(True for _ in _scanner().sightings(plain))
    assert _suspects(b"x = 1\n", plain) == {1}


def test_an_xz_stream_needing_too_much_memory_is_named_not_unpacked() -> None:
    """Its header names the dictionary liblzma would allocate: up to 1.5 GiB for a few
    bytes. Past XZ_MEMORY it is named, in a stream and in a zip member alike."""
    big = lzma.compress(ENV, format=lzma.FORMAT_XZ, preset=9)  # a 64 MiB dictionary
    skipped: list[tuple[str, str]] = []
    assert list(decoded_views(big, skipped=skipped)) == []
    reason = f"a dictionary over {XZ_MEMORY} bytes to unpack: not decoded"
    assert skipped == [("xz", reason)]
    member = bytearray(zip_of({"app/.env": ENV}, zipfile.ZIP_LZMA))
    props = member.index(b"app/.env") + len(b"app/.env") + 4  # (after the lzma header)
    member[props + 1 : props + 5] = (64 * MIB).to_bytes(4, "little")
    skipped = []
    assert list(decoded_views(bytes(member), skipped=skipped)) == []
    assert skipped == [("zip:app/.env", f"archive member compressed with lzma, {reason}")]


def test_a_lzma_file_needing_too_much_memory_is_named_not_unpacked() -> None:
    skipped: list[tuple[str, str]] = []
    assert list(decoded_views(_lzma(ENV, 9), skipped=skipped)) == []  # (a 64 MiB dictionary)
    assert skipped == [("lzma", f"a dictionary over {XZ_MEMORY} bytes to unpack: not decoded")]


def test_a_zstd_frame_needing_too_big_a_window_is_named_not_unpacked() -> None:
    big = _zstd(ENV + bytes(40 * MIB), window_log=25)  # a 32 MiB window
    reason = f"a window over {XZ_MEMORY} bytes to unpack: not decoded"
    skipped: list[tuple[str, str]] = []
    assert list(decoded_views(big, skipped=skipped)) == []
    assert skipped == [("zstd", reason)]
    skipped = []
    member = zip_packed("app/.env", ENV + bytes(40 * MIB), big, 93)
    assert list(decoded_views(member, skipped=skipped)) == []
    assert skipped == [("zip:app/.env", reason)]


def test_a_zips_xz_member_needing_too_big_a_dictionary_is_named() -> None:
    packed = lzma.compress(ENV, format=lzma.FORMAT_XZ, preset=9)
    skipped: list[tuple[str, str]] = []
    assert list(decoded_views(zip_packed("app/.env", ENV, packed, 95), skipped=skipped)) == []
    reason = f"a dictionary over {XZ_MEMORY} bytes to unpack: not decoded"
    assert skipped == [("zip:app/.env", reason)]


def test_zstd_without_the_zstandard_module_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """A platform with no wheel of it: a zstd stream or member is named, not passed over."""
    monkeypatch.setitem(sys.modules, "zstandard", None)  # (import fails)
    reason = "a zstd stream, and the zstandard module is not installed: not decoded"
    skipped: list[tuple[str, str]] = []
    assert list(decoded_views(FORMS["zstd"][0], skipped=skipped)) == []
    assert skipped == [("zstd", reason)]
    skipped = []
    assert list(decoded_views(FORMS["zip of zstd"][0], skipped=skipped)) == []
    assert skipped == [("zip:app/.env", f"archive member compressed with zstd: {reason}")]


def test_a_key_a_stream_shows_as_it_is_too_is_reported_once(cli: CliRun, repo: Repo) -> None:
    """LZ4 keeps what it cannot match as it is: a key is seen by the plain scan and again
    unpacked. It is reported once, on the line where its bytes are, with a note."""
    packed = _lz4(f"LOG_LEVEL=debug\nPAYMENTS={secret(64)}\n".encode())
    assert secret(64).encode() in packed
    repo.write("logs/app.env.lz4", packed)
    [finding] = cli("files", str(repo.path), "--format", "json", "--no-redact").json()["findings"]
    at = packed.index(secret(64).encode())
    assert (finding["match"], finding["line"]) == (secret(64), packed.count(b"\n", 0, at) + 1)
    assert finding["notes"] == ["also decoded from lz4"]


def test_lz4_without_the_lz4_module_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """As zstd is without zstandard: a stream named, not passed over."""
    monkeypatch.setitem(sys.modules, "lz4.frame", None)  # (import fails)
    reason = "an lz4 stream, and the lz4 module is not installed: not decoded"
    for form, where in (("lz4", "lz4"), ("lz4 in a zip", "zip:logs/app.log.lz4>lz4")):
        skipped: list[tuple[str, str]] = []
        views = list(decoded_views(FORMS[form][0], skipped=skipped))
        # (the zip's member is a view, as it is: its frame is what is not unpacked)
        assert [view.encoding for view in views] == ([] if form == "lz4" else [where[:-4]])
        assert skipped == [(where, reason)]


def test_every_mode_finds_a_key_in_each_form(cli: CliRun, tmp_path: Path) -> None:
    from tests.test_same_findings import assert_same, every_mode

    # a key of its own in each (a history reports each key once, where it came in)
    contents = {
        f"bundles/{form.replace(' ', '-')}.bin": build(env_file(70 + number))
        for number, (form, (build, _)) in enumerate(sorted(BUILDERS.items()))
    }
    found = every_mode(cli, tmp_path, contents)
    keys = {secret(70 + number) for number in range(len(BUILDERS))}
    assert {name for key, name, _ in found["files"] if key in keys} == set(contents)
    assert_same(found, found["files"])


@pytest.mark.parametrize("name", sorted(PACKERS))
def test_a_stream_over_the_size_limit_is_named(
    cli: CliRun, repo: Repo, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Searched a window at a time (small windows here), a compressed stream cannot be
    unpacked whole: it is named, as an archive is."""
    from nexpay_scan import windows

    pack = PACKERS[name]
    monkeypatch.setattr(windows, "WINDOW_BYTES", 4096)
    monkeypatch.setattr(windows, "OVERLAP_BYTES", 512)
    repo.write(".nexpay-scan.toml", "[scan]\nmax_file_size = 1000\n")
    repo.write("dump.sql.gz", pack(random.Random(3).randbytes(20000).hex().encode()))
    run = cli("files", str(repo.path), "--format", "json")
    [item] = run.json()["summary"]["skipped_files"]
    assert item["file"] == "dump.sql.gz" and item["reason"].startswith("an archive larger than")


@pytest.mark.parametrize(
    "head",
    [
        b"BZh91AY&SY",
        b"\xfd7zXZ\x00",
        b"(\xb5/\xfd",
        b'\x04"M\x18',
        b"]\x00\x00\x80\x00" + b"\xff" * 8,
        b"\x50*M\x18\x04\x00\x00\x00",
        b'\x50*M\x18\x00\x00\x00\x00\x04"M\x18',
        b"7z\xbc\xaf'\x1c\x00\x04",
        b"Rar!\x1a\x07\x00",
    ],
)
def test_a_magic_number_does_not_hide_a_key_after_it(head: bytes) -> None:
    """Content that starts as a stream or an archive but holds a key as it is: what the
    decoders make of it (nothing, or a gap) takes nothing from the plain scan."""
    data = head + f"\nNEXPAY_SECRET={secret(62)}\n".encode()
    assert secret(62) in {s.candidate.value for s in _scanner().sightings(data)}
    assert _suspects(b"x = 1\n", data) == {1}
