"""Reading `git diff -p` output: which lines of the new file a patch adds."""

from __future__ import annotations

import re

_HUNK = re.compile(rb"@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_SECTION = re.compile(rb"^diff --git ", re.MULTILINE)


def split_sections(patch: bytes) -> list[bytes]:
    """The per-file sections of a patch, in order (each starts with `diff --git`)."""
    starts = [m.start() for m in _SECTION.finditer(patch)]
    ends = [*starts[1:], len(patch)]
    return [patch[a:b] for a, b in zip(starts, ends, strict=False)]


def is_binary(section: bytes) -> bool:
    """True when git shows no text hunks for this file because it is binary."""
    head = section.split(b"\n@@", 1)[0]
    return b"\nBinary files " in head or b"\nGIT binary patch" in head


def added_lines(section: bytes) -> set[int]:
    """Line numbers (1-based, new side) of every `+` line in one file's hunks."""
    added: set[int] = set()
    line = 0
    in_hunk = False
    for text in section.split(b"\n"):
        if text.startswith(b"@@ "):
            match = _HUNK.match(text)
            in_hunk = match is not None
            line = int(match.group(1)) if match else 0
        elif not in_hunk:
            continue
        elif text.startswith(b"+"):
            added.add(line)
            line += 1
        elif text.startswith(b" "):
            line += 1
    return added
