"""Properties over any input: the diff parser and the detector with its filters never
raise, and a key planted anywhere in random text is found at its line and column."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from nexpay_scan.config import Settings, builtin_rules
from nexpay_scan.findings import Finding
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.gitlog import RawChange, added_blobs, parse_raw_z
from nexpay_scan.sources.patch import added_lines, is_binary, section_path, split_sections
from testing.keys import bad_checksum, client_id, legacy_client_id, legacy_secret, secret

# No example database on disk, no per-example deadline (a slow CI machine is not a bug);
# the autouse fixture of conftest only pins environment variables, so it is safe to share.
PROPERTY = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEWER = settings(PROPERTY, max_examples=60)


@functools.cache
def _scanner() -> Scanner:
    """The built-in rules, read without the on-disk rule cache."""
    return Scanner(Settings(tuple(builtin_rules(with_examples=True))))


def _scan(data: bytes, path: str = "random.txt") -> list[Finding]:
    return _scanner().scan(data, path)


# --- strategies -----------------------------------------------------------------------------

# Pieces that make the rules and filters work: prefixes, Nexpay context, line ends, NULs,
# broken UTF-8, allow comments, near-keys and real ones.
_PIECE_BYTES = [
    b"nxp_sk_",
    b"nxp_cid_",
    b"nexpay",
    b"NEXPAY_SECRET=",
    b"NEXPAY_CLIENT_ID=",
    b"Authorization: ApiKey ",
    b"api.nexpay.com",
    b"nexpay:\n  secret: ",
    b"  # nexpay-scan: allow",
    b"\n",
    b"\r\n",
    b"\r",
    b"\0",
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b" ",
    b"=",
    b":",
    b'"',
    b"-",
    b"_",
    b"x" * 43,
    secret(1).encode(),
    secret(2).encode()[:-1],
    bad_checksum(secret(3)).encode(),
    client_id(1).encode(),
    legacy_secret(1).encode(),
    legacy_client_id(1).encode(),
    legacy_client_id(2).encode() + b":" + legacy_secret(2).encode(),
]
_PIECES = st.sampled_from(_PIECE_BYTES)
HOSTILE_BYTES = st.one_of(
    st.binary(max_size=400),
    st.lists(st.one_of(_PIECES, st.binary(max_size=8)), max_size=40).map(b"".join),
)
PATHS = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40).map(os.fsdecode),  # undecodable names as surrogate escapes
)
_ASCII_SEPARATORS = " \t\n\r\0=:;,.\"'`()[]{}<>/\\|-+!?#@$%^&*~_"
SEPARATORS = st.one_of(
    st.sampled_from(list(_ASCII_SEPARATORS)),
    st.characters(codec="utf-8").filter(lambda c: not c.isalnum()),
)
BYTE_SEPARATORS = st.one_of(
    st.sampled_from([c.encode() for c in _ASCII_SEPARATORS]),
    st.sampled_from([b"\xff", b"\x80", b"\xc3", b"\xe2\x80\xa8", b"\xc2\xa0"]),
)
SEEDS = st.integers(min_value=0, max_value=10**9)
# Text around a planted key: random, or built of the pieces the rules react to
_TEXT_PIECES = st.sampled_from([p.decode("utf-8", "replace") for p in _PIECE_BYTES])
AROUND_TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(_TEXT_PIECES, st.text(max_size=6)), max_size=30).map("".join),
)
AROUND_BYTES = st.one_of(
    st.binary(max_size=300),
    st.lists(st.one_of(_PIECES, st.binary(max_size=6)), max_size=30).map(b"".join),
)


# --- detector and filters -------------------------------------------------------------------


@PROPERTY
@given(data=HOSTILE_BYTES, path=PATHS)
@example(data=b"\0" * 9000 + secret(1).encode(), path="zeros.bin")
@example(data=b"nexpay\n" * 50 + legacy_secret(1).encode(), path="")
@example(data=b"\rnxp_cid_000100010123564AAAAABBCD\n", path="")
def test_scan_never_raises_and_places_findings_on_their_line(data: bytes, path: str) -> None:
    lines = re.split(rb"\r\n|\r|\n", data)  # a lone \r ends a line too
    for finding in _scan(data, path):
        assert 1 <= finding.line <= len(lines)
        assert finding.column >= 1
        # on its line as it is, or (a key found in decoded text) a note says how it was hidden
        decoded = any("decoded" in note for note in finding.notes)
        assert decoded or finding.secret.reveal().encode() in lines[finding.line - 1]
        assert finding.file == path


def _expected_place_text(prefix: str) -> tuple[int, int]:
    lines = re.split(r"\r\n|\r|\n", prefix)  # \n, \r\n and a lone \r each end a line
    return len(lines), len(lines[-1]) + 1


@PROPERTY
@given(
    before=AROUND_TEXT,
    left=SEPARATORS,
    right=SEPARATORS,
    after=AROUND_TEXT,
    seed=SEEDS,
)
@example(before="", left="\n", right="\n", after="", seed=0)
@example(before="a\r\nb\0", left="_", right="_", after="\0", seed=1)
@example(before="a\rb\r", left="\r", right="\r", after="c\r", seed=3)
@example(before="naïve ☃\n\tx", left="=", right='"', after="\u2028", seed=2)
def test_key_planted_in_random_text_is_found_at_its_line_and_column(
    before: str, left: str, right: str, after: str, seed: int
) -> None:
    key = secret(seed)
    prefix = before + left
    text = prefix + key + right + after
    assume("nexpay-scan" not in text)  # an allow comment on the line is meant to hide it
    assume(text.count(key) == 1)
    found = [(f.line, f.column) for f in _scan(text.encode()) if f.secret.reveal() == key]
    assert found == [_expected_place_text(prefix)]


@PROPERTY
@given(
    before=AROUND_BYTES,
    left=BYTE_SEPARATORS,
    right=BYTE_SEPARATORS,
    after=AROUND_BYTES,
    seed=SEEDS,
)
@example(before=b"\xff\xfe\n\xc3", left=b"\x80", right=b"\0", after=b"\xc3", seed=3)
@example(before=b"\r", left=b" ", right=b" ", after=b"", seed=0)
def test_key_planted_in_random_bytes_is_found_at_its_line_and_column(
    before: bytes, left: bytes, right: bytes, after: bytes, seed: int
) -> None:
    key = secret(seed).encode()
    prefix = before + left
    data = prefix + key + right + after
    assume(b"nexpay-scan" not in data and data.count(key) == 1)
    lines = re.split(rb"\r\n|\r|\n", prefix)  # \n, \r\n and a lone \r each end a line
    # columns count characters; bytes that are not UTF-8 count one each, as decoded
    column = len(lines[-1].decode("utf-8", "replace")) + 1
    found = [(f.line, f.column) for f in _scan(data) if f.secret.reveal().encode() == key]
    assert found == [(len(lines), column)]


@FEWER
@given(before=st.text(max_size=200), left=SEPARATORS, right=SEPARATORS, seed=SEEDS)
def test_key_with_a_wrong_checksum_is_never_found(
    before: str, left: str, right: str, seed: int
) -> None:
    near = bad_checksum(secret(seed))
    found = _scan((before + left + near + right).encode())
    assert near not in {f.secret.reveal() for f in found}


# --- the diff parser: any bytes -------------------------------------------------------------

_PATCH_PIECES = st.sampled_from(
    [
        b"diff --git a/f b/f\n",
        b"diff --git ",
        b"index 0000000..1111111 100644\n",
        b"--- a/f\n",
        b"+++ b/f\n",
        b"@@ -1,2 +3,4 @@\n",
        b"@@ -0,0 +1 @@ context\n",
        b"@@ -99999999999999999999 +18446744073709551617,3 @@\n",
        b"@@ broken @@\n",
        b"@@ ",
        b"Binary files a/f and b/f differ\n",
        b"GIT binary patch\nliteral 3\n",
        b"\\ No newline at end of file\n",
        b"+",
        b"-",
        b" ",
        b"\n",
        b"\r\n",
        b"\0",
        b"\xff",
        b"x",
    ]
)
PATCH_BYTES = st.one_of(
    st.binary(max_size=300),
    st.lists(st.one_of(_PATCH_PIECES, st.binary(max_size=6)), max_size=60).map(b"".join),
)


_SECTION_MARKERS = (b"diff --git ", b"diff --cc ", b"diff --combined ")  # (a merge's: --cc)


def _section_starts(patch: bytes) -> list[int]:
    return [
        index
        for index in range(len(patch))
        if patch.startswith(_SECTION_MARKERS, index)
        and (index == 0 or patch[index - 1 : index] == b"\n")
    ]


@PROPERTY
@given(patch=PATCH_BYTES)
def test_patch_parser_never_raises_on_any_bytes(patch: bytes) -> None:
    sections = split_sections(patch)
    starts = _section_starts(patch)
    assert len(sections) == len(starts)
    assert b"".join(sections) == (patch[starts[0] :] if starts else b"")
    assert all(s.startswith(_SECTION_MARKERS) for s in sections)
    for section in [patch, *sections]:
        assert isinstance(is_binary(section), bool)
        assert all(isinstance(n, int) and n >= 0 for n in added_lines(section))


# --- the diff parser: well-formed patches, against a model ------------------------------------

_CONTENT = st.one_of(
    st.binary(max_size=20).map(lambda b: b.replace(b"\n", b"")),
    st.sampled_from(
        [b"@@ -1 +1 @@", b"++ b/f", b"-- a/f", b"diff --git a/x b/x", b"Binary files", b""]
    ),
)


@st.composite
def _file_patch(draw: st.DrawFn, name: bytes) -> tuple[bytes, set[int]]:
    """One file's section as git prints it, and the new-side numbers of its `+` lines."""
    out = [b"diff --git a/" + name + b" b/" + name, b"--- a/" + name, b"+++ b/" + name]
    added: set[int] = set()
    old_line = new_line = 1
    for _ in range(draw(st.integers(0, 5))):
        gap = draw(st.integers(0, 30))
        old_line, new_line = old_line + gap, new_line + gap
        ops = draw(st.lists(st.tuples(st.sampled_from("+- "), _CONTENT), min_size=1, max_size=8))
        old_count = sum(op != "+" for op, _ in ops)
        new_count = sum(op != "-" for op, _ in ops)
        old_side = _range(draw, old_line if old_count else old_line - 1, old_count)
        new_side = _range(draw, new_line if new_count else new_line - 1, new_count)
        tail = draw(st.sampled_from([b"", b" def f():", b" @@ -9 +9 @@"]))
        out.append(b"@@ -" + old_side + b" +" + new_side + b" @@" + tail)
        number = new_line
        for op, content in ops:
            out.append(op.encode() + content)
            if op == "+":
                added.add(number)
            if op != "-":
                number += 1
            if draw(st.integers(0, 9)) == 0:
                out.append(b"\\ No newline at end of file")
        old_line, new_line = old_line + old_count, new_line + new_count
    return b"\n".join(out) + b"\n", added


