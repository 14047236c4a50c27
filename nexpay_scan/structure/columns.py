"""A value's column: a CSV header's field (the first line), a SQL `COPY` block's column
and table, a SQL `INSERT`'s column and table."""

from __future__ import annotations

import re
from bisect import bisect_left

from nexpay_scan.structure.outline import LINE_REACH, Groups, Outline, end_of_line

_SQL_STRING = re.compile(rb"'[^']*'")
_COPY = re.compile(
    rb"(?m)^COPY[ \t]+([\w.\"]{1,200})[ \t]*\(([^)\n]{1,4096})\)[ \t]+FROM[ \t]+stdin"
)
_INSERT = re.compile(
    rb"(?i)INSERT[ \t]+INTO[ \t]+([\w.`\"\[\]]{1,200})[ \t]*(?:\(([^)\n]{1,4096})\))?[ \t]*VALUES"
)


def column_names(
    shape: Outline, line_start: int, start: int, groups: Groups, enclosing: list[int]
) -> list[bytes]:
    """A CSV column header (the first line), a SQL `COPY` column, a SQL `INSERT` column."""
    data = shape.data
    names: list[bytes] = []
    copy = _nearest_match(shape, b"copy", _COPY, start)
    if copy is not None and shape.copy_end(copy.start()) > line_start:
        column = data.count(b"\t", line_start, start)
        names.extend(_field(copy.group(2), b",", column))
        names.append(copy.group(1))
    elif enclosing and data[groups.opens[enclosing[0]] : groups.opens[enclosing[0]] + 1] == b"(":
        opening = groups.opens[enclosing[0]]
        insert = _nearest_match(shape, b"insert", _INSERT, opening)
        if insert is not None and insert.end() <= opening and opening - insert.end() < 1 << 20:
            column = _top_level_commas(data, opening + 1, start)
            if insert.group(2):
                names.extend(_field(insert.group(2), b",", column))
            names.append(insert.group(1))
    header = shape.header
    if line_start > 0 and header is not None:
        delimiter, fields = header
        line = data[line_start : end_of_line(data, start)]
        if line.count(delimiter) == len(fields) - 1:
            column = data.count(delimiter, line_start, start)
            names.extend(fields[column : column + 1])
    return names


def _nearest_match(
    shape: Outline, what: bytes, pattern: re.Pattern[bytes], offset: int
) -> re.Match[bytes] | None:
    found = shape.found(what, pattern)
    index = bisect_left(found, (offset, b"")) - 1
    if index < 0:
        return None
    return pattern.match(shape.data, found[index][0])


def _field(text: bytes, delimiter: bytes, column: int) -> list[bytes]:
    fields = text.split(delimiter)
    return [fields[column].strip()] if 0 <= column < len(fields) else []


def _top_level_commas(data: bytes, begin: int, stop: int) -> int:
    """Commas in `data[begin:stop]` outside single-quoted SQL strings (LINE_REACH at most)."""
    text = data[max(begin, stop - LINE_REACH) : stop]
    return _SQL_STRING.sub(b"", text).count(b",")
