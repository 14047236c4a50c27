"""Percent-escapes and string escapes (JSON, JavaScript, Python) glued to key characters
near a hint word, decoded in the run of text around them when it then holds something
key-shaped."""

from __future__ import annotations

from nexpay_scan.compiled import pattern
from nexpay_scan.decoders.model import Decoder, Hints, Token, compiled
from nexpay_scan.records import Record

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Iterator

RUN_REACH = 512  # how far a percent or escape token extends either side of one escape
_KEY_SHAPED = rb"[A-Za-z0-9_-]{32}"
# an escape with this many key characters on one side may be hiding a key's boundary
_GLUED = 20
_KEY_RUN = rb"[A-Za-z0-9_-]{%d}" % _GLUED


class _Escaper(Record):
    """One escaping scheme: where it occurs, what ends a run of text, how to undo it."""

    label: str
    trigger: bytes  # in every escape: where it is absent, so is the scheme (a fast test)
    pattern: re.Pattern[bytes]
    delimiters: tuple[bytes, ...]
    decode: Callable[[bytes], bytes]


_PERCENT = pattern(rb"%[0-9A-Fa-f]{2}")
_STRING_ESCAPE = pattern(rb"\\(?:u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|[\"'/bfnrt])")
_UNESCAPE = (
    rb"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|\\(.)"
)
_SIMPLE_ESCAPES = {b"n": b"\n", b"t": b"\t", b"r": b"\r", b"b": b"\b", b"f": b"\f"}
_WHITESPACE = (b" ", b"\t", b"\n", b"\r")
_URL_DELIMITERS = (*_WHITESPACE, b'"', b"'", b"<", b">", b"`")


def _unpercent(raw: bytes) -> bytes:
    return _PERCENT.sub(lambda m: bytes([int(m[0][1:], 16)]), raw)


def _unescape(raw: bytes) -> bytes:
    return compiled(_UNESCAPE).sub(_unescaped, raw)


def _unescaped(match: re.Match[bytes]) -> bytes:
    high, low, unit, byte, char = match.groups()
    if high and low:
        code = 0x10000 + ((int(high, 16) - 0xD800) << 10) + int(low, 16) - 0xDC00
        return chr(code).encode()
    if unit or byte:
        return chr(int(unit or byte, 16)).encode("utf-8", "replace")
    if char in b"\"'/\\":
        return char
    return _SIMPLE_ESCAPES.get(char, match[0])


_PERCENT_ESCAPER = _Escaper("percent", b"%", _PERCENT, _URL_DELIMITERS, _unpercent)
_STRING_ESCAPER = _Escaper("escape", b"\\", _STRING_ESCAPE, _WHITESPACE, _unescape)


def percent_tokens(data: bytes, start: int, end: int, hints: Hints) -> Iterator[Token]:
    """Runs of percent-encoded text in data[start:end] that may hide a key, decoded."""
    return _escaped_tokens(data, start, end, _PERCENT_ESCAPER, hints)


def string_escape_tokens(data: bytes, start: int, end: int, hints: Hints) -> Iterator[Token]:
    """Runs of string-escaped text in data[start:end] that may hide a key, decoded."""
    return _escaped_tokens(data, start, end, _STRING_ESCAPER, hints)


PERCENT = Decoder("percent", tokens=percent_tokens)
STRING_ESCAPES = Decoder("escape", tokens=string_escape_tokens)
ESCAPERS = (_PERCENT_ESCAPER, _STRING_ESCAPER)


def escapes_near_hints(data: bytes, hints: Hints) -> set[tuple[bytes, bytes, bytes]]:
    """Each escape in `data` that a run decoded near a hint could hold (see
    `_escaped_tokens`), with what it decodes to and the byte after it past blanks (b"" at
    the end): each distinct triple once. A run decoded differs from `data` only there."""
    found: set[tuple[bytes, bytes, bytes]] = set()
    windows = hints.windows(0, len(data))
    for escaper in ESCAPERS:
        if not windows or data.find(escaper.trigger) < 0:
            continue
        followed = compiled(b"(" + escaper.pattern.pattern + rb")[ \t]*([\s\S]?)")
        pairs: set[tuple[bytes, bytes]] = set()
        for low, high in windows:  # (a run reaches RUN_REACH past an escape in a window)
            start, end = max(0, low - RUN_REACH), high + RUN_REACH + 1
            pairs.update(followed.findall(data, start, end))
        found.update((escape, escaper.decode(escape), after) for escape, after in pairs)
    return found


def _escaped_tokens(
    data: bytes, start: int, end: int, escaper: _Escaper, hints: Hints
) -> Iterator[Token]:
    """Runs of text (to the nearest delimiter, RUN_REACH at most) around each escape glued to
    key characters near "nxp" or "nexpay", decoded, where the run then holds something
    key-shaped. An escape with no key glued to it hides no key from a plain scan."""
    if data.find(escaper.trigger, start, end) < 0 or not hints.windows(start, end):
        return  # (no hint near any escape: nothing below would be decoded)
    # only near the hints: text dense with escapes costs no more than that
    floor = start  # where the next run may begin: past the last one
    for low, high in hints.windows(start, end):
        for hit in escaper.pattern.finditer(data, max(low, floor), high):
            at, past = hit.span()
            if at < floor or not _glued_to_key(data, at, past):
                continue
            left = _run_start(data, at, max(floor, at - RUN_REACH), escaper)
            right = _run_end(data, past, min(end, past + RUN_REACH), escaper)
            floor = right
            text = escaper.decode(data[left:right])
            if compiled(_KEY_SHAPED).search(text):
                yield Token(left, right, text, escaper.label)


def _glued_to_key(data: bytes, start: int, end: int) -> bool:
    key_run = compiled(_KEY_RUN)
    before = start >= _GLUED and key_run.fullmatch(data, start - _GLUED, start)
    return bool(before or key_run.match(data, end))


def _run_start(data: bytes, at: int, floor: int, escaper: _Escaper) -> int:
    starts = [i + 1 for i in (data.rfind(d, floor, at) for d in escaper.delimiters) if i >= 0]
    return max(starts, default=floor)


def _run_end(data: bytes, at: int, ceiling: int, escaper: _Escaper) -> int:
    ends = [i for i in (data.find(d, at, ceiling) for d in escaper.delimiters) if i >= 0]
    return min(ends, default=ceiling)