def _range(draw: st.DrawFn, start: int, count: int) -> bytes:
    if count == 1 and draw(st.booleans()):
        return b"%d" % start  # git leaves out ",1"
    return b"%d,%d" % (start, count)


@st.composite
def _patches(draw: st.DrawFn) -> tuple[bytes, list[set[int]]]:
    files = [draw(_file_patch(b"f%d" % number)) for number in range(draw(st.integers(0, 4)))]
    return b"".join(text for text, _ in files), [added for _, added in files]


@PROPERTY
@given(patch=_patches())
def test_added_lines_are_the_plus_lines_of_each_hunk(patch: tuple[bytes, list[set[int]]]) -> None:
    text, expected = patch
    sections = split_sections(text)
    assert [added_lines(s) for s in sections] == expected
    assert not any(is_binary(s) for s in sections)


# --- the diff parser: patches real git writes ---------------------------------------------------

_LINES = st.sampled_from(
    [
        b"alpha",
        b"beta",
        b"",
        b" lead",
        b"+plus",
        b"-minus",
        b"@@ -1 +1 @@",
        b"diff --git a/x b/x",
        b"Binary files a and b differ",
        b"\xff\xfe",
        b"tab\there",
        b"cr\r",
        b"nxp_sk_",
    ]
)
_FILES = st.tuples(st.lists(_LINES, max_size=14), st.booleans()).map(
    lambda lines_end: b"\n".join(lines_end[0]) + (b"\n" if lines_end[1] and lines_end[0] else b"")
)


