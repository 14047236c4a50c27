"""The lines a shipped rule's regex can match on: those holding a run of characters that
every match of it contains.

`re` tries a rule's regex at every byte of content that names Nexpay, at 20-50 ns a byte
(100 ms a MB for the shipped rules): a Nexpay client's source files all name it. Every
match of the legacy rules holds a long run of few characters (a UUID: 36 of `[0-9a-f-]`;
a secret: 43 of `[A-Za-z0-9_-]`), and none spans lines. Such a run is found at memory
speed (a translation, then a search: `bytepasses`, in SIMD code), so the regex is run
only on the lines that hold one, and gives the same matches as over the whole content
(tests/test_rule_lines.py compares the two).

What a pattern needs is read from its parse (`re._parser`), so only patterns compiled by
`re` from the same source are windowed: the rules shipped with the tool. A pattern the
analysis does not understand whole, one that can consume a line break, or one with an
anchor or an unbounded lookahead, is run over the whole content as before.
"""

from __future__ import annotations

from nexpay_scan.bytepasses import find, translated
from nexpay_scan.records import Record

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    import re
    from collections.abc import Iterator
    from typing import Any

# a run shorter than this occurs on most lines of ordinary text: no window is worth it
_LEAST_RUN = 16
# a run this long of at most this many characters (hex digits) is rare in text and quick
# to find: such a run wins over a longer one of more characters
_SPARSE_LEAST, _SPARSE_MOST = 32, 32
# a set of more characters than this is no help in finding lines (`.`, `[^"]`)
_MOST_CHARS = 100
_NEWLINE = 10
_MARK, _OTHER = 65, 46  # "A": a byte of the run's set; ".": any other
_PIECE = 1 << 20  # bytes marked at a time


class Shape(Record):
    """What every match of a pattern holds: `least` bytes in a row from the set `marks`
    maps to "A"; it never spans a line, and its lookaheads read at most `reach` bytes past
    its end."""

    marks: bytes  # a translation table (`bytes.translate`'s)
    least: int
    reach: int


class _Unsupported(Exception):
    """The pattern holds something the analysis does not follow: it is not windowed."""


def shape_of(pattern: re.Pattern[bytes]) -> Shape | None:
    """The run that every match of `pattern` (compiled by `re`) holds, or None when none is
    known to be long enough or the pattern could match across lines."""
    try:
        from re import _parser  # type: ignore[attr-defined]  # (only asked of big content)

        parsed = _parser.parse(pattern.pattern, pattern.flags)
        walk = _Walk(_parser)
        walk.sequence(parsed, pattern.flags)
    except Exception:  # (`re`'s internals may change: then the pattern is searched whole)
        return None
    if walk.consumes_newline:
        return None
    best = _best_run(walk.tokens)
    if best is None:
        return None
    chars, least = best
    marks = bytes(_MARK if b in chars else _OTHER for b in range(256))
    return Shape(marks, least, walk.reach)


def lines_with_run(data: bytes, shape: Shape, piece: int = _PIECE) -> Iterator[tuple[int, int]]:
    """(start, end) of each line of `data` that holds `shape`'s run, in order; `end` is
    the line break's offset (or the end of `data`). Marked a piece at a time: each rule's
    search is under way at once, and a copy of big content each would be its size again
    (`piece` bytes at a time)."""
    size, least = len(data), shape.least
    run = b"A" * least
    at = 0  # where the next line to look at starts
    while at < size:
        # a run that starts before `piece_end` ends within what is marked
        base, piece_end = at, min(size, at + piece)
        marks = translated(data[base : piece_end + least - 1], shape.marks)
        found = find(marks, run)
        while found >= 0:
            start = data.rfind(b"\n", 0, base + found) + 1
            end = data.find(b"\n", base + found)
            end = size if end < 0 else end
            yield start, end
            at = end + 1
            if at >= piece_end:
                break
            found = find(marks, run, at - base)
        else:
            at = piece_end


