"""The blob engine's prefilter never passes over content in which a scan finds a key:
base64 of keyed text at any offset, wrapped or URL-safe, in UTF-16, base64 of base64;
escapes near a hint. And a hint alone (`nxp` in base64 noise) is no reason to scan."""

from __future__ import annotations

import base64
import binascii
import functools
import gzip
import random

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from nexpay_scan.config import Settings, builtin_rules
from nexpay_scan.decoders import escapes
from nexpay_scan.decoders.model import Hints
from nexpay_scan.prefilter import (
    _JOINED_MOST,
    _LINES_MOST,
    ESCAPE_TRIGGERS,
    _SearchedHints,
    _unbase64,
    prefilter_for,
    suspect_objects,
)
from nexpay_scan.scan import Scanner
from testing.keys import client_id, secret
from tests.test_properties import PROPERTY


@functools.cache
def _scanner() -> Scanner:
    return Scanner(Settings(tuple(builtin_rules(with_examples=True))))


def _suspects(*contents: bytes) -> set[int]:
    """The prefilter's verdict on contents framed as `git cat-file --batch` gives them."""
    block, starts = b"", []
    for number, content in enumerate(contents):
        block += b"%040x blob %d\n" % (number, len(content))
        starts.append(len(block))
        block += content + b"\n"
    prefilter = prefilter_for(_scanner().detector.keywords)
    return suspect_objects(prefilter, block, starts, [len(c) for c in contents])


def _noise(seed: int, size: int) -> bytes:
    """Base64 of random bytes: what a notebook's images look like."""
    return base64.b64encode(random.Random(seed).randbytes(size))


def _found(content: bytes) -> bool:
    return any(True for _ in _scanner().sightings(content))


@PROPERTY
@given(
    seed=st.integers(0, 10**6),
    lead=st.binary(max_size=5),
    upper=st.booleans(),
    utf16=st.booleans(),
    twice=st.booleans(),
    urlsafe=st.booleans(),
    wrap=st.sampled_from([0, 64, 76]),
    before=st.integers(0, 300),
)
def test_base64_of_a_key_is_suspect(
    seed: int,
    lead: bytes,
    upper: bool,
    utf16: bool,
    twice: bool,
    urlsafe: bool,
    wrap: int,
    before: int,
) -> None:
    name = "NEXPAY_SECRET" if upper else "nexpay_secret"
    text = f"{name} = {secret(seed)}\nclient = {client_id(seed)}\n".encode()
    inner = lead + (text.decode().encode("utf-16") if utf16 else text)
    encoded = base64.b64encode(inner)
    if twice:
        encoded = base64.b64encode(encoded)
    if urlsafe:
        encoded = encoded.translate(bytes.maketrans(b"+/", b"-_"))
    if wrap:
        encoded = b"\n".join(encoded[n : n + wrap] for n in range(0, len(encoded), wrap))
    content = _noise(seed, before) + b"\n" + encoded + b"\n" + _noise(seed + 1, 200)
    noise = _noise(seed + 2, 3000)
    assert 1 in _suspects(noise, content)
    if _found(content):  # whatever a scan finds, the prefilter let through
        assert _suspects(content) == {0}


@PROPERTY
@given(seed=st.integers(0, 10**6), gap=st.integers(0, 2000), percent=st.booleans())
def test_an_escape_near_a_hint_is_suspect(seed: int, gap: int, percent: bool) -> None:
    key = secret(seed)
    escaped = key.replace("_", "%5F" if percent else "\\u005f", 1)
    content = b"NXP" + b"." * gap + escaped.encode()
    assert _suspects(content) == {0}
    assert _found(content)


def test_a_hint_alone_is_no_reason_to_scan() -> None:
    # "nxp" turns up in base64 noise: without a keyword or an escape near it, no key shows
    noise = _noise(7, 30000)
    content = noise[:5000] + b"nxp" + noise[5000:]
    assert _suspects(content) == set()
    assert not _found(content)
    assert _suspects(content + b"\nnxp_sk_") == {0}


