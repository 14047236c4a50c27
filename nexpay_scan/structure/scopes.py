"""The request a value belongs to: its logical line (backslash continuations joined), the
innermost enclosing brackets (a HAR or Postman request object, a `fetch(…)` call), the
`###` block of an `.http` file; and whether a pattern occurs in one of them."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from nexpay_scan.structure.outline import (
    LINE_REACH,
    Groups,
    Outline,
    outline,
    start_of_line,
)

LINE_SCOPE = 4096  # a longer line (a minified bundle) is no request scope of its own
CONTINUATIONS = 50  # backslash-continued lines joined into one logical line
GROUP_SCOPES = 3  # enclosing brackets that count as the value's request
_SEPARATOR = re.compile(rb"(?m)^###")


def request_scopes(
    shape: Outline, groups: Groups, enclosing: list[int], line_start: int, start: int, end: int
) -> tuple[tuple[int, int], ...]:
    """The spans of the request the value at `data[start:end]` belongs to: its logical
    line (unless too long), its innermost enclosing brackets, its `###` block."""
    data = shape.data
    scopes: list[tuple[int, int]] = []
    first, last = _logical_line(data, line_start, end)
    if last - first <= LINE_SCOPE:
        scopes.append((first, last))
    for index in enclosing[:GROUP_SCOPES]:
        scopes.append((groups.opens[index], groups.closes[index]))
    if shape.request_file:
        separators = shape.found(b"separator", _SEPARATOR)
        index = bisect_right(separators, (start, b"\xff"))
        low = separators[index - 1][0] if index > 0 else 0
        high = separators[index][0] if index < len(separators) else len(data)
        scopes.append((low, high))
    return tuple(scopes)


def _logical_line(data: bytes, line_start: int, end: int) -> tuple[int, int]:
    """The line holding the value, joined with the lines a trailing backslash continues."""
    first = line_start
    for _ in range(CONTINUATIONS):
        if first == 0 or data[max(0, first - 3) : first - 1].rstrip(b"\r")[-1:] != b"\\":
            break
        first = max(0, start_of_line(data, first - 1))
    last = data.find(b"\n", end, end + LINE_REACH)
    for _ in range(CONTINUATIONS):
        if last < 0 or data[max(0, last - 2) : last].rstrip(b"\r")[-1:] != b"\\":
            break
        last = data.find(b"\n", last + 1, last + 1 + LINE_REACH)
    return first, (len(data) if last < 0 else last)


def scope_mentions(
    data: bytes,
    scopes: tuple[tuple[int, int], ...],
    pattern: re.Pattern[bytes],
    trusted: bool = True,
) -> bool:
    """True when `pattern` occurs within one of `scopes` of `data` (found once per content)."""
    hits = outline(data).hits(pattern, trusted)
    if hits is None:
        return True  # too many to list (or out of time): taken as everywhere
    for low, high in scopes:
        index = bisect_left(hits, low)
        if index < len(hits) and hits[index] < high:
            return True
    return False


def mentions(data: bytes, pattern: re.Pattern[bytes], trusted: bool = True) -> bool:
    """True when `pattern` occurs anywhere in `data` (found once per content)."""
    hits = outline(data).hits(pattern, trusted)
    return hits is None or bool(hits)
