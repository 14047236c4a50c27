"""Reading `git diff -p` output: which lines of the new file a patch adds."""

from __future__ import annotations

import re

# `@@ -a,b +c,d @@`, or a merge's combined `@@@ -a,b -c,d +e,f @@@` (one `-` per parent)
_HUNK = re.compile(rb"(@@+) (?:-\d+(?:,\d+)? )+\+(\d+)(?:,\d+)? @@+")
_SECTION = re.compile(rb"^diff --(?:git|cc|combined) ", re.MULTILINE)
# An added line that starts with 64 base64 characters: part of a file that is base64 from
# its first byte (a committed `base64 .env`, wrapped or not), or a base64 line in one. Keys
# in it show no keyword until decoded, so the keyword prefilter must not skip such a change.
# (The blob route looks at the same files: blobs that start with base64.)
_ENCODED_LINE = re.compile(rb"\n\++[A-Za-z0-9+/_-]{64}")


def split_sections(patch: bytes) -> list[bytes]:
    """The per-file sections of a patch, in order (each starts with `diff --git`)."""
    starts = [m.start() for m in _SECTION.finditer(patch)]
    ends = [*starts[1:], len(patch)]
    return [patch[a:b] for a, b in zip(starts, ends, strict=False)]


def adds_encoded_line(patch: bytes) -> bool:
    """True when the patch (a file's section, or a commit's whole patch) adds a line that
    starts with a long base64 run."""
    return _ENCODED_LINE.search(patch) is not None


def is_binary(section: bytes) -> bool:
    """True when git shows no text hunks for this file because it is binary."""
    head = section.split(b"\n@@", 1)[0]
    return b"\nBinary files " in head or b"\nGIT binary patch" in head


def added_lines(section: bytes) -> set[int]:
    """Line numbers (1-based, new side) of every line one file's hunks add.

    In a merge's combined diff each line has one marker column per parent; a line counts
    as added only when it is new against every parent (`++`): what the merge itself brings.
    """
    added: set[int] = set()
    line = 0
    width = 0  # marker columns: 1, or the number of parents in a combined diff
    for text in section.split(b"\n"):
        if text.startswith(b"@@"):
            match = _HUNK.match(text)
            width = len(match.group(1)) - 1 if match else 0
            line = int(match.group(2)) if match else 0
            continue
        markers = text[:width]
        if not width or len(markers) < width or markers.strip(b" +-"):
            continue
        if b"-" in markers:
            continue  # a line of a parent that the new side does not have
        if markers == b"+" * width:
            added.add(line)
        line += 1
    return added
