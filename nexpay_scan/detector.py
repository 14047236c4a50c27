"""The one detector: a literal-keyword prefilter, then each rule's regex over the bytes."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain

from nexpay_scan.compiled import is_pattern
from nexpay_scan.decoders.model import byte_passes, lowered
from nexpay_scan.records import Record
from nexpay_scan.rules import Rule

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from nexpay_scan.rule_lines import Shape

# A catastrophically backtracking rule must not stall a scan: each regex call gets this long,
# then the rule is given up on that content (and named in the report), and the scan goes on.
MATCH_TIMEOUT_SECONDS = 2.0
# Once a run has searched this much, a shipped rule is run only on the lines that hold the
# run of characters its matches need (`nexpay_scan.rule_lines`: any content bigger than a
# line or two costs less so); before, content is searched whole: the analysis imports
# `re`'s parser, which the hook's few small files do without.
WINDOWED_LEAST = 1 << 16
_MATCHED_WHOLE = 1 << 20  # `might_match` lowercases content up to this size whole
# content this big has the rules' candidates merged as they are asked for (`heapq`), not
# all made and sorted first: few on small content, and the hook's path imports no `heapq`
_MERGED_LEAST = 1 << 16


class Candidate(Record):
    """A regex match of one rule, before any filter: offsets are into the scanned bytes."""

    rule: Rule
    value: str
    start: int
    end: int
    pair: str | None


# What a time-out of a pattern other than a rule's regex is named by in the report's list of
# time-outs (`Summary.rule_timeouts`): reporters tell the two kinds apart by it.
PATTERN_TIMEOUT = "pattern "


class Guard:
    """Runs the patterns a repository supplies besides rule regexes (allowlists, context)
    under the same per-call time limit as rule regexes. A pattern that times out is named in
    `timeouts` and not run again this run: the caller decides what "no answer" means, and
    must choose the answer that keeps a finding (an allow pattern does not allow)."""

    def __init__(self, timeouts: Counter[str] | None = None) -> None:
        self.timeouts: Counter[str] = Counter() if timeouts is None else timeouts
        self.stopped: set[str] = set()

    def search(
        self, pattern: Any, text: Any, start: int = 0, end: int | None = None, *, name: str
    ) -> bool | None:
        """Whether `pattern` matches in `text[start:end]`; None when it took too long (now or
        earlier in the run). `name` says where the pattern comes from, for the report."""
        if end is None:
            end = len(text)
        if is_pattern(pattern):  # the tool's own: compiled with `re`, trusted
            return pattern.search(text, start, end) is not None
        key = f"{PATTERN_TIMEOUT}{name} {_shown(pattern.pattern)}"
        if key in self.stopped:
            return None
        try:
            return pattern.search(text, start, end, timeout=MATCH_TIMEOUT_SECONDS) is not None
        except TimeoutError:
            self.timeouts[key] += 1
            self.stopped.add(key)
            return None

    def any_search(self, patterns: Iterable[Any], text: str, *, name: str) -> bool:
        """True when one of `patterns` matches `text`; a pattern that times out counts as no
        match (the fail-safe answer for an allowlist)."""
        return any(self.search(p, text, name=name) for p in patterns)


def _shown(source: str | bytes) -> str:
    """A pattern as the report names it: its repr, cut short."""
    if isinstance(source, bytes):
        source = source.decode("utf-8", "replace")
    text = repr(source)
    return text if len(text) <= 80 else text[:77] + "..."


class Detector:
    """Applies compiled rules to bytes; knows nothing of where the bytes came from."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self.binary_rules = tuple(r for r in rules if r.binary)
        self.keywords = _minimal_keywords({k for r in rules for k in r.keywords})
        self.anchors = _anchors(self.keywords)  # what `might_match` looks for
        self.timeouts: Counter[str] = Counter()  # rule id -> contents it was stopped on
        self.stopped: set[str] = set()  # rules turned off after a time-out
        self.guard = Guard(self.timeouts)  # the other patterns a repository supplies
        self._prefilters: tuple[Any, ...] | None = None
        self._shapes: dict[str, Shape | None] = {}  # rule id -> its lines' run
        self._searched = 0  # bytes given to `candidates` so far (see WINDOWED_LEAST)

    @property
    def prefilters(self) -> tuple[Any, ...]:
        """One compiled case-insensitive literal per keyword, for searching big blocks:
        `regex` finds a single literal at memory speed and releases the GIL meanwhile
        (an alternation of them crawls). Compiled on first use, off the hook's path. (Not
        the shorter anchors: a longer literal lets `regex` skip further, and is faster.)"""
        if self._prefilters is None:
            import regex

            self._prefilters = tuple(
                regex.compile(b"(?i)" + regex.escape(k)) for k in self.keywords
            )
        return self._prefilters

    def might_match(self, data: bytes) -> bool:
        """Cheap test: False means no rule can match anywhere in `data`. Content over
        _MATCHED_WHOLE is searched by `regex` where it is loaded (a history's scan), else
        a piece at a time (`files` loads no `regex` for a wheel's raw bytes: 11 ms)."""
        if len(data) <= _MATCHED_WHOLE:
            low = lowered(data)
            return any(k in low for k in self.anchors)
        if "regex" in sys.modules:
            return any(p.search(data, concurrent=True) for p in self.prefilters)
        return _in_pieces(data, self.anchors)

    def candidates(self, data: bytes, *, binary: bool = False) -> Iterator[Candidate]:
        """Every match of every rule whose keywords occur in `data`, in offset order, made
        as they are asked for: content of a million matches holds a few at a time."""
        if not self.might_match(data):
            return iter(())
        low = lowered(data)  # made by `might_match` (up to 1 MiB), not made again
        rules = self.binary_rules if binary else self.rules
        self._searched += len(data)
        by_lines = self._searched >= WINDOWED_LEAST
        named = _Named(low)
        streams: list[Iterator[Candidate]] = []
        for rule in rules:
            if rule.id in self.stopped or not any(map(named, rule.keywords)):
                continue
            if rule.trusted:  # (no time limit: searched as the candidates are asked for)
                shape = self._shape(rule) if by_lines else None
                streams.append(_iter_matches(rule, data, shape))
                continue
            try:  # whole, now: a time-out gives none of the rule's matches
                streams.append(iter(_matches(rule, data)))
            except TimeoutError:
                # A rule that backtracks this badly once will again: turned off for the
                # rest of the run, and named in the report.
                self.timeouts[f"{rule.id} ({rule.source})"] += 1
                self.stopped.add(rule.id)
        return _without_overlaps(streams, lazily=len(data) >= _MERGED_LEAST)

    def _shape(self, rule: Rule) -> Shape | None:
        """The run that locates `rule`'s matches, or None to search content whole (a rule
        `regex` compiled may read its source otherwise than `re`: never by lines)."""
        if not rule.trusted:
            return None
        if rule.id not in self._shapes:
            from nexpay_scan.rule_lines import shape_of

            self._shapes[rule.id] = shape_of(rule.pattern)
        return self._shapes[rule.id]