_GIT_DIFF = (
    *("git", "-c", "core.quotepath=false", "-c", "diff.noprefix=false", "-c", "color.ui=never"),
    *("diff", "--no-index", "--no-ext-diff", "--no-color", "--no-textconv"),
)


def _git_diff(old: bytes, new: bytes, context: int) -> bytes:
    with tempfile.TemporaryDirectory(prefix="hostile_") as folder:
        Path(folder, "old").write_bytes(old)
        Path(folder, "new").write_bytes(new)
        done = subprocess.run(
            [*_GIT_DIFF, f"-U{context}", "--", "old", "new"],
            cwd=folder,
            capture_output=True,
            check=False,
        )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


def _lines_of(content: bytes) -> list[bytes]:
    lines = content.split(b"\n")
    return lines[:-1] if content.endswith(b"\n") or not content else lines


def _is_subsequence(part: list[bytes], whole: list[bytes]) -> bool:
    rest = iter(whole)
    return all(any(item == other for other in rest) for item in part)


@FEWER
@given(old=_FILES, new=_FILES, context=st.sampled_from([0, 3]), nul=st.booleans())
def test_added_lines_match_what_git_adds(old: bytes, new: bytes, context: int, nul: bool) -> None:
    if nul:
        new = new + b"\0"
    assume(old != new)
    [section] = split_sections(_git_diff(old, new, context))
    if nul:
        assert is_binary(section)
        assert added_lines(section) == set()
        return
    assert not is_binary(section)
    new_lines = _lines_of(new)
    hunks = section.split(b"\n@@", 1)[1].split(b"\n")[1:]
    plus = [line[1:] for line in hunks if line.startswith(b"+")]
    added = sorted(added_lines(section))
    assert all(1 <= number <= len(new_lines) for number in added)
    assert [new_lines[number - 1] for number in added] == plus
    kept = [line for number, line in enumerate(new_lines, 1) if number not in set(added)]
    assert _is_subsequence(kept, _lines_of(old))


