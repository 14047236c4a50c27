"""Reading `git diff -p` output: which lines of the new file a patch adds."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator

from nexpay_scan.compiled import MULTILINE, pattern

# `@@ -a,b +c,d @@`, or a merge's combined `@@@ -a,b -c,d +e,f @@@` (one `-` per parent)
_HUNK = pattern(rb"(@@+) (?:-\d+(?:,\d+)? )+\+(\d+)(?:,\d+)? @@+")
_SECTION = pattern(rb"^diff --(?:git|cc|combined) ", MULTILINE)
# An added line that starts with 64 base64 characters: part of a file that is base64 from
# its first byte (a committed `base64 .env`, wrapped or not), or a base64 line in one. Keys
# in it show no keyword until decoded, so the keyword prefilter must not skip such a change.
# (The blob engine looks at the same files: blobs that start with base64.)
_ENCODED_LINE = pattern(rb"\n\++[A-Za-z0-9+/_-]{64}")


def split_sections(patch: bytes) -> list[bytes]:
    """The per-file sections of a patch, in order (each starts with `diff --git`)."""
    starts = [m.start() for m in _SECTION.finditer(patch)]
    ends = [*starts[1:], len(patch)]
    return [patch[a:b] for a, b in zip(starts, ends, strict=False)]


def section_path(section: bytes) -> bytes | None:
    """The path (new side) that one patch section is about, from its `diff --git a/X b/Y`
    or `diff --cc X` header; git C-quotes odd names (quotes, backslashes, control bytes such
    as newlines) whatever core.quotepath says. None when the header cannot be read."""
    end = section.find(b"\n")
    header = section[:end] if end >= 0 else section  # (no copy of the rest: sections are big)
    for start in (b"diff --cc ", b"diff --combined "):
        if header.startswith(start):
            return _unquoted(header[len(start) :])[0]
    if not header.startswith(b"diff --git "):
        return None
    names = header[len(b"diff --git ") :]
    if names.startswith(b'"'):  # "a/…" then b/… (quoted or not)
        _, after = _unquoted(names)
        return _without_prefix(_unquoted(after[1:])[0])
    if b'"' in names:  # a/… then "b/…": an unquoted name holds no quote
        return _without_prefix(_unquoted(names[names.index(b'"') :])[0])
    half = (len(names) - 1) // 2  # `a/P b/P`: both sides the same path (no rename)
    if names[half : half + 3] == b" b/" and names[2:half] == names[half + 3 :]:
        return names[half + 3 :]
    return _renamed_to(section) or names.partition(b" b/")[2] or None


def _renamed_to(section: bytes) -> bytes | None:
    """The new path named by a rename or copy's extended header lines, if any."""
    for line in section.split(b"\n")[1:]:
        if line.startswith((b"@@", b"Binary files ", b"GIT binary patch")):
            break
        for start in (b"rename to ", b"copy to "):
            if line.startswith(start):
                return _unquoted(line[len(start) :])[0]
    return None


def _without_prefix(name: bytes) -> bytes:
    return name[2:] if name[1:2] == b"/" else name


_C_ESCAPES = {
    ord("a"): 7,
    ord("b"): 8,
    ord("t"): 9,
    ord("n"): 10,
    ord("v"): 11,
    ord("f"): 12,
    ord("r"): 13,
    ord('"'): 34,
    ord("\\"): 92,
}


def _unquoted(text: bytes) -> tuple[bytes, bytes]:
    """A name as git wrote it (C-quoted when it starts with `"`), and what follows it."""
    if not text.startswith(b'"'):
        return text, b""
    out = bytearray()
    index = 1
    while index < len(text) and text[index] != ord('"'):
        byte = text[index]
        if byte == ord("\\") and index + 1 < len(text):
            code = text[index + 1]
            if code in _C_ESCAPES:
                out.append(_C_ESCAPES[code])
                index += 2
                continue
            if text[index + 1 : index + 4].isdigit():  # \ooo: one byte in octal
                out.append(int(text[index + 1 : index + 4], 8) & 0xFF)
                index += 4
                continue
        out.append(byte)
        index += 1
    return bytes(out), text[index + 1 :]


def adds_encoded_line(patch: bytes) -> bool:
    """True when the patch (a file's section, or a commit's whole patch) adds a line that
    starts with a long base64 run."""
    return _ENCODED_LINE.search(patch) is not None


