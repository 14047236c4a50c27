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
from itertools import accumulate

from nexpay_scan.decoders import hints_for
from nexpay_scan.decoders.base64 import MIN_BASE64
from nexpay_scan.decoders.model import CONTEXT_BYTES

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
_NOT_STANDARD_NOR_NUL = _NOT_STANDARD.replace(b"\0", b"")
_NOT_HEX = re.compile(rb"[^0-9a-fA-F]")
_HEX = b"0123456789abcdefABCDEF"
# what decoded bytes start with when the decoders open them whole (gzip: deflate only)
_WHOLE_MAGIC = (b"PK\x03\x04", b"\x1f\x8b\x08", b"ustar")
# what every escape the decoders decode starts with (`decoders.escapes`: percent-escapes,
# string escapes); the tests check that no escaper is left out
ESCAPE_TRIGGERS = (b"%", b"\\")
# what content the decoders open whole starts with: an archive, a gzip stream, UTF-16 text
# with its byte-order mark (tar is told at byte 257); content that starts as base64 is
# left to the base64 test, as base64 anywhere else
_WHOLE_HEAD = re.compile(rb"PK\x03\x04|\x1f\x8b|\xff\xfe|\xfe\xff")
# decodes to NULs, which end any base64 run and spell no word
_SEPARATOR = b"AAAA"
_DEPTH = 2  # as `decoders.decoded_views`: base64 of base64, no deeper
_UTF16_SNIFF = 4096


@cache
def prefilter_for(keywords: tuple[bytes, ...]) -> Prefilter:
    """The prefilter of a detector's keywords (`Detector.keywords`), made once a run."""
    return Prefilter(keywords)