def test_escapes_near_a_hint_that_show_no_keyword_are_no_reason_to_scan() -> None:
    # a notebook: "nxp" in an image's base64, JSON's `\n` glued to its lines; decoded,
    # they show no keyword, no escape to decode further, no base64 that hides a word
    noise = _noise(11, 30000)
    lines = [noise[n : n + 76] for n in range(0, len(noise), 76)]
    notebook = b'{"image/png": "' + b'\\n",\n  "'.join(lines) + b'"}'
    at = notebook.index(b"\\n") - 30
    notebook = notebook[:at] + b"nxp" + notebook[at + 3 :]
    assert _suspects(notebook) == set()
    assert not _found(notebook)
    spaced = noise[:5000] + b"Nxp %41" + noise[5000:]
    assert _suspects(spaced) == set()
    assert not _found(spaced)
    # a notebook's text output: box drawing, backspaces, a form feed, near "nxp"
    drawn = b'"text": "nxp \\u2500\\u2500 \\b\\f %ed ' + noise[:3000] + b'\\u22c5"'
    assert _suspects(drawn) == set()
    assert not _found(drawn)


def test_escapes_that_could_show_a_keyword_are_suspect() -> None:
    key = secret(5).encode()
    # the keyword itself escaped; an escape decoding to another escape (decoded again
    # a depth down); JSON line escapes that join the lines of wrapped base64 of a key
    assert _suspects(b"NXP" + key.replace(b"_", b"\\u005f", 1)) == {0}
    assert _suspects(b"nxp -> " + key.replace(b"_", b"%255F", 1)) == {0}
    # ("nxp_sk_" split over two lines: no line of it decodes to a word on its own)
    text = b"value_for_the_payments_api_that_we_use = xy" + key + b"\n"
    encoded = base64.b64encode(text)
    wrapped = b"nxp: " + b"\\n".join(encoded[n : n + 60] for n in range(0, len(encoded), 60))
    prefilter = prefilter_for(_scanner().detector.keywords)
    assert not prefilter.base64_hides_word(wrapped)
    assert _suspects(wrapped) == {0}
    assert _found(wrapped)


def test_the_text_around_a_hint_is_judged_on_its_own_each_time() -> None:
    """Versions of a file repeat the text around their hints, and its answer is
    remembered: but only for that very text. A twin of the same length, the key's prefix
    changed, is clean; asked in turn, each keeps its own answer."""
    key = secret(6).encode()

    def wrapped(prefix: bytes) -> bytes:
        text = b"value_for_the_payments_api_that_we_use = xy" + prefix + key[7:] + b"\n"
        encoded = base64.b64encode(text)
        return b"nxp: " + b"\\n".join(encoded[n : n + 60] for n in range(0, len(encoded), 60))

    dirty, clean = wrapped(b"nxp_sk_"), wrapped(b"abc_de_")
    assert len(dirty) == len(clean) and dirty != clean
    for _ in range(3):
        assert _suspects(clean) == set()
        assert _suspects(dirty) == {0}
        assert _suspects(clean, dirty, clean) == {1}


def test_words_in_the_noise_of_decoded_bytes_are_no_reason_to_scan() -> None:
    # base64 of binary bytes with "nxp" or a gzip magic in them: no text token holds the
    # word, and the stream after the magic inflates to nothing
    raw = random.Random(3).randbytes(3000)
    for planted in (b"nxp", b"NeXpAy", b"\x1f\x8b\x08"):
        for at in range(1500, 1503):
            content = base64.b64encode(raw[:at] + planted + raw[at + len(planted) :])
            assert _suspects(content) == set(), (planted, at)
            assert not _found(content)


def test_words_in_decoded_text_and_real_gzip_streams_are_suspect() -> None:
    text = b"# notes: the Nxp%5Fsk key goes in the vault, not here\n" * 3
    assert _suspects(base64.b64encode(text)) == {0}
    hidden = gzip.compress(f"nexpay_secret = {secret(9)}\n".encode(), mtime=0)
    raw = random.Random(4).randbytes(300)
    for at in range(0, 3):  # at each offset in a group of three: a token starts anywhere
        content = b"data: " + base64.b64encode(raw[:at] + hidden)
        assert _suspects(b"data: " + base64.b64encode(hidden)) == {0}
        assert 0 in _suspects(content) or not _found(content)


