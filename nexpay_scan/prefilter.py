"""The history engines' prefilter: could some content hold a key, as it is or decoded?

Whole-history scans read gigabytes; they run the rules (and the decoders) only on content
that passes this test. It must never skip content in which `nexpay-scan files` would find
a key (see `scan.Scanner.sightings`), so it answers yes for everything the decoders could
turn into a keyword:

- a rule keyword, in any case; a hint (the leading letters of a keyword, "nxp",
  "nexpay") with escapes near it that, decoded, could show one (`nxp%5Fsk_`,
  `nxp\\u005fsk_`), an escape, or base64 that hides a word;
- base64 (wrapped or not, standard or URL-safe) that decodes to text holding such a word
  (or a hint), to UTF-16 holding one, to an archive or a gzip stream that inflates, or to
  base64 that does (base64 of base64);
- a hint's hex digits, in any case, in a base64 run (a hex run is one): what the hex
  decoder could show (`decoders.hexadecimal`);
- content that starts as an archive, a compressed stream (gzip, bzip2, xz, zstd, lz4) or as
  UTF-16 text (with or without a byte-order mark).

It stays cheap: words are found over a lowercase copy (a case-insensitive search is
several times slower), a SIMD find each (see `bytepasses`), base64 runs in one byte
translation (SIMD too) and one `regex` pass (`bytes.find` in a small scan), and only the
runs long enough to be a decoder's token are decoded (in C, all of a block's in one call),
at each of the four alignments, so a word is seen wherever the decoder's token starts;
each distinct run once a block (the versions of a file share most of their runs). Escapes
near a hint are looked at only in the objects that hold no keyword, where most decode to
what can show nothing new (JSON's `\\n`).
"""

from __future__ import annotations

import binascii
import sys
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from functools import cache, partial
from itertools import accumulate

import pybase64

from nexpay_scan import bytepasses, compiled
from nexpay_scan.bytepasses import occurrences
from nexpay_scan.decoders import escaped_views, hints_for
from nexpay_scan.decoders.archives import END_MAGIC, ZIP_REACH, ends_as_zip
from nexpay_scan.decoders.base64 import MIN_BASE64
from nexpay_scan.decoders.escapes import RUN_REACH, escapes_near_hints
from nexpay_scan.decoders.model import (
    BINARY_SNIFF,
    CONTEXT_BYTES,
    Hints,
    decoded_regions,
    merged,
)
from nexpay_scan.decoders.utf16 import UTF16_SNIFF, utf16_codec
from nexpay_scan.sources.blob_reader import POINTER_HEAD

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re  # (not loaded to run: 4-5 ms, serial before `files` forks its workers)
    from typing import Any

