"""Decoded views: the text a key hides behind base64, percent-encoding, string escapes,
UTF-16 or an archive, each mapped back to where its encoded form sits in the scanned bytes.

`DECODERS` lists every decoder, one module each, in the order they are tried;
`decoded_views` walks it. The detector runs on each view's `data`. A view of an encoded
token is the token decoded in place inside a few lines of its original context, so the
rules that need "nexpay" nearby still see the name a value is assigned to
(`NEXPAY_SECRET: <base64>`). What could not be decoded whole (an archive member past a
bound, a compression method not read, the budget spent) is noted in a list the caller
passes, to be named in the report.
"""

from __future__ import annotations

from itertools import chain, islice

from nexpay_scan.decoders import archives, base64, escapes, hexadecimal, utf16
from nexpay_scan.decoders.archives import MAX_MEMBER_SIZE, MAX_MEMBERS, MAX_TAR_STREAM
from nexpay_scan.decoders.model import (
    BINARY_SNIFF,
    BUDGET_SPENT,
    MAX_TOKENS,
    MAX_TOTAL,
    MAX_VIEW_SPAN,
    MIB,
    TOKENS_SPENT,
    Budget,
    DecodedView,
    Decoder,
    Hints,
    Span,
    Token,
    chained,
    child,
    compiled,
    decoded_regions,
)
from nexpay_scan.decoders.splice import spliced, windows

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from nexpay_scan.decoders.model import Worth

__all__ = [
    "DECODERS",
    "MAX_MEMBERS",
    "MAX_MEMBER_SIZE",
    "MAX_TAR_STREAM",
    "MAX_TOKENS",
    "MAX_TOTAL",
    "MAX_VIEW_SPAN",
    "MIB",
    "DecodedView",
    "Decoder",
    "Span",
    "decoded_views",
    "encoded_at",
    "escaped_views",
    "hints_for",
    "starts_encoded",
]

# Every decoder, in order. Content read as a whole (an archive, a compressed stream, UTF-16
# text) goes to the first whole decoder whose `sniff` claims it; then every token decoder
# looks for its tokens in the text, in this order. A new decoder is one module and a line.
DECODERS: dict[str, Decoder] = {
    "zip": archives.ZIP,
    "gzip": archives.GZIP,
    "bzip2": archives.BZIP2,
    "xz": archives.XZ,
    "zstd": archives.ZSTD,
    "lz4": archives.LZ4,
    "lzma": archives.LZMA_ALONE,
    "7z": archives.SEVENZIP,
    "unread": archives.UNREAD,  # (RAR: named, not opened)
    "tar": archives.TAR,
    "utf16": utf16.UTF16,
    "zip-behind": archives.ZIP_BEHIND,  # (last: see archives.ends_as_zip)
    "base64": base64.BASE64,
    "hex": hexadecimal.HEX,
    "percent": escapes.PERCENT,
    "escape": escapes.STRING_ESCAPES,
}
_WHOLE = tuple(d for d in DECODERS.values() if d.unwrap is not None)
_TOKENS = tuple(d for d in DECODERS.values() if d.tokens is not None)
# the token decoders that decode only near a hint (all but base64 and hex)
_ESCAPES = tuple(d for d in _TOKENS if d not in (base64.BASE64, hexadecimal.HEX))

# When a content's tokens are more than MAX_TOKENS or decode to more than the budget, those
# whose own view the `worth` test keeps (a key, a keyword or a hint in it or near it, as
# it is or decoded) are decoded first, then the others in order: a decoy of harmless base64
# before a key spent both, and the key went unread. So many tokens are looked at, and so
# many of their decoded bytes, at most; their views are judged so many at a time.
EXAMINED_TOKENS = 64 * MAX_TOKENS
EXAMINED_BYTES = 2 * MAX_TOTAL
_JUDGED_AT_ONCE = 256

