"""The one detector: a literal-keyword prefilter, then each rule's regex over the bytes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from nexpay_scan.records import Record
from nexpay_scan.rules import Rule

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from typing import Any

# A catastrophically backtracking rule must not stall a scan: each regex call gets this long,
# then the rule is given up on that content (and named in the report), and the scan goes on.
MATCH_TIMEOUT_SECONDS = 2.0


class Candidate(Record):
    """A regex match of one rule, before any filter: offsets are into the scanned bytes."""

    rule: Rule
    value: str
    start: int
    end: int
    pair: str | None


class Detector:
    """Applies compiled rules to bytes; knows nothing of where the bytes came from."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self.binary_rules = tuple(r for r in rules if r.binary)
        self.keywords = _minimal_keywords({k for r in rules for k in r.keywords})
        self.timeouts: Counter[str] = Counter()  # rule id -> contents it was stopped on
        self.stopped: set[str] = set()  # rules turned off after a time-out
        self._prefilters: tuple[Any, ...] | None = None

    @property
    def prefilters(self) -> tuple[Any, ...]:
        """One compiled case-insensitive literal per keyword, for searching big blocks:
        `regex` finds a single literal at memory speed and releases the GIL meanwhile
        (an alternation of them crawls). Compiled on first use, off the hook's path."""
        if self._prefilters is None:
            import regex

            self._prefilters = tuple(
                regex.compile(b"(?i)" + regex.escape(k)) for k in self.keywords
            )
        return self._prefilters

    def might_match(self, data: bytes) -> bool:
        """Cheap test: False means no rule can match anywhere in `data`."""
        if len(data) > 1 << 20:
            return any(p.search(data, concurrent=True) for p in self.prefilters)
        lowered = data.lower()
        return any(k in lowered for k in self.keywords)

    def candidates(self, data: bytes, *, binary: bool = False) -> list[Candidate]:
        """Every match of every rule whose keywords occur in `data`, in offset order."""
        if not self.might_match(data):
            return []
        lowered = data.lower()
        rules = self.binary_rules if binary else self.rules
        found: list[Candidate] = []
        for rule in rules:
            if rule.id in self.stopped or not any(k in lowered for k in rule.keywords):
                continue
            try:
                found.extend(_matches(rule, data))
            except TimeoutError:
                # A rule that backtracks this badly once will again: turned off for the
                # rest of the run, and named in the report.
                self.timeouts[f"{rule.id} ({rule.source})"] += 1
                self.stopped.add(rule.id)
        return _without_overlaps(found)


def _minimal_keywords(keywords: set[bytes]) -> tuple[bytes, ...]:
    """Keywords without those that contain another: a hit on the longer implies the shorter."""
    return tuple(sorted(k for k in keywords if not any(o != k and o in k for o in keywords)))


def _matches(rule: Rule, data: bytes) -> list[Candidate]:
    return list(_iter_matches(rule, data))


def _iter_matches(rule: Rule, data: bytes) -> Iterable[Candidate]:
    group = "credential" if "credential" in rule.pattern.groupindex else 0
    has_pair = "client_id" in rule.pattern.groupindex
    pattern: Any = rule.pattern
    matches = (
        pattern.finditer(data)
        if rule.trusted
        else pattern.finditer(data, concurrent=True, timeout=MATCH_TIMEOUT_SECONDS)
    )
    for match in matches:
        start, end = match.span(group)
        pair = match.group("client_id").decode("ascii", "replace") if has_pair else None
        yield Candidate(rule, data[start:end].decode("ascii", "replace"), start, end, pair)


def _without_overlaps(found: list[Candidate]) -> list[Candidate]:
    """One candidate per credential span: a match that knows its client ID wins a tie."""
    best: dict[tuple[int, int], Candidate] = {}
    for candidate in found:
        key = (candidate.start, candidate.end)
        held = best.get(key)
        if held is None or (held.pair is None and candidate.pair is not None):
            best[key] = candidate
    return sorted(best.values(), key=lambda c: c.start)
