"""7z archives: a committed `backup.7z` of a config folder. Its members are read in every
mode, whatever 7-Zip packs them with of what liblzma, zlib and bz2 unpack (LZMA2, LZMA,
BCJ and delta filters before them, deflate, bzip2, copy); what is not read (encryption,
PPMd, a dictionary over 16 MiB, damaged headers) is named, never passed in silence; a bomb
is bounded. The archives are written by py7zr, as 7-Zip writes them."""

from __future__ import annotations

import base64
import io
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import py7zr
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexpay_scan.decoders import MAX_MEMBER_SIZE, MIB
from nexpay_scan.decoders.archives import MAX_TAR_STREAM, XZ_MEMORY, is_7z
from nexpay_scan.decoders.model import Budget
from nexpay_scan.decoders.sevenzip import sevenzip_members
from testing.archives import seven_zip, seven_zip_folders, tar_of, zip_of
from testing.cli import CliRun
from testing.keys import secret
from tests.test_decoders import damage, decoded_hits, decoded_views, env_file, exercise, values
from tests.test_prefilter import _suspects

ENV = env_file(81)
NOTES = b"".join(b"note %d: nothing to see here\n" % n for n in range(400))


def _tree(env: bytes = ENV) -> dict[str, bytes]:
    return {"docs/notes.txt": NOTES, "app/.env": env, "app/empty.txt": b"", "README": b"hi\n"}


FILTERS: dict[str, list[dict[str, Any]]] = {
    "lzma2": [{"id": py7zr.FILTER_LZMA2, "preset": 7}],
    "lzma": [{"id": py7zr.FILTER_LZMA}],
    "bcj x86 + lzma": [{"id": py7zr.FILTER_X86}, {"id": py7zr.FILTER_LZMA}],
    "bcj arm + lzma2": [{"id": py7zr.FILTER_ARM}, {"id": py7zr.FILTER_LZMA2}],
    "delta + lzma2": [{"id": py7zr.FILTER_DELTA}, {"id": py7zr.FILTER_LZMA2}],
    "deflate": [{"id": py7zr.FILTER_DEFLATE}],
    "bzip2": [{"id": py7zr.FILTER_BZIP2}],
    "copy": [{"id": py7zr.FILTER_COPY}],
}


@pytest.mark.parametrize("packed", sorted(FILTERS))
def test_each_way_7zip_packs_a_member_is_read(packed: str) -> None:
    archive = seven_zip(_tree(), FILTERS[packed])
    assert is_7z(archive)
    hits = [h for h in decoded_hits(archive) if h.value == secret(81)]
    assert [(h.encoding, h.member) for h in hits] == [("7z:app/.env", "app/.env")]


def test_a_member_stored_as_is_is_placed_byte_for_byte() -> None:
    archive = seven_zip(_tree(), FILTERS["copy"])
    [hit] = [h for h in decoded_hits(archive) if h.value == secret(81)]
    at = archive.index(secret(81).encode())
    assert (hit.origin, hit.line) == (at, archive.count(b"\n", 0, at) + 1)


def test_members_of_a_solid_folder_are_each_read_and_named() -> None:
    files = {f"cfg/{n:03}.env": env_file(200 + n) if n % 7 == 3 else NOTES for n in range(40)}
    files["été/ünïcode.env"] = env_file(299)
    archive = seven_zip(files)
    hits = decoded_hits(archive)
    wanted = {secret(200 + n) for n in range(40) if n % 7 == 3} | {secret(299)}
    assert values(hits) >= wanted
    assert {h.member for h in hits if h.value == secret(299)} == {"été/ünïcode.env"}


def test_each_folder_of_an_archive_is_read_from_its_own_packed_stream() -> None:
    """7-Zip packs files into several folders (by kind, by solid block size, one per
    `7z a` run): each unpacks from its own packed stream; one that cannot be read is
    named and the folders after it are still read."""
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w") as archive:
        archive.writestr(env_file(91), "one/.env")
    for name, filters, content in (
        ("two/.env", [{"id": py7zr.FILTER_PPMD}], env_file(92)),
        ("three/.env", [{"id": py7zr.FILTER_COPY}], env_file(93)),
        ("four/.env", [{"id": py7zr.FILTER_BZIP2}], env_file(94)),
    ):
        buffer.seek(0)
        with py7zr.SevenZipFile(buffer, "a", filters=filters) as archive:
            archive.writestr(content, name)
    data = buffer.getvalue()
    found = {h.member for h in decoded_hits(data) if h.value.startswith("nxp_sk_")}
    assert found == {"one/.env", "three/.env", "four/.env"}
    assert _skips(data) == [("7z:two/.env", "archive member compressed with PPMd: not decoded")]


