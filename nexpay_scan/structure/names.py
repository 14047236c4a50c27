"""The name path of a value, innermost first (`naming`): its own name, a sibling that names
a generic `value`, the enclosing blocks, brackets and elements, the `[section]` above, the
`.netrc` machine, a column; with the request scopes it belongs to."""

from __future__ import annotations

import re
from bisect import bisect_right

from nexpay_scan.records import Record
from nexpay_scan.structure.columns import column_names
from nexpay_scan.structure.outline import (
    LINE_REACH,
    MAX_NAME,
    Groups,
    Outline,
    end_of_line,
    outline,
    start_of_line,
)
from nexpay_scan.structure.own import own_name, scheme_before
from nexpay_scan.structure.scopes import request_scopes

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from collections.abc import Iterator

MAX_NAMES = 16  # names in one path
PARENT_LEVELS = 12  # indentation parents looked at
GROUP_NAMES = 8  # enclosing brackets whose labels name a value
SIBLING_REACH = 2048  # a sibling `name`/`key` is looked for in a group this small

# Names that say nothing by themselves: the sibling or the enclosing key names the value.
GENERIC_NAMES = frozenset(
    {b"value", b"default", b"val", b"v", b"data", b"content", b"text", b"raw", b"string"}
)
LINE_NAME = 400  # a line this short that holds the value names it (the line that uses it)
COMMENT_LINES = 3  # comment lines directly above a declaration that name it
_COMMENT_STARTS = (b"#", b"//", b"--", b";", b"/*", b"*", b"<!--", b"%", b"'")
_PROVIDER = re.compile(
    rb"(?im)^[ \t]*[\"']?(?:provider|vendor|service|gateway)[\"']?[ \t]*[:=][ \t]*"
    rb"[\"']?([^\s\"'#;,]{1,100})"
)
_SIBLING = re.compile(
    rb"""(?i)["']?\b(?:name|key|id)["']?[ \t]*[:=][ \t]*\\?["']([^"'\\\n]{1,200})\\?["']"""
)
_SECTION = re.compile(rb"(?m)^\[\[?[ \t]*([\w.\-\" ]{1,200}?)[ \t]*\]\]?[ \t]*(?:[#;][^\n]*)?\r?$")
_MACHINE = re.compile(rb"(?:^|[ \t\n])(machine[ \t]+[^\s]{1,200}|default)(?=\s)")


class Naming(Record):
    """What names a value: its name path, innermost first (generic words such as `value`
    left out), the spans of the request it belongs to, and the auth scheme that carries
    it (`apikey`, `basic`; empty when none)."""

    names: tuple[bytes, ...]
    scopes: tuple[tuple[int, int], ...]
    scheme: bytes = b""
    own: bool = False  # the value has a name of its own (on its line, or a sibling's)
    specific: bytes | None = None  # the nearest name that says what the value is


def naming(data: bytes, start: int, end: int) -> Naming:
    """The names and the request scopes of the value at `data[start:end]`."""
    try:
        return _naming(outline(data), start, end)
    except (IndexError, ValueError, RecursionError):  # pragma: no cover - belt and braces
        return Naming((), (), b"", False, None)


def _naming(shape: Outline, start: int, end: int) -> Naming:
    data = shape.data
    line_start = max(start_of_line(data, start), max(0, start - LINE_REACH))
    groups = shape.groups(start)
    enclosing = list(_first(groups.enclosing(start), GROUP_NAMES))
    # the value's own name: what it is assigned to, else a sibling `name`/`key`
    own = own_name(data, line_start, start)
    if own is None or _generic(own):
        own = _sibling(data, groups, enclosing, line_start, start, end) or own
    first = [own] if own is not None else []
    columns = column_names(shape, line_start, start, groups, enclosing)
    labels = [_group_label(data, groups, index, start) for index in enclosing]
    parents: list[bytes] = []
    at = line_start
    for _ in range(PARENT_LEVELS):
        at = shape.parent_line(at)
        if at < 0:
            break
        parents.append(_line_key(data, at))
    # the line that uses the value, and a comment over it (or over the statement it is in)
    line_end = end_of_line(data, end)
    nearby = [data[line_start:line_end]] if line_end - line_start <= LINE_NAME else []
    nearby.extend(_comments_above(data, line_start))
    if enclosing:
        opening = groups.opens[enclosing[0]]
        opened = start_of_line(data, opening)
        if opened >= 0:
            nearby.extend(_comments_above(data, opened))
    section_at, section = _nearest_at(shape.found(b"section", _SECTION), start)
    outer = [section] if section else []
    parent = shape.parent_line(line_start)
    outer.extend(_providers(data, groups, enclosing, parent, section_at, start))
    if own is not None and own.lower() in (b"login", b"password", b"account"):
        machine = _nearest(shape.found(b"machine", _MACHINE), start)
        if machine:
            outer.append(machine)
    names = [*first, *columns, *nearby, *labels, *parents, *outer]
    kept = tuple(_clean(n) for n in names if n and not _generic(n))[:MAX_NAMES]
    # what a client ID must be named as: its own name, else its column, the call it is
    # passed to, the block it is in
    specific = [n for n in (*first, *columns, *labels[:1], *parents[:1]) if n and not _generic(n)]
    scopes = request_scopes(shape, groups, enclosing, line_start, start, end)
    return Naming(
        kept,
        scopes,
        scheme_before(data, line_start, start),
        bool(first and not _generic(first[0])),
        _clean(specific[0]) if specific else None,
    )


