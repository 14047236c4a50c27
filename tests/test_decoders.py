"""decoded_views: keys in the forms they leak in (base64, percent, string escapes, UTF-16,
archives) are found by the detector in some view and mapped back to the encoded text;
plain text yields nothing, cheaply; hostile bytes never raise and stay bounded."""

from __future__ import annotations

import base64
import gzip
import io
import json
import random
import struct
import subprocess
import sys
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexpay_scan import decoders
from nexpay_scan.config import builtin_rules, load_settings
from nexpay_scan.decoders import MAX_MEMBER_SIZE, MAX_TOTAL, MIB, DecodedView, hints_for
from nexpay_scan.decoders.archives import PIECE
from nexpay_scan.decoders.model import BUDGET_SPENT, MAX_VIEW_SPAN
from nexpay_scan.detector import Detector
from nexpay_scan.filters import drop_reason, locate
from nexpay_scan.scan import Scanner
from testing.archives import tar_of, zip_of
from testing.keys import client_id, legacy_client_id, legacy_secret, secret

DETECTOR = Detector(builtin_rules())
HINTS = hints_for(DETECTOR.keywords)  # as the scanner makes them: "nxp", "nexpay"


def decoded_views(data: bytes, **options: Any) -> Iterator[DecodedView]:
    """`decoders.decoded_views` with the built-in rules' hints, as the scanner calls it."""
    return decoders.decoded_views(data, hints=HINTS, **options)


ROOT = Path(__file__).resolve().parent.parent


class Hit(NamedTuple):
    """A decoded finding as the scanner would report it."""

    rule_id: str
    value: str
    encoding: str
    member: str | None
    origin: int
    line: int
    column: int


def decoded_hits(data: bytes, max_depth: int = 2) -> list[Hit]:
    """Candidates in decoded text (not in copied context) that pass every filter."""
    hits = []
    for view in decoded_views(data, max_depth=max_depth):
        for found in DETECTOR.candidates(view.data, binary=b"\0" in view.data[:8000]):
            if not view.decoded(found.start, found.end):
                continue
            if drop_reason(found, locate(view.data, found.start)):
                continue
            line, column = view.position(data, found.start)
            origin = view.origin(found.start)
            hits.append(
                Hit(found.rule.id, found.value, view.encoding, view.member, origin, line, column)
            )
    return hits


def plain_values(data: bytes) -> set[str]:
    """What a scan of the bytes as they are finds: the forms below must hide their keys."""
    found = DETECTOR.candidates(data, binary=b"\0" in data[:8000])
    return {c.value for c in found if not drop_reason(c, locate(data, c.start))}


def values(hits: Iterable[Hit]) -> set[str]:
    return {h.value for h in hits}


def only(hits: list[Hit], value: str) -> Hit:
    [hit] = [h for h in hits if h.value == value]
    return hit


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def env_file(seed: int) -> bytes:
    return (
        f"NEXPAY_CLIENT_ID={client_id(seed)}\n"
        f"NEXPAY_SECRET={secret(seed)}\n"
        f"NEXPAY_LEGACY_SECRET={legacy_secret(seed)}\n"
        "LOG_LEVEL=debug\n"
    ).encode()


# -- each form a key leaks in ---------------------------------------------------------------


def test_kubernetes_secret_manifest() -> None:
    manifest = (
        "apiVersion: v1\n"
        "kind: Secret\n"
        "metadata:\n"
        "  name: checkout\n"
        "type: Opaque\n"
        "data:\n"
        f"  NEXPAY_CLIENT_ID: {b64(legacy_client_id(1))}\n"
        f"  NEXPAY_SECRET: {b64(legacy_secret(1))}\n"
        f"  NEXPAY_API_SECRET: {b64(secret(1))}\n"
        f"  LOG_LEVEL: {b64('debug')}\n"
    ).encode()
    hits = decoded_hits(manifest)
    assert values(hits) == {legacy_client_id(1), legacy_secret(1), secret(1)}
    assert not plain_values(manifest)
    hit = only(hits, legacy_secret(1))
    # the name that gives a legacy secret its context is outside the token: it is found
    # because the token is decoded in place, inside its own lines
    assert hit.rule_id == "nexpay-legacy-secret"
    assert hit.encoding == "base64"
    assert hit.origin == manifest.index(b64(legacy_secret(1)).encode())
    assert (hit.line, hit.column) == (8, 18)


