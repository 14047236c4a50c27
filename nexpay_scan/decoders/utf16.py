"""UTF-16 text (by its byte-order mark, or by NULs in every other byte), transcoded to
UTF-8 so that the rules, written for UTF-8, see it."""

from __future__ import annotations

from nexpay_scan.decoders.model import BUDGET_SPENT, Budget, Decoder, Span, Unwrapped, is_text

UTF16_SNIFF = 4096


def sniff(data: bytes) -> bool:
    """True when `data` is UTF-16 text."""
    return utf16_codec(data) is not None


def unwrap(data: bytes, budget: Budget, where: str) -> list[Unwrapped]:
    """`data` transcoded, as much of it as `budget` allows (charged to it)."""
    text = utf16_text(data, budget.remaining)
    if text is None:
        return []
    if len(data) - text.span.origin > budget.remaining:  # read up to the budget only
        budget.skip("", BUDGET_SPENT)
    budget.spend(len(text.content))
    return [text]


UTF16 = Decoder("utf16", sniff=sniff, unwrap=unwrap)


_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SAMPLE = UTF16_SNIFF - UTF16_SNIFF % 2  # whole code units


def utf16_text(data: bytes, limit: int) -> Unwrapped | None:
    """`data` as UTF-8, when it is UTF-16 text (a BOM, or NULs in every other byte)."""
    sniffed = utf16_codec(data)
    if sniffed is None:
        return None
    codec, bom = sniffed
    text = _transcoded(data[bom : bom + limit], codec)[:limit]
    return Unwrapped(codec, text, Span(0, bom, "utf16")) if is_text(text) else None


def may_be_utf16(data: bytes) -> bool:
    """False when `utf16_codec` surely says None: no byte-order mark, and no NUL in the
    bytes it samples (a quick test for the many decoded blobs that are neither)."""
    return data.startswith(_BOMS) or data.find(b"\0", 0, _SAMPLE) >= 0


def utf16_codec(data: bytes) -> tuple[str, int] | None:
    """The UTF-16 codec of `data` and its BOM's length, or None when it is not UTF-16."""
    if data.startswith(b"\xff\xfe") and not data.startswith(b"\xff\xfe\x00\x00"):
        return "utf-16-le", 2
    if data.startswith(b"\xfe\xff"):
        return "utf-16-be", 2
    sample = data[:_SAMPLE]
    pairs = len(sample) // 2
    if pairs < 4 or b"\0" not in sample:
        return None
    high = sample[1 : pairs * 2 : 2].count(0)
    low = sample[0 : pairs * 2 : 2].count(0)
    if 4 * high >= 3 * pairs and 16 * low <= pairs:
        return "utf-16-le", 0
    if 4 * low >= 3 * pairs and 16 * high <= pairs:
        return "utf-16-be", 0
    return None


def _transcoded(data: bytes, codec: str) -> bytes:
    # "replace" turns each bad 2-byte unit into one U+FFFD, also 2 bytes in UTF-16, so
    # offsets map back exactly (see model.utf16_size)
    return data[: len(data) - len(data) % 2].decode(codec, "replace").encode()