# What content that hides keys without showing a keyword starts with: an archive, UTF-16
# text with its byte-order mark, or base64 from its first byte (a committed `base64 .env`).
_ENCODED_HEAD = rb"PK\x03\x04|\x1f\x8b|\xff\xfe|\xfe\xff|[A-Za-z0-9+/_-]{64}"


def starts_encoded(data: bytes) -> bool:
    """True when `data` starts as encoded content does: both history engines decode such
    content even where no keyword shows."""
    return bool(encoded_at(data, (0,)))


def encoded_at(block: bytes, starts: Sequence[int]) -> list[int]:
    """The indexes of the `starts` in `block` (the contents of many blobs, one after the
    other) at which content starts encoded; tar is told at byte 257."""
    head = compiled(_ENCODED_HEAD).match
    return [
        number
        for number, at in enumerate(starts)
        if head(block, at) or block[at + 257 : at + 262] == b"ustar"
    ]


# Escapes are decoded only near hint words (in any case), made from the rules' keywords by
# `hints_for`: nothing about any vendor is known here.
_HINT_CHARACTERS = b"abcdefghijklmnopqrstuvwxyz0123456789"


def hints_for(keywords: Iterable[bytes]) -> tuple[bytes, ...]:
    """Where escapes may hide a key of a rule with these keywords: the leading letters and
    digits of each keyword (what percent- and string-escaping leave as they are), three at
    least. The built-in rules' keywords give `nxp` and `nexpay`; a custom rule's its own."""
    hints = set()
    for keyword in keywords:
        lowered = keyword.lower()
        lead = lowered[: len(lowered) - len(lowered.lstrip(_HINT_CHARACTERS))]
        if len(lead) >= 3:
            hints.add(lead)
    return tuple(sorted(hints, reverse=True))


def decoded_views(
    data: bytes,
    *,
    max_depth: int = 2,
    max_total: int = MAX_TOTAL,
    hints: Sequence[bytes],
    skipped: list[tuple[str, str]] | None = None,
    worth: Worth | None = None,
    keyed: Worth | None = None,
) -> Iterator[DecodedView]:
    """Every view of `data` decoded where a key could hide, then views decoded from those,
    down to `max_depth` decodings; never more than `max_total` bytes of views in all, and
    never an exception, whatever the bytes. Plain text with nothing encoded yields nothing
    at the cost of a few passes over it at memory speed.

    Decoded, by the decoders of `DECODERS`: base64 runs of at least 43 characters (standard
    or URL-safe, wrapped lines joined) that decode to text, UTF-16 text or an archive;
    percent-escapes and string escapes (JSON, JavaScript, Python) glued to key characters
    near one of `hints` (in any case), in a run of text that then holds something
    key-shaped; UTF-16 text (by its BOM, or by NULs in every other byte); zip, tar, gzip
    and tar.gz by their magic numbers, members read through capped streams (stored and
    deflated zip members only). At most MAX_TOKENS encoded tokens are decoded, MAX_MEMBERS
    members opened per archive, each read in pieces of which MAX_MEMBER_SIZE bytes that
    could hold a key are held.

    `skipped`, when given, receives (where, reason) for each thing not decoded whole, once:
    `where` is the chain of decodings that leads to it ("zip:app.zip>zip:big.bin"), or ""
    for the content as a whole (the budget spent, the token cap reached).

    `worth`, when given, says which of the contents a whole decoder read (an archive's
    members, a decompressed stream, UTF-16 text) could hold a key, as they are or decoded
    (the scanner's prefilter, in one pass over them all): the others give no view, and are
    not decoded further. A wheel's 500 members each took the rules and the token decoders
    (80 ms for pip's); nearly none is worth it.

    `keyed`, when given, says which of some decoded texts hold a key that proves itself
    (its checksum matches): past the token cap, their tokens are decoded first.
    """
    budget = Budget(max_depth, max_total, tuple(hints), skipped, worth, keyed)
    yield from _views_of(data, None, 1, budget)


