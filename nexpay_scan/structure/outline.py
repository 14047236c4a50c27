"""What one content's structure answers, worked out once per content and kept: its
brackets and XML elements (`Groups`), indentation parents, `[section]` headers, where a
pattern occurs, its CSV header; and where a line starts and ends, within a bound."""

from __future__ import annotations

import re
from bisect import bisect_left

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

MAX_NAME = 200  # bytes kept of one name
PARENT_STEPS = 4096  # lines walked up for one indentation parent (jumps are memoised)
INDEX_SPAN = 8 << 20  # bytes of content one bracket index covers
MAX_BRACKETS = 1 << 19  # brackets one index remembers
MAX_HITS = 100_000  # occurrences of a request pattern remembered (more: found everywhere)
LINE_REACH = 4096  # bytes looked at either way for the ends of a value's line
MATCH_TIMEOUT_SECONDS = 2.0  # per search, for a pattern from a repository's own rules
_BRACKETS = re.compile(rb'"[^"\n]*"|[{}()\[\]]')
_XML_BRACKETS = re.compile(
    rb'"[^"\n]*"|[{}()\[\]]|<(/?)([A-Za-z_][\w:.-]{0,100})([^<>]{0,4096}?)(/?)>'
)
# a CSV header's field: a short name, no value-like text (`=`, `:`, long runs)
_HEADER_FIELD = re.compile(rb"[\w .\-\"'/()]{1,64}")
_REQUEST_FILE = re.compile(
    rb"(?m)^(?:(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)[ \t]+(?:https?://|\{\{)"
    rb"|(?:get|post|put|patch|delete|head|options)[ \t]*\{)"
)


class Groups:
    """Brackets (and XML elements) of `data[low:high]`, matched once: for each opening,
    where it closes and which opening encloses it."""

    __slots__ = ("closes", "high", "low", "opens", "parents", "tags")

    def __init__(self, data: bytes, low: int, high: int, xml: bool) -> None:
        self.low, self.high = low, high
        self.opens: list[int] = []
        self.closes: list[int] = []
        self.parents: list[int] = []
        self.tags: dict[int, bytes] = {}  # index of an opening XML element -> its name
        stack: list[tuple[int, bytes]] = []  # (index, closing byte or b"</name")
        pairs = {b"{": b"}", b"(": b")", b"[": b"]"}
        pattern = _XML_BRACKETS if xml else _BRACKETS
        for match in pattern.finditer(data, low, high):
            token = match.group()
            first = token[:1]
            if first == b'"':
                continue
            if first == b"<":
                closing, name, attributes, selfclosing = match.group(1, 2, 3, 4)
                if selfclosing:
                    continue
                if closing:
                    self._close(stack, b"</" + name, match.start())
                else:
                    index = self._open(stack, match.start(), b"</" + name)
                    if index >= 0:
                        self.tags[index] = (name + attributes)[:MAX_NAME]
                continue
            if first in pairs:
                self._open(stack, match.start(), pairs[first])
            else:
                self._close(stack, first, match.start())

    def _open(self, stack: list[tuple[int, bytes]], at: int, closer: bytes) -> int:
        if len(self.opens) >= MAX_BRACKETS:
            return -1
        index = len(self.opens)
        self.opens.append(at)
        self.closes.append(self.high)  # unclosed: open to the end of what is indexed
        self.parents.append(stack[-1][0] if stack else -1)
        stack.append((index, closer))
        return index

    def _close(self, stack: list[tuple[int, bytes]], closer: bytes, at: int) -> None:
        # a stray closer is ignored; one that closes an outer group closes what it holds
        for depth in range(len(stack) - 1, max(-1, len(stack) - 65), -1):
            if stack[depth][1] == closer:
                for index, _ in stack[depth:]:
                    self.closes[index] = at
                del stack[depth:]
                return

    def enclosing(self, offset: int) -> Iterator[int]:
        """Indexes of the openings that enclose `offset`, innermost first."""
        index = bisect_left(self.opens, offset) - 1
        steps = 0
        while index >= 0 and steps < 4096:
            steps += 1
            if self.closes[index] > offset:
                yield index
                index = self.parents[index]
            else:
                # a closed sibling: its parent may still enclose `offset`
                parent = self.parents[index]
                index = parent if parent >= 0 and self.closes[parent] > offset else index - 1


