"""Progress of a long scan on a terminal: done, rate, time left, on one stderr line."""

from __future__ import annotations

import sys
import threading
import time

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from typing import TextIO

_INTERVAL = 0.25


class Progress:
    """Counts work done against a total; draws only when `enabled` (a terminal, not --quiet)."""

    def __init__(self, unit: str, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.unit = unit
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self._total = 0
        self.done = 0
        self._started = time.monotonic()
        self._drawn = 0.0
        self._lock = threading.Lock()
        self._expected: tuple[int, str] | None = None

    @property
    def total(self) -> int:
        """What the work adds up to. Once `expect` has said it, growth reported by the
        work as it discovers itself is ignored: the total shown never moves."""
        return self._total

    @total.setter
    def total(self, value: int) -> None:
        if self._expected is None or self._expected[1] != self.unit:
            self._total = value

    def expect(self, total: int, unit: str) -> None:
        """Fixes the total of the next `start` in `unit`, counted beforehand."""
        self._expected = (total, unit)

    def start(self, total: int, unit: str | None = None) -> None:
        """Begins counting towards `total` (or the total `expect` fixed for this unit)."""
        with self._lock:
            self.unit = unit or self.unit
            expected = self._expected
            fixed = expected is not None and expected[1] == self.unit
            self._total = expected[0] if fixed and expected is not None else total
            self.done = 0
            self._started = time.monotonic()

    def advance(self, amount: int) -> None:
        """Adds `amount` done; redraws at most four times a second."""
        if not self.enabled:
            return
        with self._lock:
            self.done += amount
            now = time.monotonic()
            if now - self._drawn >= _INTERVAL:
                self._drawn = now
                self.stream.write("\r" + self.line(now) + "\033[K")
                self.stream.flush()

    def line(self, now: float) -> str:
        """`1,234/5,678 commits (22%), 410/s, 3s left`."""
        elapsed = max(now - self._started, 1e-6)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate and self.total else 0.0
        share = f" ({100 * self.done // self.total}%)" if self.total else ""
        if self.unit == "bytes":
            return (
                f"nexpay-scan: {self.done / 1e6:,.0f}/{self.total / 1e6:,.0f} MB of blobs"
                f"{share}, {rate / 1e6:,.0f} MB/s, {left:.0f}s left"
            )
        return (
            f"nexpay-scan: {self.done:,}/{self.total:,} {self.unit}{share}, "
            f"{rate:,.0f}/s, {left:.0f}s left"
        )

    def finish(self) -> None:
        """Clears the line."""
        if self.enabled and self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