class Prefilter:
    """The words a detector's rules (and escapes near them) need, and the test."""

    def __init__(self, keywords: Iterable[bytes]) -> None:
        keywords = tuple(keywords)
        self.keywords = tuple({k.lower() for k in keywords})
        words = {k.lower() for k in keywords} | set(hints_for(keywords))
        # a word that contains another adds nothing: a hit on it is a hit on the shorter
        self.words = tuple(sorted(w for w in words if not any(o != w and o in w for o in words)))
        # one pass finds them all, over a lowercase copy (a match starts inside its word)
        self.pattern = _one_pattern(self.words)
        self.search_lowered = re.compile(self.pattern).search
        # how far a match of `pattern` is from the start and end of the keyword it is in
        self.reach = max(map(len, self.keywords + self.words), default=0)
        # what decoded base64 must hold: a word, or a word in UTF-16 (each character in
        # two bytes, one of them NUL: "n\0x\0p" in both byte orders)
        self.decoded_words = self.words + tuple(b"\0".join(_letters(w)) for w in self.words)

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
        return bool(self.hiding_offsets(data, patch=patch, depth=depth))

    def hiding_offsets(self, data: bytes, *, patch: bool = False, depth: int = 1) -> list[int]:
        """Where in `data` the runs that `base64_hides_word` answers for start."""
        starts, chains = _chains(data, patch)
        bodies = _bodies(chains)
        del chains  # only the bodies are needed from here: a block's worth of memory
        return [starts[n] for n in sorted(self._hiding_chains(bodies, depth))]

    def _hiding_chains(self, bodies: Sequence[bytes], depth: int) -> set[int]:
        """Indexes of the chains (base64 text, wrapped lines joined; `bodies`: their
        base64 characters) that decode, at some alignment, to what `_revealed` looks for.
        All chains are decoded in one call per alignment, one after the other (each cut to
        whole groups of four, so a decoded chain is three quarters of its text long):
        ipython's notebooks hold ~100k runs per 100 MB, and a call per run cost more than
        the decoding. Each copy is let go as soon as the next is made (the peak memory of
        a reader is a few times its block)."""
        # the versions of a file in one block share most of their runs: each once
        unique = list(dict.fromkeys(bodies))
        sizes = [len(body) for body in unique]
        hiding: set[bytes] = set()
        for shift in range(4):
            # (size - shift) % 4 is never negative: a body shorter than `shift` gives b""
            pieces = [b[shift : n - (n - shift) % 4] for b, n in zip(unique, sizes, strict=True)]
            # each followed by _SEPARATOR: a base64 run of one chain's decoding never runs
            # on into the next one's (its hit would name the wrong chain)
            if not any(pieces):
                continue
            joined = _SEPARATOR.join(pieces)
            del pieces
            decoded = binascii.a2b_base64(joined)
            del joined
            revealed = list(self._revealed(decoded, depth))
            del decoded
            if not revealed:  # as a rule: where each piece ends is then not needed
                continue
            # each piece is its body from `shift`, cut to whole groups of four
            cut = (max(0, n - shift - (n - shift) % 4) + len(_SEPARATOR) for n in sizes)
            ends = _ends_through(cut, max(revealed) // 3 * 4)
            for at in revealed:
                hiding.add(unique[bisect_right(ends, at // 3 * 4)])
        return {n for n, body in enumerate(bodies) if body in hiding}

    def _revealed(self, decoded: bytes, depth: int) -> Iterator[int]:
        """Offsets in `decoded` (several chains' decodings, one after the other) of a word,
        a word in UTF-16 (PowerShell's -EncodedCommand), an archive's or gzip stream's
        magic (its members are not seen here), or a base64 run that hides one (base64 of
        base64). A hit that straddles two chains names one of them: a false alarm, never
        a miss."""
        lowered = decoded.lower()
        for word in self.decoded_words:
            yield from _occurrences(lowered, word)
        del lowered
        for magic in _WHOLE_MAGIC:
            yield from _occurrences(decoded, magic)
        if depth < _DEPTH:
            yield from self.hiding_offsets(decoded, depth=depth + 1)

    def shows_key_near(self, lowered: bytes, at: int, start: int, end: int) -> bool:
        """Whether the word that `search_lowered` found at `at` in lowered[start:end] (one
        object's content, lowercased) may show a key: it is part of a rule's keyword, or
        an escape the decoders would decode is near it (see `decoders.escapes`: only
        within CONTEXT_BYTES of a hint). A hint alone ("nxp" in a notebook's base64
        images) shows no key: it only says where escapes are decoded."""
        reach = self.reach
        if any(
            lowered.find(k, max(start, at - reach), min(end, at + reach)) >= 0
            for k in self.keywords
        ):
            return True
        low = max(start, at - CONTEXT_BYTES - reach)
        high = min(end, at + CONTEXT_BYTES + reach)
        return any(lowered.find(trigger, low, high) >= 0 for trigger in ESCAPE_TRIGGERS)


def _chains(data: bytes, patch: bool) -> tuple[list[int], list[bytes]]:
    """The base64 runs in `data` long enough for the decoders, each with the further lines
    of a wrapped blob (a patch's: as the new file has them), and where each starts."""
    marks = data.translate(_MARKS)
    runs = _run_pattern().finditer(marks, concurrent=len(marks) >= _CONCURRENT)
    starts: list[int] = []
    chains: list[bytes] = []
    end = len(data)
    chain_end = 0
    tail = _TAIL.match
    for run in runs:
        run_start, run_end = run.span()
        if run_start < chain_end:  # a line of the chain before (its tail ends a run)
            continue
        chain_end = run_end
        if chain_end < end and data[chain_end] in _BLANKS:  # a further line may follow
            more = tail(data, chain_end, end)
            chain_end = more.end() if more else chain_end
        starts.append(run_start)
        chains.append(data[run_start:chain_end])
    if patch:
        chains = [_new_side(chain) for chain in chains]
    return starts, chains


def _bodies(chains: Sequence[bytes]) -> list[bytes]:
    """The base64 characters of each of `chains`, URL-safe ones made standard; nothing for
    a hex digest (the decoders never decode one). Made in two passes over them all: a
    block holds hundreds of thousands of short runs, and calls per run cost the most."""
    if not chains:
        return []
    joined = b"\0".join(chains).translate(_URLSAFE).translate(None, _NOT_STANDARD_NOR_NUL)
    # a body of hex digits only holds none of the letters g-z (nor G-Z, +, /)
    all_hex = _NOT_HEX.search(joined) is None
    bodies = joined.split(b"\0")
    del joined
    if all_hex:
        return [b""] * len(bodies)
    return [body if _NOT_HEX.search(body) else b"" for body in bodies]


def _ends_through(lengths: Iterable[int], last: int) -> list[int]:
    """The running totals of `lengths`, up to the first past `last`: all that `bisect`
    needs to place an offset up to `last` (the pieces after the last hit are not summed)."""
    ends: list[int] = []
    for end in accumulate(lengths):
        ends.append(end)
        if end > last:
            break
    return ends


def _letters(word: bytes) -> list[bytes]:
    return [word[n : n + 1] for n in range(len(word))]


def _occurrences(data: bytes, needle: bytes) -> Iterator[int]:
    """Every offset of `needle` in `data`."""
    at = data.find(needle)
    while at >= 0:
        yield at
        at = data.find(needle, at + 1)


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
    hit = set(_whole_at(block, starts))
    lowered = block.lower()
    search = _big_search(prefilter.pattern)
    position = 0
    while match := search(lowered, position, concurrent=True):
        at = match.start()
        number = max(bisect_right(starts, at) - 1, 0)
        start = starts[number]
        if prefilter.shows_key_near(lowered, at, start, start + sizes[number]):
            hit.add(number)
            position = starts[number + 1] if number + 1 < len(starts) else len(block)
        else:
            position = at + 1
    del lowered  # a batch's worth of memory
    for offset in prefilter.hiding_offsets(block):
        hit.add(max(bisect_right(starts, offset) - 1, 0))
    for number, (at, size) in enumerate(zip(starts, sizes, strict=True)):
        if number not in hit and starts_utf16(block, at, size):
            hit.add(number)
    return hit


def _whole_at(block: bytes, starts: Sequence[int]) -> Iterator[int]:
    """The indexes of the `starts` in `block` at which content the decoders open whole
    starts (see `_WHOLE_HEAD`)."""
    head = _WHOLE_HEAD.match
    for number, at in enumerate(starts):
        if head(block, at) or block[at + 257 : at + 262] == b"ustar":
            yield number
