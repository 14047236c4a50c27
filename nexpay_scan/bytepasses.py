"""Passes over every byte of a big block, in SIMD code (StringZilla): a lowercase copy, a
byte translation, a substring search.

The history engines' prefilter makes a few such passes over every blob of a history
(gigabytes): CPython's `bytes.lower`, `bytes.translate` and `bytes.find` take 0.4-0.9 ns a
byte here, and a `re` search for the words 0.5; StringZilla's translation and search take
0.1 (measured on 200 MB of celery's and of ipython's blobs). Each function answers exactly
as the `bytes` method it names (tests/test_bytepasses.py holds them to it). Imported where
a history or a tree is scanned, never on the hook's path (tests/test_startup.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import stringzilla

_LOWER = bytes(range(256)).lower()  # ASCII letters made lowercase, as `bytes.lower`


def lowered(data: bytes | memoryview) -> bytes:
    """`data.lower()`."""
    return translated(data, _LOWER)


def translated(data: bytes | memoryview, table: bytes) -> bytes:
    """`data.translate(table)`, for a table of 256 bytes."""
    result: bytes = stringzilla.translate(data, table)
    return result


def find(data: bytes | memoryview, needle: bytes, start: int = 0, end: int | None = None) -> int:
    """`data.find(needle, start, end)`, for a needle of one byte or more and a `start`
    of 0 or more."""
    where: int = stringzilla.find(data, needle, start, len(data) if end is None else end)
    return where


def rfind(data: bytes | memoryview, needle: bytes, start: int = 0, end: int | None = None) -> int:
    """`data.rfind(needle, start, end)` (a memoryview too), for a needle of one byte or
    more and a `start` of 0 or more."""
    where: int = stringzilla.rfind(data, needle, start, len(data) if end is None else end)
    return where


def occurrences(data: bytes, needle: bytes, start: int = 0) -> Iterator[int]:
    """Every offset of `needle` (one byte or more) in `data` from `start`, overlapping
    ones included."""
    at = find(data, needle, start)
    while at >= 0:
        yield at
        at = find(data, needle, at + 1)
