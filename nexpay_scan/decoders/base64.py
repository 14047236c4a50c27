"""Base64 runs (standard or URL-safe, wrapped lines joined) that decode to text, to UTF-16
text or to an archive."""

from __future__ import annotations

from nexpay_scan.decoders.archives import is_archive
from nexpay_scan.decoders.model import (
    MAX_VIEW_SPAN,
    PIECE_OVERLAP,
    Decoder,
    Hints,
    Token,
    byte_passes,
    compiled,
    is_text,
)
from nexpay_scan.decoders.utf16 import may_be_utf16, utf16_text

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

# The shortest credential, a 32-character client ID, is 43 characters of base64.
MIN_BASE64 = 43
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"
# base64 characters to "A", all else to ".": runs then are found by bytes.find at memory
# speed, where a regex character-class run costs ~30 ms per MB
_B64_MARKS = bytes(65 if b in _B64_ALPHABET else 46 for b in range(256))
_B64_RUN = b"A" * MIN_BASE64
_URLSAFE = bytes.maketrans(b"-_", b"+/")
# a further whole line of a wrapped blob (`base64` wraps at 76, PEM at 64); padding after
# a line ends the blob (lines of separate values are not one blob)
_B64_LINE = rb"[ \t]*\r?\n[ \t]*[A-Za-z0-9+/_-]{4,}(?=={0,2}[ \t]*(?:\r?\n|\Z))"
# `regex` keeps a record for each repeat of a group until its match ends (20 MB of
# "\nAAAA" lines took 580 MB as one match): one match takes at most _B64_LINES_MOST lines
_B64_LINES_MOST = 4096
_B64_LINE_LEAST = len(b"\nAAAA")
_B64_LINES = rb"(?:%s){1,%d}" % (_B64_LINE, _B64_LINES_MOST)
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_NOTHING_MOST = 4096  # one-line runs remembered as decoding to nothing, per content
_SHORT_RUN_MOST = 256
_WHITESPACE = b" \t\n\r\x0b\x0c"  # what bytes.split() splits on
# a ruler (`# ------`) is base64 to a marks table: glued to base64 it hides it (see
# `base64_tokens`). Eight dashes are no text's base64 (four decode to 0xFB 0xEF 0xBE) and
# turn up in random base64 once in 64^7 places: a big blob is not cut up by chance
_RULER = b"-" * 8


def base64_tokens(data: bytes, start: int, end: int, hints: Hints) -> Iterator[Token]:
    """The base64 tokens in data[start:end] that decode to something worth scanning,
    lazily; base64 needs no hint nearby (a committed `base64 .env` names nothing)."""
    passes = byte_passes()
    piece = data[start:end]
    marks = piece.translate(_B64_MARKS) if passes is None else passes.translated(piece, _B64_MARKS)
    find, lines = marks.find, compiled(_B64_LINES).match  # (once: a notebook has thousands)
    # one-line runs already found to decode to nothing: a file of separator lines
    # (`# ------...`) or of one run over and over decodes each once
    nothing: set[bytes] = set()
    retried_until = -1  # the end of the wrapped blob whose other lines are being tried
    found = find(_B64_RUN)
    while found >= 0:
        stop = find(b".", found + MIN_BASE64)
        run_end = start + (len(marks) if stop < 0 else stop)
        wrapped_end = _wrapped_end(data, run_end, end, lines)
        run = _short_run(data, start + found, run_end, wrapped_end)
        token = None if run in nothing else _base64_token(data, start + found, wrapped_end, run_end)
        if token is None and run is not None and len(nothing) < _NOTHING_MOST:
            nothing.add(run)
        if token is None:
            token = _within_rulers(data, start + found, run_end, wrapped_end)
        if token is not None:
            yield token
            resume = _after(data, token, wrapped_end)
        elif wrapped_end - run_end >= _B64_LINE_LEAST and start + found >= retried_until:
            # a blob's first line may be none of it (a ruler, a long name above a value):
            # the run the other lines start gets one try of its own
            resume, retried_until = run_end, wrapped_end
        else:
            # past the whole wrapped blob: its lines are no use one by one (and each line
            # tried with all the lines after it would cost the square of its length)
            resume = wrapped_end
        found = find(_B64_RUN, resume - start)


BASE64 = Decoder("base64", tokens=base64_tokens)


