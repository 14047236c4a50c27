"""Filters: what turns a regex match into a finding or drops it (and why).

Whoever pushes decides what is scanned, so no filter may cost more than a bounded number of
passes over the content, however many candidates it holds: the value-only filters run
first, before a candidate is placed; places are found incrementally (`Lines`); what depends
only on the line (the allow comment, the context around it) is worked out once per line.

A line ends at `\\n`, `\\r\\n` or a lone `\\r` (old Mac files): numbering, the allow comment
and the context window all agree. Git counts `\\n` only: `Place.git_line` is git's line, for
matching the lines a patch adds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from nexpay_scan.detector import Candidate, Guard
from nexpay_scan.records import Record
from nexpay_scan.structure.spec import NOTHING_NAMES
from nexpay_scan.structure.tokens import is_plain_run

# `# nexpay-scan: allow`, `// nexpay-scan: allow`, `<!-- nexpay-scan: allow -->`, ...: the
# line ends (spaces and tabs aside) with `nexpay-scan:`, `allow` and maybe one closer
_ALLOW_MARK = b"nexpay-scan:"
_ALLOW_WORD = b"allow"
_CLOSERS = (b"*/", b"-->", b"#}", b"%}", b"*)")
_BLANK = b" \t"
_FIRST_STEP = 256  # bytes looked at first when searching for a line break either way


class Place(Record):
    """Where a candidate sits in the scanned bytes; `git_line` counts `\\n` only, as git
    does; `lines` is the content's `Lines`, which remembers per-line answers."""

    data: bytes
    line: int
    column: int
    line_start: int
    line_end: int
    git_line: int
    lines: Lines

    @property
    def line_text(self) -> bytes:
        return self.data[self.line_start : self.line_end]


class Lines:
    """Places in one content, found incrementally. Candidates come in offset order, so each
    step counts only the bytes since the previous place: the whole content costs a few
    passes at memory speed, whatever the number of candidates (a step back starts over)."""

    def __init__(self, data: bytes, guard: Guard | None = None) -> None:
        self.data = data
        self.guard = guard if guard is not None else Guard()
        self._memo: dict[tuple[int, int], str | None] = {}  # (check, line start) -> reason
        self._start_over()

    def _start_over(self) -> None:
        self._offset = 0  # the counts below are those at this offset
        self._line = 1
        self._git_line = 1
        self._line_start = 0
        self._line_end = -1  # end of the line holding `_offset`, once looked for
        self._column = 1  # in characters, at `_offset`

    def place(self, offset: int) -> Place:
        """Line (1-based, any line ending), column (1-based, in characters), line bounds and
        git's line number of `offset`."""
        if offset < self._offset:
            self._start_over()
        data, before = self.data, self._offset
        lfs = data.count(b"\n", before, offset)
        # a `\r` is a line break of its own unless a `\n` follows it (that pair is one break,
        # counted at its `\n`; the `\n` may be `offset` itself)
        lone_crs = data.count(b"\r", before, offset) - data.count(b"\r\n", before, offset + 1)
        if lfs or lone_crs:
            self._line += lfs + lone_crs
            self._git_line += lfs
            self._line_start = line_start(data, offset, before)
            self._line_end = -1
            self._column = len(data[self._line_start : offset].decode("utf-8", "replace")) + 1
        else:
            self._column += len(data[before:offset].decode("utf-8", "replace"))
        self._offset = offset
        if self._line_end < offset:
            self._line_end = line_end(data, offset)
        return Place(
            data, self._line, self._column, self._line_start, self._line_end, self._git_line, self
        )

    def once_per_line(
        self, check: object, place: Place, work: Callable[[], str | None]
    ) -> str | None:
        """`work()`'s answer for `check` on the line of `place`, worked out once per line."""
        key = (id(check), place.line_start)
        if key not in self._memo:
            self._memo[key] = work()
        return self._memo[key]


def line_start(data: bytes, offset: int, floor: int = 0) -> int:
    """Where the line holding `offset` starts (not before `floor`). Costs the length of the
    line: the search widens from `offset`, it does not look at the whole content."""
    high, step = offset, _FIRST_STEP
    while True:
        low = max(floor, high - step)
        lf = data.rfind(b"\n", low, high)
        cr = data.rfind(b"\r", low, high)
        if cr >= 0 and cr == offset - 1 and data[offset : offset + 1] == b"\n":
            cr = data.rfind(b"\r", low, cr)  # the `\r` of the `\r\n` that ends this line
        found = max(lf, cr)
        if found >= 0:
            return found + 1
        if low <= floor:
            return floor
        high, step = low, step * 2