class Outline:
    """What one content's structure answers, worked out on the first question and kept."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._groups: Groups | None = None
        self._xml: bool | None = None
        self._parents: dict[int, int] = {}
        self._found: dict[bytes, list[tuple[int, bytes]]] = {}
        self._hits: dict[int, tuple[object, list[int] | None]] = {}
        self._request_file: bool | None = None
        self._copy_ends: dict[int, int] = {}
        self._header: tuple[bytes, list[bytes]] | tuple[()] | None = None

    def groups(self, offset: int) -> Groups:
        """The bracket index that covers `offset` (one window of INDEX_SPAN at a time)."""
        held = self._groups
        if held is not None and held.low <= offset < held.high:
            return held
        low = 0 if len(self.data) <= INDEX_SPAN else max(0, offset - INDEX_SPAN // 2)
        self._groups = Groups(self.data, low, min(len(self.data), low + INDEX_SPAN), self.xml)
        return self._groups

    @property
    def xml(self) -> bool:
        """True when the content reads as XML or HTML (its first non-blank byte is `<`)."""
        if self._xml is None:
            self._xml = self.data[:4096].lstrip()[:1] == b"<"
        return self._xml

    @property
    def header(self) -> tuple[bytes, list[bytes]] | None:
        """The CSV header of the content (its first line: short names between `,`, tabs or
        `;`) and its delimiter, or None."""
        if self._header is None:
            self._header = _csv_header(self.data)
        return self._header or None

    @property
    def request_file(self) -> bool:
        """True for an `.http` / REST-client file or a Bruno request: a request line."""
        if self._request_file is None:
            self._request_file = _REQUEST_FILE.search(self.data) is not None
        return self._request_file

    def found(self, what: bytes, pattern: re.Pattern[bytes]) -> list[tuple[int, bytes]]:
        """Offsets and first groups of `pattern`'s matches in the content, found once."""
        if what not in self._found:
            found = []
            for match in pattern.finditer(self.data):
                found.append((match.start(), (match.group(1) if pattern.groups else b"") or b""))
                if len(found) >= MAX_HITS:
                    break
            self._found[what] = found
        return self._found[what]

    def hits(self, pattern: re.Pattern[bytes], trusted: bool = True) -> list[int] | None:
        """Where `pattern` matches in the content, found once; None when there are too many
        to list, or a repository's pattern ran out of time: taken as everywhere."""
        held = self._hits.get(id(pattern))
        if held is None or held[0] is not pattern:
            held = (pattern, _offsets(pattern, self.data, trusted))
            self._hits[id(pattern)] = held
        return held[1]

    def parent_line(self, start: int) -> int:
        """Where the nearest line above the one starting at `start` that is indented less
        starts (blank and comment lines aside), or -1. Memoised, and a line indented as
        much or more whose parent is known is jumped over to that parent (nothing between
        can be indented less), so walking up a long block costs its length once."""
        known = self._parents.get(start)
        if known is not None:
            return known
        data, memo = self.data, self._parents
        indent = _indent(data, start)
        at, found = start, -1
        for _ in range(PARENT_STEPS):
            if at <= 0:
                break
            above = start_of_line(data, at - 1)
            if above < 0:
                break  # a line longer than LINE_REACH: no block structure to walk
            if not _content(data, above):
                at = above
                continue
            if _indent(data, above) < indent:
                found = above
                break
            jump = memo.get(above)
            if jump is None:
                at = above
            elif jump < 0:
                break
            elif _indent(data, jump) < indent:
                found = jump
                break
            else:
                at = jump
        memo[start] = found
        return found

    def copy_end(self, start: int) -> int:
        """Where the SQL `COPY` block whose header is at `start` ends (its `\\.` line)."""
        held = self._copy_ends.get(start)
        if held is None:
            held = self.data.find(b"\n\\.", start)
            held = len(self.data) if held < 0 else held
            self._copy_ends[start] = held
        return held


def _offsets(pattern: re.Pattern[bytes], data: bytes, trusted: bool) -> list[int] | None:
    found: list[int] = []
    # a repository's pattern compiles with `regex`, whose finditer takes a time limit
    options = {} if trusted else {"timeout": MATCH_TIMEOUT_SECONDS}
    finditer: Any = pattern.finditer
    try:
        for match in finditer(data, **options):
            found.append(match.start())
            if len(found) >= MAX_HITS:
                return None
    except TimeoutError:
        return None
    return found


_last: list[Outline] = []
_fed: list[tuple[bytes, bytes]] = []
_LONE_CR = re.compile(rb"\r(?!\n)")


def with_line_feeds(data: bytes) -> bytes:
    """`data` with each lone CR (old Mac line ends) read as LF, offsets unchanged: lines are
    lines whatever their ending. Made once for the same bytes, however many values in them
    are asked about."""
    if _fed and _fed[0][0] is data:
        return _fed[0][1]
    fed = _LONE_CR.sub(b"\n", data) if b"\r" in data else data
    _fed[:] = [(data, fed)]
    return fed


def outline(data: bytes) -> Outline:
    """The outline of `data`, kept for as long as the same bytes are asked about."""
    if _last and _last[0].data is data:
        return _last[0]
    held = Outline(data)
    _last[:] = [held]
    return held


def _csv_header(data: bytes) -> tuple[bytes, list[bytes]] | tuple[()]:
    end = data.find(b"\n", 0, 4096)
    if end <= 0:
        return ()
    header = data[:end].rstrip(b"\r")
    for delimiter in (b",", b"\t", b";"):
        if delimiter in header:
            fields = header.split(delimiter)
            if all(_HEADER_FIELD.fullmatch(field) for field in fields):
                return delimiter, [field.strip() for field in fields]
            return ()
    return ()


def start_of_line(data: bytes, offset: int) -> int:
    """Where the line holding `offset` starts, or -1 when that is more than LINE_REACH
    back (a minified line: its start says nothing, and finding it would cost the line)."""
    found = data.rfind(b"\n", max(0, offset - LINE_REACH), offset)
    if found >= 0 or offset <= LINE_REACH:
        return found + 1
    return -1


def end_of_line(data: bytes, offset: int) -> int:
    """Where the line holding `offset` ends, LINE_REACH on at most."""
    found = data.find(b"\n", offset, offset + LINE_REACH)
    return found if found >= 0 else min(len(data), offset + LINE_REACH)


def _indent(data: bytes, start: int) -> int:
    at = start
    while at < len(data) and data[at] in b" \t":
        at += 1
    # a list item's own keys sit past its dash: `- name: X` opens what `  value:` is in
    return at - start


def _content(data: bytes, start: int) -> bool:
    """True for a line that can open a block: not blank, not a comment."""
    end = data.find(b"\n", start, start + 64)
    head = data[start : end if end >= 0 else start + 64].lstrip(b" \t\r")
    return bool(head) and not head.startswith((b"#", b"//", b";", b"--", b"/*", b"*", b"<!--"))
