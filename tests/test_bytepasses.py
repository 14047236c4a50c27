"""The SIMD byte passes answer exactly as the `bytes` methods they stand for."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from bisect import bisect_right
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexpay_scan import bytepasses
from nexpay_scan.config import Settings, builtin_rules
from nexpay_scan.decoders.model import CONTEXT_BYTES
from nexpay_scan.detector import WINDOWED_LEAST
from nexpay_scan.prefilter import ESCAPE_TRIGGERS, Places, Prefilter, word_hits
from nexpay_scan.scan import Scanner
from testing.cli import Result
from testing.git_repo import Repo
from testing.keys import secret
from testing.results import assert_one_line_error

# few distinct bytes, so that needles occur, and every byte value now and then
_BYTES = st.binary(max_size=300) | st.lists(
    st.sampled_from([b"n", b"x", b"p", b"N", b"X", b"\0", b"_", b"a"]), max_size=300
).map(b"".join)
_NEEDLES = st.binary(min_size=1, max_size=4) | st.sampled_from([b"nx", b"xp", b"nxp", b"\0"])
_PLACES = st.integers(min_value=0, max_value=320)


@given(_BYTES)
def test_lowered_is_bytes_lower(data: bytes) -> None:
    assert bytepasses.lowered(data) == data.lower()
    assert bytepasses.lowered(bytes(range(256))) == bytes(range(256)).lower()


@given(_BYTES, st.binary(min_size=256, max_size=256))
def test_translated_is_bytes_translate(data: bytes, table: bytes) -> None:
    assert bytepasses.translated(data, table) == data.translate(table)


@given(_BYTES, _NEEDLES, _PLACES, st.none() | _PLACES)
def test_find_is_bytes_find(data: bytes, needle: bytes, start: int, end: int | None) -> None:
    assert bytepasses.find(data, needle, start, end) == data.find(needle, start, end)


@given(_BYTES, _NEEDLES, _PLACES, st.none() | _PLACES)
def test_rfind_is_bytes_rfind(data: bytes, needle: bytes, start: int, end: int | None) -> None:
    expected = data.rfind(needle, start, end)
    assert bytepasses.rfind(data, needle, start, end) == expected
    assert bytepasses.rfind(memoryview(data), needle, start, end) == expected


@given(_BYTES, _NEEDLES, _PLACES)
def test_occurrences_are_every_place_of_the_needle(data: bytes, needle: bytes, start: int) -> None:
    every = [at for at in range(start, len(data)) if data.startswith(needle, at)]
    assert list(bytepasses.occurrences(data, needle, start)) == every


@given(_BYTES, st.lists(_PLACES, max_size=8))
def test_places_are_where_the_first_word_starts(data: bytes, steps: list[int]) -> None:
    """`Places.first_from` gives the first place at or after `position` at which one
    of the words stands, whichever word comes first (overlapping words included), for
    positions asked from left to right."""
    prefilter = Prefilter((b"nxp_sk_", b"nexpay", b"xnx"))
    lowered = data.lower()
    places = Places(prefilter.words, lowered)
    for position in sorted(steps):
        starts = [
            at
            for at in range(position, len(lowered))
            if any(lowered.startswith(w, at) for w in prefilter.words)
        ]
        assert places.first_from(position) == (starts[0] if starts else -1)


def _without_stringzilla(tmp_path: Path, repo: Repo, *args: str) -> Result:
    """The tool run where `stringzilla` cannot be imported (a broken install)."""
    shadow = tmp_path / "shadow" / "stringzilla"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'stringzilla'\", name='stringzilla')\n"
    )
    checkout = Path(__file__).resolve().parent.parent
    run = subprocess.run(
        [sys.executable, "-m", "nexpay_scan", *args, "--repo", str(repo.path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": f"{shadow.parent}{os.pathsep}{checkout}"},
    )
    return Result(run.returncode, run.stdout, run.stderr)


def test_a_missing_dependency_is_a_one_line_error_that_says_how_to_fix_it(
    tmp_path: Path, repo: Repo
) -> None:
    repo.write("app.env", f"NEXPAY_SECRET={secret(3)}\n")
    repo.commit("adds a key")
    run = _without_stringzilla(tmp_path, repo, "history")
    assert_one_line_error(run, "stringzilla", "reinstall")


def test_the_hook_does_not_need_the_history_prefilter(tmp_path: Path, repo: Repo) -> None:
    """The staged hook never imports `stringzilla`: it still blocks a key without it."""
    repo.write("app.env", f"NEXPAY_SECRET={secret(3)}\n")
    repo.stage()
    run = _without_stringzilla(tmp_path, repo, "staged")
    assert run.code == 1, run.err
    assert "app.env:1:15" in run.out


def test_places_search_each_word_once_per_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """A block of hints with no keyword: each word is searched once per place it has (and
    once more to find it has no more), never again from each hint on. Searching the rest
    of the block for an absent word at every hint made a 2 MB block of "nxp" cost 27 s
    (bench/hostile.py, hints-one-line)."""
    calls: list[bytes] = []
    real_find = bytepasses.find

    def counted(data: bytes, needle: bytes, start: int = 0, end: int | None = None) -> int:
        calls.append(needle)
        return real_find(data, needle, start, end)

    monkeypatch.setattr(bytepasses, "find", counted)
    prefilter = Prefilter((b"nxp_sk_", b"nexpay"))
    lowered = b"nxp " * 10_000
    places = Places(prefilter.words, lowered)
    position, found = 0, 0
    while (at := places.first_from(position)) >= 0:
        found += 1
        position = at + 1
    assert found == 10_000
    assert calls.count(b"nexpay") == 1
    assert calls.count(b"nxp") == 10_000 + 1


def _word_hits_one_hint_at_a_time(
    prefilter: Prefilter, lowered: bytes, starts: list[int], sizes: list[int]
) -> tuple[set[int], set[int]]:
    """The objects with a keyword near a hint, and those with none but an escape near a
    hint, found one hint at a time with `bytes.find` (how the prefilter judged them until
    `word_hits` judged each object at its first hint)."""
    reach = prefilter.reach
    hit: set[int] = set()
    hinted: set[int] = set()
    position = 0
    while found := [p for w in prefilter.words if (p := lowered.find(w, position)) >= 0]:
        at = min(found)
        number = max(bisect_right(starts, at) - 1, 0)
        start, end = starts[number], starts[number] + sizes[number]
        low, high = max(start, at - reach), min(end, at + reach)
        if any(lowered.find(k, low, high) >= 0 for k in prefilter.keywords):
            hit.add(number)
            position = starts[number + 1] if number + 1 < len(starts) else len(lowered)
            continue
        low = max(start, at - CONTEXT_BYTES - reach)
        high = min(end, at + CONTEXT_BYTES + reach)
        if any(lowered.find(t, low, high) >= 0 for t in ESCAPE_TRIGGERS):
            hinted.add(number)
        position = at + 1
    return hit, hinted - hit


_PIECES = [b"nxp", b"nexpay", b"nxp_sk_", b"nxp_cid_", b"%", b"\\", b" ", b"\n", b"n", b"xp"]
# fillers that put an escape just within or just past a hint's reach, on either side (the
# reach: CONTEXT_BYTES and the longest keyword, "nxp_cid_"), and longer ones
_REACH = CONTEXT_BYTES + len(b"nxp_cid_")
_PIECES += [b"y" * (_REACH - len(b"nxp") - n) for n in (0, 1, 2)]
_PIECES += [b"y" * (_REACH - len(b"nexpay") - n) for n in (0, 1, 2)]
_PIECES += [b"y" * (_REACH + n) for n in (-2, -1, 0)]
_PIECES += [b"x" * 700, b"z" * 4100]


@given(st.lists(st.lists(st.sampled_from(_PIECES), max_size=25), min_size=1, max_size=5))
def test_word_hits_judge_each_object_as_one_hint_at_a_time_did(
    objects: list[list[bytes]],
) -> None:
    """Keywords anywhere in an object, and escapes within reach of a hint (from before the
    hint to after it, across long fillers), give the same objects as a walk over every
    hint; the objects follow each other as `Scanner.could_hold_keys` joins them."""
    prefilter = Prefilter((b"nxp_sk_", b"nxp_cid_", b"nexpay"))
    contents = [b"".join(pieces) for pieces in objects]
    lowered = (b"\0\n" + b"\0\n".join(contents)).lower()
    starts, at = [], 2
    for content in contents:
        starts.append(at)
        at += len(content) + 2
    sizes = [len(content) for content in contents]
    expected = _word_hits_one_hint_at_a_time(prefilter, lowered, starts, sizes)
    assert word_hits(prefilter, lowered, starts, sizes) == expected


@pytest.mark.parametrize(
    ("content", "near"),
    [
        # a trigger after the hint: the hint's reach covers [hint - reach, hint + reach)
        (b"nxp" + b"y" * (_REACH - 4) + b"%", True),
        (b"nxp" + b"y" * (_REACH - 3) + b"%", False),
        # before it
        (b"\\" + b"y" * (_REACH - 1) + b"nxp", True),
        (b"\\" + b"y" * _REACH + b"nxp", False),
        # hints walked from one trigger to the next: the second hint reaches the trigger
        (b"nxp" + b"y" * _REACH + b"nxp" + b"y" * (_REACH - 4) + b"%", True),
        (b"nxp" + b"y" * _REACH + b"nxp" + b"y" * (_REACH - 3) + b"%", False),
        (b"%" + b"y" * (_REACH + 1) + b"nxp" + b"y" * (_REACH + 1) + b"%", False),
        # a keyword anywhere makes the object a keyword hit, whatever the escapes
        (b"nxp%" + b"y" * 5000 + b"nxp_sk_", None),
    ],
)
def test_an_escape_just_within_or_past_a_hints_reach(content: bytes, near: bool | None) -> None:
    prefilter = Prefilter((b"nxp_sk_", b"nxp_cid_", b"nexpay"))
    lowered = b"\0\n" + content
    got = word_hits(prefilter, lowered, [2], [len(content)])
    assert got == _word_hits_one_hint_at_a_time(prefilter, lowered, [2], [len(content)])
    assert got == (({0}, set()) if near is None else (set(), {0} if near else set()))


# text in which the decoders and the rules find something: hint words in any case, a key,
# a legacy pair, base64 and escapes of them
_SAMPLE_PARTS = st.sampled_from(
    [
        b"NEXPAY_SECRET=",
        b"nxp",
        b"NxP_",
        b"nexpay:\n  secret: ",
        secret(3).encode(),
        b"Authorization: ApiKey 66836886-a260-4d0b-bb45-145c1a81682c:",
        b"wDn-8yY2ICAtMcSwsqj02xY_94N64EHz9I4ansLhq6c",
        base64.b64encode(f"NEXPAY_SECRET={secret(4)}\n".encode()),
        f"nexpay %{secret(5).encode().hex()[:2]}{secret(5)[1:]}".encode(),
        b"\\u006e" + secret(6).encode()[1:],
        b"\n",
        b" ",
        b"A" * 50,
    ]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_SAMPLE_PARTS, max_size=12).map(b"".join))
def test_the_decoders_and_rules_answer_alike_with_the_passes_or_without(
    data: bytes,
) -> None:
    # the hook's path keeps to `bytes`' methods; a tree's or a history's scan loads the
    # passes, and the decoders and the detector then use them (`byte_passes`)
    scanner = Scanner(Settings(rules=tuple(builtin_rules())))
    with_passes = _seen(scanner, data)
    passes = sys.modules.pop("nexpay_scan.bytepasses")
    try:
        without = _seen(Scanner(Settings(rules=tuple(builtin_rules()))), data)
    finally:
        sys.modules["nexpay_scan.bytepasses"] = passes
    assert with_passes == without


def _seen(scanner: Scanner, data: bytes) -> list[tuple[object, ...]]:
    scanner.detector._searched = WINDOWED_LEAST  # (by lines, as a tree's scan goes)
    return [
        (s.candidate.rule.id, s.candidate.value, s.line, s.column, s.note)
        for s in scanner.sightings(data)
    ]
