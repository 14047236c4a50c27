"""Decoded tokens spliced into their context: a view of an encoded token is the token
decoded in place inside a few lines around it, so that the rules that need "nexpay"
nearby still see the name a value is assigned to (`NEXPAY_SECRET: <base64>`)."""

from __future__ import annotations

from nexpay_scan.decoders.model import (
    CONTEXT_BYTES,
    MAX_VIEW_SPAN,
    DecodedView,
    Span,
    Token,
    child,
)

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

# Enough for every rule's context (3 lines before, 1 after) with room to spare.
CONTEXT_LINES_BEFORE = 4
CONTEXT_LINES_AFTER = 2


def windows(data: bytes, tokens: list[Token]) -> Iterator[list[Token]]:
    """Tokens of one label grouped so that each group's contexts overlap or touch, and no
    group covers more than MAX_VIEW_SPAN of `data`."""
    by_label: dict[str, list[Token]] = {}
    for token in tokens:
        by_label.setdefault(token.label, []).append(token)
    for group in by_label.values():
        current = [group[0]]
        for token in group[1:]:
            near = _context_start(data, token.start) <= _context_end(data, current[-1].end)
            if near and token.end - current[0].start <= MAX_VIEW_SPAN:
                current.append(token)
            else:
                yield current
                current = [token]
        yield current


def spliced(data: bytes, tokens: Sequence[Token], parent: DecodedView | None) -> DecodedView:
    """The context of `tokens` in `data`, with each token replaced by its decoded text."""
    parts: list[bytes] = []
    spans: list[Span] = []
    at = _context_start(data, tokens[0].start)
    size = 0
    for token in tokens:
        if token.start > at:
            parts.append(data[at : token.start])
            spans.append(Span(size, at, "copy"))
        if token.text:
            parts.append(token.text)
            spans.extend(_token_spans(data, token, size + token.start - at))
        size += token.start - at + len(token.text)
        at = token.end
    tail = data[at : _context_end(data, tokens[-1].end)]
    if tail:
        parts.append(tail)
        spans.append(Span(size, at, "copy"))
    return child(parent, b"".join(parts), tokens[0].label, tuple(spans))


def _token_spans(data: bytes, token: Token, start: int) -> list[Span]:
    """The spans of a token decoded to `start` on: base64 wrapped over lines gets one per
    line, so that a key decoded from the fifth line of a wrapped `.env` is placed on that
    line (the line a commit adds it on); any other token, one span at its start."""
    if token.label != "base64":
        return [Span(start, token.start, "token")]
    spans: list[Span] = []
    chars, line_start = 0, token.start
    for line in data[token.start : token.end].split(b"\n"):
        spans.append(Span(start + chars * 3 // 4, line_start, "token"))
        chars += len(line.strip())
        line_start += len(line) + 1
    return spans


def _context_start(data: bytes, offset: int) -> int:
    """Where the line CONTEXT_LINES_BEFORE lines above the one holding `offset` starts."""
    floor = max(0, offset - CONTEXT_BYTES)
    for _ in range(CONTEXT_LINES_BEFORE + 1):
        newline = data.rfind(b"\n", floor, offset)
        if newline < 0:
            return floor
        offset = newline
    return offset + 1


def _context_end(data: bytes, offset: int) -> int:
    """Where the line CONTEXT_LINES_AFTER lines below the one holding `offset` ends."""
    ceiling = min(len(data), offset + CONTEXT_BYTES)
    for _ in range(CONTEXT_LINES_AFTER + 1):
        newline = data.find(b"\n", offset, ceiling)
        if newline < 0:
            return ceiling
        offset = newline + 1
    return offset
