"""Decoded views: the text a key hides behind base64, percent-encoding, string escapes,
UTF-16 or an archive, each mapped back to where its encoded form sits in the scanned bytes.

The detector runs on each view's `data`. A view of an encoded token is the token decoded
in place inside a few lines of its original context, so the rules that need "nexpay"
nearby still see the name a value is assigned to (`NEXPAY_SECRET: <base64>`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache, partial
from itertools import chain, islice

from nexpay_scan.records import Record

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    import zipfile
    from typing import IO, Literal, TypeVar

    SpanKind = Literal["copy", "token", "utf16", "whole"]
    _T = TypeVar("_T")

MIB = 1024 * 1024
MAX_TOTAL = 8 * MIB  # decoded bytes handed out for one input, all views together
MAX_MEMBERS = 1000  # archive members looked at in one archive
MAX_MEMBER_SIZE = MIB  # bytes read from one archive member or one gzip stream
MAX_TAR_STREAM = 8 * MIB  # bytes of a gzip-compressed tar inflated to reach its members
MAX_TOKENS = 1000  # encoded tokens decoded (to text) for one input, all depths together
MAX_VIEW_SPAN = MIB  # encoded text one view covers: more tokens start another view
# The shortest credential, a 32-character client ID, is 43 characters of base64.
MIN_BASE64 = 43
# Enough for every rule's context (3 lines before, 1 after) with room to spare.
CONTEXT_LINES_BEFORE = 4
CONTEXT_LINES_AFTER = 2
CONTEXT_BYTES = 2048  # per side: minified one-line files must not copy a whole file per token
RUN_REACH = 512  # how far a percent or escape token extends either side of one escape
UTF16_SNIFF = 4096
BINARY_SNIFF = 8000  # as git does: a NUL in the first 8000 bytes means binary


class Span(Record):
    """From `start` in a view's data up to the next span: where that text came from.

    `origin` is an offset in the parent's data (the scanned bytes for a top-level view).
    copy: context copied byte for byte from `origin` on; token: decoded from the token at
    `origin`; utf16: transcoded from UTF-16 text at `origin` on; whole: an archive member
    or decompressed stream of the blob at `origin`.
    """

    start: int
    origin: int
    kind: SpanKind


class DecodedView(Record):
    """Bytes decoded from (part of) the scanned bytes: what the detector should also see.

    `encoding` names the decodings applied, outermost first ("base64", "zip:app/.env>base64");
    `member` is the archive member it came from, nested archives joined by "!"; `parent` is
    the view it was decoded from (None: from the scanned bytes); `spans` map `data` to it.
    A NamedTuple, not a dataclass: the hook imports this, and `dataclasses` is slow to import.
    """

    data: bytes
    encoding: str
    member: str | None = None
    parent: DecodedView | None = None
    spans: tuple[Span, ...] = ()

    def __repr__(self) -> str:
        # never the decoded bytes: they may be a key
        member = f", member={self.member!r}" if self.member else ""
        return f"DecodedView({self.encoding!r}{member}, {len(self.data)} bytes)"

    def origin(self, offset: int) -> int:
        """The offset in the scanned bytes of the text that `data[offset]` was decoded from:
        the first byte of its encoded token, 0 inside an archive or compressed stream, the
        exact byte for UTF-16 text and for context copied around a token."""
        local = self._local_origin(offset)
        return local if self.parent is None else self.parent.origin(local)

    def decoded(self, start: int, end: int) -> bool:
        """True when `data[start:end]` overlaps decoded text; False when it lies wholly in
        context copied from the scanned bytes (where a plain scan already looked)."""
        return any(s < end and start < e for s, e in _decoded_regions(self))

    def position(self, scanned: bytes, offset: int) -> tuple[int, int]:
        """Line and column (1-based; the column in characters) in `scanned`, the bytes given
        to `decoded_views`, of `origin(offset)`; a UTF-16 file counts in its characters."""
        at = self.origin(offset)
        top = self._top()
        if top.spans and top.spans[0].kind == "utf16":
            return _text_position(scanned[top.spans[0].origin : at].decode(top.encoding, "replace"))
        line_start = scanned.rfind(b"\n", 0, at) + 1
        column = len(scanned[line_start:at].decode("utf-8", "replace")) + 1
        return scanned.count(b"\n", 0, at) + 1, column

    @property
    def whole(self) -> bool:
        """True when every byte of `data` is decoded (no context copied around it)."""
        return all(s.kind != "copy" for s in self.spans)

    def _local_origin(self, offset: int) -> int:
        from bisect import bisect_right

        if not self.spans:
            return offset
        index = max(bisect_right(self.spans, offset, key=_span_start) - 1, 0)
        span = self.spans[index]
        if span.kind == "copy":
            return span.origin + offset - span.start
        if span.kind == "utf16":
            return span.origin + _utf16_size(self.data[span.start : offset])
        return span.origin

    def _top(self) -> DecodedView:
        view = self
        while view.parent is not None:
            view = view.parent
        return view


# What content that hides keys without showing a keyword starts with: an archive, UTF-16
# text with its byte-order mark, or base64 from its first byte (a committed `base64 .env`).
_ENCODED_HEAD = rb"PK\x03\x04|\x1f\x8b|\xff\xfe|\xfe\xff|[A-Za-z0-9+/_-]{64}"


def starts_encoded(data: bytes) -> bool:
    """True when `data` starts as encoded content does: both history routes decode such
    content even where no keyword shows."""
    return bool(encoded_at(data, (0,)))


def encoded_at(block: bytes, starts: Sequence[int]) -> list[int]:
    """The indexes of the `starts` in `block` (the contents of many blobs, one after the
    other) at which content starts encoded; tar is told at byte 257."""
    head = _regex(_ENCODED_HEAD).match
    return [
        number
        for number, at in enumerate(starts)
        if head(block, at) or block[at + 257 : at + 262] == b"ustar"
    ]


# Escapes are decoded only near these words (in any case): the start of Nexpay's keys and
# the vendor's name. A scanner passes `hints_for` its rules' keywords instead.
NEXPAY_HINTS = (b"nexpay", b"nxp")


def hints_for(keywords: Iterable[bytes]) -> tuple[bytes, ...]:
    """Where escapes may hide a key of a rule with these keywords: the leading letters and
    digits of each keyword (what percent- and string-escaping leave as they are), three at
    least. Nexpay's keywords give NEXPAY_HINTS; a custom rule's give its own."""
    hints = set()
    for keyword in keywords:
        lowered = keyword.lower()
        lead = lowered[: len(lowered) - len(lowered.lstrip(_HINT_CHARACTERS))]
        if len(lead) >= 3:
            hints.add(lead)
    return tuple(sorted(hints, reverse=True))


_HINT_CHARACTERS = b"abcdefghijklmnopqrstuvwxyz0123456789"


def decoded_views(
    data: bytes,
    *,
    max_depth: int = 2,
    max_total: int = MAX_TOTAL,
    hints: Sequence[bytes] = NEXPAY_HINTS,
) -> Iterator[DecodedView]:
    """Every view of `data` decoded where a key could hide, then views decoded from those,
    down to `max_depth` decodings; never more than `max_total` bytes of views in all, and
    never an exception, whatever the bytes. Plain text with nothing encoded yields nothing
    at the cost of a few passes over it at memory speed.

    Decoded: base64 runs of at least MIN_BASE64 characters (standard or URL-safe, wrapped
    lines joined) that decode to text, UTF-16 text or an archive; percent-escapes and string
    escapes (JSON, JavaScript, Python) glued to key characters near one of `hints` (in
    any case), in a run of text that then holds something key-shaped; UTF-16 text (by its
    BOM, or by NULs in every other byte); zip, tar, gzip and tar.gz by their magic numbers,
    members read through capped streams (stored and deflated zip members only: see
    `_readable`). At most MAX_TOKENS encoded tokens are decoded, MAX_MEMBERS members opened
    per archive.
    """
    budget = _Budget(max_depth, max_total, tuple(hints))
    yield from _views_of(data, None, 1, budget)


class _Budget:
    """How deep decoding may go, and how many bytes decoding may still produce: views, and
    what is inflated on the way to them (a tar stream inside gzip, a member that fails);
    and the words near which escapes are worth decoding."""

    __slots__ = ("hints", "max_depth", "remaining", "tokens")

    def __init__(self, max_depth: int, remaining: int, hints: tuple[bytes, ...]) -> None:
        self.max_depth = max_depth
        self.remaining = remaining
        self.tokens = MAX_TOKENS
        self.hints = hints

    def afford(self, size: int) -> bool:
        """Spends `size` bytes if they are left; once a view does not fit, nothing more does."""
        if size > self.remaining:
            self.remaining = 0
            return False
        self.remaining -= size
        return True

    def spend(self, size: int) -> None:
        """Charges `size` bytes of work already bounded by what was left."""
        self.remaining = max(0, self.remaining - size)


class _Token(Record):
    """Encoded text at data[start:end] and what it decodes to (`blob`: an archive)."""

    start: int
    end: int
    text: bytes
    label: str
    blob: bool = False


class _Unwrapped(Record):
    """One piece of content found inside a whole blob: an archive member, a stream, a text."""

    label: str
    content: bytes
    span: Span
    member: str | None = None


def _views_of(
    data: bytes, parent: DecodedView | None, depth: int, budget: _Budget
) -> Iterator[DecodedView]:
    if parent is None or parent.whole:
        yield from _whole_views(data, parent, depth, budget)
    # binary content (a NUL early on, as git decides) holds symbols and tables, not encoded
    # text: its tokens are not worth their cost (its UTF-16 text and archives are decoded)
    if b"\0" not in data[:BINARY_SNIFF]:
        yield from _token_views(data, parent, depth, budget)


def _whole_views(
    data: bytes, parent: DecodedView | None, depth: int, budget: _Budget
) -> Iterator[DecodedView]:
    """Views of `data` read as a whole: archive members, a decompressed stream, UTF-16 text
    (already charged to `budget` as they were read)."""
    if depth > budget.max_depth or budget.remaining <= 0:
        return
    for found in _unwrapped(data, budget):
        view = _child(parent, found.content, found.label, (found.span,), found.member)
        yield view
        yield from _views_of(view.data, view, depth + 1, budget)


def _token_views(
    data: bytes, parent: DecodedView | None, depth: int, budget: _Budget
) -> Iterator[DecodedView]:
    """Views of the encoded tokens in the decoded parts of `data`, each within its context."""
    if depth > budget.max_depth or budget.remaining <= 0 or budget.tokens <= 0:
        return
    found = islice(_tokens(data, _regions(data, parent), budget.hints), budget.tokens)
    tokens = _held(found, budget.remaining)
    budget.tokens -= len(tokens)
    for token in (t for t in tokens if t.blob):
        hidden = _child(parent, token.text, token.label, (Span(0, token.start, "token"),))
        yield from _whole_views(token.text, hidden, depth + 1, budget)
    for group in _windows(data, [t for t in tokens if not t.blob]):
        view = _spliced(data, group, parent)
        if not budget.afford(len(view.data)):
            return
        yield view
        yield from _views_of(view.data, view, depth + 1, budget)


def _held(tokens: Iterable[_Token], room: int) -> list[_Token]:
    """The tokens, taken until their decoded text passes `room` (what views may still
    hold): a big file of base64 is not decoded whole for views that could never fit."""
    held: list[_Token] = []
    size = 0
    for token in tokens:
        held.append(token)
        size += len(token.text)
        if size > room:
            break
    return held


def _child(
    parent: DecodedView | None,
    data: bytes,
    label: str,
    spans: tuple[Span, ...],
    member: str | None = None,
) -> DecodedView:
    if parent is not None:
        label = f"{parent.encoding}>{label}"
        if parent.member is not None:
            member = parent.member if member is None else f"{parent.member}!{member}"
    return DecodedView(data, label, member, parent, spans)


def _regions(data: bytes, parent: DecodedView | None) -> list[tuple[int, int]]:
    """Where in `data` to look for tokens: only in what `parent` decoded, never its context
    (a token there was in the parent's own data, and is decoded from there)."""
    return [(0, len(data))] if parent is None else _decoded_regions(parent)


def _decoded_regions(view: DecodedView) -> list[tuple[int, int]]:
    """The spans of `view.data` that were decoded, as (start, end) pairs."""
    stops = [s.start for s in view.spans[1:]] + [len(view.data)]
    regions: list[tuple[int, int]] = []
    for span, stop in zip(view.spans, stops, strict=True):
        if span.kind == "copy":
            continue
        if regions and regions[-1][1] == span.start:  # the lines of one wrapped token
            regions[-1] = (regions[-1][0], stop)
        else:
            regions.append((span.start, stop))
    return regions


def _span_start(span: Span) -> int:
    return span.start


# -- whole blobs: archives, compressed streams, UTF-16 text -------------------------------

_ZIP_MAGIC = b"PK\x03\x04"
_GZIP_MAGIC = b"\x1f\x8b"


def _unwrapped(data: bytes, budget: _Budget) -> list[_Unwrapped]:
    """What `data` holds when it is an archive, a gzip stream or UTF-16 text (else nothing),
    every byte inflated, read or transcoded charged to `budget` as it is produced."""
    if data.startswith(_ZIP_MAGIC):
        return _zip_members(data, budget)
    if data.startswith(_GZIP_MAGIC):
        return _gzip_contents(data, budget)
    if _is_tar(data):
        return _tar_members(data, budget, "tar")
    text = _utf16_text(data, budget.remaining)
    if text is None:
        return []
    budget.spend(len(text.content))
    return [text]


def _is_tar(data: bytes) -> bool:
    return data[257:262] == b"ustar"


def _is_archive(data: bytes) -> bool:
    return data.startswith((_ZIP_MAGIC, _GZIP_MAGIC)) or _is_tar(data)


def _zip_members(data: bytes, budget: _Budget) -> list[_Unwrapped]:
    import zipfile

    found: list[_Unwrapped] = []
    archive = _opened(partial(zipfile.ZipFile, io.BytesIO(data)))
    if archive is None:
        return found
    with archive:
        for info in archive.infolist()[:MAX_MEMBERS]:
            size = min(MAX_MEMBER_SIZE, budget.remaining)
            if size <= 0:
                break
            if not _readable(info):
                continue
            # charged before reading: a member that fails its CRC at the end cost as much
            budget.spend(min(info.file_size, size))
            content = _read(partial(archive.open, info), size)
            if content:
                found.append(_member(f"zip:{info.filename}", info.filename, content))
    return found


def _readable(info: zipfile.ZipInfo) -> bool:
    """False for folders, encrypted members, and methods that cannot be read in bounded
    steps: zipfile inflates a bzip2 or lzma chunk whole, and a small chunk can be a bomb."""
    import zipfile

    bounded = info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
    # a member with no name at all is no folder (`is_dir` fails on it: IndexError)
    folder = info.filename.endswith("/")
    return bounded and not folder and not info.flag_bits & 0x1


def _tar_members(data: bytes, budget: _Budget, label: str) -> list[_Unwrapped]:
    import tarfile

    found: list[_Unwrapped] = []
    archive = _opened(partial(tarfile.open, fileobj=io.BytesIO(data), mode="r:"))
    if archive is None:
        return found
    with archive:
        for _ in range(MAX_MEMBERS):
            size = min(MAX_MEMBER_SIZE, budget.remaining)
            info = _opened(archive.next)
            if info is None or size <= 0:
                break
            content = _read(partial(archive.extractfile, info), size) if info.isfile() else None
            if content:
                budget.spend(len(content))
                found.append(_member(f"{label}:{info.name}", info.name, content))
    return found


def _gzip_contents(data: bytes, budget: _Budget) -> list[_Unwrapped]:
    """A gzip stream's content, or the members of the tar inside it (the tar stream may take
    half of what is left: its members, read from it, are charged too)."""
    if _is_tar(_gunzip(data, 512)):
        stream = _gunzip(data, min(MAX_TAR_STREAM, budget.remaining // 2))
        budget.spend(len(stream))
        return _tar_members(stream, budget, "gzip>tar")
    content = _gunzip(data, min(MAX_MEMBER_SIZE, budget.remaining))
    budget.spend(len(content))
    return [_member("gzip", None, content)] if content else []


def _gunzip(data: bytes, size: int) -> bytes:
    """At most `size` bytes inflated from the gzip members at the start of `data`; from a
    truncated or corrupt stream, what could be inflated before the damage."""
    import zlib

    out: list[bytes] = []
    left = size
    while data.startswith(_GZIP_MAGIC) and left > 0:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = inflater.decompress(data, left)
        except zlib.error:
            break
        out.append(chunk)
        left -= len(chunk)
        if not inflater.eof:
            break
        data = inflater.unused_data
    return b"".join(out)


def _member(label: str, name: str | None, content: bytes) -> _Unwrapped:
    return _Unwrapped(label, content, Span(0, 0, "whole"), name)


def _opened(open_: Callable[[], _T]) -> _T | None:
    """What `open_` returns, or None when hostile bytes make it fail; archives fail in many
    ways (BadZipFile, ReadError, zlib.error, EOFError, struct.error, NotImplementedError,
    UnicodeDecodeError...) and none of them may stop a scan."""
    try:
        return open_()
    except Exception:
        return None


def _read(open_: Callable[[], IO[bytes] | None], size: int) -> bytes | None:
    """At most `size` bytes from the stream that `open_` opens; None when reading fails."""
    stream = _opened(open_)
    if stream is None:
        return None
    with stream:
        return _opened(partial(stream.read, size))


def _utf16_text(data: bytes, limit: int) -> _Unwrapped | None:
    """`data` as UTF-8, when it is UTF-16 text (a BOM, or NULs in every other byte)."""
    sniffed = _utf16_codec(data)
    if sniffed is None:
        return None
    codec, bom = sniffed
    text = _transcoded(data[bom : bom + limit], codec)[:limit]
    return _Unwrapped(codec, text, Span(0, bom, "utf16")) if _is_text(text) else None


def _utf16_codec(data: bytes) -> tuple[str, int] | None:
    """The UTF-16 codec of `data` and its BOM's length, or None when it is not UTF-16."""
    if data.startswith(b"\xff\xfe") and not data.startswith(b"\xff\xfe\x00\x00"):
        return "utf-16-le", 2
    if data.startswith(b"\xfe\xff"):
        return "utf-16-be", 2
    sample = data[: UTF16_SNIFF - UTF16_SNIFF % 2]
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
    # offsets map back exactly (see _utf16_size)
    return data[: len(data) - len(data) % 2].decode(codec, "replace").encode()


def _utf16_size(text: bytes) -> int:
    """How many bytes of UTF-16 the UTF-8 `text` was transcoded from."""
    return len(text.decode("utf-8", "replace").encode("utf-16-le"))


def _text_position(before: str) -> tuple[int, int]:
    return before.count("\n") + 1, len(before) - before.rfind("\n")


# -- tokens: base64, percent-escapes, string escapes --------------------------------------

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"
# base64 characters to "A", all else to ".": runs then are found by bytes.find at memory
# speed, where a regex character-class run costs ~30 ms per MB
_B64_MARKS = bytes(65 if b in _B64_ALPHABET else 46 for b in range(256))
_B64_RUN = b"A" * MIN_BASE64
_URLSAFE = bytes.maketrans(b"-_", b"+/")
# further whole lines of a wrapped blob (`base64` wraps at 76, PEM at 64), then padding:
# a padded line ends the blob (lines of separate values are not one blob)
_B64_TAIL = rb"(?:[ \t]*\r?\n[ \t]*[A-Za-z0-9+/_-]{4,}(?=={0,2}[ \t]*(?:\r?\n|\Z)))*={0,2}"
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_CONTROLS = bytes(b for b in range(32) if b not in b"\t\n\r") + b"\x7f"
_KEY_SHAPED = rb"[A-Za-z0-9_-]{32}"
# an escape with this many key characters on one side may be hiding a key's boundary
_GLUED = 20
_KEY_RUN = rb"[A-Za-z0-9_-]{%d}" % _GLUED


@cache
def _regex(source: bytes) -> re.Pattern[bytes]:
    """`source` compiled on first use: patterns that not every scan needs cost no import."""
    return re.compile(source)


def _tokens(
    data: bytes, regions: Sequence[tuple[int, int]], words: tuple[bytes, ...]
) -> Iterator[_Token]:
    """The encoded tokens in `regions` of `data`, lazily: the caller takes as many as it may."""
    hints = _Hints(data, words)
    return chain(
        (t for start, end in regions for t in _base64_tokens(data, start, end)),
        (
            t
            for escaper in _ESCAPERS
            for start, end in regions
            for t in _escaped_tokens(data, start, end, escaper, hints)
        ),
    )


def _base64_tokens(data: bytes, start: int, end: int) -> Iterator[_Token]:
    marks = data[start:end].translate(_B64_MARKS)
    found = marks.find(_B64_RUN)
    while found >= 0:
        stop = marks.find(b".", found + MIN_BASE64)
        run_end = start + (len(marks) if stop < 0 else stop)
        tail = _regex(_B64_TAIL).match(data, run_end, end)
        wrapped_end = tail.end() if tail else run_end
        token = _base64_token(data, start + found, (wrapped_end, run_end))
        if token is not None:
            yield token
        # past the whole wrapped blob when it is not text: its lines are no use one by one
        found = marks.find(_B64_RUN, (wrapped_end if token is None else token.end) - start)


def _base64_token(data: bytes, start: int, ends: tuple[int, int]) -> _Token | None:
    """data[start:end] decoded, for the end of the wrapped blob, else of its first line, and
    no more than MAX_VIEW_SPAN of it (the rest is another token): None unless it decodes to
    text, to UTF-16 text or to an archive."""
    for stop in dict.fromkeys(min(end, start + MAX_VIEW_SPAN) for end in ends):
        blob = _unbase64(data[start:stop])
        if blob is None:
            continue
        if _is_archive(blob):
            return _Token(start, stop, blob, "base64", blob=True)
        if _is_text(blob):
            return _Token(start, stop, blob, "base64")
        text = _utf16_text(blob, len(blob))
        if text is not None:
            return _Token(start, stop, text.content, f"base64>{text.label}")
    return None


def _unbase64(encoded: bytes) -> bytes | None:
    import binascii

    body = b"".join(encoded.split()).rstrip(b"=")
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


def _is_text(blob: bytes) -> bool:
    """UTF-8 with few control characters: what a decoded config, header or key looks like."""
    controls = len(blob) - len(blob.translate(None, _CONTROLS))
    # counted first: most random bytes fail here, before a costly decoding error
    if not blob or controls * 32 > len(blob):
        return False
    try:
        blob.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Escaper(Record):
    """One escaping scheme: where it occurs, what ends a run of text, how to undo it."""

    label: str
    trigger: bytes  # in every escape: where it is absent, so is the scheme (a fast test)
    pattern: re.Pattern[bytes]
    delimiters: tuple[bytes, ...]
    decode: Callable[[bytes], bytes]


_PERCENT = re.compile(rb"%[0-9A-Fa-f]{2}")
_STRING_ESCAPE = re.compile(rb"\\(?:u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|[\"'/bfnrt])")
_UNESCAPE = (
    rb"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|\\(.)"
)
_SIMPLE_ESCAPES = {b"n": b"\n", b"t": b"\t", b"r": b"\r", b"b": b"\b", b"f": b"\f"}
_WHITESPACE = (b" ", b"\t", b"\n", b"\r")


def _unpercent(raw: bytes) -> bytes:
    return _PERCENT.sub(lambda m: bytes([int(m[0][1:], 16)]), raw)


def _unescape(raw: bytes) -> bytes:
    return _regex(_UNESCAPE).sub(_unescaped, raw)


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


_URL_DELIMITERS = (*_WHITESPACE, b'"', b"'", b"<", b">", b"`")
_ESCAPERS = (
    _Escaper("percent", b"%", _PERCENT, _URL_DELIMITERS, _unpercent),
    _Escaper("escape", b"\\", _STRING_ESCAPE, _WHITESPACE, _unescape),
)


def _escaped_tokens(
    data: bytes, start: int, end: int, escaper: _Escaper, hints: _Hints
) -> Iterator[_Token]:
    """Runs of text (to the nearest delimiter, RUN_REACH at most) around each escape glued to
    key characters near "nxp" or "nexpay", decoded, where the run then holds something
    key-shaped. An escape with no key glued to it hides no key from a plain scan."""
    if data.find(escaper.trigger, start, end) < 0:
        return
    hits = escaper.pattern.finditer(data, start, end)
    first = next((h for h in hits if _glued_to_key(data, *h.span())), None)
    if first is None:
        return
    # from here on, only near the hints: text dense with escapes costs no more than that
    floor = start  # where the next run may begin: past the last one
    for low, high in hints.windows(first.start(), end):
        for hit in escaper.pattern.finditer(data, max(low, floor), high):
            at, past = hit.span()
            if at < floor or not _glued_to_key(data, at, past):
                continue
            left = _run_start(data, at, max(floor, at - RUN_REACH), escaper)
            right = _run_end(data, past, min(end, past + RUN_REACH), escaper)
            floor = right
            text = escaper.decode(data[left:right])
            if _regex(_KEY_SHAPED).search(text):
                yield _Token(left, right, text, escaper.label)


def _glued_to_key(data: bytes, start: int, end: int) -> bool:
    key_run = _regex(_KEY_RUN)
    before = start >= _GLUED and key_run.fullmatch(data, start - _GLUED, start)
    return bool(before or key_run.match(data, end))


def _run_start(data: bytes, at: int, floor: int, escaper: _Escaper) -> int:
    starts = [i + 1 for i in (data.rfind(d, floor, at) for d in escaper.delimiters) if i >= 0]
    return max(starts, default=floor)


def _run_end(data: bytes, at: int, ceiling: int, escaper: _Escaper) -> int:
    ends = [i for i in (data.find(d, at, ceiling) for d in escaper.delimiters) if i >= 0]
    return min(ends, default=ceiling)


class _Hints:
    """Where the hint words occur in some data, in any case: found once, on the first
    question."""

    __slots__ = ("_data", "_windows", "_words")

    def __init__(self, data: bytes, words: tuple[bytes, ...]) -> None:
        self._data = data
        self._words = words
        self._windows: list[tuple[int, int]] | None = None

    def windows(self, start: int, end: int) -> list[tuple[int, int]]:
        """The stretches of data[start:end] within CONTEXT_BYTES of a hint, in order."""
        if self._windows is None:
            near = ((max(0, at - CONTEXT_BYTES), at + CONTEXT_BYTES) for at in self._offsets())
            self._windows = _merged(near)
        return [
            (max(lo, start), min(hi, end)) for lo, hi in self._windows if lo < end and start < hi
        ]

    def _offsets(self) -> list[int]:
        lowered = self._data.lower()
        return sorted(at for word in self._words for at in _offsets(lowered, word))


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans, those that overlap or touch joined."""
    joined: list[tuple[int, int]] = []
    for low, high in spans:
        if joined and low <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(high, joined[-1][1]))
        else:
            joined.append((low, high))
    return joined


def _offsets(data: bytes, needle: bytes) -> list[int]:
    found: list[int] = []
    at = data.find(needle)
    while at >= 0:
        found.append(at)
        at = data.find(needle, at + 1)
    return found


# -- splicing decoded tokens into their context --------------------------------------------


def _windows(data: bytes, tokens: list[_Token]) -> Iterator[list[_Token]]:
    """Tokens of one label grouped so that each group's contexts overlap or touch, and no
    group covers more than MAX_VIEW_SPAN of `data`."""
    by_label: dict[str, list[_Token]] = {}
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


def _spliced(data: bytes, tokens: Sequence[_Token], parent: DecodedView | None) -> DecodedView:
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
    return _child(parent, b"".join(parts), tokens[0].label, tuple(spans))


def _token_spans(data: bytes, token: _Token, start: int) -> list[Span]:
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
