"""Which blob reader takes the next batch: the one with the fewest batches in hand.

Batches were dealt in strict turn. A reader whose turn came while it was still busy held
the dealer up, and the other readers ran dry meanwhile: in a whole-history scan of
ipython the reader forked beside this process's own (which shares its process with the
lister and the gatherer of answers) waited 0.52-0.59 s for batches in 3.4-3.7 s, while
this process's reader never waited. Now a batch goes to the reader with the fewest
batches dealt and not yet answered, so a faster reader takes more of them.
"""

from __future__ import annotations

import threading

# Batches a reader holds at most (the one it reads and those queued for it). A batch
# takes a few ms to read and search; the answer that frees its place comes back through a
# thread that needs the GIL, so a reader keeps a few in hand.
DEPTH = 4
# how often a dealer waiting for a place looks again whether the readers were stopped
_POLL = 0.05


class ReadersGone(Exception):
    """The readers stopped taking batches (one failed, or the search was aborted)."""


class ReaderLoads:
    """The batches each of `count` readers holds (dealt, not yet answered). `pick` gives
    the reader for the next batch, `answered` frees a place, `stop` ends the dealing."""

    def __init__(self, count: int, depth: int = DEPTH) -> None:
        self.held = [0] * count
        self.depth = depth
        self.turn = 0  # where a tie starts: readers with as few batches take them in turn
        self.stopped = False
        self._changed = threading.Condition()

    def pick(self, among: int | None = None) -> int:
        """The reader (of the first `among`, or of all) holding the fewest batches, once
        one holds fewer than `depth`; counted as holding one more. Raises ReadersGone once
        stopped."""
        count = len(self.held) if among is None else min(among, len(self.held))
        with self._changed:
            while True:
                if self.stopped:
                    raise ReadersGone
                order = [(self.turn + step) % count for step in range(count)]
                chosen = min(order, key=self.held.__getitem__)
                if self.held[chosen] < self.depth:
                    self.held[chosen] += 1
                    self.turn = (chosen + 1) % count
                    return chosen
                self._changed.wait(_POLL)

    def answered(self, number: int) -> None:
        """Reader `number` is done with one of its batches."""
        with self._changed:
            self.held[number] = max(0, self.held[number] - 1)
            self._changed.notify_all()

    def stop(self) -> None:
        """No more batches are dealt: a dealer waiting in `pick` raises ReadersGone."""
        with self._changed:
            self.stopped = True
            self._changed.notify_all()