def windowed_matches(pattern: Any, data: bytes, shape: Shape) -> Iterator[Any]:
    """`pattern.finditer(data)`, searched only on the lines that hold `shape`'s run."""
    for start, end in lines_with_run(data, shape):
        # a match consumes no line break, so it starts and ends within its line; what its
        # lookaheads read past the line is given to them (up to `reach` bytes)
        for match in pattern.finditer(data, start, min(len(data), end + shape.reach)):
            if match.start() >= end:
                break  # (in what was given for the lookaheads: the next line's business)
            yield match


# A walk yields tokens: a consumed item (its byte set and least length), or a break (what
# joins the items on either side is not known). Group bounds are no break: the items on
# either side follow each other in every match.
_BREAK = ("break",)
_ALL = frozenset(range(256))
_LETTERS = frozenset(range(65, 91)) | frozenset(range(97, 123))


class _Walk:
    """Flattens a parsed pattern into tokens, noting what could break the windows."""

    def __init__(self, parser: Any) -> None:
        self.c = parser  # (re._parser re-exports re._constants' opcodes)
        self.tokens: list[tuple[Any, ...]] = []
        self.consumes_newline = False
        self.reach = 0  # bytes past a match's end its lookaheads may read

    def sequence(self, items: Any, flags: int) -> None:
        for op, av in items:
            self.item(op, av, flags)

    def item(self, op: Any, av: Any, flags: int) -> None:
        c = self.c
        if op in (c.LITERAL, c.NOT_LITERAL, c.IN, c.ANY):
            self._consume(self._chars(op, av, flags), 1)
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            low, _high, sub = av
            inner = self._inner(sub, flags)
            if inner.tokens and all(t[0] == "item" for t in inner.tokens):
                chars = frozenset().union(*(t[1] for t in inner.tokens))
                self._consume(chars, low * sum(t[2] for t in inner.tokens))
            else:
                self.tokens.append(_BREAK)
        elif op is c.SUBPATTERN:
            _group, add, remove, sub = av
            self.sequence(sub, (flags | add) & ~remove)
        elif op is c.ATOMIC_GROUP:
            self.sequence(av, flags)
        elif op is c.BRANCH:
            for alternative in av[1]:
                self._inner(alternative, flags)
            self.tokens.append(_BREAK)
        elif op in (c.ASSERT, c.ASSERT_NOT):
            direction, sub = av
            inner = _Walk(c)  # what it consumes is read, not consumed: only its reach counts
            inner.sequence(sub, flags)
            _low, high = sub.getwidth()
            if direction > 0 and high >= c.MAXREPEAT:
                raise _Unsupported("unbounded lookahead")
            # a lookahead reads its width past where it stands, and any lookahead within
            # it further still; one within a lookbehind reads from before where it stands
            self.reach = max(self.reach, inner.reach + (high if direction > 0 else 0))
        else:  # anchors, back-references, conditionals: not followed
            raise _Unsupported(str(op))

    def _consume(self, chars: frozenset[int], least: int) -> None:
        if _NEWLINE in chars:
            self.consumes_newline = True
        self.tokens.append(("item", chars, least))

    def _inner(self, sub: Any, flags: int) -> _Walk:
        """`sub` walked apart; what it consumes and reads counts for this walk too."""
        inner = _Walk(self.c)
        inner.sequence(sub, flags)
        self.consumes_newline |= inner.consumes_newline
        self.reach = max(self.reach, inner.reach)
        return inner

    def _chars(self, op: Any, av: Any, flags: int) -> frozenset[int]:
        c = self.c
        if flags & c.SRE_FLAG_LOCALE:
            raise _Unsupported("locale")
        if op is c.LITERAL:
            return _cased(frozenset((av,)), flags, c)
        if op is c.NOT_LITERAL:
            return _ALL - _cased(frozenset((av,)), flags, c)
        if op is c.ANY:
            return _ALL if flags & c.SRE_FLAG_DOTALL else _ALL - {_NEWLINE}
        found: set[int] = set()
        negate = False
        for kind, value in av:
            if kind is c.NEGATE:
                negate = True
            elif kind is c.LITERAL:
                found.add(value)
            elif kind is c.RANGE:
                found.update(range(value[0], value[1] + 1))
            elif kind is c.CATEGORY:
                found |= _category(value, c)
            else:
                raise _Unsupported(str(kind))
        chars = _cased(frozenset(found), flags, c)
        return _ALL - chars if negate else chars