def test_base64_of_a_7z_and_a_7z_in_a_zip_and_a_tar() -> None:
    archive = seven_zip(_tree())
    token = base64.b64encode(archive).decode()
    data = f"backup: {token}\n".encode()
    assert {(h.encoding, h.origin) for h in decoded_hits(data) if h.value == secret(81)} == {
        ("base64>7z:app/.env", data.index(b"backup: ") + 8)
    }
    for outer, encoding in (
        (zip_of({"old/backup.7z": archive}), "zip:old/backup.7z>7z:app/.env"),
        (tar_of({"old/backup.7z": archive}), "gzip>tar:old/backup.7z>7z:app/.env"),
    ):
        assert {h.encoding for h in decoded_hits(outer) if h.value == secret(81)} == {encoding}
    inner = seven_zip({"bundle.zip": zip_of({"app/.env": ENV})})
    assert {h.encoding for h in decoded_hits(inner) if h.value == secret(81)} == {
        "7z:bundle.zip>zip:app/.env"
    }


# -- named, never passed in silence ---------------------------------------------------------


def _skips(data: bytes) -> list[tuple[str, str]]:
    skipped: list[tuple[str, str]] = []
    list(decoded_views(data, skipped=skipped))
    return skipped


def test_an_encrypted_archive_is_named() -> None:
    locked = seven_zip(_tree(), password="hunter2")
    reason = "archive member compressed with AES (encrypted): not decoded"
    assert _skips(locked) == [
        (f"7z:{name}", reason) for name in ("docs/notes.txt", "app/.env", "README")
    ]
    hidden = seven_zip(_tree(), password="hunter2", header_encryption=True)
    # (named as the archive itself: "" is the content the scan was given)
    assert _skips(hidden) == [
        ("", "a 7z archive: compressed with AES (encrypted): its members not decoded")
    ]


def test_a_ppmd_member_is_named() -> None:
    archive = seven_zip({"app/.env": ENV}, [{"id": py7zr.FILTER_PPMD}])
    assert _skips(archive) == [("7z:app/.env", "archive member compressed with PPMd: not decoded")]


def test_a_dictionary_over_the_bound_is_named_not_allocated() -> None:
    archive = seven_zip({"app/.env": ENV}, [{"id": py7zr.FILTER_LZMA2, "preset": 9}])  # 64 MiB
    reason = (
        f"archive member compressed with LZMA2, a dictionary over {XZ_MEMORY} bytes to unpack:"
        " not decoded"
    )
    assert _skips(archive) == [("7z:app/.env", reason)]


@pytest.mark.parametrize(
    "damage",
    [
        lambda a: a[:40],  # the header cut away
        lambda a: a[:12] + (1 << 40).to_bytes(8, "little") + a[20:],  # the header far past
        lambda a: a[: len(a) - 20] + bytes(20),  # the header's end zeroed
    ],
)
def test_an_archive_whose_headers_cannot_be_read_is_named(damage: Any) -> None:
    skipped = _skips(damage(seven_zip(_tree())))
    assert len(skipped) == 1
    where, reason = skipped[0]
    assert where == "" and reason.startswith("a 7z archive: ")
    assert reason.endswith(": its members not decoded")


DAMAGED = [
    seven_zip(_tree(), FILTERS[name]) for name in ("lzma2", "bcj x86 + lzma", "deflate", "copy")
]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(DAMAGED), st.data())
def test_damaged_archives_never_raise(archive: bytes, data: st.DataObject) -> None:
    damaged = damage(data, archive)
    exercise(damaged[: data.draw(st.integers(0, len(damaged)))])
    exercise(damaged)


def test_a_bomb_is_read_within_its_bound_and_named() -> None:
    """64 MiB of zeros before the .env in one solid folder, in a few KiB: reaching the
    .env means unpacking the zeros, MAX_TAR_STREAM bytes at most (as a compressed tar's
    stream); the rest is named, never held."""
    bomb = seven_zip({"zeros.bin": bytes(64 * MIB), "app/.env": ENV})
    assert len(bomb) < 64 * 1024
    skipped: list[tuple[str, str]] = []
    budget = Budget(2, 1 << 30, (), skipped, lambda texts: set())
    tracemalloc.start()
    members = sevenzip_members(bomb, budget, "")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 9 * MIB + XZ_MEMORY  # (py7zr's LZMA2: a 16 MiB dictionary, liblzma's)
    assert sum(len(member.content) for member in members) <= 2 * MAX_MEMBER_SIZE
    cut = f"larger than {MAX_TAR_STREAM} bytes: only its first {MAX_TAR_STREAM} bytes decoded"
    assert ("7z", cut) in skipped