def escaped_views(data: bytes, hints: Sequence[bytes]) -> Iterator[DecodedView]:
    """The views `decoded_views` makes of the escapes in `data` (percent-escapes, string
    escapes: those decoded only near `hints`), at its first depth, with no budget: what the
    history engines' prefilter asks of content in which a hint shows but no keyword does.
    Nothing for binary content, as there."""
    if b"\0" in data[:BINARY_SNIFF]:
        return
    hinted = Hints(data, tuple(hints))
    for decoder in _ESCAPES:
        if decoder.tokens is not None:
            tokens = list(decoder.tokens(data, 0, len(data), hinted))
            for group in windows(data, tokens):
                yield spliced(data, group, None)


def _views_of(
    data: bytes, parent: DecodedView | None, depth: int, budget: Budget
) -> Iterator[DecodedView]:
    if parent is None or parent.whole:
        yield from _whole_views(data, parent, depth, budget)
    # binary content (a NUL early on, as git decides) holds symbols and tables, not encoded
    # text: its tokens are not worth their cost (its UTF-16 text and archives are decoded)
    if b"\0" not in data[:BINARY_SNIFF]:
        yield from _token_views(data, parent, depth, budget)


def _whole_views(
    data: bytes, parent: DecodedView | None, depth: int, budget: Budget
) -> Iterator[DecodedView]:
    """Views of `data` read as a whole by the first decoder that claims it: archive
    members, a decompressed stream, UTF-16 text (charged to `budget` as they were read)."""
    if budget.remaining <= 0:
        return
    decoder = next((d for d in _WHOLE if d.sniff is not None and d.sniff(data)), None)
    if decoder is None or decoder.unwrap is None:
        return
    if depth > budget.max_depth:
        reason = f"{decoder.name} nested more than {budget.max_depth} decodings deep: not decoded"
        budget.skip(chained(parent, decoder.name), reason)
        return
    prefix = f"{parent.encoding}>" if parent is not None else ""
    contents = decoder.unwrap(data, budget, prefix)
    if budget.worth is not None and contents:
        worth = budget.worth([found.content for found in contents])
        contents = [found for number, found in enumerate(contents) if number in worth]
    for found in contents:
        view = child(parent, found.content, found.label, (found.span,), found.member)
        yield view
        yield from _views_of(view.data, view, depth + 1, budget)


def _token_views(
    data: bytes, parent: DecodedView | None, depth: int, budget: Budget
) -> Iterator[DecodedView]:
    """Views of the encoded tokens in the decoded parts of `data`, each within its context."""
    if depth > budget.max_depth or budget.remaining <= 0 or budget.tokens <= 0:
        return
    # hex only in content and in what a whole decoder opened (see `decoders.hexadecimal`)
    top = parent is None or parent.whole
    found = _tokens(data, _regions(data, parent), budget.hints, top=top)
    if budget.worth is not None:
        tokens = _chosen(data, found, budget, budget.worth)
    else:
        tokens = _held(islice(found, budget.tokens + 1), budget.remaining)
    if len(tokens) > budget.tokens:  # one more than may be decoded: some are left
        tokens.pop()
        budget.skip("", TOKENS_SPENT)
    budget.tokens -= len(tokens)
    for token in (t for t in tokens if t.blob):
        hidden = child(parent, token.text, token.label, (Span(0, token.start, "token"),))
        yield from _whole_views(token.text, hidden, depth + 1, budget)
    for group in windows(data, [t for t in tokens if not t.blob]):
        view = spliced(data, group, parent)
        if not budget.afford(len(view.data)):
            return
        yield view
        if group[0].label != "hex":  # (what hex decodes to is not decoded further)
            yield from _views_of(view.data, view, depth + 1, budget)


