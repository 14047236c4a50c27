"""Hexadecimal text: a key hex-encoded (`6e78705f736b5f...`, as `xxd -p`, `.hex()` or a
`hexdump` of a config write it, in either case of digits), decoded where what it decodes to
names the key's kind itself: UTF-8 text holding a hint as it is (the leading letters of a
keyword, `nxp`, `nexpay`: every prefixed key starts with one).

A hex run is decoded at the first depth only, in content and in what a whole decoder opens
(an archive member, a stream, UTF-16 text), never inside another token's decoding, and
what it decodes to is not decoded further. So the prefilter needs one more search, in the
base64 runs it already finds (a hex run is one): a hint's own hex digits, in any case
(`Prefilter.hex_words`). Runs shorter than HEX_LEAST digits (a 64-bit id, a colour) are
left as they are; hex of text that names no hint (a bare legacy value) is not decoded."""

from __future__ import annotations

from nexpay_scan.decoders.model import (
    MAX_VIEW_SPAN,
    PIECE_OVERLAP,
    Decoder,
    Hints,
    Token,
    byte_passes,
    is_text,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

# the fewest hex digits a token is: 32 bytes, what the shortest base64 token decodes to,
# and under every key's length (a client ID is 32 characters)
HEX_LEAST = 64
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_HEX_MARKS = bytes(65 if b in _HEX_DIGITS else 46 for b in range(256))
_RUN = b"A" * HEX_LEAST
# the most digits one token decodes (the rest of a longer run is another token)
_SPAN = MAX_VIEW_SPAN - MAX_VIEW_SPAN % 2


def hex_tokens(data: bytes, start: int, end: int, hints: Hints) -> Iterator[Token]:
    """The hex tokens in data[start:end]: each run of HEX_LEAST digits or more (a piece of
    MAX_VIEW_SPAN at most) that decodes, from its first digit or its second, to text
    holding one of the hints as it is."""
    words = hints.words
    if not words:
        return
    piece = data[start:end]
    passes = byte_passes()
    marks = piece.translate(_HEX_MARKS) if passes is None else passes.translated(piece, _HEX_MARKS)
    found = marks.find(_RUN)
    while found >= 0:
        stop = marks.find(b".", found + HEX_LEAST)
        whole_end = len(marks) if stop < 0 else stop
        run_end = min(whole_end, found + _SPAN)
        token = _hex_token(piece, found, run_end, words)
        if token is not None:
            first, last, text = token
            yield Token(start + first, start + last, text, "hex")
        # a piece cut short: the next repeats PIECE_OVERLAP digits of it (a key across
        # the cut is whole there)
        found = marks.find(_RUN, run_end - PIECE_OVERLAP if run_end < whole_end else run_end)


def _hex_token(
    piece: bytes, at: int, end: int, words: tuple[bytes, ...]
) -> tuple[int, int, bytes] | None:
    """(start, end, decoded) of the run piece[at:end] read from `at` or from `at + 1` (a
    letter a-f glued before it, as in `x_f6e78...`), whole bytes only; None when neither
    reading is text holding a word."""
    import binascii  # (not on the hook's path unless a run is met)

    for first in (at, at + 1):
        last = end - (end - first) % 2
        if last - first < HEX_LEAST:
            continue
        text = binascii.unhexlify(piece[first:last])
        if any(word in text for word in words) and is_text(text):
            return first, last, text
    return None


HEX = Decoder("hex", tokens=hex_tokens)