def is_binary(section: bytes) -> bool:
    """True when git shows no text hunks for this file because it is binary."""
    head = section.split(b"\n@@", 1)[0]
    return b"\nBinary files " in head or b"\nGIT binary patch" in head


def is_deletion(section: bytes) -> bool:
    """True when this section deletes its file."""
    return b"\ndeleted file mode " in section.split(b"\n@@", 1)[0]


def added_lines(section: bytes) -> set[int]:
    """Line numbers (1-based, new side) of every line one file's hunks add (see
    `added_spans`, the same as runs: what a scan is given, small whatever the file)."""
    return {n for start, end in added_spans(section) for n in range(start, end)}


def added_spans(section: bytes) -> AddedLines:
    """The lines one file's hunks add, as runs of consecutive line numbers.

    In a merge's combined diff each line has one marker column per parent; a line counts
    as added only when it is new against every parent (`++`): what the merge itself brings.
    """
    added = AddedLines()
    if section.startswith(b"@@"):  # no header line before the first hunk: line by line
        _add_lines(_lines(section), 0, 0, added)
        return added
    at = section.find(b"\n@@")
    while at >= 0:
        body_start = section.find(b"\n", at + 1)
        if body_start < 0:
            body_start = len(section)
        match = _HUNK.match(section, at + 1, body_start)
        line = int(match.group(2)) if match else 0
        # a hunk git could not have written (a garbled patch): its lines are not counted
        width = len(match.group(1)) - 1 if match and line < _MAX_LINE else 0
        at = section.find(b"\n@@", body_start)
        body = section[body_start : len(section) if at < 0 else at]
        if width == 1 and b"\n " not in body:
            # no context line (a `-U0` patch): the added lines are the first ones after `line`
            added.add_run(line, line + body.count(b"\n+"))
        elif width:
            _add_lines(_lines(body[1:]), line, width, added)
    return added


def _add_lines(lines: Iterator[bytes], line: int, width: int, added: AddedLines) -> None:
    """Adds the lines `lines` (a hunk's, starting at new-side `line`) add, one by one."""
    for text in lines:
        if text.startswith(b"@@"):
            match = _HUNK.match(text)
            line = int(match.group(2)) if match else 0
            width = len(match.group(1)) - 1 if match and line < _MAX_LINE else 0
            continue
        markers = text[:width]
        if not width or len(markers) < width or markers.strip(b" +-"):
            continue
        if b"-" in markers:
            continue  # a line of a parent that the new side does not have
        if markers == b"+" * width:
            added.add(line)
        line += 1


_SLICE = 1 << 20
_MAX_LINE = 1 << 40  # more lines than any file git can hold


def _lines(section: bytes) -> Iterator[bytes]:
    """The lines of `section`, split a slice at a time: a section of millions of short
    lines never becomes one list of them."""
    start = 0
    while start <= len(section):
        cut = section.find(b"\n", start + _SLICE)
        end = len(section) if cut < 0 else cut
        yield from section[start:end].split(b"\n")
        start = end + 1


class AddedLines:
    """Line numbers held as runs [start, end): a container as small as the number of
    hunks, where a set of a file's million added lines would take tens of MB."""

    __slots__ = ("_ends", "_starts")

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def add(self, line: int) -> None:
        """Adds `line`: cheaply when it comes at or after every line so far (as a patch
        lists them), else by rebuilding the runs (a garbled patch)."""
        if not self._ends or line > self._ends[-1]:
            self._starts.append(line)
            self._ends.append(line + 1)
        elif line == self._ends[-1]:
            self._ends[-1] = line + 1
        elif line not in self:
            lines = {n for start, end in self for n in range(start, end)} | {line}
            self._starts, self._ends = [], []
            for number in sorted(lines):
                self.add(number)

    def add_run(self, start: int, end: int) -> None:
        """Adds the lines from `start` to `end` (excluded)."""
        if start >= end:
            return
        if not self._ends or start > self._ends[-1]:
            self._starts.append(start)
            self._ends.append(end)
        elif start == self._ends[-1]:
            self._ends[-1] = end
        else:
            for line in range(start, end):
                self.add(line)

    def __contains__(self, line: object) -> bool:
        if not isinstance(line, int):
            return False
        at = bisect_right(self._starts, line) - 1
        return at >= 0 and line < self._ends[at]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        """The runs, as (start, end) pairs."""
        return zip(self._starts, self._ends, strict=True)