def test_base64_encoded_env_file_wrapped_at_76_columns() -> None:
    committed = base64.encodebytes(env_file(2))
    assert committed.count(b"\n") > 1
    hits = decoded_hits(committed)
    assert values(hits) == {client_id(2), secret(2), legacy_secret(2)}
    # each key sits on the line its encoded form starts on (76 characters hold 57 bytes)
    plain = env_file(2)
    for hit in hits:
        line = plain.index(hit.value.encode()) // 57 + 1
        assert (hit.encoding, hit.line, hit.column) == ("base64", line, 1)
        assert hit.origin == 77 * (line - 1)


def test_lines_of_separate_padded_values_are_not_one_wrapped_blob() -> None:
    lines = [b64(f"key {secret(n)} =") for n in (50, 51)]
    assert all(line.endswith("==") for line in lines)
    data = "\n".join(lines).encode()
    hits = decoded_hits(data)
    assert values(hits) == {secret(50), secret(51)}
    assert only(hits, secret(51)).origin == len(lines[0]) + 1


def test_url_safe_base64() -> None:
    text = f"nexpay secret {legacy_secret(3)} ???"  # "???" is "Pz8_" in URL-safe base64
    token = base64.urlsafe_b64encode(text.encode()).decode()
    assert "-" in token or "_" in token
    data = f"callback?state={token}\n".encode()
    assert values(decoded_hits(data)) == {legacy_secret(3)}


def test_basic_auth_header() -> None:
    current = b64(f"{client_id(4)}:{secret(4)}")
    legacy = b64(f"{legacy_client_id(4)}:{legacy_secret(4)}")
    script = (
        "# check the key against the Nexpay API\n"
        f"curl -H 'Authorization: Basic {current}' https://api.nexpay.com/v2/users/me\n"
        f"curl -H 'Authorization: Basic {legacy}' https://api.nexpay.com/v2/users/me\n"
    ).encode()
    hits = decoded_hits(script)
    assert {client_id(4), secret(4), legacy_secret(4)} <= values(hits)
    assert only(hits, secret(4)).origin == script.index(current.encode())
    assert only(hits, legacy_secret(4)).origin == script.index(legacy.encode())
    assert (only(hits, legacy_secret(4)).line, only(hits, legacy_secret(4)).column) == (3, 31)


def test_percent_encoded_url() -> None:
    url = (
        "https://hooks.example.com/redirect?next=https%3A%2F%2Fapi.nexpay.com%2Fv2"
        f"%3Fsecret%3D{legacy_secret(5)}%26client%3D{client_id(5)}\n"
    ).encode()
    hits = decoded_hits(url)
    assert {legacy_secret(5), client_id(5)} <= values(hits)
    assert legacy_secret(5) not in plain_values(url)
    assert {h.encoding for h in hits} == {"percent"}
    assert only(hits, legacy_secret(5)).origin == 0


def test_percent_encoded_form_body() -> None:
    body = (
        "POST /oauth/token HTTP/1.1\nHost: api.nexpay.com\n\n"
        f"grant_type=client_credentials&client_id={client_id(6).replace('_', '%5F')}"
        f"&client_secret={secret(6).replace('_', '%5F')}\n"
    ).encode()
    hits = decoded_hits(body)
    assert values(hits) == {client_id(6), secret(6)}
    assert not plain_values(body)
    assert only(hits, secret(6)).origin == body.index(b"grant_type")
    assert only(hits, secret(6)).line == 4


def test_notebook_with_string_escapes() -> None:
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "source": ["import nexpay\n", "print(nexpay.whoami())\n"],
                "outputs": [
                    {"name": "stdout", "text": [f"nexpay:\n  secret: {legacy_secret(7)}\n"]}
                ],
            },
            {"cell_type": "markdown", "source": [f"api key={secret(7)}"]},
        ]
    }
    # Gson-style serializers escape "=" as \u003d
    text = json.dumps(notebook, indent=1).replace("=", "\\u003d").encode()
    hits = decoded_hits(text)
    assert values(hits) == {legacy_secret(7), secret(7)}
    # glued to the escape's "d", the secret is found as it is too: its checksum is the
    # boundary, not the characters around it; the legacy secret's line names Nexpay
    assert plain_values(text) == {secret(7), legacy_secret(7)}
    hit = only(hits, legacy_secret(7))
    assert hit.encoding == "escape"
    assert hit.line == text[: text.index(legacy_secret(7).encode())].count(b"\n") + 1