class _Named:
    """Whether a keyword occurs in some lowercase content: each keyword searched once,
    whichever rules share it; by `bytepasses` where it is loaded (the rules of a tree
    naming Nexpay search its every file for `nxp_sk_` and `nxp_cid_` to the end: 39 ms
    of 33 MB by `bytes.find`)."""

    __slots__ = ("_known", "_low", "_passes")

    def __init__(self, low: bytes) -> None:
        self._low, self._passes = low, byte_passes()
        self._known: dict[bytes, bool] = {}

    def __call__(self, keyword: bytes) -> bool:
        known = self._known.get(keyword)
        if known is None:
            if self._passes is None:
                known = keyword in self._low
            else:
                known = self._passes.find(self._low, keyword) >= 0
            self._known[keyword] = known
        return known


def _minimal_keywords(keywords: set[bytes]) -> tuple[bytes, ...]:
    """Keywords without those that contain another: a hit on the longer implies the shorter."""
    return tuple(sorted(k for k in keywords if not any(o != k and o in k for o in keywords)))


def _in_pieces(data: bytes, anchors: tuple[bytes, ...]) -> bool:
    """Whether one of `anchors` (lowercase) occurs in `data` in any case, lowercased
    _MATCHED_WHOLE bytes at a time (and an anchor's length more: one that straddles two
    pieces is whole in the first), never whole."""
    reach = max(map(len, anchors), default=1) - 1
    for at in range(0, len(data), _MATCHED_WHOLE):
        low = data[at : at + _MATCHED_WHOLE + reach].lower()
        if any(k in low for k in anchors):
            return True
    return False