# --- `git diff --raw -z` records ------------------------------------------------------------------

_MODES = st.sampled_from(["000000", "100644", "100755", "120000", "160000", "040000"])
_SHAS = st.one_of(
    st.text("0123456789abcdef", min_size=40, max_size=40),
    st.text("0123456789abcdef", min_size=64, max_size=64),
)
_STATUSES = st.one_of(
    st.sampled_from(["A", "M", "D", "T", "U", "X"]),
    st.builds(lambda kind, score: f"{kind}{score:03d}", st.sampled_from("RC"), st.integers(0, 100)),
)
_RAW_PATHS = st.one_of(
    st.binary(min_size=1, max_size=30).filter(lambda p: b"\0" not in p),
    st.sampled_from([b":", b":100644 100644", b"new\nline", b"\xff\xfe", b"dir/f.env"]),
)


@st.composite
def _raw_records(draw: st.DrawFn) -> tuple[list[bytes], list[RawChange]]:
    fields: list[bytes] = []
    changes: list[RawChange] = []
    for _ in range(draw(st.integers(0, 6))):
        old_mode, new_mode = draw(_MODES), draw(_MODES)
        old_sha, new_sha, status = draw(_SHAS), draw(_SHAS), draw(_STATUSES)
        path = draw(_RAW_PATHS)
        fields.append(f":{old_mode} {new_mode} {old_sha} {new_sha} {status}".encode())
        old_path = draw(_RAW_PATHS) if status[0] in "RC" else path
        fields.extend([old_path, path] if status[0] in "RC" else [path])
        changes.append(
            RawChange(
                old_mode,
                new_mode,
                old_sha,
                new_sha,
                status,
                os.fsdecode(path),
                os.fsdecode(old_path),
            )
        )
    return fields, changes


@PROPERTY
@given(records=_raw_records(), patch=PATCH_BYTES)
def test_raw_records_parse_back_whole(
    records: tuple[list[bytes], list[RawChange]], patch: bytes
) -> None:
    fields, changes = records
    assert list(parse_raw_z(fields)) == changes
    # as the sources read them: records, an empty field, then the patch
    output = b"".join(f + b"\0" for f in fields) + b"\0" + patch
    raw, _, _ = output.partition(b"\0\0")
    assert list(parse_raw_z(raw.split(b"\0"))) == changes
    assert _added_as_parsed(fields) == [s.decode() for s in added_blobs(fields)]


def _added_as_parsed(fields: list[bytes]) -> list[str]:
    """The blobs the blob engine reads, as `parse_raw_z` reads the records."""
    return [c.new_sha for c in parse_raw_z(fields) if c.adds_content]


_RAW_PIECES = st.sampled_from(
    [b":", b":100644 100644 " + b"a" * 40 + b" " + b"b" * 40 + b" M", b":0 0 0 0 R", b"M", b""]
)


@PROPERTY
@given(fields=st.lists(st.one_of(_RAW_PIECES, st.binary(max_size=60)), max_size=8))
@example(fields=[b":"])
@example(fields=[b":100644 100644 " + b"a" * 40 + b" " + b"b" * 40 + b" R100", b"only-one"])
def test_raw_parser_never_raises_on_any_fields(fields: list[bytes]) -> None:
    added = [s.decode("ascii", "replace") for s in added_blobs(fields)]
    assert added == _added_as_parsed(fields)
    for change in parse_raw_z(fields):
        assert isinstance(change, RawChange)


def _git_quoted(name: bytes) -> bytes:
    """`name` as git writes it in a patch header (core.quotepath=false): C-quoted when it
    holds a quote, a backslash or a control byte."""
    if not any(b < 0x20 or b in b'"\\\x7f' for b in name):
        return name
    named = {7: b"\\a", 8: b"\\b", 9: b"\\t", 10: b"\\n", 11: b"\\v", 12: b"\\f", 13: b"\\r"}
    out = b"".join(
        named.get(b)
        or (
            b"\\" + bytes([b])
            if b in b'"\\'
            else b"\\%03o" % b
            if b < 0x20 or b == 0x7F
            else bytes([b])
        )
        for b in name
    )
    return b'"' + out + b'"'


@PROPERTY
@given(path=st.binary(min_size=1, max_size=40).filter(lambda p: b"\0" not in p))
def test_section_path_reads_back_any_name_git_writes(path: bytes) -> None:
    a, b = _git_quoted(b"a/" + path), _git_quoted(b"b/" + path)
    assert section_path(b"diff --git " + a + b" " + b + b"\nindex 1..2\n") == path
    assert section_path(b"diff --cc " + _git_quoted(path) + b"\n") == path