def _chosen(data: bytes, found: Iterable[Token], budget: Budget, worth: Worth) -> list[Token]:
    """The tokens to decode, in order: all of them when they fit the token cap and the
    budget (as a rule: then as `_held` takes them); else first those whose decoded text
    holds a key that proves itself (`Budget.keyed`: a checksum that matches), then those
    whose own view `worth` keeps (every archive among them), then the others in order, as
    many as fit; what is left is named as not decoded. At most EXAMINED_TOKENS tokens and
    EXAMINED_BYTES of their decoded text are looked at. (A thousand tokens that decode to
    text naming Nexpay, each kept by `worth`, spent the cap before a key encoded after
    them; as many decoys that each hold a valid key are each a finding.)"""
    examined: list[Token] = []
    size = 0
    for token in found:
        if len(examined) == EXAMINED_TOKENS or size + len(token.text) > EXAMINED_BYTES:
            budget.skip("", TOKENS_SPENT if len(examined) == EXAMINED_TOKENS else BUDGET_SPENT)
            break
        examined.append(token)
        size += len(token.text)
    if len(examined) <= budget.tokens and size <= budget.remaining:
        return examined
    hot = _hot(data, examined, worth)
    keyed = _keyed(examined, budget.keyed)
    ordered = sorted(range(len(examined)), key=lambda n: (n not in keyed, n not in hot, n))
    taken = [examined[number] for number in ordered[: budget.tokens]]
    held = _held(taken, budget.remaining)
    if len(held) < len(examined):
        budget.skip("", TOKENS_SPENT if len(held) == budget.tokens else BUDGET_SPENT)
    kept = {id(token) for token in held}
    return [token for token in examined if id(token) in kept]


def _keyed(tokens: list[Token], keyed: Worth | None) -> set[int]:
    """The indexes of the (text) tokens whose decoded text `keyed` says holds a key that
    proves itself; none without `keyed`."""
    if keyed is None:
        return set()
    texts = [number for number, token in enumerate(tokens) if not token.blob]
    return {texts[index] for index in keyed([tokens[number].text for number in texts])}


def _hot(data: bytes, tokens: list[Token], worth: Worth) -> set[int]:
    """The indexes of the tokens that are archives, or whose view alone (the token decoded
    in its context, `spliced`) `worth` keeps; judged _JUDGED_AT_ONCE at a time."""
    hot = {number for number, token in enumerate(tokens) if token.blob}
    spliceable = [number for number, token in enumerate(tokens) if not token.blob]
    for at in range(0, len(spliceable), _JUDGED_AT_ONCE):
        numbers = spliceable[at : at + _JUDGED_AT_ONCE]
        views = [spliced(data, [tokens[number]], None).data for number in numbers]
        hot.update(numbers[index] for index in worth(views))
    return hot


def _tokens(
    data: bytes, regions: Sequence[tuple[int, int]], words: tuple[bytes, ...], *, top: bool
) -> Iterator[Token]:
    """The encoded tokens in `regions` of `data`, decoder by decoder, lazily: the caller
    takes as many as it may. Hex tokens only at the `top` (see `_token_views`)."""
    hints = Hints(data, words)
    return chain.from_iterable(
        decoder.tokens(data, start, end, hints)
        for decoder in _TOKENS
        if decoder.tokens is not None and (top or decoder is not hexadecimal.HEX)
        for start, end in regions
    )


def _held(tokens: Iterable[Token], room: int) -> list[Token]:
    """The tokens, taken until their decoded text passes `room` (what views may still
    hold): a big file of base64 is not decoded whole for views that could never fit."""
    held: list[Token] = []
    size = 0
    for token in tokens:
        held.append(token)
        size += len(token.text)
        if size > room:
            break
    return held


def _regions(data: bytes, parent: DecodedView | None) -> list[tuple[int, int]]:
    """Where in `data` to look for tokens: only in what `parent` decoded, never its context
    (a token there was in the parent's own data, and is decoded from there)."""
    return [(0, len(data))] if parent is None else decoded_regions(parent)