def _anchors(keywords: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """Fewer words, one of which occurs wherever a keyword does: keywords that share their
    first ANCHOR bytes are stood for by all they share ("nxp_" for "nxp_sk_" and
    "nxp_cid_"), so that a file without any is searched once less."""
    groups: dict[bytes, list[bytes]] = {}
    for keyword in keywords:
        groups.setdefault(keyword[:ANCHOR], []).append(keyword)
    return tuple(sorted(_shared_start(group) for group in groups.values()))


ANCHOR = 4  # bytes: shorter shared starts ("nx") would occur all over ordinary text


def _shared_start(words: list[bytes]) -> bytes:
    first, last = min(words), max(words)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def _matches(rule: Rule, data: bytes) -> list[Candidate]:
    return list(_iter_matches(rule, data, None))


def _iter_matches(rule: Rule, data: bytes, shape: Shape | None) -> Iterator[Candidate]:
    group = "credential" if "credential" in rule.pattern.groupindex else 0
    has_pair = "client_id" in rule.pattern.groupindex
    pattern: Any = rule.pattern
    if shape is not None:
        from nexpay_scan.rule_lines import windowed_matches

        matches = windowed_matches(pattern, data, shape)
    elif rule.trusted:
        matches = pattern.finditer(data)
    else:
        matches = pattern.finditer(data, concurrent=True, timeout=MATCH_TIMEOUT_SECONDS)
    for match in matches:
        start, end = match.span(group)
        pair = match.group("client_id").decode("ascii", "replace") if has_pair else None
        yield Candidate(rule, data[start:end].decode("ascii", "replace"), start, end, pair)


def _without_overlaps(streams: list[Iterator[Candidate]], *, lazily: bool) -> Iterator[Candidate]:
    """The rules' candidates (each rule's in offset order) in offset order, one per
    credential span: a match that knows its client ID wins a tie, else the first rule's.
    `lazily`: merged as they are asked for, else all sorted first (fewer imports)."""
    if len(streams) == 1:  # (a rule's matches never overlap)
        yield from streams[0]
        return
    # (start, rule's place) orders them: a rule's starts differ, so no tie reaches a Candidate
    tagged = [((c.start, place, c) for c in stream) for place, stream in enumerate(streams)]
    if lazily:
        from heapq import merge  # (not on the hook's path: its content is small)

        ordered: Iterable[tuple[int, int, Candidate]] = merge(*tagged)
    else:
        ordered = sorted(chain.from_iterable(tagged))
    same_start: list[Candidate] = []
    for start, _, candidate in ordered:
        if same_start and start != same_start[0].start:
            yield from _one_per_span(same_start)
            same_start = []
        same_start.append(candidate)
    yield from _one_per_span(same_start)


def _one_per_span(found: list[Candidate]) -> Iterable[Candidate]:
    best: dict[tuple[int, int], Candidate] = {}
    for candidate in found:
        key = (candidate.start, candidate.end)
        held = best.get(key)
        if held is None or (held.pair is None and candidate.pair is not None):
            best[key] = candidate
    return best.values()