def test_json_in_json() -> None:
    inner = json.dumps({"log": f"nexpay secret:\n{legacy_secret(8)}", "id": client_id(8)})
    outer = json.dumps({"event": inner, "url": "https://api.nexpay.com/v2"}).encode()
    assert b"\\\\n" in outer  # the newline escaped twice: decoded twice, it is a line break
    hits = decoded_hits(outer)
    assert legacy_secret(8) in values(hits)
    assert legacy_secret(8) not in plain_values(outer)
    assert only(hits, legacy_secret(8)).encoding == "escape>escape"
    assert only(hits, legacy_secret(8)).origin == outer.index(b"secret:\\\\n")


def test_json_unicode_escapes_inside_a_key() -> None:
    escaped = secret(9).replace("_", "\\u005f")
    data = f'{{"nexpay": {{"secret": "{escaped}", "path": "\\/v2\\/users"}}}}'.encode()
    hits = decoded_hits(data)
    assert values(hits) == {secret(9)}
    assert not plain_values(data)


@pytest.mark.parametrize(
    ("codec", "bom"), [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b""), ("utf-16-le", b"")]
)
def test_utf16_text(codec: str, bom: bytes) -> None:
    text = f"# créé\r\n[nexpay]\r\nsecret = {legacy_secret(10)}\r\nid={secret(10)}\r\n"
    data = bom + text.encode(codec)
    hits = decoded_hits(data)
    assert values(hits) == {legacy_secret(10), secret(10)}
    assert {h.encoding for h in hits} == {codec}
    hit = only(hits, legacy_secret(10))
    assert hit.origin == len(bom) + 2 * text.index(legacy_secret(10))
    assert (hit.line, hit.column) == (3, 10)
    assert (only(hits, secret(10)).line, only(hits, secret(10)).column) == (4, 4)


def test_base64_of_utf16_as_powershell_encodes_commands() -> None:
    command = f"$env:NEXPAY_SECRET = '{secret(11)}'".encode("utf-16-le")
    data = f"powershell -EncodedCommand {base64.b64encode(command).decode()}\n".encode()
    hits = decoded_hits(data)
    assert [(h.value, h.encoding, h.origin) for h in hits] == [
        (secret(11), "base64>utf-16-le", len("powershell -EncodedCommand "))
    ]


def test_zip_holding_an_env_file() -> None:
    archive = zip_of({"app/README.md": b"# app\n", "app/.env": env_file(12)})
    hits = decoded_hits(archive)
    assert values(hits) == {client_id(12), secret(12), legacy_secret(12)}
    assert {(h.encoding, h.member, h.origin, h.line, h.column) for h in hits} == {
        ("zip:app/.env", "app/.env", 0, 1, 1)
    }


def test_tar_gz_holding_a_config() -> None:
    config = f"nexpay:\n  client_id: {legacy_client_id(13)}\n  secret: {legacy_secret(13)}\n"
    archive = tar_of({"etc/payments.yml": config.encode()})
    hits = decoded_hits(archive)
    assert values(hits) == {legacy_client_id(13), legacy_secret(13)}
    assert {(h.encoding, h.member) for h in hits} == {
        ("gzip>tar:etc/payments.yml", "etc/payments.yml")
    }


def test_plain_tar() -> None:
    archive = tar_of({"settings.env": env_file(14)}, mode="w")
    assert values(decoded_hits(archive)) == {client_id(14), secret(14), legacy_secret(14)}


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_a_member_stored_as_is_is_placed_byte_for_byte(kind: str) -> None:
    # its bytes are the archive's own: a key in it is placed where a plain scan of the
    # archive finds it, and reported once (it was reported again, on the archive's line 1)
    env = env_file(19)
    if kind == "tar":
        archive = tar_of({"app/.env": env}, mode="w")
    else:
        archive = zip_of({"app/.env": env}, zipfile.ZIP_STORED)
    hits = decoded_hits(archive)
    assert values(hits) == {client_id(19), secret(19), legacy_secret(19)}
    for hit in hits:
        at = archive.index(hit.value.encode())
        line_start = archive.rfind(b"\n", 0, at) + 1
        assert (hit.origin, hit.line) == (at, archive.count(b"\n", 0, at) + 1)
        assert hit.column == len(archive[line_start:at].decode("utf-8", "replace")) + 1