def test_a_key_after_harmless_members_is_read_past_them() -> None:
    """Harmless members are given back as they are read (the scanner's `worth`), and the
    folder's stream may read on by as much: a key after 6 MiB of them in the same folder
    is read, as it is after them in a tar.gz."""
    from nexpay_scan.config import load_settings
    from nexpay_scan.scan import Scanner

    worth = Scanner(load_settings(None, None, redact=True)).could_hold_keys
    padding = b"".join(b"%d,harmless,row\n" % n for n in range(400_000))
    assert len(padding) > 6 * MIB
    for archive in (
        seven_zip({"data/rows.csv": padding, "app/.env": ENV}),
        tar_of({"data/rows.csv": padding, "app/.env": ENV}),
    ):
        views = list(decoded_views(archive, worth=worth))
        assert [v.member for v in views if secret(81).encode() in v.data] == ["app/.env"]


# -- the prefilter, and every mode ------------------------------------------------------------


def test_the_prefilter_lets_a_7z_through() -> None:
    archive = seven_zip(_tree())
    assert _suspects(b"x = 1\n", archive) == {1}
    assert _suspects(b"x = 1\n", b"blob: " + base64.b64encode(archive) + b"\n") == {1}


def test_every_mode_finds_a_key_in_a_7z_and_names_what_it_could_not_read(
    cli: CliRun, tmp_path: Path
) -> None:
    from tests.test_same_findings import assert_same, every_mode

    contents = {
        f"backups/{name.replace(' ', '-').replace('+', 'and')}.7z": seven_zip(
            {"app/.env": env_file(120 + number), "docs/notes.txt": NOTES}, FILTERS[name]
        )
        for number, name in enumerate(sorted(FILTERS))
    }
    contents["backups/locked.7z"] = seven_zip({"app/.env": ENV}, password="x")
    found = every_mode(cli, tmp_path, contents)
    keys = {secret(120 + number) for number in range(len(FILTERS))}
    assert {name for key, name, _ in found["files"] if key in keys} == set(contents) - {
        "backups/locked.7z"
    }
    assert_same(found, found["files"])


def test_a_7z_zip_member_is_read_through_its_zip() -> None:
    archive = zip_of({"b.7z": seven_zip(_tree())}, zipfile.ZIP_DEFLATED)
    assert {h.encoding for h in decoded_hits(archive) if h.value == secret(81)} == {
        "zip:b.7z>7z:app/.env"
    }


def test_a_7z_over_the_size_limit_is_named(
    cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Searched a window at a time (small windows here), a 7z cannot be read whole (its
    header is at its end): it is named, as a big zip is."""
    import random

    from nexpay_scan import windows

    monkeypatch.setattr(windows, "WINDOW_BYTES", 4096)
    monkeypatch.setattr(windows, "OVERLAP_BYTES", 512)
    (tmp_path / ".nexpay-scan.toml").write_text("[scan]\nmax_file_size = 1000\n")
    noise = random.Random(3).randbytes(20000)
    (tmp_path / "b.7z").write_bytes(seven_zip({"a.bin": noise, "app/.env": ENV}, FILTERS["copy"]))
    run = cli("files", str(tmp_path), "--format", "json")
    # (and its first window, where the header is not, as a 7z cut short)
    reasons = [(i["file"], i["reason"][:40]) for i in run.json()["summary"]["skipped_files"]]
    assert ("b.7z", "an archive larger than 1000 bytes: searc") in reasons


def test_thousands_of_folders_are_looked_at_within_the_bound_and_named() -> None:
    """One folder a member, 20,000 of them (an archive made to cost a decoder set up for
    each): past LOOKED_AT_MOST members the rest is named, not read; a key before the
    bound is found, in a stored folder placed byte for byte."""
    from nexpay_scan.decoders.archives import _MANY_MEMBERS, LOOKED_AT_MOST

    assert LOOKED_AT_MOST < 20_000
    members = {f"d/{n:05}.txt": b"nothing %d\n" % n for n in range(20_000)}
    members["d/00007.txt"] = env_file(95)
    archive = seven_zip_folders(members)
    hits = [h for h in decoded_hits(archive) if h.value == secret(95)]
    at = archive.index(secret(95).encode())
    assert [(h.member, h.origin) for h in hits] == [("d/00007.txt", at)]
    assert _skips(archive) == [("7z", _MANY_MEMBERS)]


def test_a_key_in_a_members_name_is_never_shown_whole(cli: CliRun, tmp_path: Path) -> None:
    """A member named by a key, holding one, and another not read (PPMd) named by one:
    every report and stderr show the names redacted, as a zip member's are."""
    name = f"creds/{secret(96)}.env"
    folders = seven_zip_folders({name: env_file(96)})
    locked = seven_zip({f"old/{secret(97)}.env": ENV}, [{"id": py7zr.FILTER_PPMD}])
    (tmp_path / "a.7z").write_bytes(folders)
    (tmp_path / "b.7z").write_bytes(locked)
    for form in ("text", "json", "sarif", "gitlab", "junit"):
        run = cli("files", str(tmp_path), "--format", form)
        assert run.code == 1
        for shown in (run.out, run.err):
            assert secret(96) not in shown and secret(97) not in shown, form