def _after(data: bytes, token: Token, wrapped_end: int) -> int:
    """Where to look on past `token`: its end, or for a piece that MAX_VIEW_SPAN cut
    short of its blob's end, PIECE_OVERLAP characters before that (a key across the cut
    is whole in the next piece), at a line's start in a wrapped blob (its lines are whole
    groups of four), else at a group's."""
    if token.end >= wrapped_end or token.end - token.start < MAX_VIEW_SPAN:
        return token.end
    back = token.end - PIECE_OVERLAP
    line = data.rfind(b"\n", token.start, back)
    return line + 1 if line >= 0 else back


def _wrapped_end(data: bytes, run_end: int, end: int, lines: Callable[..., Any]) -> int:
    """Where the wrapped blob whose first line ends at `run_end` ends (within `end`): past
    its further lines (`lines`: a bounded match of them), then its padding."""
    wrapped_end = run_end
    while (more := lines(data, wrapped_end, end)) is not None:
        wrapped_end = more.end()
        if wrapped_end - more.start() < _B64_LINE_LEAST * _B64_LINES_MOST:
            break  # (fewer lines than a match may take: no more follow)
    for padding in (b"==", b"="):
        if data.startswith(padding, wrapped_end, end):
            return wrapped_end + len(padding)
    return wrapped_end


def _short_run(data: bytes, start: int, run_end: int, wrapped_end: int) -> bytes | None:
    """The run at `start` with its padding when it is short and has no further line (its
    bytes alone then decide what it decodes to), else None."""
    if wrapped_end - run_end >= _B64_LINE_LEAST or run_end - start > _SHORT_RUN_MOST:
        return None
    return data[start:wrapped_end]


def _base64_token(data: bytes, start: int, wrapped_end: int, run_end: int) -> Token | None:
    """data[start:end] decoded, for the end of the wrapped blob, else of its first line, and
    no more than MAX_VIEW_SPAN of it (the rest is another token): None unless it decodes to
    text, to UTF-16 text or to an archive."""
    wrapped = min(wrapped_end, start + MAX_VIEW_SPAN)
    line = min(run_end, start + MAX_VIEW_SPAN)
    for stop in (wrapped,) if line == wrapped else (wrapped, line):
        blob = _unbase64(data[start:stop])
        if blob is None:
            continue
        if is_archive(blob):
            return Token(start, stop, blob, "base64", blob=True)
        if is_text(blob):
            return Token(start, stop, blob, "base64")
        text = utf16_text(blob, len(blob)) if may_be_utf16(blob) else None
        if text is not None:
            return Token(start, stop, text.content, f"base64>{text.label}")
    return None


def _within_rulers(data: bytes, start: int, run_end: int, wrapped_end: int) -> Token | None:
    """The token of a run (its first line ends at `run_end`) glued to a ruler of dashes
    at its start or its end ("# --------<base64>", "<base64>--------"): a ruler is
    base64url too, and with it the run never decodes to text (four dashes decode to 0xFB
    0xEF 0xBE). Decoded without them: a token a leading ruler hid goes on into the lines
    under it; one a trailing ruler ends, not. One decoding more at most, for such a run
    only; None when it has no such ruler or is no token without it."""
    lead = _past_dashes(data, start, run_end) if data.startswith(_RULER, start) else start
    end = run_end
    if data.endswith(_RULER, lead, run_end):
        end = lead + len(data[lead:run_end].rstrip(b"-"))
        wrapped_end = end
    if (lead, end) == (start, run_end) or end - lead < MIN_BASE64:
        return None
    return _base64_token(data, lead, wrapped_end, end)


def _past_dashes(data: bytes, at: int, end: int) -> int:
    """Where the dashes from `at` on end (within `end`)."""
    dashes = data[at:end]
    return end - len(dashes.lstrip(b"-"))


def _unbase64(encoded: bytes) -> bytes | None:
    import binascii

    body = encoded.translate(None, _WHITESPACE).rstrip(b"=")
    if not body.translate(None, _HEX_DIGITS):
        return None  # a hex digest: base64 of text is never all hex digits
    if b"-" in body or b"_" in body:
        if b"+" in body or b"/" in body:
            return None
        body = body.translate(_URLSAFE)
    body = body[: len(body) - (len(body) % 4 == 1)]
    try:
        return binascii.a2b_base64(body + b"=" * (-len(body) % 4))
    except binascii.Error:
        return None
