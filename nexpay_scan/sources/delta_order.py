"""The order a whole store's blobs are read in: each delta family depth first.

A packed blob is mostly a delta: the difference from a base, itself perhaps a delta, up to
fifty deep. `git cat-file` rebuilds a blob from its chain, keeping recent bases in a small
cache. In pack order the versions of one file lie far apart (a pack is written by
recency), so most chains are rebuilt from far down: that was 40-45% of git's time on
celery and ipython. Read depth first, each blob comes right after its base, still in the
cache, and costs one delta applied to it; half the cache does.

The store's listing names each blob's delta base (`%(deltabase)`); a `FamilyWindow`
gathers listed blobs and gives them back in that order. Every blob added comes out exactly
once, whatever the bases say: a base outside the window, not a blob, or never listed
makes its delta a family's root.
"""

from __future__ import annotations

from array import array
from itertools import accumulate, repeat

# Blobs ordered at a time. This process holds the window's ids meanwhile: ipython's 57,000
# blobs took its RSS up by 13 MB (the ids and sizes until dealt, and what the listing's
# parsing leaves). A store of millions of blobs is ordered a window at a time, in pack
# order; a family that spans windows starts again from a rebuilt base (a first window of
# 4,096 cost celery 0.47 s of CPU more, so windows are large).
WINDOW_BLOBS = 1 << 16


class FamilyWindow:
    """Blobs added a listed block at a time (ids, sizes, delta bases), taken back in
    delta-family order. Held compactly: the ids, and arrays of sizes and bases' places
    (the listing's base ids are looked up as they come; only one listed after its delta
    is kept, to look up again at the end)."""

    def __init__(self) -> None:
        self.ids: list[bytes] = []
        self.sizes = array("q")
        self.parents = array("q")  # the base's place in `ids`, else -1
        self._index: dict[bytes, int] = {}
        self._later: list[tuple[int, bytes]] = []  # bases not listed yet

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, ids: list[bytes], sizes: list[int], bases: list[bytes]) -> None:
        start = len(self.ids)
        self.ids += ids
        self.sizes.extend(sizes)
        self._index.update(zip(ids, range(start, start + len(ids)), strict=True))
        places = array("q", map(self._index.get, bases, repeat(-1)))
        if bases and places.count(-1) > bases.count(b"0" * len(bases[0])):
            # a delta whose base is listed later (or never): looked up again at the end
            self._later += (
                (start + offset, base)
                for offset, (base, place) in enumerate(zip(bases, places, strict=True))
                if place == -1 and base.strip(b"0")
            )
        self.parents += places

    def take(self) -> tuple[list[bytes], list[int]]:
        """The ids and sizes added, in family order; the window is empty again."""
        for number, base in self._later:
            self.parents[number] = self._index.get(base, -1)
        self._index, self._later = {}, []
        order = family_order(self.parents)
        ids, sizes = self.ids, self.sizes
        self.ids, self.sizes, self.parents = [], array("q"), array("q")
        return [ids[n] for n in order], [sizes[n] for n in order]


def family_order(parents: array[int]) -> list[int]:
    """The places 0..n-1, each given its parent's place (-1: none), in depth-first order:
    each after its parent, a family together, families in the order their roots come,
    brothers in place order. A place in a loop of parents (no valid store has one) still
    comes, once, at the end."""
    count = len(parents)
    # children grouped by parent, in place order: the roots (-1) first, then 0's...
    grouped = sorted(range(count), key=parents.__getitem__)
    starts = array("q", bytes(8 * (count + 2)))  # parent p's children: starts[p+1]:starts[p+2]
    for parent in parents:
        starts[parent + 2] += 1
    starts = array("q", accumulate(starts))
    order: list[int] = []
    stack = grouped[: starts[1]][::-1]
    while stack:
        place = stack.pop()
        order.append(place)
        first, end = starts[place + 1], starts[place + 2]
        if first != end:
            stack.extend(reversed(grouped[first:end]))
    if len(order) < count:
        seen = bytearray(count)
        for place in order:
            seen[place] = 1
        order += (place for place in range(count) if not seen[place])
    return order