def test_gzip_of_a_text_file() -> None:
    hits = decoded_hits(gzip.compress(env_file(15)))
    assert values(hits) == {client_id(15), secret(15), legacy_secret(15)}
    assert {h.encoding for h in hits} == {"gzip"}


def test_base64_inside_a_zip() -> None:
    manifest = f"kind: Secret\ndata:\n  NEXPAY_SECRET: {b64(legacy_secret(16))}\n".encode()
    archive = zip_of({"deploy/secret.yaml": manifest})
    [hit] = decoded_hits(archive)
    assert hit.value == legacy_secret(16)
    assert (hit.encoding, hit.member, hit.origin) == (
        "zip:deploy/secret.yaml>base64",
        "deploy/secret.yaml",
        0,
    )


def test_zip_inside_a_zip_names_both_members() -> None:
    inner = zip_of({"config/.env": env_file(17)})
    [view] = [
        v for v in decoded_views(zip_of({"lib/bundle.zip": inner})) if secret(17).encode() in v.data
    ]
    assert view.encoding == "zip:lib/bundle.zip>zip:config/.env"
    assert view.member == "lib/bundle.zip!config/.env"


def test_gzip_inside_base64_maps_to_the_token() -> None:
    token = base64.b64encode(gzip.compress(env_file(18))).decode()
    data = f"release: {token}\n".encode()
    hits = decoded_hits(data)
    assert values(hits) == {client_id(18), secret(18), legacy_secret(18)}
    assert {(h.encoding, h.origin) for h in hits} == {("base64>gzip", len("release: "))}


def test_base64_twice_is_found_at_depth_two_and_maps_to_the_outer_token() -> None:
    token = b64(b64(f"NEXPAY_SECRET={legacy_secret(19)}"))
    data = f"x = 1\nvalue: {token}\n".encode()
    [hit] = decoded_hits(data)
    assert (hit.value, hit.encoding, hit.origin) == (legacy_secret(19), "base64>base64", 13)
    assert decoded_hits(data, max_depth=1) == []


# -- what is decoded, and what is not --------------------------------------------------------


def test_copied_context_is_not_decoded_text_and_maps_byte_for_byte() -> None:
    data = f"NEXPAY_SECRET={secret(20)}\nNEXPAY_OTHER={b64(secret(21))}\n".encode()
    [view] = decoded_views(data)
    plain = view.data.index(secret(20).encode())
    decoded = view.data.index(secret(21).encode())
    assert not view.decoded(plain, plain + 49)
    assert view.decoded(decoded, decoded + 49)
    assert view.origin(plain) == data.index(secret(20).encode())
    assert view.origin(decoded) == data.index(b64(secret(21)).encode())
    assert values(decoded_hits(data)) == {secret(21)}


def test_tokens_close_together_share_one_view() -> None:
    lines = [f"  KEY_{i}: {b64(secret(30 + i))}" for i in range(5)]
    views = list(decoded_views("\n".join(lines).encode()))
    assert len(views) == 1
    assert all(secret(30 + i).encode() in views[0].data for i in range(5))


def test_large_blobs_side_by_side_are_separate_views_within_the_budget() -> None:
    blobs = [
        f"K{i}: " + b64("x" * 600_000 + f"\nNEXPAY_SECRET={secret(60 + i)}\n") for i in range(14)
    ]
    data = "\n".join(blobs).encode()
    views = list(decoded_views(data))
    assert 1 < len(views) < 14
    assert sum(len(v.data) for v in views) <= MAX_TOTAL
    assert secret(60).encode() in views[0].data
    assert secret(61).encode() in views[1].data


def test_a_huge_blob_is_decoded_a_mebibyte_at_a_time() -> None:
    data = ("blob: " + b64(f"NEXPAY_SECRET={secret(62)}\n" + "x" * (3 * MIB))).encode()
    views = list(decoded_views(data))
    assert secret(62).encode() in views[0].data
    assert all(len(v.data) < MIB for v in views)
    assert sum(len(v.data) for v in views) > 2 * MIB