def _cased(chars: frozenset[int], flags: int, c: Any) -> frozenset[int]:
    """`chars` with their other ASCII case too under IGNORECASE (bytes patterns fold ASCII
    letters only)."""
    if not flags & c.SRE_FLAG_IGNORECASE:
        return chars
    return chars | frozenset(b ^ 32 for b in chars & _LETTERS)


_DIGITS = frozenset(range(48, 58))
_WORD = _DIGITS | _LETTERS | {95}
_SPACE = frozenset(b" \t\n\r\x0b\x0c")


def _category(name: Any, c: Any) -> frozenset[int]:
    known = {
        c.CATEGORY_DIGIT: _DIGITS,
        c.CATEGORY_NOT_DIGIT: _ALL - _DIGITS,
        c.CATEGORY_WORD: _WORD,
        c.CATEGORY_NOT_WORD: _ALL - _WORD,
        c.CATEGORY_SPACE: _SPACE,
        c.CATEGORY_NOT_SPACE: _ALL - _SPACE,
    }
    if name not in known:
        raise _Unsupported(str(name))
    return known[name]


def _best_run(tokens: list[tuple[Any, ...]]) -> tuple[frozenset[int], int] | None:
    """The run every match holds that is quickest to find, or None when none is _LEAST_RUN
    long. The items of a stretch with nothing unknown between them follow each other in
    every match: it holds the least lengths of any of its items in a row, each byte from
    one of their sets. Of those runs, the one of fewest characters (_SPARSE_MOST at most)
    that is _SPARSE_LEAST long, else the longest (fewest characters on a tie). A run of
    few characters is found quickest: a search for 80 of `[0-9A-Za-z_:-]` (the ApiKey
    header's whole pair) stops at every identifier; for its client ID's 36 of `[0-9a-f-]`
    it hardly stops (33 MB of source naming Nexpay: 32 ms against 10)."""
    runs: list[tuple[frozenset[int], int]] = []
    stretch: list[tuple[frozenset[int], int]] = []
    for token in [*tokens, _BREAK]:
        if token[0] == "item" and len(token[1]) <= _MOST_CHARS:
            stretch.append((token[1], token[2]))
            continue
        runs += _runs_within(stretch)
        stretch = []
    long_enough = [run for run in runs if run[1] >= _LEAST_RUN]
    if not long_enough:
        return None
    sparse = [r for r in long_enough if r[1] >= _SPARSE_LEAST and len(r[0]) <= _SPARSE_MOST]
    if sparse:
        return min(sparse, key=lambda run: (len(run[0]), -run[1]))
    return max(long_enough, key=lambda run: (run[1], -len(run[0])))


def _runs_within(stretch: list[tuple[frozenset[int], int]]) -> list[tuple[frozenset[int], int]]:
    """The run that each piece of a stretch (items one after the other) holds: their sets
    joined, their least lengths summed. Pieces that start or end with an item that may be
    empty are left out (it adds characters to the set and nothing to the length)."""
    found: list[tuple[frozenset[int], int]] = []
    for first in range(len(stretch)):
        if stretch[first][1] == 0:
            continue
        chars: frozenset[int] = frozenset()
        least = 0
        for chars_of, least_of in stretch[first:]:
            chars, least = chars | chars_of, least + least_of
            if least_of:
                found.append((chars, least))
    return found