# base64 characters (both alphabets) and padding to "A", blanks and what JSON parts the
# lines of a string with (see `_JOINED`) as they are, all else to ".": chains are then
# found in one `regex` pass (see `_chains`)
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_="
_KEPT = b' \t\r\n\\",'
_MARKS = bytes(65 if b in _ALPHABET else b if b in _KEPT else 46 for b in range(256))
_RUN = b"A" * MIN_BASE64
# `regex` finds a run of marks as Boyer-Moore does, twice as fast as `bytes.find` (which
# steps through every short run), and lets the GIL go on a block this big
_CONCURRENT = 1 << 16
# But loading `regex` takes 11 ms, half of a `files` run of a small tree: until a process
# has searched this much, runs are found by `bytes.find` (0.27 ms a MB of source text,
# against 0.07 for `regex`, 0.65 at worst: runs of 5 marks; see `_run_spans`): about where
# the two cost the same on source text. A history loads it at once (`warm_up`); `files`
# does not, and its workers each search 20 MB of text in the bench's tree.
_FOUND_BEFORE_REGEX = 48 << 20
_found_without_regex = 0  # bytes of marks searched so far without `regex`, by this process
# a further line of a wrapped blob, as the decoders join them (a patch's lines start
# with a marker column: " ", "+" or "-"; in marks, a patch's marker is "A")
_LINE = rb"[ \t]*\r?\n[ \tA]?[ \t]*AAAA+"
# `regex` keeps a record for each repeat of a group until its match ends: 20 MB of short
# lines ("\nAAAA", over and over) took 640 MB as one match. So one match takes at most
# _LINES_MOST further lines, and a chain that may go on past them is followed to its end
# a bounded match at a time (`_whole_chains`)
_LINES_MOST = 4096
_TAIL = rb"(?:" + _LINE + rb"){0,%d}" % _LINES_MOST
# Outside a patch, a chain also goes on past a line break that JSON writes inside a string
# (an escape: "\\n", where "n" is a base64 character) or between the strings of a list
# ('\\n",' a newline, the indent, '"'): a notebook stores its images so, one line of 76
# characters per run (ipython's history: 750,000 runs, one `regex` match and its Python
# objects each, about a second of a whole-history scan). One chain per image instead.
# Joining is sound: a chain that holds another decodes it at its four alignments all the
# same (see `_hiding_bodies`), and whatever a decoder's token shows lies within the
# token's own decoding. A chain never runs into the next object of a block: every `git
# cat-file` header starts a line with its id, where a joined line starts with '"'. A chain
# holds no byte but those kept in `_MARKS` (never a NUL: see `_bodies`). Each piece joined
# is a run long enough to be a chain of its own, and a chain joins at most _JOINED_MOST of
# them (`regex` keeps a record per repeat: 20 MB of `\AAAA` took 700 MB before the bound),
# so that a chain cut there is followed by one that starts with the next piece: nothing
# is left out that unjoined runs would have covered. A piece joined takes no further
# lines (a JSON string holds no line break); one that has some ends its chain there, and
# `_whole_chains` follows them.
_JOINED_MOST = 4096
_JOINED = rb'(?:(?:\\|\\A",[ \t]*\r?\n[ \t]*")' + _RUN + rb"A*){0,%d}" % _JOINED_MOST
# the shortest chain that a bound may end where further lines follow: a run and its
# _LINES_MOST lines, or (outside a patch) a run and a piece joined
_LINE_LEAST = len(b"\nAAAA")
_CUT_LEAST = {False: MIN_BASE64 + _LINE_LEAST * _LINES_MOST, True: 2 * MIN_BASE64 + 1}
_URLSAFE = bytes.maketrans(b"-_", b"+/")
_STANDARD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_STANDARD = bytes(b for b in range(256) if b not in _STANDARD)
_NOT_STANDARD_NOR_NUL = _NOT_STANDARD.replace(b"\0", b"")
# what decoded bytes start with when the decoders open them whole (gzip: deflate only;
# tar: at byte 257)
_ZIP = b"PK\x03\x04"
_GZIP = b"\x1f\x8b\x08"
_GZIP_MEMBER = b"\x1f\x8b"  # what the decoders read a further member from
_TAR = b"ustar"
_INFLATE_READ = 4096
_INFLATE_TRIES = 64
# what an escape may decode to and show nothing new, before the keywords' own bytes are
# taken out: any byte but ASCII letters and digits, base64's others and the escapes'
# triggers (a control, a UTF-8 character: each ends a base64 run, as the escape did);
# blanks too, where no base64 follows ("" too: the end of content, after an escape)
_BLANK_BYTES = b" \t\r\n"
_INERT_CANDIDATES = bytes(
    b for b in range(256) if not (b < 0x80 and chr(b).isalnum()) and chr(b) not in "%\\=+/-_"
)
# the fewest bytes a base64 token decodes to (43 characters, the shortest run)
_MIN_TOKEN_BYTES = MIN_BASE64 * 3 // 4
# what every escape the decoders decode starts with (`decoders.escapes`: percent-escapes,
# string escapes); the tests check that no escaper is left out
ESCAPE_TRIGGERS = (b"%", b"\\")
# a .lzma file's header, as `archives.is_lzma_alone` tells it: its properties, a dictionary
# of 2^n or 3 * 2^(n-1) bytes (from 64 KiB), its size unknown or under 2^38
_BITS = rb"[\x01\x02\x04\x08\x10\x20\x40\x80\x03\x06\x0c\x18\x30\x60\xc0]"
_LZMA_ALONE_HEAD = (
    rb"\]\x00\x00(?:" + _BITS + rb"\x00|\x00" + _BITS + rb"|\x80\x01)"
    rb"(?:\xff{8}|[\x00-\xff]{4}[\x00-\x3f]\x00\x00\x00)"
)
# what content the decoders open whole starts with: a zip, a 7z, a compressed stream (gzip;
# bzip2 by its header and first block's magic; xz; zstd; lz4; a skippable frame, which
# zstd and lz4 share; lzma), UTF-16 text with its byte-order mark (tar is told at byte 257), and
# the archive they name without opening (RAR); content that starts as base64 is left to
# the base64 test, as base64 anywhere else
_WHOLE_HEAD = compiled.pattern(
    rb"PK\x03\x04|\x1f\x8b|\xff\xfe|\xfe\xff|BZh[1-9](?:1AY&SY|\x17rE8P\x90)|\xfd7zXZ\x00"
    rb"|\(\xb5/\xfd|\x04\"M\x18|[P-_]\*M\x18|7z\xbc\xaf'\x1c|Rar!\x1a\x07|" + _LZMA_ALONE_HEAD
)
# a bzip2, xz, zstd, lz4 or lzma stream's start, a 7z archive's, or a RAR archive's (named), as
# `_revealed` looks for one in decoded base64 (a hit untried: such a start is as rare in
# an image's bytes as a zip's magic)
# (what is searched, and how far into the start it lies: a skippable zstd frame's first
# byte is one of 16)
_UNPACKED_HEADS = (
    (b"BZh", 0),
    (b"\xfd7zXZ\x00", 0),
    (b"(\xb5/\xfd", 0),
    (b'\x04"M\x18', 0),
    (b"]\x00\x00", 0),
    (b"*M\x18", 1),
    (b"7z\xbc", 0),
    (b"Rar!", 0),
)
# decodes to NULs, which end any base64 run and spell no word
_SEPARATOR = b"AAAA"
# An object this big is judged a window of WINDOW_BYTES at a time (`cleared_in_windows`)
WINDOWED_LEAST = 4 << 20
WINDOW_BYTES = 1 << 20
# a binary object this big is left out of the search for base64 (`_suspect_block`); a
# smaller one is searched with the objects around it (each piece searched apart costs a
# few calls), and what is found in it passed over
_BLANK_LEAST = 16 << 10
# the end of a big file `zip_behind` is asked of: where zipfile looks for an end record
ZIP_BEHIND_TAIL = ZIP_REACH
_PADDING = (b"", b"AAA", b"AA", b"A")  # a body of each length modulo 4 to whole groups
_PADDING_SIZE = tuple(map(len, _PADDING))
_DEPTH = 2  # as `decoders.decoded_views`: base64 of base64, no deeper
# The texts around hints whose answer `_text_hides_word` remembers, in bytes: the versions
# of a notebook, read one after the other, repeat the same images around the same chance
# "nxp". On 150 versions of ipython's notebooks 6 texts in 10 came again, and
# `escapes_show_keyword` fell from 0.34-0.42 s to 0.21-0.28 s. Exact texts are the keys:
# never an answer for another text.
_REMEMBERED_BYTES = 1 << 20


@cache
def prefilter_for(keywords: tuple[bytes, ...]) -> Prefilter:
    """The prefilter of a detector's keywords (`Detector.keywords`), made once a run."""
    return Prefilter(keywords)