def test_a_view_never_shows_its_bytes_in_its_repr() -> None:
    [view] = decoded_views(f"k: {b64(secret(61))}".encode())
    assert secret(61) not in repr(view)
    assert repr(view) == f"DecodedView('base64', {len(view.data)} bytes)"


PLAIN_TEXTS = {
    "this project's scanner": (ROOT / "nexpay_scan" / "scan.py").read_bytes(),
    "this test file": Path(__file__).read_bytes(),
    "hashes in a lock file": b"".join(
        b'"integrity": "sha512-'
        + base64.b64encode(random.Random(i).randbytes(64))
        + b'"\n'
        + b"sha256 = "
        + random.Random(i).randbytes(32).hex().encode()
        + b"\n"
        for i in range(50)
    ),
    "separators and long names": b"-" * 80
    + b"\n"
    + b"_" * 80
    + b"\ndef test_that_a_very_long_function_name_is_not_base64_at_all_really():\n",
    "urls with escapes": b"see https://example.com/search?q=nexpay%20keys%20leak&page=2\n",
    "code with escapes": b'print("nexpay\\n" + "\\t".join(["a", "b"]) + "\\u00e9")\n',
    "a PEM certificate": b"-----BEGIN CERTIFICATE-----\n"
    + base64.encodebytes(random.Random(1).randbytes(600))
    + b"-----END CERTIFICATE-----\n",
    "an image in a data URI": b'<img src="data:image/png;base64,'
    + base64.b64encode(b"\x89PNG\r\n\x1a\n" + random.Random(2).randbytes(3000))
    + b'">\n',
}


@pytest.mark.parametrize("data", PLAIN_TEXTS.values(), ids=PLAIN_TEXTS.keys())
def test_plain_text_yields_no_view(data: bytes) -> None:
    assert list(decoded_views(data)) == []


def test_the_module_imports_no_archive_library() -> None:
    code = (
        "import sys, nexpay_scan.decoders; "
        "print(sorted(m for m in ('zipfile', 'tarfile', 'gzip', 'zlib', 'bz2', 'lzma')"
        " if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# -- hostile input: never an exception, bounded time and memory ------------------------------


def raw_zip(members: list[tuple[str, int, int, int, bytes]]) -> bytes:
    """A zip built field by field from (name, method, crc, size, compressed bytes)."""
    body, directory = b"", b""
    for name, method, crc, size, payload in members:
        encoded = name.encode()
        fields = (method, 0, 0x21, crc, len(payload), size, len(encoded))
        directory += struct.pack(
            "<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, *fields, 0, 0, 0, 0, 0, len(body)
        )
        directory += encoded
        body += struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, *fields, 0) + encoded + payload
    end = struct.pack(
        "<4s4H2IH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(body), 0
    )
    return body + directory + end


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    """1 GiB of zeros in a ~1 MB member, then an .env: deflate output of one MiB of zeros,
    flushed to a byte boundary, repeated (zipfile's own streaming writes take seconds)."""
    zeros = bytes(MIB)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = deflater.compress(zeros) + deflater.flush(zlib.Z_FULL_FLUSH)
    stream = piece * 1024 + deflater.flush()
    crc = 0
    for _ in range(1024):
        crc = zlib.crc32(zeros, crc)
    env = env_file(40)
    return raw_zip(
        [
            ("zeros.bin", zipfile.ZIP_DEFLATED, crc, 1024 * MIB, stream),
            (".env", zipfile.ZIP_STORED, zlib.crc32(env), len(env), env),
        ]
    )


def test_zip_bomb_is_read_through_a_capped_stream(zip_bomb: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(zip_bomb)) as archive:
        assert archive.getinfo("zeros.bin").file_size == 1 << 30
    assert len(zip_bomb) < 2 * MIB
    views = list(decoded_views(zip_bomb))
    assert [(v.member, len(v.data)) for v in views] == [
        ("zeros.bin", PIECE),
        ("zeros.bin", PIECE),  # (no prefilter to give them back: two pieces are held)
        (".env", len(env_file(40))),
    ]
    tracemalloc.start()
    list(decoded_views(zip_bomb))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * MIB


