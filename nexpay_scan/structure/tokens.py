"""Placeholders and pieces of longer tokens: a value that is no key whatever names it."""

from __future__ import annotations

from itertools import pairwise

from nexpay_scan.compiled import pattern

_TOKEN_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_DIGEST_PREFIX = pattern(rb"(?i)(?:sha(?:1|224|256|384|512)|md5|h1|blake2b?|sha3-\d+)[-=:]\Z")


def is_plain_run(text: str) -> bool:
    """True when `text` (a key's random part, prefix and dashes aside) is mostly one
    repeated character or a plain run up or down (`AAAA…`, `0123…`, `xxxx…`, the UUID
    `12345678-1234-…`): a placeholder, whatever its checksum. A random key's neighbours
    are equal or adjacent about one time in twenty; a placeholder's, nearly always."""
    chars = [c for c in text if c.isalnum()]
    if len(chars) < 8:
        return False
    steps = sum(1 for a, b in pairwise(chars) if -1 <= ord(b) - ord(a) <= 1)
    return steps * 5 >= (len(chars) - 1) * 3


def in_longer_token(data: bytes, start: int, end: int) -> str | None:
    """Why `data[start:end]` is a piece of a longer token and no key of its own (a dotted
    vendor token or JWT, a package digest, base64 text), or None when it stands alone."""
    before = data[start - 1 : start] if start > 0 else b""
    after = data[end : end + 1]
    if before == b"." and start > 1 and data[start - 2] in _TOKEN_BYTES:
        return "part of a dotted token (a vendor token, a JWT)"
    if after == b"." and data[end + 1 : end + 2] and data[end + 1] in _TOKEN_BYTES:
        return "part of a dotted token (a vendor token, a JWT)"
    if _DIGEST_PREFIX.search(data[max(0, start - 12) : start]):
        return "a digest (a lock file's integrity, a wheel's RECORD)"
    if before in (b"+", b"/") or after in (b"+", b"/", b"="):
        return "part of a longer token (base64 text, decoded and scanned as such; a path)"
    return None
