"""A process's children, as Linux lists them (/proc): running, or ended and not reaped."""

from __future__ import annotations

import os


def children(pid: int | str = "self") -> set[int]:
    """The children of process `pid` (this one by default), whichever of its threads
    started them; none once it has ended."""
    found: set[int] = set()
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listed:
                found.update(map(int, listed.read().split()))
    except OSError:  # it ended (or a thread did, while listed)
        pass
    return found