@pytest.fixture(scope="module")
def tar_gz_bomb() -> bytes:
    """A tar.gz of 1 GiB of zeros in one member, then an .env: a tar header, deflate output
    of one MiB of zeros flushed to a byte boundary and repeated, the rest, in a gzip frame."""
    import tarfile

    env = env_file(41)
    header = tarfile.TarInfo("zeros.bin")
    header.size = 1024 * MIB
    tail = tarfile.TarInfo(".env")
    tail.size = len(env)
    after = tail.tobuf() + env + bytes(-len(env) % 512) + bytes(1024)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = deflater.compress(header.tobuf()) + deflater.flush(zlib.Z_FULL_FLUSH)
    zeros = bytes(MIB)
    piece = deflater.compress(zeros) + deflater.flush(zlib.Z_FULL_FLUSH)
    body = head + piece * 1024 + deflater.compress(after) + deflater.flush()
    crc = zlib.crc32(header.tobuf())
    for _ in range(1024):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(after, crc)
    size = (len(header.tobuf()) + 1024 * MIB + len(after)) & 0xFFFFFFFF
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + body + struct.pack("<2I", crc, size)


def test_a_tar_gz_bomb_is_read_as_it_inflates_within_its_bound(tar_gz_bomb: bytes) -> None:
    # read as the stream inflates (never held whole): the zeros, harmless, let the stream
    # read on only as far as what they give back, and what is past that is named
    assert len(tar_gz_bomb) < 2 * MIB
    worth = Scanner(load_settings(None, None, redact=True)).could_hold_keys
    skipped: list[tuple[str, str]] = []
    tracemalloc.start()
    views = list(decoded_views(tar_gz_bomb, skipped=skipped, worth=worth))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * MIB
    cut = f"more than {MAX_MEMBER_SIZE} bytes to decode: the rest not decoded"
    assert views == []
    assert skipped == [("gzip>tar:zeros.bin", cut), ("", BUDGET_SPENT)]


def test_views_never_exceed_the_budget() -> None:
    members = {
        f"part{i}.txt": random.Random(i).randbytes(500_000).hex().encode() for i in range(10)
    }
    archive = zip_of(members)
    assert sum(len(v.data) for v in decoded_views(archive)) <= MAX_TOTAL
    assert sum(len(v.data) for v in decoded_views(archive, max_total=100_000)) <= 100_000


