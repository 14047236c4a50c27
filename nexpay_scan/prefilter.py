"""The history engines' prefilter: could some content hold a key, as it is or decoded?

Whole-history scans read gigabytes; they run the rules (and the decoders) only on content
that passes this test. It must never skip content in which `nexpay-scan files` would find
a key (see `scan.Scanner.sightings`), so it answers yes for everything the decoders could
turn into a keyword:

- a rule keyword, or a hint (the leading letters of a keyword, "nxp", "nexpay") near
  which escapes are decoded (`nxp%5Fsk_`, `nxp\\u005fsk_`), in any case;
- base64 (wrapped or not, standard or URL-safe) that decodes to such a word, to UTF-16
  holding one, to an archive or gzip stream, or to base64 that does (base64 of base64);
- content that starts as an archive or as UTF-16 text (with or without a byte-order mark).

It stays cheap: words are found in one pass over a lowercase copy (one `re` alternation:
a case-insensitive search is several times slower), base64 runs in one byte translation
and `bytes.find`, and only the runs long enough to be a decoder's token are decoded (in
C), at each of the four alignments, so a word is seen wherever the decoder's token starts.
A run's verdict is remembered: the versions of a file share most of their runs.
"""

from __future__ import annotations

import binascii
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from functools import cache

from nexpay_scan.decoders import encoded_at, hints_for
from nexpay_scan.decoders.base64 import MIN_BASE64

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# base64 characters (both alphabets) and padding to "A", all else to ".": runs are then
# found by bytes.find at memory speed, as in the decoders
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_="
_MARKS = bytes(65 if b in _ALPHABET else 46 for b in range(256))
_RUN = b"A" * MIN_BASE64
# `regex` finds a run of marks as Boyer-Moore does, twice as fast as `bytes.find` (which
# steps through every short run), and lets the GIL go on a block this big
_CONCURRENT = 1 << 16
_BLANKS = b" \t\r\n"
# the further lines of a wrapped blob, as the decoders join them (a patch's lines start
# with a marker column: " ", "+" or "-")
_TAIL = re.compile(rb"(?:[ \t]*\r?\n[ \t+-]?[ \t]*[A-Za-z0-9+/_=-]{4,})*")
_URLSAFE = bytes.maketrans(b"-_", b"+/")
_STANDARD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_STANDARD = bytes(b for b in range(256) if b not in _STANDARD)
_HEX = b"0123456789abcdefABCDEF"
# what decoded bytes start with when the decoders open them whole (gzip: deflate only)
_WHOLE_MAGIC = (b"PK\x03\x04", b"\x1f\x8b\x08", b"ustar")
_DEPTH = 2  # as `decoders.decoded_views`: base64 of base64, no deeper
_UTF16_SNIFF = 4096
# remembered verdicts: runs up to this long, this many at most (a few MB)
_REMEMBERED_RUN = 512
_REMEMBERED = 1 << 15


@cache
def prefilter_for(keywords: tuple[bytes, ...]) -> Prefilter:
    """The prefilter of a detector's keywords (`Detector.keywords`), made once a run."""
    return Prefilter(keywords)


class Prefilter:
    """The words a detector's rules (and escapes near them) need, and the test."""

    def __init__(self, keywords: Iterable[bytes]) -> None:
        keywords = tuple(keywords)
        words = {k.lower() for k in keywords} | set(hints_for(keywords))
        # a word that contains another adds nothing: a hit on it is a hit on the shorter
        self.words = tuple(sorted(w for w in words if not any(o != w and o in w for o in words)))
        # one pass finds them all, over a lowercase copy (a match starts inside its word)
        self.pattern = _one_pattern(self.words)
        self.search_lowered = re.compile(self.pattern).search
        self._verdicts: dict[tuple[bytes, bool, int], bool] = {}

    def suspect(self, data: bytes, *, patch: bool = False) -> bool:
        """False only when no key can hide in `data`, as it is or decoded. `patch`: `data`
        is `git diff` output (a line's first character is a marker, not content)."""
        if self.has_word(data):
            return True
        return self.base64_hides_word(data, patch=patch)

    def has_word(self, data: bytes) -> bool:
        """A word in `data`, in any case."""
        return self.search_lowered(data.lower()) is not None

    def base64_hides_word(self, data: bytes, *, patch: bool = False, depth: int = 1) -> bool:
        """A base64 run in `data` long enough for the decoders, that decodes (at any
        alignment) to a word, to UTF-16 holding one, to an archive, or to base64 that
        does."""
        return any(True for _ in self._hiding_runs(data, 0, len(data), patch, depth))

    def hiding_offsets(self, data: bytes, *, patch: bool = False) -> list[int]:
        """Where in `data` the runs that `base64_hides_word` answers for start."""
        return list(self._hiding_runs(data, 0, len(data), patch, 1))

    def _hiding_runs(
        self, data: bytes, start: int, end: int, patch: bool, depth: int
    ) -> Iterator[int]:
        marks = data[start:end].translate(_MARKS)
        search = _run_pattern().search
        concurrent = len(marks) >= _CONCURRENT
        run = search(marks, 0, concurrent=concurrent)
        while run:
            run_start, run_end = start + run.start(), start + run.end()
            chain_end = run_end
            if run_end < end and data[run_end] in _BLANKS:  # a further line may follow
                tail = _TAIL.match(data, run_end, end)
                chain_end = tail.end() if tail else run_end
            if self._verdict(data[run_start:chain_end], patch, depth):
                yield run_start
            run = search(marks, chain_end - start, concurrent=concurrent)

    def _verdict(self, chain: bytes, patch: bool, depth: int) -> bool:
        """`_decodes_to_word`, remembered for short runs: the same runs (a long name, a
        digest, a rule of `=`) come back in every version of a file."""
        if len(chain) > _REMEMBERED_RUN:
            return self._decodes_to_word(chain, patch, depth)
        key = (chain, patch, depth)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._decodes_to_word(chain, patch, depth)
            if len(self._verdicts) >= _REMEMBERED:
                self._verdicts.clear()  # threads share it: a dict call is atomic
            self._verdicts[key] = verdict
        return verdict

    def _decodes_to_word(self, chain: bytes, patch: bool, depth: int) -> bool:
        if patch:
            chain = _new_side(chain)
        body = chain.translate(_URLSAFE).translate(None, _NOT_STANDARD)
        if not body.translate(None, _HEX):
            return False  # a hex digest: the decoders never decode one
        for shift in range(4):
            piece = body[shift:]
            piece = piece[: len(piece) - len(piece) % 4]
            try:
                decoded = binascii.a2b_base64(piece)
            except binascii.Error:
                continue
            if self._reveals(decoded, depth):
                return True
        return False

    def _reveals(self, decoded: bytes, depth: int) -> bool:
        lowered = decoded.lower()
        if any(w in lowered for w in self.words):
            return True
        if b"\0" in decoded and any(w in lowered.replace(b"\0", b"") for w in self.words):
            return True  # UTF-16 text (PowerShell's -EncodedCommand)
        if any(m in decoded for m in _WHOLE_MAGIC):
            return True  # an archive or a gzip stream: its members are not seen here
        return depth < _DEPTH and self.base64_hides_word(decoded, depth=depth + 1)


