"""The SIMD byte passes answer exactly as the `bytes` methods they stand for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexpay_scan import bytepasses
from nexpay_scan.prefilter import Prefilter
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


@given(_BYTES, _NEEDLES, _PLACES)
def test_occurrences_are_every_place_of_the_needle(data: bytes, needle: bytes, start: int) -> None:
    every = [at for at in range(start, len(data)) if data.startswith(needle, at)]
    assert list(bytepasses.occurrences(data, needle, start)) == every


@given(_BYTES, st.lists(_PLACES, max_size=8))
def test_word_places_are_where_the_first_word_starts(data: bytes, steps: list[int]) -> None:
    """`WordPlaces.first_from` gives the first place at or after `position` at which one
    of the words stands, whichever word comes first (overlapping words included), for
    positions asked from left to right."""
    prefilter = Prefilter((b"nxp_sk_", b"nexpay", b"xnx"))
    lowered = data.lower()
    places = prefilter.places(lowered)
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


def test_word_places_search_each_word_once_per_place(monkeypatch: pytest.MonkeyPatch) -> None:
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
    places = prefilter.places(lowered)
    position, found = 0, 0
    while (at := places.first_from(position)) >= 0:
        found += 1
        position = at + 1
    assert found == 10_000
    assert calls.count(b"nexpay") == 1
    assert calls.count(b"nxp") == 10_000 + 1