@pytest.mark.parametrize("shift", [-40, -17, 0, 23, 40])
@pytest.mark.parametrize("wrapped", [False, True])
def test_a_key_across_a_base64_pieces_cut_is_found_once(shift: int, wrapped: bool) -> None:
    """Base64 past MAX_VIEW_SPAN characters is decoded a piece at a time; a key placed
    across the cut is whole in the next piece (which repeats PIECE_OVERLAP characters, from
    a line's start when wrapped) and reported once. Before, it was in neither."""
    # decoded bytes before the key: a piece ends MAX_VIEW_SPAN bytes in, and a wrapped
    # blob's lines are 76 characters and a line break
    chars = MAX_VIEW_SPAN * 76 // 77 if wrapped else MAX_VIEW_SPAN
    size = chars * 3 // 4 - 20 + shift
    pad = (b"x = 1; " * (size // 7 + 1))[:size]
    raw = pad + f"nxp key {secret(91)} end\n".encode() + b"y" * 200
    data = b"dump:\n" + base64.encodebytes(raw) if wrapped else b"dump: " + base64.b64encode(raw)
    found = Scanner(load_settings(None, None, redact=True)).scan(data + b"\n", "dump.txt")
    assert [f.secret.reveal() for f in found] == [secret(91)]


def test_deeply_nested_base64_stops_at_the_depth_limit() -> None:
    text = f"NEXPAY_SECRET={secret(41)}"
    for _ in range(20):
        text = b64(text)
    data = f"blob: {text}\n".encode()
    views = list(decoded_views(data))
    assert [v.encoding for v in views] == ["base64", "base64>base64"]
    [hit] = decoded_hits(data, max_depth=20)
    assert hit.value == secret(41)
    assert hit.encoding == ">".join(["base64"] * 20)
    assert hit.origin == len("blob: ")


ENV = env_file(42)
GOOD_ZIP = zip_of({"app/.env": ENV})
GOOD_TGZ = tar_of({"app/.env": ENV})
STORED_ZIP = zip_of({"app/.env": ENV}, zipfile.ZIP_STORED)
NOISE = random.Random(42).randbytes(4096)
CORRUPT = {
    "truncated zip": GOOD_ZIP[: len(GOOD_ZIP) // 2],
    "zip magic alone": b"PK\x03\x04",
    "zip directory garbage": GOOD_ZIP[:-22] + b"PK\x05\x06" + b"\xff" * 18,
    "zip with a wrong CRC": STORED_ZIP.replace(b"LOG_LEVEL", b"LOG_LEVEX"),
    "zip member marked encrypted": STORED_ZIP.replace(
        b"\x14\x00\x00\x00\x00\x00", b"\x14\x00\x01\x00\x00\x00"
    ),
    "zip of bzip2": zip_of({"app/.env": ENV}, zipfile.ZIP_BZIP2),
    "zip of lzma": zip_of({"app/.env": ENV}, zipfile.ZIP_LZMA),
    "zip magic then noise": b"PK\x03\x04" + NOISE,
    "truncated gzip": gzip.compress(ENV)[:-8],
    "gzip magic then noise": b"\x1f\x8b" + NOISE,
    "gzip with a bad CRC": gzip.compress(ENV)[:-8] + b"\0" * 8,
    "truncated tar.gz": GOOD_TGZ[: len(GOOD_TGZ) // 2],
    "tar header of noise": NOISE[:257] + b"ustar" + NOISE,
    "tar that claims a huge member": tar_of({"a": b"x" * 10}, mode="w").replace(
        b"00000000012", b"77777777777"
    ),
    "BOM then noise": b"\xff\xfe" + NOISE,
    "NUL every other byte, not text": bytes(b for c in NOISE[:2000] for b in (c % 32, 0)),
    "random megabyte": random.Random(7).randbytes(MIB),
}


@pytest.mark.parametrize("data", CORRUPT.values(), ids=CORRUPT.keys())
def test_corrupt_input_is_skipped_quietly(data: bytes) -> None:
    exercise(data)


def test_whatever_a_truncated_gzip_held_is_still_scanned() -> None:
    assert secret(42) in values(decoded_hits(CORRUPT["truncated gzip"]))


def test_unreadable_zip_members_are_passed_over() -> None:
    assert list(decoded_views(CORRUPT["zip member marked encrypted"])) == []


def test_bzip2_and_lzma_zip_members_are_read() -> None:
    for name in ("zip of bzip2", "zip of lzma"):
        assert secret(42) in values(decoded_hits(CORRUPT[name])), name


def damage(data: st.DataObject, original: bytes) -> bytes:
    """`original` with one to eight of its bytes overwritten, as Hypothesis draws them."""
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 8))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    return bytes(damaged)


def exercise(data: bytes) -> None:
    """Every view, and every method of each view at its edges."""
    for view in decoded_views(data):
        for offset in {0, len(view.data) // 2, max(len(view.data) - 1, 0), len(view.data)}:
            assert 0 <= view.origin(offset) <= len(data)
            view.position(data, offset)
            view.decoded(offset, offset + 1)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    exercise(data)


MAGIC = [b"PK\x03\x04", b"\x1f\x8b", b"\x1f\x8b\x08\x00", b"\xff\xfe", b"\xfe\xff", b"\0"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(MAGIC), st.binary(max_size=2048))
def test_bytes_behind_magic_numbers_never_raise(magic: bytes, rest: bytes) -> None:
    exercise(magic + rest)


TOKENISH = st.text(alphabet="AZaz09+/=-_%\\u\"'\n 5fFnxpNEXPAY:", max_size=600)


@settings(max_examples=300, deadline=None)
@given(TOKENISH)
def test_text_full_of_escapes_and_base64_never_raises(text: str) -> None:
    exercise(text.encode())


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([GOOD_ZIP, GOOD_TGZ, STORED_ZIP, gzip.compress(ENV)]), st.data())
def test_damaged_archives_never_raise(archive: bytes, data: st.DataObject) -> None:
    damaged = bytearray(archive)
    for _ in range(data.draw(st.integers(1, 8))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    exercise(bytes(damaged))


def test_a_run_that_decodes_to_nothing_alone_is_still_decoded_as_a_blob_s_first_line() -> None:
    """A line seen alone first (two control bytes in its 57: not text) and then as the
    first line of a wrapped blob (text as a whole, a key further down): the blob is
    decoded, whatever the line alone gave."""
    blob = base64.encodebytes(b"\x01\x02" + b"x" * 55 + b"\n" + env_file(5) + b"# " * 300)
    first_line = blob.split(b"\n")[0]
    assert not decoded_hits(first_line + b"\n")
    data = (first_line + b"\n\n") * 3 + blob
    assert values(decoded_hits(data)) == {client_id(5), secret(5), legacy_secret(5)}


def test_a_base64_line_under_the_last_of_thousands_of_rulers_is_decoded() -> None:
    """The rulers are one-line runs that decode to nothing (decoded once); the last one and
    the base64 line under it make one wrapped blob that is not text: the line under it
    gets a try of its own."""
    separator = b"# " + b"-" * 76 + b"\n"
    data = separator * 5000 + (b64(f"NEXPAY_SECRET={secret(6)}") + "\n").encode() + separator
    assert values(decoded_hits(data)) == {secret(6)}


@pytest.mark.parametrize("dashes", [8, 9, 43, 80])
def test_base64_glued_to_a_ruler_is_decoded(dashes: int) -> None:
    """A ruler of dashes is base64 too (URL-safe `-`): glued to a token, before or after
    it, it made one run that is never text decoded whole. The token is decoded apart."""
    token = b64(f"NEXPAY_SECRET={secret(7)}\n")
    ruler = "-" * dashes
    for line in (f"blob: {token}{ruler}\n", f"# {ruler}{token}\n", f"{ruler}{token}{ruler}"):
        data = line.encode()
        hit = only(decoded_hits(data), secret(7))
        assert hit.origin == data.index(token.encode())


def test_a_ruler_glued_to_what_is_no_base64_text_gives_no_view() -> None:
    rulers = [b"-" * 80 + b"abc", b"x" * 50 + b"-" * 40, b"# " + b"-" * 76 + b"TkVY"]
    hashes = base64.urlsafe_b64encode(random.Random(3).randbytes(48)) + b"-" * 20
    for data in [*rulers, hashes]:
        assert list(decoded_views(data + b"\n")) == []


def _gunzip(data: bytes, size: int) -> bytes:
    """At most `size` bytes inflated whole from the gzip members at the start of `data`
    (from a truncated or corrupt stream, what inflates before the damage): what a stream
    read as it inflates is held to."""
    out: list[bytes] = []
    left = size
    while data.startswith(b"\x1f\x8b") and left > 0:
        inflating = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = inflating.decompress(data, left)
        except zlib.error:
            break
        out.append(chunk)
        left -= len(chunk)
        if not inflating.eof:  # the cap stopped it, or it is truncated
            break
        data = inflating.unused_data
    return b"".join(out)


@settings(max_examples=60, deadline=None)
@given(
    contents=st.lists(st.binary(max_size=3000), min_size=1, max_size=6),
    cut=st.integers(min_value=0, max_value=100),
    members=st.integers(min_value=1, max_value=3),
)
def test_a_tar_gz_read_as_it_inflates_gives_what_it_held_inflated_whole(
    contents: list[bytes], cut: int, members: int
) -> None:
    # members of random bytes (some harmless, so given back), in a gzip stream of one or
    # more members, whole or cut short: the members read as the stream inflates are those
    # the tar held (up to the damage), as `tar_members` reads them from the stream inflated
    from nexpay_scan.decoders.archives import gzip_contents, is_tar, tar_members
    from nexpay_scan.decoders.model import Budget

    named = {
        f"m{n}": content + (b" nexpay" if n % 2 else b"") for n, content in enumerate(contents)
    }
    raw = tar_of(named, "w")
    step = len(raw) // members + 1
    packed = b"".join(gzip.compress(raw[at : at + step]) for at in range(0, len(raw), step))
    data = packed[: len(packed) - len(packed) * cut // 100] if cut < 100 else packed
    if not is_tar(_gunzip(data, 512)):  # (too short to tell a tar: read as a gzip stream)
        return
    worth = lambda texts: {n for n, text in enumerate(texts) if b"nexpay" in text}  # noqa: E731
    streamed = gzip_contents(data, Budget(2, 1 << 30, (), [], worth), "")
    whole = tar_members(_gunzip(data, 1 << 30), Budget(2, 1 << 30, (), [], worth), "")
    assert [m.content for m in streamed] == [m.content for m in whole]
    assert all(b"nexpay" in m.content for m in streamed)