def _one_pattern(words: Sequence[bytes]) -> bytes:
    """A pattern that finds each of `words` in lowercase text. When they share a piece of
    two bytes or more ("xp" in "nxp" and "nexpay"), the pattern starts with it and checks
    each word around it by look-behind and look-ahead: `re` then skips ahead to that
    literal (twice as fast as an alternation, which tries every "n"); else an
    alternation."""
    shared = _longest_shared(words)
    if len(shared) < 2:
        return b"|".join(re.escape(w) for w in words)
    branches = []
    for word in words:
        cut = word.index(shared) + len(shared)
        after = word[cut:]
        behind = b"(?<=" + re.escape(word[:cut]) + b")" if cut > len(shared) else b""
        branches.append(behind + (b"(?=" + re.escape(after) + b")" if after else b""))
    return re.escape(shared) + b"(?:" + b"|".join(branches) + b")"


def _longest_shared(words: Sequence[bytes]) -> bytes:
    """The longest piece every one of `words` holds (b"" when none)."""
    shortest = min(words, key=len, default=b"")
    for size in range(len(shortest), 0, -1):
        for at in range(len(shortest) - size + 1):
            piece = shortest[at : at + size]
            if all(piece in word for word in words):
                return piece
    return b""


@cache
def _run_pattern() -> Any:
    """A run of marks (see `_MARKS`) long enough for the decoders, to its end; compiled on
    first use, off the hook's path."""
    import regex

    return regex.compile(_RUN + b"A*")


@cache
def _big_search(pattern: bytes) -> Any:
    """`pattern`'s search for big blocks: `regex`, as fast as `re` here, lets the GIL go
    (compiled on first use, off the hook's path)."""
    import regex

    return regex.compile(pattern).search


def _new_side(chain: bytes) -> bytes:
    """The lines of a wrapped run in a patch as the new file has them: removed lines
    left out, the marker column of the others dropped (the first line's run starts after
    its marker, or at it: decoding at every alignment covers both)."""
    lines = chain.split(b"\n")
    kept = [lines[0]] + [line[1:] for line in lines[1:] if not line.startswith(b"-")]
    return b"".join(kept)


def starts_utf16(data: bytes, at: int = 0, size: int | None = None) -> bool:
    """True when the content at `at` (of `size` bytes) may be UTF-16 text without a byte-
    order mark: a NUL in its first bytes, in every other byte for the most part (a looser
    test than the decoders', never stricter)."""
    end = at + min(_UTF16_SNIFF, size if size is not None else len(data) - at)
    if data.find(b"\0", at, end) < 0:
        return False
    sample = data[at:end]
    pairs = len(sample) // 2
    if pairs < 4:
        return False
    high, low = sample[1 : pairs * 2 : 2].count(0), sample[0 : pairs * 2 : 2].count(0)
    return 2 * max(high, low) >= pairs


def suspect_objects(
    prefilter: Prefilter, block: bytes, starts: Sequence[int], sizes: Sequence[int]
) -> set[int]:
    """Indexes (into `starts`) of the objects of a block of blob contents (one after the
    other, each `sizes[n]` bytes from `starts[n]`) that may hold a key, as they are or
    decoded (see `Prefilter`)."""
    hit: set[int] = set(encoded_at(block, starts))
    lowered = block.lower()
    search = _big_search(prefilter.pattern)
    position = 0
    while match := search(lowered, position, concurrent=True):
        number = max(bisect_right(starts, match.start()) - 1, 0)
        hit.add(number)
        position = starts[number + 1] if number + 1 < len(starts) else len(block)
    del lowered  # a batch's worth of memory
    for offset in prefilter.hiding_offsets(block):
        hit.add(max(bisect_right(starts, offset) - 1, 0))
    for number, (at, size) in enumerate(zip(starts, sizes, strict=True)):
        if number not in hit and starts_utf16(block, at, size):
            hit.add(number)
    return hit
