"""What a scan counted, kept by its source: what was read, what was passed over and why,
which patterns were stopped. Counts of several parts of one run (forked workers, the
repositories of an organization) merge into one; `Summary` is what the report tells."""

from __future__ import annotations

import time
from collections import Counter

from nexpay_scan.records import Record


class Skipped(Record):
    """Content passed over, named: where it is (a file, and what inside it: an archive's
    member, say), why, and whether that leaves a gap in the scan (an archive member that
    cannot be decoded is a gap; a symbolic link or a submodule is not)."""

    where: str
    reason: str
    commit: str | None = None
    gap: bool = True
    inside: str = ""  # ("zip:deploy/app.env": the file's part that was passed over)

    @property
    def shown(self) -> str:
        """Where it is, as reports name it: `app.zip (zip:deploy/app.env)`."""
        return f"{self.where} ({self.inside})" if self.inside else self.where


class Stats:
    """A source's counts, merged with `merge`; a piece of content named as skipped twice
    (two routes to it) counts once. A forked worker sends its own in built-in types
    (`as_plain`, `from_plain`: what `marshal` sends, without loading `pickle`)."""

    def __init__(self) -> None:
        self.files_scanned = 0
        self.commits_scanned = 0
        self.bytes_scanned = 0
        self.skipped: Counter[str] = Counter()
        self.skipped_items: list[Skipped] = []  # by name, for every format to list
        self._named: set[Skipped] = set()
        self.rule_timeouts: Counter[str] = Counter()  # pattern -> contents it was stopped on

    def skip(
        self,
        reason: str,
        where: str = "",
        *,
        commit: str | None = None,
        gap: bool = True,
        inside: str = "",
    ) -> None:
        """Counts one piece of content passed over deliberately, by reason; names it when
        `where` is known (once: two routes to the same content name it once), and what
        part of it (`inside`). `gap`: the content could not be scanned whole (`--fail-on
        skipped`)."""
        if where:
            item = Skipped(where, reason, commit, gap, inside)
            if item in self._named:
                return
            self._named.add(item)
            self.skipped_items.append(item)
        self.skipped[reason] += 1

    def merge(self, other: Stats) -> Stats:
        """Adds `other`'s counts to these (a named skip both hold counts once); returns self."""
        self.files_scanned += other.files_scanned
        self.commits_scanned += other.commits_scanned
        self.bytes_scanned += other.bytes_scanned
        self.skipped.update(other.skipped)
        for item in other.skipped_items:
            if item in self._named:
                self.skipped[item.reason] -= 1
            else:
                self._named.add(item)
                self.skipped_items.append(item)
        self.rule_timeouts.update(other.rule_timeouts)
        return self

    def as_plain(
        self,
    ) -> tuple[int, int, int, dict[str, int], list[tuple[object, ...]], dict[str, int]]:
        """These counts in built-in types only (see `from_plain`)."""
        return (
            self.files_scanned,
            self.commits_scanned,
            self.bytes_scanned,
            dict(self.skipped),
            [tuple(item) for item in self.skipped_items],
            dict(self.rule_timeouts),
        )

    @classmethod
    def from_plain(
        cls, plain: tuple[int, int, int, dict[str, int], list[tuple[object, ...]], dict[str, int]]
    ) -> Stats:
        """The counts `as_plain` gave."""
        stats = cls()
        stats.files_scanned, stats.commits_scanned, stats.bytes_scanned = plain[:3]
        stats.skipped.update(plain[3])
        stats.skipped_items = [Skipped(*item) for item in plain[4]]  # type: ignore[arg-type]
        stats._named = set(stats.skipped_items)
        stats.rule_timeouts.update(plain[5])
        return stats

    @property
    def gaps(self) -> list[Skipped]:
        """What could not be scanned whole."""
        return [item for item in self.skipped_items if item.gap]


class Summary(Stats):
    """The run as the report tells it: the counts of its source(s), merged, and the facts
    of the run itself: its mode ("files", "staged", "history", "pre-push", "pre-receive"),
    how many findings were suppressed, how long it took."""

    def __init__(
        self, mode: str = "", stats: Stats | None = None, *, started: float | None = None
    ) -> None:
        super().__init__()
        self.mode = mode
        self.suppressed = 0
        self.started = time.monotonic() if started is None else started
        if stats is not None:
            self.merge(stats)

    @property
    def duration(self) -> float:
        return time.monotonic() - self.started
