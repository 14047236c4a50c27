"""Hex-encoded keys (`xxd -p`, `.hex()`, in either case of digits): decoded where the text
they decode to holds a hint as it is (every prefixed key does), in content and archive
members, in every mode; the prefilter lets each through; digests and hex of other text
give no view."""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexpay_scan.decoders.model import MAX_VIEW_SPAN
from testing.archives import zip_of
from testing.cli import CliRun
from testing.keys import client_id, legacy_secret, secret
from tests.test_decoders import decoded_hits, decoded_views, values
from tests.test_prefilter import _scanner, _suspects


def _found(content: bytes) -> set[str]:
    return {s.candidate.value for s in _scanner().sightings(content)}


@pytest.mark.parametrize(
    "line",
    [
        "payload = '{hex}'",
        "payload = '{HEX}'",
        "NEXPAY_SECRET_HEX=0x{hex}",
        "value: x_f{hex}",  # a letter a-f glued before it: read from its second digit
        '{{"data": "{hex}", "kind": "blob"}}',
    ],
)
def test_a_hex_encoded_key_is_found_at_the_run(line: str) -> None:
    key = secret(80)
    hexed = f"token={key}".encode().hex()
    data = (line.format(hex=hexed, HEX=hexed.upper()) + "\n").encode()
    hits = [h for h in decoded_hits(data) if h.value == key]
    assert [h.encoding for h in hits] == ["hex"]
    assert data[hits[0].origin : hits[0].origin + 6].lower() in (b"746f6b", b"f746f6")


def test_a_client_id_and_a_secret_in_one_hex_run() -> None:
    text = f"NEXPAY_CLIENT_ID={client_id(81)}\nNEXPAY_SECRET={secret(81)}\n"
    assert values(decoded_hits(f"blob {text.encode().hex()}\n".encode())) >= {
        client_id(81),
        secret(81),
    }


def test_hex_in_an_archive_member_is_decoded() -> None:
    member = f"k = {secret(82).encode().hex()}\n".encode()
    hits = decoded_hits(zip_of({"conf/app.txt": member}))
    assert [(h.value, h.encoding) for h in hits] == [(secret(82), "zip:conf/app.txt>hex")]


def test_what_hex_is_not_decoded() -> None:
    """Digests, hex of text that names no hint, runs under 64 digits, hex inside base64 (a
    token's decoding is not read for hex), and base64 inside hex: no view, no key."""
    digests = "".join(f"sha256:{hashlib.sha256(b'%d' % n).hexdigest()}\n" for n in range(50))
    named_none = f"v = {legacy_secret(83).encode().hex()}\n"  # (a bare legacy value)
    short = f"v = {b'nxp_sk_'.hex()}\n"
    in_base64 = "blob: " + base64.b64encode(f"t={secret(84)}".encode().hex().encode()).decode()
    base64_in_hex = "v = " + base64.b64encode(f"t={secret(85)}".encode()).hex()
    for data in (digests, named_none, short, in_base64, base64_in_hex):
        assert not [v for v in decoded_views((data + "\n").encode()) if v.encoding.endswith("hex")]
        assert not _found((data + "\n").encode()), data[:40]


def test_a_long_hex_dump_is_decoded_a_piece_at_a_time() -> None:
    """A hex run of several MiB: decoded MAX_VIEW_SPAN digits at a time, the key in the
    second piece found."""
    rng = random.Random(5)
    text = "".join(f"row {n}: {rng.randbytes(12).hex()}\n" for n in range(40000))
    text += f"nxp key {secret(86)}\n"
    data = f"dump = {text.encode().hex()}\n".encode()
    assert len(data) > 2 * 1024 * 1024
    assert secret(86) in values(decoded_hits(data))


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
    upper=st.booleans(),
    glued=st.sampled_from(["", "0x", "a", "ff", "=", "\\x"]),
)
def test_whatever_hex_a_scan_decodes_the_prefilter_lets_through(
    seed: int, before: str, after: str, upper: bool, glued: str
) -> None:
    inner = f"{before}{secret(seed)}{after}".encode().hex()
    content = f"x = {glued}{inner.upper() if upper else inner}\n".encode()
    if _found(content):
        assert _suspects(b"x = 1\n", content) == {1}
    plain = f"x = {f'k={secret(seed)}'.encode().hex()}\n".encode()
    assert secret(seed) in _found(plain) and _suspects(b"x = 1\n", plain) == {1}


def test_every_mode_finds_a_hex_encoded_key(cli: CliRun, tmp_path: Path) -> None:
    from tests.test_same_findings import assert_same, every_mode

    contents = {
        "fixtures/payload.txt": f"data = {f'NEXPAY={secret(87)}'.encode().hex()}\n".encode(),
        "fixtures/upper.txt": f"data = {secret(88).encode().hex().upper()}\n".encode(),
        "bundle.zip": zip_of({"conf.hex": f"{secret(89).encode().hex()}\n".encode()}),
    }
    found = every_mode(cli, tmp_path, contents)
    keys = {secret(n) for n in (87, 88, 89)}
    assert {key for key, _, _ in found["files"]} >= keys
    assert_same(found, found["files"])


def test_a_custom_hints_hex_digits_are_found_in_every_case() -> None:
    """A hint with many letters a-f in its hex digits (`jklmno`: 64 cases) is searched in a
    lowercase copy, the built-in ones (`nxp`: 2, `nexpay`: 4) case by case: either way a
    run in upper, lower or mixed case is suspect, and one of other text is not."""
    from nexpay_scan.prefilter import prefilter_for, suspect_objects

    prefilter = prefilter_for((b"jklmno_", b"nxp_sk_"))
    assert prefilter.hex_words[1] == (b"jklmno".hex().encode(),)
    runs = [
        f"jklmno_token={'q' * 40}".encode().hex(),
        f"jklmno_token={'q' * 40}".encode().hex().upper(),
        "".join(
            c.upper() if n % 3 else c for n, c in enumerate(f"x nxp_ {'q' * 40}".encode().hex())
        ),
        f"other_token={'q' * 40}".encode().hex(),
    ]
    contents = [f"v = {run}\n".encode() for run in runs]
    block, starts = b"", []
    for number, content in enumerate(contents):
        block += b"%040x blob %d\n" % (number, len(content))
        starts.append(len(block))
        block += content + b"\n"
    assert suspect_objects(prefilter, block, starts, [len(c) for c in contents]) == {0, 1, 2}


@pytest.mark.parametrize("shift", [-40, -21, 0, 13, 40])
def test_a_key_across_a_pieces_cut_is_found_once(shift: int) -> None:
    """A hex run past MAX_VIEW_SPAN digits is decoded a piece at a time; a key placed
    across the cut (at any offset near it) is whole in the next piece, which repeats
    PIECE_OVERLAP digits, and reported once."""
    size = MAX_VIEW_SPAN // 2 - 20 + shift  # decoded bytes before the key
    pad = (b"x = 1; " * (size // 7 + 1))[:size]
    data = b"dump = " + (pad + f"nxp key {secret(90)} end\n".encode() + b"y" * 200).hex().encode()
    found = _scanner().scan(data + b"\n", "dump.txt")
    assert [(f.secret.reveal(), f.line) for f in found] == [(secret(90), 1)]