def test_every_escape_starts_with_a_trigger() -> None:
    escapers = [v for v in vars(escapes).values() if isinstance(v, escapes._Escaper)]
    assert escapers
    assert {e.trigger for e in escapers} <= set(ESCAPE_TRIGGERS)


def test_content_starting_as_base64_without_a_key_is_not_suspect() -> None:
    ruler = b"//" + b"-" * 78 + b"\nfunction f() {}\n"
    assert _suspects(ruler) == set()
    hidden = base64.b64encode(f"nexpay {secret(3)}".encode())
    assert _suspects(hidden) == {0}
    assert binascii.a2b_base64(hidden)  # sanity: it decodes


@PROPERTY
@given(raw=st.binary(max_size=300), junk=st.binary(max_size=8))
def test_base64_decodes_as_binascii_does(raw: bytes, junk: bytes) -> None:
    # whole groups of four, as the prefilter joins its runs; and anything else, decoded
    # as binascii decodes it (or refused alike)
    groups = base64.b64encode(raw)[: len(raw) // 3 * 4]
    assert _unbase64(groups) == binascii.a2b_base64(groups)
    odd = groups + junk
    try:
        expected = binascii.a2b_base64(odd)
    except binascii.Error:
        return
    assert _unbase64(odd) == expected


@PROPERTY
@given(
    pieces=st.lists(
        st.sampled_from([b"nxp", b"NxP", b"nexpay", b"NEXPAY", b"nnxp", b"x", b"\0", b"\xff"]),
        max_size=60,
    ),
    gap=st.integers(0, 5000),
)
def test_the_prefilters_hints_are_the_decoders(pieces: list[bytes], gap: int) -> None:
    # the prefilter finds the hints near which escapes are looked at with its own SIMD
    # passes: the same windows as the decoders' own search
    data = b"".join(piece + b"." * (gap * (n % 3 == 0)) for n, piece in enumerate(pieces))
    words = prefilter_for(_scanner().detector.keywords).hints
    assert _SearchedHints(data, words).windows(0, len(data)) == Hints(data, words).windows(
        0, len(data)
    )


@pytest.mark.parametrize("glue", [b"\\n", b'\\n",\n      "'])
def test_a_key_past_the_most_lines_a_chain_joins_is_suspect(glue: bytes) -> None:
    # a chain joins at most _JOINED_MOST lines (the `regex` engine's memory): the lines
    # after them start a chain of their own, so a key there still shows
    image = _noise(21, 57 * (_JOINED_MOST + 200))
    rows = [image[n : n + 76] for n in range(0, len(image), 76)]
    rows.insert(_JOINED_MOST + 100, base64.b64encode(f"nexpay_secret = {secret(21)}\n".encode()))
    content = b'"image/png": "' + glue.join(rows) + b'"\n'
    # (a scan decodes a line of the list on its own; the escaped lines, past its budget of
    # tokens, it may not reach: the prefilter lets them through all the same)
    assert _found(content) or glue == b"\\n"
    assert _suspects(_noise(22, 600), content) == {1}


def _wrapped_past_the_most_lines(width: int, seed: int) -> tuple[bytes, bytes]:
    """A key's line at the end of a long text, in base64 wrapped at `width` characters a
    line after a first line of 76 (a decoder's token starts at a long run), the key's
    line more than _LINES_MOST lines down; and the first line."""
    words = random.Random(seed).choices(["pay", "the", "ledger", "of", "May"], k=80_000)
    text = " ".join(words).encode()[: (_LINES_MOST + 300) * width * 3 // 4]
    encoded = base64.b64encode(text + f"\nnexpay_secret = {secret(seed)}\nend of text\n".encode())
    rest = encoded[76:]
    lines = [rest[n : n + width] for n in range(0, len(rest), width)]
    assert len(lines) > _LINES_MOST + 100
    return encoded[:76] + b"\n" + b"\n".join(lines) + b"\n", encoded[:76]


@pytest.mark.parametrize("width", [4, 9, 76])
def test_a_key_past_the_most_lines_one_match_takes_is_found_and_suspect(width: int) -> None:
    # `regex` keeps a record for each repeat of a group, so one match takes at most
    # _LINES_MOST further lines of a wrapped blob (20 MB of short lines took 600 MB as
    # one): a blob longer than that is followed to its end a bounded match at a time, by
    # the decoders and by the prefilter, in a file and in a patch alike
    content, _ = _wrapped_past_the_most_lines(width, width)
    assert _found(content)
    assert _suspects(_noise(23, 600), content) == {1}
    patch = b"+++ b/blob.b64\n@@ -0,0 +1 @@\n" + b"".join(
        b"+" + line + b"\n" for line in content.splitlines()
    )
    prefilter = prefilter_for(_scanner().detector.keywords)
    assert prefilter.suspect(patch, patch=True)
    assert prefilter.suspect(b"-removed\n" + patch, patch=True)


def test_lines_after_a_joined_piece_are_followed_to_their_end() -> None:
    # a run joined to the one before it by a backslash (as JSON escapes a line break)
    # joins no further lines in the same match: its chain is followed on from its end
    content, first = _wrapped_past_the_most_lines(9, 31)
    joined = _noise(31, 57) + b"\\" + content
    assert _found(joined)
    assert _suspects(joined) == {0}
    # short: the whole lines are joined in one match all the same
    short = (
        _noise(32, 57)
        + b"\\"
        + first
        + b"\n"
        + base64.b64encode(f"nexpay_secret = {secret(32)}\n".encode())
    )
    assert _suspects(_noise(33, 600), short) == {1}


def test_chains_that_share_a_body_are_each_named() -> None:
    # each distinct body is decoded once, and a hit is taken back to every chain whose
    # body it is: the same base64 on one line, wrapped or indented names each object
    keyed = base64.b64encode(f"nexpay_secret = {secret(7)}\n".encode())
    wrapped = keyed[:44] + b"\n" + keyed[44:]
    indented = keyed[:44] + b"\n    " + keyed[44:]
    noise = [b'"%s".' % _noise(n, 300) for n in range(3)]
    quoted = [b'key = "%s"' % chain for chain in (keyed, wrapped, indented)]
    contents = [noise[0], quoted[0], noise[1], quoted[1], noise[2], quoted[2], quoted[0]]
    assert _suspects(*contents) == {1, 3, 5, 6}
    assert _suspects(noise[0], noise[0], quoted[1], noise[1]) == {2}


def test_each_run_is_named_by_the_object_it_is_in() -> None:
    # runs parted by a single byte that is no base64 (a NUL, a dot, a quote) before the
    # object that hides a key: the run that shows it names its own object, not one before
    runs = [_noise(n, 60) for n in range(6)]
    parted = b"".join(run + bytes([glue]) for run, glue in zip(runs, b'\0."\\,\t', strict=True))
    keyed = base64.b64encode(f"nexpay_secret = {secret(5)}\n".encode())
    assert _suspects(parted, keyed) == {1}
    assert _suspects(parted, parted, keyed, parted) == {2}


@PROPERTY
@given(
    seed=st.integers(0, 10**6),
    lines=st.integers(0, 30),
    at=st.integers(0, 30),
    escaped=st.booleans(),
    urlsafe=st.booleans(),
)
def test_a_key_among_a_notebooks_image_lines_is_suspect(
    seed: int, lines: int, at: int, escaped: bool, urlsafe: bool
) -> None:
    # a notebook stores an image as JSON strings of 76 characters, one per line ('...\\n",'
    # a newline, the indent, '"'), or as one string with escaped line ends: the prefilter
    # reads those lines as one chain. A line of base64 of keyed text among them still
    # shows, and a chain never runs on into the next object of a block.
    image = _noise(seed, 57 * lines)
    rows = [image[n : n + 76] for n in range(0, len(image), 76)]
    keyed = base64.b64encode(f"nexpay_secret = {secret(seed)}\n".encode())
    if urlsafe:
        keyed = keyed.translate(bytes.maketrans(b"+/", b"-_"))
    rows.insert(min(at, len(rows)), keyed)
    glue = b"\\n" if escaped else b'\\n",\n      "'
    content = b'   "image/png": "' + glue.join(rows) + b'\\n"\n'
    found = _found(content)
    assert found or escaped  # (a scan decodes a line of the list on its own)
    if found:
        before = b'"' + b'\\n",\n "'.join(
            _noise(seed + 1, 57 * 3)[n : n + 76] for n in (0, 76, 152)
        )
        assert _suspects(content) == {0}
        assert _suspects(before + b'\\n",\n', content) == {1}
        assert _suspects(before + glue, content, before) == {1}


@PROPERTY
@given(
    seed=st.integers(0, 10**6),
    dashes=st.integers(1, 90),
    where=st.sampled_from(["before", "after", "both"]),
    form=st.sampled_from(["text", "urlsafe", "twice", "gzip", "utf-16"]),
    lead=st.binary(max_size=3),
    padded=st.booleans(),
)
def test_base64_glued_to_a_ruler_is_found_and_suspect(
    seed: int, dashes: int, where: str, form: str, lead: bytes, padded: bool
) -> None:
    # a ruler of dashes is base64 too: glued to a token it made one run that decodes to
    # nothing whole; the scan decodes the token apart, and the prefilter lets it through
    text = f"nexpay_secret = {secret(seed)}\n".encode()
    inner = {
        "text": text,
        "urlsafe": text,
        "twice": base64.b64encode(text),
        "gzip": gzip.compress(text, mtime=0),
        "utf-16": text.decode().encode("utf-16"),
    }[form]
    encoded = base64.b64encode(lead + inner)
    if not padded:  # (padding ends a run: then only a ruler before it is glued)
        encoded = encoded.rstrip(b"=")
    if form == "urlsafe":
        encoded = encoded.translate(bytes.maketrans(b"+/", b"-_"))
    ruler = b"-" * dashes
    glued = {
        "before": ruler + encoded,
        "after": encoded + ruler,
        "both": ruler + encoded + ruler,
    }[where]
    content = b"blob: " + glued + b"\n" + _noise(seed, 100) + b"\n"
    if _found(content):  # whatever a scan finds, the prefilter let through
        assert _suspects(content) == {0}
    if form in ("text", "twice") and not lead and dashes >= 8:
        assert _found(content)


@PROPERTY
@given(
    seed=st.integers(0, 10**6),
    before=st.text(max_size=40),
    after=st.text(max_size=40),
    lead=st.binary(max_size=4),
    gzipped=st.booleans(),
)
def test_whatever_a_scan_decodes_the_prefilter_lets_through(
    seed: int, before: str, after: str, lead: bytes, gzipped: bool
) -> None:
    # any UTF-8 around the key (multi-byte characters next to the words), any bytes
    # before the base64, a gzip stream in it
    text = f"{before}nexpay{after} = {secret(seed)}{after}".encode()
    inner = gzip.compress(text, mtime=0) if gzipped else text
    content = lead + b"\n" + base64.b64encode(random.Random(seed).randbytes(seed % 7) + inner)
    if _found(content):
        assert _suspects(content) == {0}


@PROPERTY
@given(
    seed=st.integers(0, 10**6),
    escape=st.sampled_from(["\\u005f", "\\x5f", "%5F", "%5f", "\\\\u005f", "%255F"]),
    where=st.integers(0, 6),
    wrap=st.sampled_from([0, 60, 76]),
    glue=st.sampled_from(["\\n", "\\r\\n", "\\n\\n"]),
    noise=st.integers(0, 3000),
)
def test_whatever_escapes_show_the_prefilter_lets_through(
    seed: int, escape: str, where: int, wrap: int, glue: str, noise: int
) -> None:
    # a key with one character escaped, or base64 of a key wrapped with JSON's escaped
    # line ends, after base64 noise with "nxp" in it (a notebook's image)
    key = secret(seed)
    escaped = key[:where] + escape + key[where + 1 :] if key[where] == "_" else key
    if wrap:
        encoded = base64.b64encode(f"nexpay_secret = {key}\n".encode()).decode()
        lines = [encoded[n : n + wrap] for n in range(0, len(encoded), wrap)]
        escaped = glue.join(lines)
    image = _noise(seed, noise).decode()
    content = f'{{"png": "{image}nxp{image[:100]}{glue}", "text": "nxp: {escaped}"}}\n'
    if _found(content.encode()):
        assert _suspects(content.encode()) == {0}


@PROPERTY
@given(
    seed=st.integers(0, 10**6),
    nul=st.integers(0, 9000),
    form=st.sampled_from(["plain", "base64", "gzip in base64", "escape", "wrapped"]),
    around=st.integers(0, 2),
    size=st.sampled_from([9000, 40000]),
)
def test_binary_content_is_suspect_as_a_scan_reads_it(
    seed: int, nul: int, form: str, around: int, size: int
) -> None:
    """Content with a NUL in its first 8000 bytes is binary, as git and the decoders tell
    it: they decode none of its tokens (base64, escapes), so neither are looked for in it
    (65 MB of the bench tree's 104 are binary), while a key as it is still is; with its
    first NUL past 8000 bytes, it is text and all are. Whatever a scan finds, the
    prefilter lets through; what it cannot find in binary content, the prefilter clears,
    in a block of other objects too (a small binary is searched with them, a big one
    left out)."""
    key = f"nexpay_secret = {secret(seed)}\n".encode()
    payload = {
        "plain": key,
        "base64": base64.b64encode(key),
        "gzip in base64": base64.b64encode(gzip.compress(key, mtime=0)),
        "escape": f'{{"nxp": "nxp\\u005fsk_{secret(seed)[7:]}"}}'.encode(),
        "wrapped": base64.encodebytes(b"# settings\n" * 20 + key),
    }[form]
    filler = random.Random(seed).randbytes(size).replace(b"\0", b"\n")
    content = filler[:nul] + b"\0" + filler[nul:] + b"\n" + payload + b"\n"
    found = _found(content)
    if nul >= 8000 or form == "plain":
        assert found
    else:
        assert not found
    others = [_noise(seed + n, 500) for n in range(around)]
    expected = {len(others)} if found else set()
    assert _suspects(*others, content, *others) == expected


def test_a_big_binary_is_cleared_in_windows_unless_a_key_stands_in_it_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A big binary (judged a window at a time) is binary by its first window: its later
    windows are searched for keywords only, as the decoders read it whole. Text of the
    same size is searched for base64 too."""
    from nexpay_scan import prefilter

    monkeypatch.setattr(prefilter, "WINDOW_BYTES", 8 << 10)
    key = f"NEXPAY_SECRET={secret(967)}\n".encode()
    binary = random.Random(12).randbytes(64 << 10)
    text = binary.replace(b"\0", b"\n")
    assert b"\0" in binary[:8000]
    judge = prefilter_for(_scanner().detector.keywords)
    for filler, form, payload in (
        (binary, "binary", base64.b64encode(key)),
        (binary, "binary", f"nxp%5Fsk_{secret(968)[7:]}&".encode()),
        (binary, "binary", key),
        (text, "text", base64.b64encode(key)),
    ):
        for at in (100, 30000, 60000):
            content = filler[:at] + b"\n" + payload + b"\n" + filler[at:]
            found = _found(content)
            assert found == (form == "text" or payload == key)
            assert prefilter.cleared_in_windows(judge, content) == (not found)
            assert prefilter.suspect_objects(judge, content, [0], [len(content)]) == (
                {0} if found else set()
            )


def test_a_key_in_a_later_gzip_member_is_suspect() -> None:
    # the decoders read gzip member after member: a key in the second, wherever in a
    # group of three it starts, is let through
    second = gzip.compress(f"nexpay_secret = {secret(9)}\n".encode(), mtime=0)
    for size in (7, 8, 9):  # a first member 3n, 3n+1 and 3n+2 bytes long
        first = gzip.compress(bytes(range(size)), mtime=0)
        content = b"data: " + base64.b64encode(first + second)
        assert _found(content)
        assert _suspects(content) == {0}, len(first) % 3


def test_content_packed_with_gzip_headers_is_suspect_not_slow() -> None:
    # each stream is inflated a byte at a time: past a bound, a stream is a hit untried
    stream = gzip.compress(b"nothing here\n" * 40, mtime=0)
    stream += b"\0" * (-len(stream) % 3)  # each next one starts a group of three
    assert _suspects(b"data: " + base64.b64encode(stream)) == set()
    assert _suspects(b"data: " + base64.b64encode(stream * 200)) == {0}


@PROPERTY
@given(
    seed=st.integers(0, 10**6),
    codec=st.sampled_from(["utf-16-le", "utf-16-be"]),
    lead=st.binary(max_size=64),
    damage=st.integers(0, 200),
    tail=st.integers(0, 5000),
)
def test_whatever_utf16_a_scan_decodes_the_prefilter_lets_through(
    seed: int, codec: str, lead: bytes, damage: int, tail: int
) -> None:
    # UTF-16 text without a byte-order mark, damaged here and there (NULs too), after any
    # bytes and before binary noise: the prefilter tells it as the decoders do
    rng = random.Random(seed)
    data = bytearray(lead + f"nexpay_secret = {secret(seed)}\n".encode(codec) * 3)
    for _ in range(damage):
        data[rng.randrange(len(data))] = rng.choice([0, rng.randrange(256)])
    content = bytes(data) + rng.randbytes(tail)
    if _found(content):
        assert _suspects(content) == {0}


def test_a_binary_with_nuls_in_every_other_byte_half_the_time_is_not_suspect() -> None:
    """A shared object's tables put NULs in every other byte often, not three times in
    four: the decoders do not read it as UTF-16, and neither does the prefilter."""
    rng = random.Random(7)
    units = [bytes([rng.randrange(1, 256), 0 if rng.random() < 0.6 else rng.randrange(1, 256)])
             for _ in range(3000)]  # fmt: skip
    content = b"".join(units)
    assert not _found(content)
    assert _suspects(content) == set()


def test_words_with_no_character_in_common_are_still_found_decoded() -> None:
    """A repository's own rule may bring keywords that share no character with the
    built-in ones: each word is then searched on its own in decoded base64."""
    from nexpay_scan.prefilter import Prefilter

    prefilter = Prefilter((b"nexpay", b"zulu_tok"))  # ("nexpay" and "zulu" share nothing)
    hidden = base64.b64encode(b"config: zulu_tok = " + b"k" * 40 + b"\n")
    assert prefilter.base64_hides_word(b"x = " + hidden + b"\n")
    assert not prefilter.base64_hides_word(b"x = " + base64.b64encode(b"q" * 60) + b"\n")


def test_each_word_is_found_where_another_overlaps_it() -> None:
    """Two words may overlap ("nexpand"): base64 of text holding the one that comes second
    is suspect, in plain text and in UTF-16."""
    from nexpay_scan.prefilter import Prefilter

    prefilter = Prefilter((b"nexpay", b"expand"))
    for text in (b"config: nexpand = 1 and more text after it\n", "x = nexpand, and so on"):
        raw = text if isinstance(text, bytes) else text.encode("utf-16-le")
        hidden = base64.b64encode(raw + b" " * 30)
        assert prefilter.base64_hides_word(b"x = " + hidden + b"\n"), text
    assert not prefilter.base64_hides_word(b"x = " + base64.b64encode(b"nexpan" * 10) + b"\n")


# marks as `_chains` searches them: runs of base64 characters ("A"), and what parts them
_MARK_PIECES = st.one_of(
    st.integers(0, 140).map(lambda n: b"A" * n),
    st.sampled_from([b".", b" ", b"\t", b"\n", b"\r\n", b"\\", b'",\n  "', b'\\A",\n "', b"\nA"]),
)


@PROPERTY
@given(st.lists(_MARK_PIECES, max_size=60), st.booleans())
def test_runs_found_without_regex_are_those_regex_finds(pieces: list[bytes], joined: bool) -> None:
    """A small scan finds base64 runs by `bytes.find` and `re` (loading `regex` would be
    half of its time): the same runs, wrapped lines and joined pieces as `regex` finds."""
    from nexpay_scan.prefilter import _runs_by_find, _runs_by_regex

    marks = b"".join(pieces)
    assert _runs_by_find(marks, joined) == _runs_by_regex(marks, joined)


@PROPERTY
@given(st.lists(_MARK_PIECES, max_size=60))
def test_wrapped_lines_found_without_regex_are_those_regex_finds(pieces: list[bytes]) -> None:
    """A chain cut where further lines follow is taken on by `re` where `regex` is not
    loaded (`files` loads none): the same lines from every offset."""
    from nexpay_scan import compiled
    from nexpay_scan.prefilter import _LINES, _lines_pattern

    marks = b"".join(pieces)
    by_re, by_regex = compiled.pattern(_LINES).match, _lines_pattern().match
    for at in range(len(marks) + 1):
        found, expected = by_re(marks, at), by_regex(marks, at)
        assert (found and found.span()) == (expected and expected.span())


@PROPERTY
@given(
    where=st.lists(st.integers(0, (3 << 20) - 8), max_size=3),
    word=st.sampled_from([b"nexpay", b"NxP_sK_", b"nxp_cid_", b"nxp", b"nexpa"]),
    near=st.sampled_from([0, 1 << 20, 2 << 20]),
    shift=st.integers(-8, 2),
)
@example(where=[0, 0, 123], word=b"nxp", near=0, shift=0)  # (a random "_" after it)
def test_big_content_is_matched_in_pieces_as_regex_matches_it(
    where: list[int], word: bytes, near: int, shift: int
) -> None:
    """Content over 1 MB is searched for the keywords' anchors a piece at a time where
    `regex` is not loaded (`files` met a wheel's raw bytes: 11 ms to load it in each
    process): the answer of a search of the whole, a word across two pieces included, and
    yes wherever `regex`'s search for the keywords says yes (an anchor, `nxp_`, is shorter
    than the keywords it stands for: a random byte `_` after `nxp` is a yes of its own)."""
    from nexpay_scan.detector import _in_pieces

    detector = _scanner().detector
    data = bytearray(random.Random(len(where)).randbytes(3 << 20).replace(b"n", b"m"))
    for at in [*where, max(0, near + shift)]:
        data[at : at + len(word)] = word
    content = bytes(data[: 3 << 20])
    found = _in_pieces(content, detector.anchors)
    whole = content.lower()
    assert found == any(anchor in whole for anchor in detector.anchors)
    if any(p.search(content) for p in detector.prefilters):
        assert found


@PROPERTY
@given(
    pieces=st.lists(
        st.lists(
            st.one_of(
                st.binary(max_size=40),
                st.sampled_from([b"PK\x05\x06", b"PK\x05\x06" + b"\0" * 18, b"\0\0"]),
                st.integers(0, 70).map(lambda n: b"PK\x05\x06" + bytes(16) + bytes([n, 0])),
            ),
            max_size=6,
        ),
        max_size=6,
    ),
    comment=st.integers(0, 70),
)
def test_objects_that_end_as_a_zip_are_found_in_one_pass(
    pieces: list[list[bytes]], comment: int
) -> None:
    """The objects of a block that end as a zip with something before it (the decoders
    open them whole) are found by looking for an end record's magic once in the block: the
    same objects as asking each one, end records with and without a comment, in an object,
    across its end, and between objects."""
    from nexpay_scan import bytepasses
    from nexpay_scan.decoders.archives import ends_as_zip
    from nexpay_scan.prefilter import _zips_behind
    from nexpay_scan.scan import _joined

    contents = [b"".join(parts) for parts in pieces]
    # and one that does end as a zip with a comment, after a prefix
    contents.append(
        b"#!prefix\n" + b"PK\x05\x06" + bytes(16) + bytes([comment, 0]) + bytes(comment)
    )
    block, starts = _joined(contents)
    sizes = [len(c) for c in contents]
    rfind = functools.partial(bytepasses.rfind, block)
    pairs = enumerate(zip(starts, sizes, strict=True))
    each = [n for n, (at, size) in pairs if ends_as_zip(block, at, size, rfind)]
    assert _zips_behind(block, starts, sizes) == each
    assert len(contents) - 1 in each