def line_end(data: bytes, offset: int) -> int:
    """Where the line holding `offset` ends: its first line-break byte, or the end. Costs
    the rest of the line, not the rest of the content."""
    low, step, size = offset, _FIRST_STEP, len(data)
    while low < size:
        high = min(size, low + step)
        ends = [i for i in (data.find(b"\n", low, high), data.find(b"\r", low, high)) if i >= 0]
        if ends:
            return min(ends)
        low, step = high, step * 2
    return size


def locate(data: bytes, offset: int) -> Place:
    """Line (1-based), column (1-based, in characters) and line bounds of `offset`."""
    return Lines(data).place(offset)


def shannon_entropy(text: str) -> float:
    """Bits per character of `text`: random keys score high, `xxxx...` scores 0."""
    if not text:
        return 0.0
    from math import log2  # (asked of few values: not loaded on the hook's path otherwise)

    counts = Counter(text)
    return -sum(n / len(text) * log2(n / len(text)) for n in counts.values())


def too_little_entropy(text: str, least: float) -> bool:
    """`shannon_entropy(text) < least`, the same answer sooner when `text` has too few
    distinct characters to reach `least` however they are spread (k of them carry at most
    log2(k) bits each): a file of many `AAAA...` or `----...` runs costs a set each."""
    from math import log2

    distinct = len(set(text))
    if distinct and log2(distinct) + 1e-9 < least:
        return True
    return shannon_entropy(text) < least


def body(value: str, prefix: str) -> str:
    """The credential without its rule's `prefix` (`nxp_sk_`): what entropy, stop-words
    and the plain-run test look at."""
    return value[len(prefix) :] if prefix and value.startswith(prefix) else value


def bad_checksum(candidate: Candidate, guard: Guard) -> str | None:
    check = candidate.rule.checksum
    return "checksum does not match" if check and not check(candidate.value) else None


def placeholder(candidate: Candidate, guard: Guard) -> str | None:
    rule = candidate.rule
    text = body(candidate.value, rule.prefix)
    lowered = text.lower()
    if candidate.value in rule.allow_values or any(w in lowered for w in rule.stopwords):
        return "placeholder value"
    if rule.allow_regexes and guard.any_search(
        rule.allow_regexes,
        candidate.value,
        name=f"allowlist.regexes of rule {rule.id} ({rule.source})",
    ):
        return "allowlisted by the rule"
    if rule.entropy is not None and too_little_entropy(text, rule.entropy):
        return "too little entropy to be a real key"
    return None


def missing_context(candidate: Candidate, place: Place) -> str | None:
    context = candidate.rule.context
    if context is None:
        return None
    return place.lines.once_per_line(context, place, lambda: _context_reason(candidate, place))


def _context_reason(candidate: Candidate, place: Place) -> str | None:
    rule = candidate.rule
    context = rule.context
    assert context is not None
    data, search = place.data, place.lines.guard.search
    start = _lines_up(data, place.line_start, context.lines_before)
    end = place.line_end
    for _ in range(context.lines_after):
        if end >= len(data):
            break
        end = line_end(data, end + (2 if data[end : end + 2] == b"\r\n" else 1))
    # a pattern that times out answers None: the key stays a finding (the safe answer)
    name = f"context.pattern of rule {rule.id} ({rule.source})"
    if search(context.pattern, data, start, end, name=name) is False:
        return "no Nexpay context nearby"
    if context.line_pattern:
        named_from = _lines_up(data, place.line_start, context.line_pattern_lines_before)
        name = f"context.line_pattern of rule {rule.id} ({rule.source})"
        if search(context.line_pattern, data, named_from, place.line_end, name=name) is False:
            return "the line does not name a Nexpay credential"
    return None


def _lines_up(data: bytes, start: int, count: int) -> int:
    """The offset where the line `count` lines above the one starting at `start` begins."""
    for _ in range(count):
        if start == 0:
            break
        start = line_start(data, start - 1)
    return start


def plain_run(candidate: Candidate, place: object) -> str | None:
    """A placeholder by shape: the random part is a repeated character or a plain run."""
    rule = candidate.rule
    if rule.allow_plain_runs and is_plain_run(body(candidate.value, rule.prefix)):
        return "placeholder value (a repeated character or a plain run)"
    return None


def unnamed(candidate: Candidate, place: Place) -> str | None:
    """Why the structure around a value does not name it as the rule asks (`structure`)."""
    spec = candidate.rule.structure
    if spec is None:
        return None
    # imported here: a commit with no legacy-shaped value never pays for the structure reader
    from nexpay_scan.structure.decision import unnamed_reason

    return unnamed_reason(spec, place.data, candidate.start, candidate.end)


