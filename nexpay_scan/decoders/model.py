"""What every decoder shares: the view and span model that maps decoded text back to the
scanned bytes, the budget that bounds decoding, and the records decoders hand back."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from nexpay_scan.compiled import pattern
from nexpay_scan.records import Record

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator, Sequence
    from typing import Any, Literal

    SpanKind = Literal["copy", "stored", "token", "utf16", "whole"]
    # Which of some contents (an archive's members) could hold a key, as they are or
    # decoded: the indexes of those worth a view (see `decoded_views`).
    Worth = Callable[[Sequence[bytes]], Collection[int]]

MIB = 1024 * 1024
MAX_TOTAL = 8 * MIB  # decoded bytes handed out for one input, all views together
MAX_TOKENS = 1000  # encoded tokens decoded (to text) for one input, all depths together
# archive members read that could hold no key are given back to the budget (see
# `Budget.given_back`, `Budget.refund`), up to so many bytes for one input
GIVEN_BACK_MOST = 8 * MAX_TOTAL
MAX_VIEW_SPAN = MIB  # encoded text one view covers: more tokens start another view
# what the next piece of a token longer than MAX_VIEW_SPAN repeats of the one before (in
# encoded characters, a whole number of base64 groups and hex bytes): a key cut by a
# piece's end is whole in the next one, with the text before it that names it
PIECE_OVERLAP = 4096
CONTEXT_BYTES = 2048  # per side: minified one-line files must not copy a whole file per token
BINARY_SNIFF = 8000  # as git does: a NUL in the first 8000 bytes means binary
_CONTROLS = bytes(b for b in range(32) if b not in b"\t\n\r") + b"\x7f"


class Span(Record):
    """From `start` in a view's data up to the next span: where that text came from.

    `origin` is an offset in the parent's data (the scanned bytes for a top-level view).
    copy: context copied byte for byte from `origin` on; stored: an archive member (or a
    piece of one) kept as is in the parent's data from `origin` on (an uncompressed tar's,
    a zip's stored members: placed byte for byte, as copy, but decoded); token: decoded
    from the token at `origin`; utf16: transcoded from UTF-16 text at `origin` on; whole:
    an archive member or decompressed stream of the blob at `origin`.
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
        exact byte for UTF-16 text, for context copied around a token and for an archive
        member stored as is."""
        local = self._local_origin(offset)
        return local if self.parent is None else self.parent.origin(local)

    def decoded(self, start: int, end: int) -> bool:
        """True when `data[start:end]` overlaps decoded text; False when it lies wholly in
        context copied from the scanned bytes (where a plain scan already looked)."""
        return any(s < end and start < e for s, e in decoded_regions(self))

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
        if span.kind in ("copy", "stored"):
            return span.origin + offset - span.start
        if span.kind == "utf16":
            return span.origin + utf16_size(self.data[span.start : offset])
        return span.origin

    def _top(self) -> DecodedView:
        view = self
        while view.parent is not None:
            view = view.parent
        return view


class Token(Record):
    """Encoded text at data[start:end] and what it decodes to (`blob`: an archive)."""

    start: int
    end: int
    text: bytes
    label: str
    blob: bool = False


class Unwrapped(Record):
    """One piece of content found inside a whole blob: an archive member, a stream, a text."""

    label: str
    content: bytes
    span: Span
    member: str | None = None


class Decoder:
    """One way text hides in content, as `DECODERS` lists it. A whole decoder reads content
    as a whole: `sniff` tells content of its kind (cheaply), `unwrap` reads what it holds.
    A token decoder finds encoded tokens in a stretch of text: `tokens`. (A plain class,
    not a Record: one fewer namedtuple built at the hook's start-up.)"""

    __slots__ = ("name", "sniff", "tokens", "unwrap")

    def __init__(
        self,
        name: str,
        *,
        sniff: Callable[[bytes], bool] | None = None,
        unwrap: Callable[[bytes, Budget, str], list[Unwrapped]] | None = None,
        tokens: Callable[[bytes, int, int, Hints], Iterator[Token]] | None = None,
    ) -> None:
        self.name = name
        self.sniff = sniff
        self.unwrap = unwrap
        self.tokens = tokens

    def __repr__(self) -> str:
        return f"Decoder({self.name!r})"


# Why content was not decoded whole, for the caller's list of skips (see Budget.skip).
BUDGET_SPENT = (
    f"decoding stopped after {MAX_TOTAL} bytes of decoded text: encoded content past it not decoded"
)
TOKENS_SPENT = f"more than {MAX_TOKENS} encoded tokens: those past them not decoded"


class Budget:
    """How deep decoding may go, and how many bytes decoding may still produce: views, and
    what is inflated on the way to them (a tar stream inside gzip, a member that fails);
    the words near which escapes are worth decoding; which of a whole decoder's contents
    are worth a view (`worth`, see `decoded_views`); and where to note what was not
    decoded whole."""

    __slots__ = (
        "_given_back",
        "_noted",
        "hints",
        "keyed",
        "max_depth",
        "remaining",
        "skipped",
        "tokens",
        "worth",
    )

    def __init__(
        self,
        max_depth: int,
        remaining: int,
        hints: tuple[bytes, ...],
        skipped: list[tuple[str, str]] | None = None,
        worth: Worth | None = None,
        keyed: Worth | None = None,
    ) -> None:
        self.max_depth = max_depth
        self.remaining = remaining
        self.tokens = MAX_TOKENS
        self.hints = hints
        self.skipped = skipped
        self.worth = worth
        self.keyed = keyed  # which decoded texts hold a key that proves itself
        self._noted: set[tuple[str, str]] = set()
        self._given_back = 0

    def afford(self, size: int) -> bool:
        """Spends `size` bytes if they are left; once a view does not fit, nothing more does
        (and that is noted as a skip)."""
        if size > self.remaining:
            self.remaining = 0
            self.skip("", BUDGET_SPENT)
            return False
        self.remaining -= size
        return True

    def spend(self, size: int) -> None:
        """Charges `size` bytes of work already bounded by what was left."""
        self.remaining = max(0, self.remaining - size)

    def given_back(self, content: bytes, charged: int) -> bool:
        """True when `worth` says an archive member can hold no key: the `charged` bytes it
        was read for are given back (GIVEN_BACK_MOST in all at most), and it is not held
        (nothing is to be found in it). Eight harmless members of a MiB spent the budget,
        and a key in the ninth went unread; the reading stays bounded: by GIVEN_BACK_MOST
        more bytes for one input, and what is held by the budget as before."""
        if self.worth is None or self._given_back + charged > GIVEN_BACK_MOST:
            return False
        if self.worth([content]):
            return False
        self._given_back += charged
        self.remaining += charged
        return True

    def refund(self, size: int) -> None:
        """Gives back `size` more bytes charged for a member `given_back` took back (a
        tar.gz's stream, which the member was read from, was charged for it too); counted
        against GIVEN_BACK_MOST with the rest, so that no more is given back past it."""
        self._given_back += size
        self.remaining += size

    def skip(self, where: str, reason: str) -> None:
        """Notes content not decoded whole, once: `where` in the content decoded (an encoding
        chain such as "zip:app.zip>zip:big.bin"; "" for the content as a whole), and why."""
        if self.skipped is not None and (where, reason) not in self._noted:
            self._noted.add((where, reason))
            self.skipped.append((where, reason))

    def cut(self, where: str, cap: int, allowed: int) -> None:
        """Notes content read only up to `allowed` bytes: past its own `cap`, or past what
        the budget had left."""
        if allowed >= cap:
            self.skip(where, f"larger than {cap} bytes: only its first {cap} bytes decoded")
        else:
            self.skip("", BUDGET_SPENT)


class Hints:
    """Where the hint words occur in some data, in any case: found once, on the first
    question."""

    __slots__ = ("_data", "_windows", "_words")

    def __init__(self, data: bytes, words: tuple[bytes, ...]) -> None:
        self._data = data
        self._words = words
        self._windows: list[tuple[int, int]] | None = None

    @property
    def words(self) -> tuple[bytes, ...]:
        """The hint words (lowercase)."""
        return self._words

    def windows(self, start: int, end: int) -> list[tuple[int, int]]:
        """The stretches of data[start:end] within CONTEXT_BYTES of a hint, in order."""
        if self._windows is None:
            near = ((max(0, at - CONTEXT_BYTES), at + CONTEXT_BYTES) for at in self._offsets())
            self._windows = merged(near)
        return [
            (max(lo, start), min(hi, end)) for lo, hi in self._windows if lo < end and start < hi
        ]

    def _offsets(self) -> list[int]:
        low = lowered(self._data)
        passes = byte_passes()
        every = _offsets if passes is None else passes.occurrences
        return sorted(at for word in self._words for at in every(low, word))


def byte_passes() -> Any:
    """`nexpay_scan.bytepasses` (SIMD passes, exactly as `bytes`' own methods answer) where
    a tree or a history is scanned: the engines' prefilter loads it. None on the hook's
    path, which keeps to `bytes`' methods (stringzilla's import costs more than they do on
    a commit's few files). On a tree naming Nexpay (33 MB of text), the hints' search by
    `bytes.find` took 63 ms and the base64 marks by `bytes.translate` 30; by these, 5 and
    3."""
    return sys.modules.get("nexpay_scan.bytepasses")


# The content lowercased last, with its copy: the detector and the escape decoders' hints
# both search a file's bytes in any case, and one copy serves both. (The content is held
# here, so no other bytes object can take its identity.)
_LOWERED: list[tuple[bytes, bytes]] = [(b"", b"")]
_LOWERED_HELD = 1 << 20  # bigger content is lowercased again when asked: not held twice


def lowered(data: bytes) -> bytes:
    """`data.lower()`, made once for the content asked about last."""
    last = _LOWERED[0]  # one read: threads may replace it meanwhile
    if last[0] is data:
        return last[1]
    passes = byte_passes()
    copy = data.lower() if passes is None else passes.lowered(data)
    if len(data) <= _LOWERED_HELD:
        _LOWERED[0] = (data, copy)
    return copy


def child(
    parent: DecodedView | None,
    data: bytes,
    label: str,
    spans: tuple[Span, ...],
    member: str | None = None,
) -> DecodedView:
    """A view of `data` decoded from `parent` by `label`, named by the chain of decodings."""
    if parent is not None and parent.member is not None:
        member = parent.member if member is None else f"{parent.member}!{member}"
    return DecodedView(data, chained(parent, label), member, parent, spans)


def chained(parent: DecodedView | None, label: str) -> str:
    """`label` after the decodings that led to `parent` ("zip:a.zip>gzip")."""
    return label if parent is None else f"{parent.encoding}>{label}"


def decoded_regions(view: DecodedView) -> list[tuple[int, int]]:
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


def is_text(blob: bytes) -> bool:
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


# The tool's pattern `source`, compiled on first use (`nexpay_scan.compiled`): the decoders
# ask for theirs where they use them, one dict lookup each time (no wrapper call on top).
compiled = pattern


def utf16_size(text: bytes) -> int:
    """How many bytes of UTF-16 the UTF-8 `text` was transcoded from."""
    return len(text.decode("utf-8", "replace").encode("utf-16-le"))


def _text_position(before: str) -> tuple[int, int]:
    return before.count("\n") + 1, len(before) - before.rfind("\n")


def _span_start(span: Span) -> int:
    return span.start


def merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
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