class Prefilter:
    """The words a detector's rules (and escapes near them) need, and the test."""

    def __init__(self, keywords: Iterable[bytes]) -> None:
        keywords = tuple(keywords)
        self.keywords = tuple({k.lower() for k in keywords})
        self.hints = hints_for(keywords)  # as `Scanner.hints`: where escapes are decoded
        # bytes an escape may decode to without showing anything new (`escapes_show_keyword`)
        letters = b"".join(keywords).lower() + b"".join(keywords).upper()
        self._inert = bytes(b for b in _INERT_CANDIDATES if b not in letters)
        words = {k.lower() for k in keywords} | set(self.hints)
        # a word that contains another adds nothing: a hit on it is a hit on the shorter
        self.words = tuple(sorted(w for w in words if not any(o != w and o in w for o in words)))
        # how far a word found is from the start and end of the keyword it is in
        self.reach = max(map(len, self.keywords + self.words), default=0)
        # what decoded base64 may hold besides a word: a word in UTF-16 (each character
        # in two bytes, one of them NUL: "n\0x\0p" in both byte orders)
        self.utf16_words = tuple(b"\0".join(_letters(w)) for w in self.words)
        # what a base64 run may hold that the hex decoder decodes: a hint's own hex digits
        # (`decoders.hexadecimal`: it keeps only text holding a hint as it is), in any case
        self.hex_words = _hex_words(self.hints)
        # what a window of a big file repeats of the one before it (see `window_suspect`):
        # a keyword, or a hint and an escape near it, that starts there and ends past it
        self.window_overlap = CONTEXT_BYTES + self.reach + max(map(len, self.keywords), default=0)
        self._remembered: dict[bytes, bool] = {}  # see `_text_hides_word`
        self._remembered_bytes = 0

    def suspect(self, data: bytes, *, patch: bool = False) -> bool:
        """False only when no key can hide in `data`, as it is or decoded. `patch`: `data`
        is `git diff` output (a line's first character is a marker, not content)."""
        if self.has_word(data):
            return True
        return self.base64_hides_word(data, patch=patch)

    def has_word(self, data: bytes) -> bool:
        """A word in `data`, in any case."""
        lowered = bytepasses.lowered(data)
        return any(bytepasses.find(lowered, word) >= 0 for word in self.words)

    def base64_hides_word(self, data: bytes, *, patch: bool = False, depth: int = 1) -> bool:
        """A base64 run in `data` long enough for the decoders, that decodes (at any
        alignment) to a word, to UTF-16 holding one, to an archive, or to base64 that
        does."""
        return bool(self.hiding_offsets(data, patch=patch, depth=depth))

    def hiding_offsets(
        self,
        data: bytes | memoryview,
        *,
        patch: bool = False,
        depth: int = 1,
        blank: Sequence[tuple[int, int]] = (),
    ) -> list[int]:
        """Where in `data` the runs that `base64_hides_word` answers for start; none in
        the `blank` ranges of it (in order, apart: the objects of a block already
        suspect, and the binary ones, whose runs the decoders never decode)."""
        starts, chains = _chains(data, patch, blank)
        if not chains:  # (most files: nothing more to make)
            return []
        # each distinct chain once: the versions of a file in one block share most of
        # them (ipython's history: 330,000 chains, the same few separator lines over
        # and over); none is held while their bodies are decoded (a 47 MB notebook took
        # 256 MB when the chains, their bodies and a copy for each alignment were held)
        unique = list(dict.fromkeys(chains))
        del chains
        bodies = _JoinedBodies(unique)  # (empties `unique`)
        hiding = self._hiding_bodies(bodies, depth)
        del bodies
        if not hiding:  # as a rule
            return []
        _, chains = _chains(data, patch, blank)  # (found again, not held meanwhile)
        unique = list(dict.fromkeys(chains))
        bodies_of = _bodies(unique)
        distinct = {body: n for n, body in enumerate(dict.fromkeys(bodies_of))}
        hidden = {
            chain for chain, body in zip(unique, bodies_of, strict=True) if distinct[body] in hiding
        }
        return [start for start, chain in zip(starts, chains, strict=True) if chain in hidden]

    def _hiding_bodies(self, bodies: _JoinedBodies, depth: int) -> set[int]:
        """Indexes of the distinct `bodies` (the base64 characters of chains: base64 text,
        wrapped lines joined) that decode, at some alignment, to what `_revealed` looks
        for. All are decoded in one call per alignment: each padded to whole groups of
        four and followed by _SEPARATOR, so that each starts on a group and decoding the
        whole from `shift` decodes each from its own `shift` (ipython's notebooks hold
        ~100k runs per 100 MB: calls, or even slices, per run cost more than the
        decoding). Each decoding is let go before the next is made (the peak memory of a
        reader is a few times its block)."""
        joined = bodies.joined
        if not joined:  # most content (and most decoded base64) holds no run at all
            return set()
        hiding = self._hex_hiding(bodies) if depth == 1 else set()
        for shift in range(4):
            decoded = _unbase64(memoryview(joined)[shift : len(joined) - (len(joined) - shift) % 4])
            revealed = list(self._revealed(decoded, depth))
            del decoded
            if not revealed:  # as a rule: where each chain ends is then not needed
                continue
            sizes = (n + _PADDING_SIZE[n % 4] + len(_SEPARATOR) for n in bodies.lengths)
            ends = _ends_through(sizes, shift + max(revealed) // 3 * 4)
            for at in revealed:
                hiding.add(bisect_right(ends, shift + at // 3 * 4))
        return hiding

    def _hex_hiding(self, bodies: _JoinedBodies) -> set[int]:
        """Indexes of the distinct `bodies` that hold a hint's hex digits, in any case: a
        hex run the hex decoder could keep (a hex run of its length is a base64 run, so
        its body is among them). Content only, not decoded base64: the decoder reads no
        hex inside another token's decoding."""
        joined = bodies.joined
        words, lowered = self.hex_words
        hits = [at for word in words for at in occurrences(joined, word)]
        if lowered:  # (a custom rule's long hint: too many cases to search one by one)
            low = bytepasses.lowered(joined)
            hits += [at for word in lowered for at in occurrences(low, word)]
            del low
        if not hits:  # as a rule
            return set()
        hits.sort()
        sizes = (n + _PADDING_SIZE[n % 4] + len(_SEPARATOR) for n in bodies.lengths)
        ends = _ends_through(sizes, hits[-1])
        return {bisect_right(ends, at) for at in hits}

    def _revealed(self, decoded: bytes, depth: int) -> Iterator[int]:
        """Offsets in `decoded` (several chains' decodings, one after the other, each from
        an offset that is a multiple of 3) of what a base64 token the decoders keep could
        show: a word in text (the token's decoded bytes are UTF-8 text, `is_text`), a word
        in UTF-16 (PowerShell's -EncodedCommand), an archive or gzip stream starting where
        a token can start, or a base64 run that hides one (base64 of base64). A hit that
        straddles two chains names one of them: a false alarm, never a miss. A word in the
        noise of an image's bytes is no hit: no text token holds it."""
        lowered = bytepasses.lowered(decoded)
        for word in self.words:
            reach = _text_reach(len(word))
            for at in occurrences(lowered, word):
                if _utf8_piece(decoded[max(0, at - reach) : at]) or _utf8_piece(
                    decoded[at + len(word) : at + len(word) + reach]
                ):
                    yield at
        for word in self.utf16_words:
            yield from occurrences(lowered, word)
        del lowered
        # a token's decoding starts at a multiple of 3 (a group of four characters)
        yield from (at for at in occurrences(decoded, _ZIP) if at % 3 == 0)
        for head, into in _UNPACKED_HEADS:
            yield from (
                at - into
                for at in occurrences(decoded, head)
                if at >= into and (at - into) % 3 == 0 and _WHOLE_HEAD.match(decoded, at - into)
            )
        yield from (at for at in occurrences(decoded, _TAR) if at >= 257 and (at - 257) % 3 == 0)
        tries = 0
        for at in occurrences(decoded, _GZIP):
            if at % 3:
                continue
            # past _INFLATE_TRIES streams, each is a hit untried: content packed with
            # gzip headers costs no more than that (a false alarm at worst)
            tries += 1
            if tries > _INFLATE_TRIES or self._inflates_to_suspect(decoded, at):
                yield at
        if depth < _DEPTH:
            yield from self.hiding_offsets(decoded, depth=depth + 1)

    def _inflates_to_suspect(self, decoded: bytes, at: int) -> bool:
        """Whether a gzip stream starting at `at` could inflate to content that holds a
        word or opens further: what inflates before the first error, a byte at a time, so
        at any length the token might end at; member after member, as the decoders read
        them (`archives._Unpacking`). A stream that inflates on past _INFLATE_READ bytes is
        taken as suspect. Random bytes after the magic fail within a few dozen."""
        import zlib

        out: list[bytes] = []
        end = min(len(decoded), at + _INFLATE_READ)
        offset = at
        while decoded.startswith(_GZIP_MEMBER, offset):
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                while offset < end and not inflater.eof:
                    out.append(inflater.decompress(decoded[offset : offset + 1]))
                    offset += 1
            except zlib.error:
                break
            if not inflater.eof:  # the bytes read ran out, not the stream
                if end < len(decoded):
                    return True
                break
        content = b"".join(out)
        if not content:
            return False
        return (
            self.suspect(content)
            or _WHOLE_HEAD.search(content) is not None
            or b"ustar" in content
            or any(starts_utf16(content, n) for n in range(0, len(content), 512))
        )

    def escapes_show_keyword(self, content: bytes) -> bool:
        """Whether the escapes near the hints in `content` (an object with no keyword in
        it) could show something once decoded: a keyword, an escape (decoded a depth
        further), or base64 that hides a word. Only the decoded escapes differ between a
        decoded run and the content, so most escapes show nothing new: punctuation, a
        control or a UTF-8 character that is in no keyword, no base64 and no escape
        (JSON's `\\"`, `\\b`, `\\u2500`), or a blank that no base64 follows (JSON's `\\n`
        before a closing quote). A blank before base64 may join the
        lines of wrapped base64 (a notebook's image stored with `\\n` escapes): the text
        near the hints is checked with them decoded. Any other escape: each view the
        decoders would make (`escaped_views`) is checked."""
        hints = _SearchedHints(content, self.hints)
        joins: set[tuple[bytes, bytes]] = set()
        for escape, decoded, after in escapes_near_hints(content, hints):
            if decoded.translate(None, self._inert):
                return self._views_show_keyword(content)
            if decoded.translate(None, _BLANK_BYTES) != decoded and after not in self._inert:
                joins.add((escape, decoded))
        return bool(joins) and self._joined_hide_word(content, hints, joins)

    def _joined_hide_word(
        self, content: bytes, hints: Hints, joins: set[tuple[bytes, bytes]]
    ) -> bool:
        """Whether base64 hides a word in the text near the hints with `joins` (escapes
        that decode to blanks, and their decodings) decoded: as far as a view of a run
        there reaches (its context, the run). Every one of them is decoded, not only
        those the decoders would decode: lines joined into a longer chain still decode
        as the shorter would, at one of the four alignments."""
        reach = CONTEXT_BYTES + RUN_REACH
        near = [(max(0, low - reach), high + reach) for low, high in hints.windows(0, len(content))]
        for low, high in merged(near):
            text = content[low:high]
            for escape, decoded in joins:
                text = text.replace(escape, decoded)
            if self._text_hides_word(text):
                return True
        return False

    def _text_hides_word(self, text: bytes) -> bool:
        """`base64_hides_word(text)`, remembered for the last _REMEMBERED_BYTES of texts
        asked about (forgotten all at once past that)."""
        known = self._remembered.get(text)
        if known is None:
            known = self.base64_hides_word(text)
            if self._remembered_bytes + len(text) > _REMEMBERED_BYTES:
                self._remembered.clear()
                self._remembered_bytes = 0
            self._remembered[text] = known
            self._remembered_bytes += len(text)
        return known

    def _views_show_keyword(self, content: bytes) -> bool:
        """Whether a view the decoders make of the escapes in `content` shows a keyword,
        holds an escape trigger in its decoded text, or base64 that hides a word."""
        for view in escaped_views(content, self.hints):
            lowered = view.data.lower()
            if any(keyword in lowered for keyword in self.keywords):
                return True
            for start, end in decoded_regions(view):
                if any(view.data.find(t, start, end) >= 0 for t in ESCAPE_TRIGGERS):
                    return True
            if self.base64_hides_word(view.data):
                return True
        return False


class _SearchedHints(Hints):
    """`Hints` found by the prefilter's SIMD passes (`bytepasses`): a notebook's image
    noise spells "nxp" often, and CPython's `lower` and `find` over each such object took
    0.24 s of the prefilter on ipython's blobs."""

    __slots__ = ()

    def _offsets(self) -> list[int]:
        low = bytepasses.lowered(self._data)
        return sorted(at for word in self._words for at in occurrences(low, word))


_NOT_SEARCHED = -2  # (a needle's next place, in `Places`, before it is first asked for)


class Places:
    """Where some needles stand in one lowercase block, asked from left to right: each
    needle's next place is kept until the asking passes it, and a needle found nowhere
    further is not searched again. So the block is read once per needle at most, however
    many places it holds (a block made of "nxp" a million times included); a needle never
    asked for (a keyword, in a block with no word) is never searched."""

    def __init__(self, needles: Sequence[bytes], lowered: bytes) -> None:
        self.lowered = lowered
        self.needles = list(needles)
        self.next = [_NOT_SEARCHED] * len(self.needles)

    def of(self, number: int, position: int) -> int:
        """Where needle `number` next stands at `position` or after (-1: nowhere); each
        needle's `position` never goes back from one call to the next."""
        at = self.next[number]
        if at == _NOT_SEARCHED or 0 <= at < position:
            at = self.next[number] = bytepasses.find(self.lowered, self.needles[number], position)
        return at

    def first_from(self, position: int) -> int:
        """Where the first needle at `position` or after starts (-1: none)."""
        first = -1
        for number in range(len(self.needles)):
            at = self.of(number, position)
            if at >= 0 and (first < 0 or at < first):
                first = at
        return first

    def any_within(self, start: int, end: int) -> bool:
        """Whether a needle stands wholly within lowered[start:end]."""
        for number, needle in enumerate(self.needles):
            at = self.of(number, start)
            if at >= 0 and at + len(needle) <= end:
                return True
        return False


def word_hits(
    prefilter: Prefilter, lowered: bytes, starts: Sequence[int], sizes: Sequence[int]
) -> tuple[set[int], set[int]]:
    """The objects of a lowercase block (see `suspect_objects`) that hold a keyword, and
    those that hold none but have an escape near one of their hints (within CONTEXT_BYTES
    and a word's reach on either side: where the decoders decode escapes). Each object is
    judged at its first word, then left: every keyword holds a word, so a keyword found
    anywhere in it is one near a hint. The hints of an object with escapes are walked
    from one escape to the next, not one by one."""
    words = Places(prefilter.words, lowered)
    keywords = Places(prefilter.keywords, lowered)
    triggers = Places(ESCAPE_TRIGGERS, lowered)
    reach = CONTEXT_BYTES + prefilter.reach
    keyworded: set[int] = set()
    hinted: set[int] = set()
    position = 0
    while (at := words.first_from(position)) >= 0:
        number = max(bisect_right(starts, at) - 1, 0)
        start = starts[number]
        end = start + sizes[number]
        if keywords.any_within(start, end):
            keyworded.add(number)
        elif _escape_near_a_hint(words, triggers, at, start, end, reach):
            hinted.add(number)
        following = starts[number + 1] if number + 1 < len(starts) else len(lowered)
        position = max(at + 1, following)
    return keyworded, hinted


def _escape_near_a_hint(
    words: Places, triggers: Places, at: int, start: int, end: int, reach: int
) -> bool:
    """Whether a trigger stands within `reach` of a hint, both in lowered[start:end], from
    the hint at `at` on: past a hint whose reach ends before the next trigger, the next
    hint looked at is the first whose reach gets to it."""
    hint = at
    while 0 <= hint < end:
        trigger = triggers.first_from(max(start, hint - reach))
        if trigger < 0 or trigger >= end:
            return False
        if trigger < hint + reach:
            return True
        hint = words.first_from(trigger - reach + 1)
    return False


def _chains(
    data: bytes | memoryview, patch: bool, blank: Sequence[tuple[int, int]] = ()
) -> tuple[list[int], list[bytes]]:
    """The base64 runs in `data` long enough for the decoders, each with the further lines
    of a wrapped blob (a patch's: as the new file has them) and, outside a patch, the runs
    that JSON's line breaks part from it (`_JOINED`), and where each starts. Found
    in one pass (`_run_spans`) over a copy in which every base64 character is "A" (the tails
    included: any base64 character may stand where a patch's marker does, which joins a
    line more at times, never fewer: a longer chain still decodes as each of its parts),
    and for the rare chain a bound of the pattern cut, a bounded match at a time more
    (`_whole_chains`). None in the `blank` ranges (in order, apart): the pieces between
    them are searched each on its own, and none of their bytes is translated."""
    spans: list[tuple[int, int]] = []
    for low, high in _between(blank, len(data)):
        marks = bytepasses.translated(data[low:high], _MARKS)
        found = _whole_chains(marks, _run_spans(marks, not patch), _CUT_LEAST[not patch])
        del marks
        spans += [(low + start, low + end) for start, end in found] if low else found
    if isinstance(data, memoryview):  # (a view of a buffer that is reused: copied out)
        chains = [bytes(data[start:end]) for start, end in spans]
    else:
        chains = [data[start:end] for start, end in spans]
    if patch:
        chains = [_new_side(chain) for chain in chains]
    return [start for start, _ in spans], chains


def _between(blank: Sequence[tuple[int, int]], size: int) -> Iterator[tuple[int, int]]:
    """The ranges of `size` bytes that the `blank` ranges (in order, apart) leave, none
    empty."""
    at = 0
    for start, end in blank:
        if start > at:
            yield at, start
        at = end
    if size > at or not blank:
        yield at, size


def _whole_chains(marks: bytes, spans: list[tuple[int, int]], least: int) -> list[tuple[int, int]]:
    """`spans` of chains in `marks`, each that a bound of `_run_pattern` cut where further
    lines follow (after _LINES_MOST of them, or after a piece joined: `least` long at
    least) taken on to the end of its lines, a bounded match at a time; the chains that
    start within one taken on are parts of it. Each line is matched once: a chain that
    starts within one taken on ends within it, or past its end."""
    size = len(marks)
    cut = [n for n, (start, end) in enumerate(spans) if end - start >= least]
    cut = [n for n in cut if spans[n][1] < size and marks[spans[n][1]] in _BLANK_BYTES]
    if not cut:  # as a rule
        return spans
    lines = _lines_match()
    whole: list[tuple[int, int]] = []
    taken = 0  # spans[:taken] are in `whole`
    for n in cut:
        if n < taken:  # a part of one taken on
            continue
        start, end = spans[n]
        if lines(marks, end) is None:  # (ended where its lines did)
            continue
        whole.extend(spans[taken:n])
        taken = n + 1
        while True:
            while (more := lines(marks, end)) is not None:
                end = more.end()
            lines_end = end
            while taken < len(spans) and spans[taken][0] < end:  # parts of it
                end = max(end, spans[taken][1])
                taken += 1
            if end == lines_end:  # (else the last part, cut in its turn, ends past it)
                break
        whole.append((start, end))
    whole.extend(spans[taken:])
    return whole


class _JoinedBodies:
    """The bodies of `chains` (`_bodies`), each distinct one once, padded to whole groups
    of four and followed by _SEPARATOR, all joined (`joined`), and their lengths. The
    padding decodes to NULs, which spell no word; _SEPARATOR also ends a base64 run of
    one chain's decoding before the next one's (its hit would name the wrong chain).
    `chains` is emptied once the bodies are made: neither is held while they are
    decoded."""

    __slots__ = ("joined", "lengths")

    def __init__(self, chains: list[bytes]) -> None:
        bodies = _bodies(chains)
        chains.clear()
        # the versions of a file in one block share most of their runs: each once
        distinct = list(dict.fromkeys(bodies))
        del bodies
        self.lengths = list(map(len, distinct))
        self.joined = _SEPARATOR.join([body + _PADDING[len(body) % 4] for body in distinct])


def _bodies(chains: Sequence[bytes]) -> list[bytes]:
    """The base64 characters of each of `chains`, URL-safe ones made standard. Made in two
    passes over them all: a block holds hundreds of thousands of short runs, and calls
    per run cost the most."""
    if not chains:
        return []
    joined = b"\0".join(chains).translate(_URLSAFE).translate(None, _NOT_STANDARD_NOR_NUL)
    return joined.split(b"\0")


def _ends_through(lengths: Iterable[int], last: int) -> list[int]:
    """The running totals of `lengths`, up to the first past `last`: all that `bisect`
    needs to place an offset up to `last` (the pieces after the last hit are not summed)."""
    ends: list[int] = []
    for end in accumulate(lengths):
        ends.append(end)
        if end > last:
            break
    return ends


def _unbase64(groups: bytes | memoryview) -> bytes:
    """Standard base64 in whole groups of four, no padding, decoded: by pybase64's SIMD
    code, 20 times `binascii`'s speed (0.17 ns a character against 3.7; decoding the
    runs of ipython's blobs at four alignments took 0.58 s of `binascii`). Answers as
    `binascii.a2b_base64` does (tests/test_prefilter.py holds it to it)."""
    try:
        decoded: bytes = pybase64.b64decode(groups, validate=True)
    except ValueError:  # (never, for what `_JoinedBodies` joins: all in the alphabet)
        return binascii.a2b_base64(groups)
    return decoded


def _text_reach(size: int) -> int:
    """How many bytes on one side or the other of a word `size` bytes long any text token
    holding it covers: it decodes to _MIN_TOKEN_BYTES at least."""
    return (_MIN_TOKEN_BYTES - size + 1) // 2


def _utf8_piece(piece: bytes) -> bool:
    """Whether `piece` could be cut from UTF-8 text: after at most three continuation
    bytes, valid UTF-8 up to a last character the cut may leave incomplete."""
    import codecs

    start = 0
    while start < min(3, len(piece)) and 0x80 <= piece[start] < 0xC0:
        start += 1
    try:
        codecs.utf_8_decode(piece[start:], "strict", False)
    except UnicodeDecodeError:
        return False
    return True


# a hint's hex digits are searched as they are in each of their cases up to this many
# (`nxp`: 2, `nexpay`: 4; a lowercase copy of the bodies costs as much as eight searches,
# most of it fresh pages), and in a lowercase copy past it
_HEX_CASES_MOST = 8


def _hex_words(hints: Iterable[bytes]) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """The hex digits of each of `hints` (lowercase) in every case of their letters a-f,
    and those of the hints with more cases than _HEX_CASES_MOST, lowercase, apart."""
    each: list[bytes] = []
    lowered: list[bytes] = []
    for hint in hints:
        digits = hint.hex()
        letters = [n for n, c in enumerate(digits) if c in "abcdef"]
        if 2 ** len(letters) > _HEX_CASES_MOST:
            lowered.append(digits.encode())
            continue
        for mask in range(2 ** len(letters)):
            cased = list(digits)
            for bit, at in enumerate(letters):
                if mask >> bit & 1:
                    cased[at] = cased[at].upper()
            each.append("".join(cased).encode())
    return tuple(each), tuple(lowered)


def _letters(word: bytes) -> list[bytes]:
    return [word[n : n + 1] for n in range(len(word))]


def _run_spans(marks: bytes, joined: bool) -> list[tuple[int, int]]:
    """Where `_run_pattern` matches in `marks`, in order: by `regex` once it is loaded,
    else (a small scan: see _FOUND_BEFORE_REGEX) by `bytes.find` and `re`."""
    global _found_without_regex
    if "regex" in sys.modules or _found_without_regex >= _FOUND_BEFORE_REGEX:
        return _runs_by_regex(marks, joined)
    _found_without_regex += len(marks)
    return _runs_by_find(marks, joined)


def _runs_by_regex(marks: bytes, joined: bool) -> list[tuple[int, int]]:
    runs = _run_pattern(joined).finditer(marks, concurrent=len(marks) >= _CONCURRENT)
    return [run.span() for run in runs]


def _runs_by_find(marks: bytes, joined: bool) -> list[tuple[int, int]]:
    """`_runs_by_regex` without `regex`: each run's start by `bytes.find` (the pattern
    starts with _RUN, and matches wherever it is), the pattern matched from there."""
    match = _run_pattern_re(joined).match
    spans: list[tuple[int, int]] = []
    find = marks.find
    at = find(_RUN)
    while at >= 0:
        found = match(marks, at)
        end = found.end() if found is not None else at + len(_RUN)
        spans.append((at, end))
        at = find(_RUN, end)
    return spans


def _run_pattern_re(joined: bool) -> re.Pattern[bytes]:
    """`_run_pattern` compiled by `re` (stored between runs: see `compiled`)."""
    return compiled.pattern(_RUN + b"A*" + _TAIL + (_JOINED if joined else b""))


@cache
def _run_pattern(joined: bool) -> Any:
    """A run of marks (see `_MARKS`) long enough for the decoders, to its end, wrapped
    lines included, and (`joined`) the runs JSON's line breaks part from it (`_JOINED`);
    compiled on first use, off the hook's path."""
    import regex

    return regex.compile(_RUN + b"A*" + _TAIL + (_JOINED if joined else b""))


_LINES = rb"(?:" + _LINE + rb"){1,%d}" % _LINES_MOST


def _lines_match() -> Any:
    """`match` of further lines of a wrapped blob, one at least and at most _LINES_MOST
    of them: by `regex` once it is loaded, else by `re` (see `_run_spans`: the same
    match, a pattern with no choice but how many lines it takes, greedily)."""
    if "regex" in sys.modules:
        return _lines_pattern().match
    return compiled.pattern(_LINES).match


@cache
def _lines_pattern() -> Any:
    import regex

    return regex.compile(_LINES)


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
    end = at + min(UTF16_SNIFF, size if size is not None else len(data) - at)
    if data.find(b"\0", at, end) < 0:
        return False
    sample = data[at:end]
    pairs = len(sample) // 2
    if pairs < 4:
        return False
    high, low = sample[1 : pairs * 2 : 2].count(0), sample[0 : pairs * 2 : 2].count(0)
    return 2 * max(high, low) >= pairs


def suspect_objects(
    prefilter: Prefilter,
    block: bytes | memoryview,
    starts: Sequence[int],
    sizes: Sequence[int],
    *,
    windowed: bool = True,
) -> set[int]:
    """Indexes (into `starts`) of the objects of a block of blob contents (one after the
    other, each `sizes[n]` bytes from `starts[n]`) that may hold a key, as they are or
    decoded (see `Prefilter`). `block` may be a view of a buffer its caller reuses: what
    is kept of it is copied. An object of WINDOWED_LEAST bytes or more is judged a window
    at a time (`cleared_in_windows`), then whole only if a window may hold a key; the
    objects around it as a block of their own. Not `windowed`: the caller's windows of
    the content already said one may (`files` reads a big file so): judged whole."""
    if not windowed or all(size < WINDOWED_LEAST for size in sizes):  # (as a rule)
        return _suspect_block(prefilter, block, starts, sizes)
    view = memoryview(block)
    hit: set[int] = set()
    small: list[int] = []  # a run of objects under WINDOWED_LEAST, judged together
    for number, size in enumerate([*sizes, WINDOWED_LEAST]):
        if size < WINDOWED_LEAST:
            small.append(number)
            continue
        if small:
            low, high = starts[small[0]], starts[small[-1]] + sizes[small[-1]]
            found = _suspect_block(
                prefilter,
                view[low:high],
                [starts[n] - low for n in small],
                [sizes[n] for n in small],
            )
            hit.update(small[0] + n for n in found)
            small = []
        if number == len(sizes):
            break
        content = view[starts[number] : starts[number] + size]
        if not cleared_in_windows(prefilter, content) and _suspect_block(
            prefilter, content, [0], [size]
        ):
            hit.add(number)
    return hit


def lfs_pointers(block: bytes | memoryview, starts: Sequence[int]) -> set[int]:
    """Indexes of the objects that start as Git LFS pointers do (see `sources.lfs`): their
    content is kept apart, and the change that adds one is read for it. One search of the block
    for a pointer's first line right after an object's separator (a pointer is under 1 KB:
    a longer object starting so is a false alarm, told apart by `lfs.pointer_of`). Every
    object but a block's first follows a newline: `scan.SEPARATOR`'s, or the end of `git
    cat-file --batch`'s header line."""
    found: set[int] = set()
    if not starts:
        return found
    head = POINTER_HEAD
    if block[starts[0] : starts[0] + len(head)] == head:
        found.add(0)
    marker = b"\n" + head
    at = bytepasses.find(block, marker)
    while at >= 0:
        number = bisect_right(starts, at + 1) - 1
        if number >= 0 and starts[number] == at + 1:
            found.add(number)
        at = bytepasses.find(block, marker, at + len(marker))
    return found


def cleared_in_windows(prefilter: Prefilter, content: bytes | memoryview) -> bool:
    """True when no window of `content` (WINDOW_BYTES and the overlap each, see
    `window_suspect`) may hold a key: as `suspect_objects` of it whole would answer, with
    neither its lowercase copy nor its marks ever made whole (three times a big blob's
    size in memory, and fresh pages for each). False may be a false alarm, or `content`
    having nowhere to cut a window (base64 text)."""
    if zip_behind(content):  # (read whole: see `zip_behind`)
        return False
    overlap = prefilter.window_overlap
    start, first = 0, True
    binary = is_binary_start(content)
    while len(content) - start > WINDOW_BYTES + overlap:
        end = start + WINDOW_BYTES + overlap
        # (cut past the window's half: each window takes half a window more at least)
        cut = window_cut(content[:end], (start + end) // 2)
        window = content[start:cut]
        if cut < 0 or window_suspect(prefilter, window, first=first, binary=binary):
            return False
        start, first = cut - overlap, False
    return not window_suspect(prefilter, content[start:], first=first, binary=binary)


def zip_behind(tail: bytes | memoryview) -> bool:
    """Whether content whose last bytes are `tail` (all of it, or its last
    ZIP_BEHIND_TAIL) ends as a zip with something before it (`archives.ends_as_zip`):
    the decoders open it whole, so no window of it answers for it. Asked of the end
    before the windows: a zip's comment may put its end record in a window before the
    last."""
    return ends_as_zip(tail, 0, len(tail), partial(bytepasses.rfind, tail))


def _suspect_block(
    prefilter: Prefilter, block: bytes | memoryview, starts: Sequence[int], sizes: Sequence[int]
) -> set[int]:
    """`suspect_objects` of a block whose every object is read whole."""
    hit = set(_whole_at(block, starts))
    hit.update(_zips_behind(block, starts, sizes))
    lowered = bytepasses.lowered(block)
    keyworded, hinted = word_hits(prefilter, lowered, starts, sizes)
    hit |= keyworded
    del lowered  # a batch's worth of memory
    if len(hit) == len(starts):  # (a file that names Nexpay: no chain can add to it)
        return hit
    binary = _Binary(block, starts, sizes)
    # no chain is looked for in what is already suspect, nor in binary content; a small
    # one is searched with its neighbours (a piece searched apart costs more)
    blank = [
        (starts[n], starts[n] + size)
        for n, size in enumerate(sizes)
        if size >= _BLANK_LEAST and (n in hit or binary(n))
    ]
    for offset in prefilter.hiding_offsets(block, blank=blank):
        number = max(bisect_right(starts, offset) - 1, 0)
        if number not in hit and not binary(number):
            hit.add(number)
    for number, (at, size) in enumerate(zip(starts, sizes, strict=True)):
        if number not in hit and _is_utf16(block, at, size):
            hit.add(number)
    for number in sorted(hinted - hit):
        start = starts[number]
        if binary(number):
            continue
        if prefilter.escapes_show_keyword(bytes(block[start : start + sizes[number]])):
            hit.add(number)
    return hit


class _Binary:
    """Whether the n-th object of a block is binary as the decoders tell it (a NUL in its
    first BINARY_SNIFF bytes): the decoders decode no token of such content (no base64,
    no escape), only what they open whole (an archive, a gzip stream, UTF-16 text), so
    neither its runs nor its escapes are searched. 65 MB of the bench tree's 104 are
    binary (a static library, shared objects). Asked only of a big object and of one with
    a hit, once each: not of each of a history's thousands of small blobs."""

    __slots__ = ("_find", "_known", "_sizes", "_starts")

    def __init__(
        self, block: bytes | memoryview, starts: Sequence[int], sizes: Sequence[int]
    ) -> None:
        self._find = partial(bytepasses.find, block, b"\0")
        self._starts, self._sizes = starts, sizes
        self._known: dict[int, bool] = {}

    def __call__(self, number: int) -> bool:
        known = self._known.get(number)
        if known is None:
            at = self._starts[number]
            end = at + min(self._sizes[number], BINARY_SNIFF)
            known = self._known[number] = self._find(at, end) >= 0
        return known


def is_binary_start(head: bytes | memoryview) -> bool:
    """Whether content starting with `head` (its first BINARY_SNIFF bytes at least,
    or all of it) is binary as the decoders tell it (see `_Binary`)."""
    return bytepasses.find(head, b"\0", 0, min(len(head), BINARY_SNIFF)) >= 0


def window_cut(window: bytes | memoryview, start: int) -> int:
    """Where a window of a big file may end (see `window_suspect`): the offset just past
    the last byte at `start` or after that no base64 chain holds (marked "." in
    `_MARKS`); -1 when there is none."""
    marks = bytepasses.translated(window[start:], _MARKS)
    last = marks.rfind(b".")
    return -1 if last < 0 else start + last + 1


def window_suspect(
    prefilter: Prefilter, window: bytes | memoryview, *, first: bool, binary: bool
) -> bool:
    """Whether a window of a big file makes it suspect, read a window at a time into a
    buffer that is reused (a 43 MB file read and searched whole took 110 ms, mostly fresh
    pages for the content and its two translations; in 1 MB windows, 35). False is as
    `suspect_objects` of the whole file answers, when every window of it is False:
    - each window ends just past a byte that no chain holds (`window_cut`), so each chain
      is whole in the window where it ends, and found there as in the whole file (a
      chain's pattern spans no such byte, and has no look-behind);
    - each window but the first starts `window_overlap` bytes before the end of the one
      before it, so a keyword (which may hold such bytes: a user's rule) and a hint with
      an escape near it are whole in a window; a piece of a chain cut by that start can
      only add a false alarm;
    - what the decoders open whole is told from the file's start (`first`), or from its
      end for a zip with something before it (`zip_behind`, asked by the caller);
    - an escape near a hint makes a window suspect: whether it shows anything once
      decoded is told of the whole file (the caller's fallback);
    - in a `binary` file (`is_binary_start` of its first window) only keywords are
      looked for: the decoders decode no token of it (see `_Binary`).
    True may be a false alarm: the caller then reads the file whole and asks again."""
    size = len(window)
    if first and (next(_whole_at(window, [0]), None) is not None or _is_utf16(window, 0, size)):
        return True
    lowered = bytepasses.lowered(window)
    keyworded, hinted = word_hits(prefilter, lowered, [0], [size])
    del lowered
    if keyworded or binary:
        return bool(keyworded)
    return bool(hinted or prefilter.hiding_offsets(window))


def _zips_behind(
    block: bytes | memoryview, starts: Sequence[int], sizes: Sequence[int]
) -> list[int]:
    """The indexes of the objects that end as a zip with something before it does (the
    decoders open them whole: `archives.ends_as_zip`). Only an object that holds an end
    record's magic can, and most blocks hold none: found in one pass over the block, not
    looked for in each object's last 64 KiB (7 ms of the 40 that the bench tree's 39 MB
    of text took)."""
    rfind = partial(bytepasses.rfind, block)
    found: list[int] = []
    at = bytepasses.find(block, END_MAGIC)
    while at >= 0:
        number = max(bisect_right(starts, at) - 1, 0)
        start, end = starts[number], starts[number] + sizes[number]
        if start <= at < end:
            if ends_as_zip(block, start, sizes[number], rfind):
                found.append(number)
            at = end - 1  # (the next object's, if any)
        at = bytepasses.find(block, END_MAGIC, at + 1)
    return found


def _is_utf16(block: bytes | memoryview, at: int, size: int) -> bool:
    """Whether the object of `size` bytes at `at` is UTF-16 text as the decoders tell it
    (`utf16_codec`, on the same first bytes), which they then decode whole: exactly, not
    as `starts_utf16` guesses (binaries hold NULs in every other byte often enough: 76 of
    the standard library's shared objects)."""
    end = at + min(UTF16_SNIFF, size)
    if isinstance(block, memoryview):  # (a buffer reused: it has no `find`)
        if bytepasses.find(block, b"\0", at, end) < 0:
            return False
        return utf16_codec(bytes(block[at:end])) is not None
    if block.find(b"\0", at, end) < 0:  # (called for every object: the method is quickest)
        return False
    return utf16_codec(block[at:end]) is not None


def _whole_at(block: bytes | memoryview, starts: Sequence[int]) -> Iterator[int]:
    """The indexes of the `starts` in `block` at which content the decoders open whole
    starts (see `_WHOLE_HEAD`)."""
    head = _WHOLE_HEAD.match
    for number, at in enumerate(starts):
        if head(block, at) or block[at + 257 : at + 262] == b"ustar":
            yield number
