"""The whole store's blobs are read in delta-family order: every blob listed is read
exactly once, whatever the listing's delta bases say, and each after its base."""

from __future__ import annotations

from array import array

from hypothesis import given
from hypothesis import strategies as st

from nexpay_scan.sources.delta_order import FamilyWindow, family_order
from tests.test_properties import PROPERTY

NULL = b"0" * 40


def _id(number: int) -> bytes:
    return f"{number:040x}".encode()


@PROPERTY
@given(st.lists(st.integers(min_value=-1, max_value=40), max_size=40))
def test_every_place_comes_once_and_after_its_parent(raw: list[int]) -> None:
    """Any parents at all (loops, a place its own parent): a permutation, each place
    after its parent whenever its parent chain ends at a root."""
    parents = array("q", (p if p < len(raw) else -1 for p in raw))
    order = family_order(parents)
    assert sorted(order) == list(range(len(parents)))
    at = {place: n for n, place in enumerate(order)}
    for place, parent in enumerate(parents):
        chain, seen = place, set()
        while chain != -1 and chain not in seen:
            seen.add(chain)
            chain = parents[chain]
        if chain == -1 and parent != -1:  # (no loop above it)
            assert at[parent] < at[place]


def test_a_family_comes_together_depth_first() -> None:
    #   0 <- 2 <- 4, 0 <- 3, 1 <- 5
    assert family_order(array("q", [-1, -1, 0, 0, 2, 1])) == [0, 2, 4, 3, 1, 5]


@PROPERTY
@given(
    st.lists(st.integers(min_value=-2, max_value=30), min_size=1, max_size=30),
    st.integers(min_value=1, max_value=8),
)
def test_a_window_gives_back_each_blob_added_once(raw: list[int], block: int) -> None:
    """Bases listed before, after (a thin pack's appended base), never, or none at all
    (-1: not a delta; -2: a base that is no blob here), added in blocks of any size."""
    ids = [_id(n) for n in range(len(raw))]
    bases = [NULL if b == -1 else _id(1000) if b == -2 else _id(b % len(raw)) for b in raw]
    sizes = list(range(10, 10 + len(raw)))
    window = FamilyWindow()
    for start in range(0, len(ids), block):
        end = start + block
        window.add(ids[start:end], sizes[start:end], bases[start:end])
    taken, taken_sizes = window.take()
    assert sorted(taken) == ids
    assert dict(zip(taken, taken_sizes, strict=True)) == dict(zip(ids, sizes, strict=True))
    assert len(window) == 0 and window.take() == ([], [])


def test_a_base_listed_after_its_delta_still_comes_first() -> None:
    window = FamilyWindow()
    window.add([_id(1)], [5], [_id(2)])  # the base comes in the next block
    window.add([_id(2), _id(3)], [6, 7], [NULL, _id(1)])
    assert window.take() == ([_id(2), _id(1), _id(3)], [6, 5, 7])
