"""A shipped rule searched only on the lines holding the run its matches need finds what a
search of the whole content finds (nexpay_scan/rule_lines.py), and a pattern the analysis
cannot vouch for is searched whole."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from nexpay_scan.config import builtin_rules
from nexpay_scan.detector import WINDOWED_LEAST, Detector
from nexpay_scan.rule_lines import _PIECE, lines_with_run, shape_of, windowed_matches
from nexpay_scan.rules import Rule
from testing.cli import CliRun, Result
from testing.keys import client_id, legacy_client_id, legacy_secret, secret
from tests.test_properties import PROPERTY


@functools.cache
def _rules() -> tuple[Rule, ...]:
    return tuple(builtin_rules(with_examples=True))


def _spans(matches: object) -> list[tuple[tuple[int, int], dict[str, bytes | None]]]:
    return [(m.span(), m.groupdict()) for m in matches]  # type: ignore[attr-defined]


def _same_matches(data: bytes) -> None:
    for rule in _rules():
        shape = shape_of(rule.pattern)
        assert shape is not None, rule.id  # every shipped rule is windowed
        whole = _spans(rule.pattern.finditer(data))
        assert _spans(windowed_matches(rule.pattern, data, shape)) == whole, rule.id


# Pieces that put matches, near-matches and their edges at line ends and starts: runs of a
# rule's characters one short or cut by a line break, lookarounds' neighbours, CR LF.
_PIECES = [
    b"\n",
    b"\r\n",
    b"\r",
    b" ",
    b":",
    b"-",
    b"_",
    b"'",
    b"ApiKey ",
    b"Basic\t",
    b"-u '",
    b"--user=",
    b"nxp_",
    b"nxp_sk_",
    b"nxp_cid_",
    b"nexpay",
    b"a" * 42,
    b"-" * 40,
    b"0" * 35,
    secret(1).encode(),
    secret(2).encode()[:30],
    client_id(1).encode(),
    legacy_secret(1).encode(),
    legacy_secret(2).encode()[:20],
    legacy_client_id(1).encode(),
    legacy_client_id(2).encode()[:20],
    legacy_client_id(3).encode() + b":" + legacy_secret(3).encode(),
]
_DOCUMENTS = st.lists(st.one_of(st.sampled_from(_PIECES), st.binary(max_size=6)), max_size=60).map(
    b"".join
)


@PROPERTY
@given(data=_DOCUMENTS)
@example(data=b"x" * 10 + legacy_secret(1).encode() + b"\n" + b"nxp_" + legacy_secret(2).encode())
@example(data=legacy_client_id(1).encode() + b"\n" + legacy_client_id(2).encode())
def test_lines_with_the_run_give_every_match_of_the_whole(data: bytes) -> None:
    _same_matches(data)


# Patterns whose lookarounds read across the line break: what a window gives them past its
# line, and where it stops taking matches, must match the search of the whole
_READING_PAST = [
    re.compile(rb"[a-z]{20}(?=\r?\n[0-9])"),
    re.compile(rb"[a-z]{20}(?![0-9]{0,30}x)"),
    re.compile(rb"(?<=[0-9]\n)[a-z]{20}(?=(?![a-z]{3}\n)[a-z0-9\n]{4})"),
    re.compile(rb"[a-z]{20}(?=[a-z0-9\n]{2}(?![a-z]{3}\n))"),  # reads 2 + 4 bytes on
]
_LINES = st.lists(
    st.sampled_from([b"\n", b"\r\n", b"x", b"0", b"7x", b"a" * 19, b"b" * 25, b"c" * 3]),
    max_size=30,
).map(b"".join)


@PROPERTY
@given(data=_LINES)
@example(data=b"a" * 19 + b"c" * 3 + b"\n0" + b"b" * 25)
@example(data=b"b" * 25 + b"\n" + b"b" * 25 + b"\n7x")
@example(data=b"a" * 19 + b"x\n0ccc\n")
def test_lookarounds_read_past_the_line_as_in_the_whole(data: bytes) -> None:
    for pattern in _READING_PAST:
        shape = shape_of(pattern)
        assert shape is not None
        whole = _spans(pattern.finditer(data))
        assert _spans(windowed_matches(pattern, data, shape)) == whole, pattern.pattern


def test_every_rule_example_gives_the_same_matches_on_its_lines() -> None:
    examples = [e.encode() for rule in _rules() for e in (*rule.positives, *rule.negatives)]
    joined = b"\n".join(examples)
    assert len(joined) > 4096
    _same_matches(joined)
    _same_matches(b"\r\n".join(examples))
    for example_ in examples:
        _same_matches(example_)


@pytest.mark.parametrize(
    "source",
    [
        rb"^[A-Za-z0-9]{40}$",  # an anchor
        rb"[A-Za-z0-9\s]{40}",  # a run that may cross lines
        rb"[A-Za-z0-9]{40}(?=.*x)",  # a lookahead of no bound
        rb"(?P<a>[a-z]{40})(?P=a)",  # a back-reference
        rb"[a-z]{4}",  # too short a run to find lines by
        rb".{40}",  # too many characters to find lines by
    ],
)
def test_a_pattern_the_analysis_cannot_vouch_for_is_searched_whole(source: bytes) -> None:
    assert shape_of(re.compile(source)) is None


@pytest.mark.parametrize(
    ("source", "chars", "least"),
    [
        # (?i) for "key" alone
        (rb"(?i:key)[a-z0-9]{32}", b"0123456789EKYabcdefghijklmnopqrstuvwxyz", 35),
        # 32 hex digits are found quicker than the 76 of many characters that hold them
        (rb"key=[a-f0-9]{32}:[A-Za-z0-9_-]{43}", b"0123456789abcdef", 32),
        (rb"x(?:ab|cd)[0-9]{20}[ \t]*", b"0123456789", 20),  # an alternation breaks the run
        (rb"(?:[a-z]{2}-){8}", b"-abcdefghijklmnopqrstuvwxyz", 24),  # a repeated group
    ],
)
def test_the_run_found_is_what_every_match_holds(source: bytes, chars: bytes, least: int) -> None:
    shape = shape_of(re.compile(source))
    assert shape is not None
    assert bytes(b for b in range(256) if shape.marks[b] == ord("A")) == chars
    assert shape.least == least


def test_a_big_file_naming_nexpay_finds_each_key_on_its_line(cli: CliRun, tmp_path: Path) -> None:
    """Past WINDOWED_LEAST the rules search only some lines: the keys among a big file's
    other lines, next to long runs and separators, are all found where they are."""
    filler = b"".join(
        b"value_%d = compute_the_long_identifier_named_here_%d()  # %s\n" % (i, i, b"-" * 40)
        for i in range(WINDOWED_LEAST // 60 + 10)
    )
    lines = [
        b"NEXPAY_SECRET=" + secret(7).encode(),
        b'nexpay = {"client_id": "' + legacy_client_id(7).encode() + b'",',
        b'          "secret": "' + legacy_secret(7).encode() + b'"}',
    ]
    (tmp_path / "big.py").write_bytes(filler + b"\n".join(lines) + b"\n" + filler)
    (tmp_path / "small.py").write_bytes(b"\n".join(lines) + b"\n")
    big = cli("files", "--format", "json", str(tmp_path / "big.py"))
    small = cli("files", "--format", "json", str(tmp_path / "small.py"))
    assert big.code == small.code == 1
    first = filler.count(b"\n")
    found = [(f["rule"], f["line"] - first, f["column"]) for f in big.json()["findings"]]
    assert found == [(f["rule"], f["line"], f["column"]) for f in small.json()["findings"]]
    assert len(found) == 3


def _every_match_whole(rules: tuple[Rule, ...], data: bytes) -> list[tuple[int, int, str]]:
    """What the detector gave before it searched by lines: each rule's matches over the
    whole content, one per span (a match that knows its client ID first), by offset."""
    best: dict[tuple[int, int], tuple[str, bool]] = {}
    for rule in rules:
        group = "credential" if "credential" in rule.pattern.groupindex else 0
        for match in rule.pattern.finditer(data):
            span = match.span(group)
            paired = "client_id" in rule.pattern.groupindex
            if span not in best or (not best[span][1] and paired):
                best[span] = (rule.id, paired)
    return sorted((start, end, rule_id) for (start, end), (rule_id, _) in best.items())


def test_the_detector_gives_on_big_content_what_a_whole_search_gives() -> None:
    """Past WINDOWED_LEAST: each rule searched by lines, the rules' candidates merged as
    they are asked for (not sorted as a whole): the same candidates, in the same order."""
    examples = [e.encode() for rule in _rules() for e in (*rule.positives, *rule.negatives)]
    data = b"nexpay\n" + b"\n".join(examples + [p for p in _PIECES if p.strip()] * 3) * 6
    assert len(data) > WINDOWED_LEAST
    detector = Detector(_rules())
    got = [(c.start, c.end, c.rule.id) for c in detector.candidates(data)]
    assert got == sorted(got) and len(got) > 100
    assert got == _every_match_whole(_rules(), data)


def test_runs_across_the_pieces_marked_at_a_time_are_found() -> None:
    """Lines are found a piece of _PIECE bytes at a time: a key's runs put across a piece's
    end, at it, and just before and after it, give the same matches as the whole search."""
    head = b"nexpay ApiKey "
    line = head + legacy_client_id(4).encode() + b":" + legacy_secret(4).encode() + b"\n"
    data = bytearray()
    # where the runs start (the client ID's, the pair's; the secret's 37 bytes on), from
    # the end of each piece in turn
    shifts = (-100, -80, -79, -44, -43, -37, -36, -1, 0, 1)
    for piece, shift in enumerate(shifts, start=1):
        gap = piece * _PIECE + shift - len(head) - len(data)
        data += b"x" * (gap - 1) + b"\n" + line
    _same_matches(bytes(data))
    rule = next(r for r in _rules() if r.id == "nexpay-apikey-header")
    shape = shape_of(rule.pattern)
    assert shape is not None
    assert len(list(windowed_matches(rule.pattern, bytes(data), shape))) == len(shifts)


def test_small_files_after_the_first_ones_give_what_each_gives_alone(
    cli: CliRun, tmp_path: Path
) -> None:
    """Once a run has searched WINDOWED_LEAST bytes, even small files are searched by
    lines: a tree of small files naming Nexpay gives what each file gives scanned alone."""
    tree = tmp_path / "tree"
    tree.mkdir()
    for n in range(40):
        body = [b"# nexpay client %d %s" % (n, b"-" * 50)] * 20
        body.insert(n % 20, b"NEXPAY_CLIENT_ID=" + legacy_client_id(n).encode())
        body.insert(n % 7, b'nexpay_secret = "' + legacy_secret(n).encode() + b'"')
        body.append(b"curl -H 'Authorization: ApiKey " + legacy_client_id(n + 99).encode())
        (tree / f"f{n:02}.py").write_bytes(b"\n".join(body) + b"\n" + b"x = 1\n" * 300)
    assert sum(p.stat().st_size for p in tree.iterdir()) > 2 * WINDOWED_LEAST

    def places(run: Result) -> set[tuple[str, int, int, str]]:
        found = run.json()["findings"]
        return {(Path(f["file"]).name, f["line"], f["column"], f["rule"]) for f in found}

    whole = places(cli("files", "--jobs", "1", "--format", "json", str(tree)))
    alone: set[tuple[str, int, int, str]] = set()
    for path in sorted(tree.iterdir()):
        alone |= places(cli("files", "--format", "json", str(path)))
    assert whole == alone
    assert len(whole) >= 80


@PROPERTY
@given(
    data=st.lists(
        st.sampled_from([b"\n", b"a" * 7, b"a", b"-", b"ab", b"b" * 9, b"\r\n"]), max_size=40
    ).map(b"".join),
    piece=st.integers(1, 40),
)
@example(data=b"-" * 5 + b"a" * 7 + b"b" * 9, piece=5)  # a run just as long, at a piece's end
def test_the_lines_found_a_piece_at_a_time_are_every_line_with_the_run(
    data: bytes, piece: int
) -> None:
    shape = shape_of(re.compile(rb"[ab]{16}[ab]*"))
    assert shape is not None and shape.least == 16
    expected = []
    at = 0
    for line in data.split(b"\n"):
        if re.search(rb"[ab]{16}", line):
            expected.append((at, at + len(line)))
        at += len(line) + 1
    assert list(lines_with_run(data, shape, piece)) == expected


# Patterns built at random from the pieces rules are made of: whatever the walk makes of
# one (a run, or "search it whole"), searching by lines gives what the whole search gives
_ATOMS = [
    "[a-f0-9]",
    "[A-Za-z0-9_-]",
    "[a-z]",
    "[^x]",
    "[^\\n]",
    "\\w",
    "\\d",
    "\\s",
    ".",
    "x",
    "-",
    ":",
    "(?i:ab)",
]
_REPEATS = ["", "{3}", "{2,5}", "+", "*", "?", "{12}", "{20}"]
_PATTERN_PIECES = st.one_of(
    st.tuples(st.sampled_from(_ATOMS), st.sampled_from(_REPEATS)).map("".join),
    st.sampled_from(["(?![a-z])", "(?<![a-z])", "(?=x)", "(?!ab)", "(?<=:)", "(?=[a-f]{3})"]),
)
_PATTERNS = st.lists(_PATTERN_PIECES, min_size=1, max_size=6).map(
    lambda parts: "".join(parts)
) | st.lists(_PATTERN_PIECES, min_size=1, max_size=3).map(
    lambda parts: "(" + "|".join(parts) + ")" + "[a-f0-9]{16}"
)
_TEXT = st.lists(
    st.sampled_from(
        [
            *(b"\n", b"\r\n", b"x", b":", b"-", b" ", b"ab", b"Z" * 9, b"a" * 20, b"x" * 12),
            *(b"abcdef0123456789", b"0123456789" * 3, b"AB_cd-" * 4, b"a b\tc"),
        ]
    ),
    max_size=40,
).map(b"".join)


@settings(PROPERTY, max_examples=1000)
@given(source=_PATTERNS, data=_TEXT)
def test_any_pattern_of_rule_pieces_gives_the_same_matches_by_lines(
    source: str, data: bytes
) -> None:
    pattern = re.compile(source.encode())
    assume(pattern.search(b"") is None)  # (a rule's regex never matches empty)
    shape = shape_of(pattern)
    if shape is None:
        return  # searched whole: nothing to compare
    assert _spans(windowed_matches(pattern, data, shape)) == _spans(pattern.finditer(data))