def named_outside(
    candidate: Candidate, reason: str, place: Place, data: bytes, origin: int
) -> bool:
    """For a key found in decoded text (at `place`) that nothing there names: True when the
    structure around the encoded token it came from (at `origin` in the scanned `data`)
    names it, as a Basic header's request object names the client ID and secret it
    encodes."""
    spec = candidate.rule.structure
    if spec is None or reason != NOTHING_NAMES:
        return False
    from nexpay_scan.structure.decision import unnamed_reason

    return unnamed_reason(spec, data, origin, origin, alone=False) is None


def allow_comment(candidate: Candidate, place: Place) -> str | None:
    """Why a `nexpay-scan: allow` comment on the candidate's line allows it (the comment's
    reason, if it gives one), or None when the line has none. Such a candidate is still
    reported, as suppressed in source, and a range scan does not obey a comment that the
    change under scan adds (see `commands`)."""
    return place.lines.once_per_line(_ALLOW_MARK, place, lambda: _allow_reason(place))


def _allow_reason(place: Place) -> str | None:
    reason = allow_comment_reason(place.line_text)
    if reason is None:
        return None
    return f"`nexpay-scan: allow` comment: {reason}" if reason else "`nexpay-scan: allow` comment"


def has_allow_comment(line: bytes) -> bool:
    """True when `line` (without its line break) holds an allow comment."""
    return allow_comment_reason(line) is not None


def allow_comment_reason(line: bytes) -> str | None:
    """The reason an allow comment on `line` gives ("" for none), or None when the line
    has no allow comment: `nexpay-scan: allow`, then nothing or blanks and a reason, up
    to the end of the line or a comment closer (`*/`, `-->`, ...). Linear in the line,
    however it is padded (no regex that could backtrack). A "line" that holds a NUL is no
    line of text but a run of binary content (an archive's members with their headers
    between them): a comment there is not obeyed, or a key at the end of one member would
    be allowed by a comment opening the next (a member stored as is is read as its own
    text, whose lines are its own: see `Scanner.scan`)."""
    at = line.rfind(_ALLOW_MARK)
    if at < 0 or b"\0" in line:
        return None
    rest = line[at + len(_ALLOW_MARK) :].lstrip(_BLANK)
    if not rest.startswith(_ALLOW_WORD):
        return None
    tail = rest[len(_ALLOW_WORD) :].rstrip(_BLANK + b"\r")
    for closer in _CLOSERS:
        if tail.endswith(closer):
            tail = tail[: -len(closer)].rstrip(_BLANK)
            break
    if tail and tail[:1] not in (b" ", b"\t"):
        return None  # `allowed`, `allowance`: another word, not the marker
    return tail.strip(_BLANK).decode("utf-8", "replace")[:200]


# Cheapest first; each returns why a candidate is dropped, or None to keep it. The value
# filters run before a candidate is placed: most candidates of a hostile file end there.
VALUE_FILTERS: tuple[Callable[[Candidate, Guard], str | None], ...] = (
    bad_checksum,
    placeholder,
    plain_run,
)
PLACE_FILTERS: tuple[Callable[[Candidate, Place], str | None], ...] = (
    missing_context,
    unnamed,
)


def value_drop_reason(candidate: Candidate, guard: Guard) -> str | None:
    """Why `candidate` is not a finding, by its value alone (checksum, placeholders), or
    None."""
    for check in VALUE_FILTERS:
        reason = check(candidate, guard)
        if reason:
            return reason
    return None


def place_drop_reason(candidate: Candidate, place: Place) -> str | None:
    """Why `candidate` is not a finding, by where it sits (its context), or None."""
    for check in PLACE_FILTERS:
        reason = check(candidate, place)
        if reason:
            return reason
    return None


def drop_reason(candidate: Candidate, place: Place) -> str | None:
    """Why `candidate` is not a finding, or None when it is one."""
    return value_drop_reason(candidate, place.lines.guard) or place_drop_reason(candidate, place)


def path_allowance(candidate: Candidate, path: str, guard: Guard) -> str | None:
    """Why the rule's own allowlist covers `path`, or None when it does not (a pattern
    that times out does not allow)."""
    rule = candidate.rule
    name = f"allowlist.paths of rule {rule.id} ({rule.source})"
    for pattern in rule.allow_paths:
        if guard.search(pattern, path, name=name):
            return f"path allowed by rule {rule.id}'s allowlist.paths {pattern.pattern!r}"
    return None