def _generic(name: bytes) -> bool:
    return name.strip(b"\"'`:= \t").lower() in GENERIC_NAMES


def _clean(name: bytes) -> bytes:
    return name.strip(b" \t\r\"'`:=,;{[(")[:LINE_NAME]


def _first(items: Iterator[int], count: int) -> Iterator[int]:
    for number, item in enumerate(items):
        if number >= count:
            return
        yield item


def _sibling(
    data: bytes, groups: Groups, enclosing: list[int], line_start: int, start: int, end: int
) -> bytes | None:
    """The `name`/`key`/`id` beside a value held as a generic `value`: in its innermost
    small bracket group or XML tag, else on its line (`- name: X` is above: see parents)."""
    # on its line: near it (a minified line holds many values, each with its own siblings)
    low, high = max(line_start, start - MAX_NAME), min(end_of_line(data, end), end + MAX_NAME)
    if enclosing:
        index = enclosing[0]
        opening, closing = groups.opens[index], groups.closes[index]
        if closing - opening <= SIBLING_REACH:
            low, high = opening, closing
    tag = data.rfind(b"<", max(line_start, start - SIBLING_REACH), start)
    if tag >= 0 and data.find(b">", tag, start) < 0:
        low = tag
    for match in _SIBLING.finditer(data, low, min(high, low + SIBLING_REACH)):
        if not (match.start(1) <= start < match.end(1)):
            return match.group(1)
    return None


def _group_label(data: bytes, groups: Groups, index: int, start: int) -> bytes:
    """What stands before an opening bracket on its line, back to the previous delimiter
    (`"nexpay": {`, `variable "nexpay_secret" {`, `nexpay.Client(`), with the arguments of
    a call before the value (`getenv("NEXPAY_SECRET", `); an XML element's name."""
    if index in groups.tags:
        return groups.tags[index]
    opening = groups.opens[index]
    floor = max(data.rfind(b"\n", max(0, opening - MAX_NAME), opening) + 1, opening - MAX_NAME)
    begin = opening
    while begin > floor and data[begin - 1] not in b",;{}[]()":
        begin -= 1
    label = data[begin:opening].strip()
    if data[opening : opening + 1] == b"(" and opening < start <= opening + MAX_NAME:
        label += data[opening:start]
    return label


def _line_key(data: bytes, start: int) -> bytes:
    """What names the block a line opens: a YAML key (`nexpay:`), a list item's whole
    `- name: X`, a `class`/`def` header, a `machine` line."""
    end = data.find(b"\n", start, start + 4 * MAX_NAME)
    text = data[start : (end if end >= 0 else start + 4 * MAX_NAME)].strip()
    if text.startswith(b"- "):
        return text[2:].strip()[:MAX_NAME]
    for mark in (b":", b"=", b"{"):
        cut = text.find(mark)
        if cut > 0:
            return text[:cut][:MAX_NAME]
    return text[:MAX_NAME]


def _nearest_at(found: list[tuple[int, bytes]], offset: int) -> tuple[int, bytes | None]:
    index = bisect_right(found, (offset, b"\xff")) - 1
    return found[index] if index >= 0 else (-1, None)


def _comments_above(data: bytes, line_start: int) -> list[bytes]:
    """The comment that heads the paragraph the line at `line_start` is in: comment lines
    directly above it, or above the few declarations before it with no blank line between
    (`// Nexpay v1 key` over `CLIENT_ID = ...` and `SECRET = ...`), nearest first."""
    comments: list[bytes] = []
    at, skipped = line_start, 0
    while at > 0 and len(comments) < COMMENT_LINES:
        above = data.rfind(b"\n", max(0, at - 1 - MAX_NAME), at - 1) + 1
        if above == 0 and at - 1 > MAX_NAME:
            break
        text = data[above : at - 1].strip()
        if text.startswith(b"###"):
            break  # an .http file's request separator: the request before is another
        if text.startswith(_COMMENT_STARTS):
            comments.append(text)
        elif comments or not text or skipped >= COMMENT_LINES:
            break
        else:
            skipped += 1  # a declaration of the same paragraph
        at = above
    return comments


def _providers(
    data: bytes, groups: Groups, enclosing: list[int], parent: int, section: int, start: int
) -> list[bytes]:
    """A sibling that says whose credential the block holds (`provider = nexpay` in the
    same section, YAML block or object), between the block's start and the value."""
    starts = [section, parent]
    if enclosing:
        starts.append(groups.opens[enclosing[0]])
    begin = max(starts)
    if begin < 0:
        return []
    low = max(begin, start - SIBLING_REACH)
    return [m.group(1) for m in _PROVIDER.finditer(data, low, start)][:2]


def _nearest(found: list[tuple[int, bytes]], offset: int) -> bytes | None:
    index = bisect_right(found, (offset, b"\xff")) - 1
    return found[index][1] if index >= 0 else None
