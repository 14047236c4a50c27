"""The pipeline's middle: bytes with provenance in, filtered findings out."""

from __future__ import annotations

from collections.abc import Container, Iterator, Sequence
from itertools import accumulate

from nexpay_scan.config import Settings
from nexpay_scan.decoders import DecodedView, decoded_views, hints_for
from nexpay_scan.detector import Candidate, Detector
from nexpay_scan.filters import (
    Lines,
    allow_comment,
    named_outside,
    path_allowance,
    place_drop_reason,
    value_drop_reason,
)
from nexpay_scan.findings import Commit, Finding, Secret, Suppression
from nexpay_scan.records import Record
from nexpay_scan.stats import Skipped, Stats, Summary

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.sources.base import Fragment

__all__ = ["Scanner", "Sighting", "Skipped", "Stats", "Summary", "looks_binary"]

BINARY_SNIFF = 8000  # as git does: a NUL byte in the first 8000 bytes means binary
SEPARATOR = b"\0\n"  # between the contents the prefilter reads in one block
_WARM_RUN = b"data = " + b"QUJD" * 16 + b"\n"  # a base64 run (of "ABC" over and over)


def looks_binary(data: bytes) -> bool:
    """True for content git would call binary."""
    return b"\0" in data[:BINARY_SNIFF]


def decoded_note(view: DecodedView) -> str:
    """What a finding's notes say about a key found in decoded text ("decoded from base64",
    "decoded from zip:deploy/app.env>base64": an archive member is named in the chain);
    in an archive member stored as is, where the member is ("in tar:app/.env")."""
    return f"in {view.encoding}" if _stored(view) else f"decoded from {view.encoding}"


def _stored(view: DecodedView) -> bool:
    """Whether `view` is the bytes of an archive member stored as is in the scanned bytes
    (an uncompressed tar's, a zip's stored members, nested so): the plain scan sees them
    too, on the same lines."""
    return _made_only_by(view, ("stored",))


def _unpacked(view: DecodedView) -> bool:
    """Whether `view` is only unpacked from archives and compressed streams (members,
    streams, nested so), not decoded from a token or transcoded: its sightings all sit at
    the archive's start, not at a place of their own."""
    return _made_only_by(view, ("whole", "stored"))


def _made_only_by(view: DecodedView, kinds: tuple[str, ...]) -> bool:
    """Whether every span of `view` and of each view it was decoded from is of `kinds`."""
    current: DecodedView | None = view
    while current is not None:
        if not current.spans or any(span.kind not in kinds for span in current.spans):
            return False
        current = current.parent
    return True


def _in_utf16(view: DecodedView) -> bool:
    while view.parent is not None:
        view = view.parent
    return bool(view.spans) and view.spans[0].kind == "utf16"


def _stored_member(found: Finding, sighting: Sighting) -> None:
    """What a key's sighting in an archive member stored as is (the same bytes the plain
    scan found it in) adds to that finding: the member it is in, and the member's own
    allow comment on its line (the archive's "line" runs through binary headers)."""
    if sighting.note is not None and sighting.note not in found.notes:
        found.notes.append(sighting.note)
    if sighting.allowed and found.suppression is None:
        found.suppression = Suppression("inSource", sighting.allowed)


def _joined(contents: Sequence[bytes]) -> tuple[bytes, list[int]]:
    """`contents` in one block, each after a NUL and a newline (no base64 run, escape,
    word or match runs on from one into the next), and where each starts in it."""
    block = SEPARATOR + SEPARATOR.join(contents)
    ends = accumulate(len(SEPARATOR) + len(content) for content in contents)
    starts = [len(SEPARATOR), *(end + len(SEPARATOR) for end in ends)][: len(contents)]
    return block, starts


class Sighting(Record):
    """A match that passed every filter but the path ones: where it is and, if it was
    found in decoded text, how it was decoded."""

    candidate: Candidate
    line: int
    column: int
    note: str | None
    git_line: int  # the line as git counts lines (`\n` only): what a patch's lines name
    allowed: str | None = None  # why an allow comment on its line allows it
    # in an archive member stored as is: the same bytes the plain scan sees (`_stored`)
    stored: bool = False
    # only unpacked from archives or streams (`_unpacked`): placed at the archive's start
    unpacked: bool = False


class Scanner:
    """Turns one piece of content and its provenance into findings. It holds no run state:
    what a scan reads and passes over is counted in the `Stats` its caller (a source)
    gives; only the detector remembers, for the run, the patterns it had to stop
    (`detector.timeouts`, which the pipeline adds to the report's summary)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.detector = Detector(settings.rules)
        self.hints = hints_for(self.detector.keywords)  # where escapes are decoded
        self._proving: Detector | None = None  # the rules with a checksum (made when asked)

    def scan_fragment(self, fragment: Fragment, stats: Stats | None = None) -> list[Finding]:
        """Findings in a fragment a source hands over (see `scan`)."""
        return self.scan(
            fragment.data, fragment.path, lines=fragment.lines, commit=fragment.commit, stats=stats
        )

    def scan(
        self,
        data: bytes,
        path: str,
        *,
        lines: Container[int] | None = None,
        commit: Commit | None = None,
        stats: Stats | None = None,
    ) -> list[Finding]:
        """Findings in `data` (the content of `path`) as it is and as it decodes (base64,
        percent-escapes, string escapes, UTF-16, archives); with `lines`, only on those
        lines (as git numbers them). A decoded finding sits at its encoded text and says how
        it was decoded. The bytes read and what decoding passed over are counted in `stats`
        (the caller's; None: not counted, as for a probe)."""
        if stats is None:
            stats = Stats()
        stats.bytes_scanned += len(data)
        guard = self.detector.guard
        allowed = self.settings.path_allowance(path, guard)
        found: list[Finding] = []
        seen: dict[tuple[str, str, int], Finding] = {}
        plain: dict[tuple[str, str], Finding] = {}  # each credential's first plain sighting
        undecoded: list[tuple[str, str]] = []  # what decoding passed over, named below
        for sighting in self.sightings(data, undecoded):
            candidate = sighting.candidate
            if lines is not None and sighting.git_line not in lines:
                continue
            # one finding per credential and line: a key visible as it is, or in two views
            # of the same token, is reported once
            key = (candidate.rule.id, candidate.value, sighting.line)
            if sighting.note is not None and key in seen:
                if sighting.stored:
                    _stored_member(seen[key], sighting)
                continue
            # a key an archive or a stream shows as it is too (an LZ4 literal, a deflate
            # block stored as is) is reported once, where the plain scan placed it, not again
            # at the archive's start: which member held it is in that finding's notes
            shown = plain.get((candidate.rule.id, candidate.value))
            if sighting.unpacked and shown is not None:
                also = f"also {sighting.note}"
                if also not in shown.notes:
                    shown.notes.append(also)
                continue
            finding = self._finding(candidate, path, sighting.line, sighting.column, commit)
            seen.setdefault(key, finding)
            if sighting.note is None:
                plain.setdefault((candidate.rule.id, candidate.value), finding)
            if sighting.note is not None:
                finding.notes.append(sighting.note)
            why = allowed or path_allowance(candidate, path, guard)
            if why:  # still reported, as suppressed and why, never dropped in silence
                finding.suppression = Suppression("external", why)
            elif sighting.allowed:
                finding.suppression = Suppression("inSource", sighting.allowed)
            found.append(finding)
        sha = commit.sha if commit is not None else None
        for where, reason in undecoded:
            stats.skip(reason, path, commit=sha, inside=where)
        return found

    def could_hold_keys(self, contents: Sequence[bytes], *, windowed: bool = True) -> set[int]:
        """The indexes of `contents` in which some rule may find something, as they are or
        decoded: the history engines' prefilter (`nexpay_scan.prefilter`), which answers
        for everything the decoders could turn into a keyword, in a few cheap passes over
        them all at once (for small files, a call each would cost more than the passes).
        Not on the hook's path. `windowed`: see `prefilter.suspect_objects`."""
        if len(contents) == 1:  # (not copied: it may be big)
            return self.could_hold_keys_in(contents[0], [0], [len(contents[0])], windowed=windowed)
        block, starts = _joined(contents)
        return self.could_hold_keys_in(block, starts, [len(c) for c in contents], windowed=windowed)

    def could_hold_keys_in(
        self,
        block: bytes | memoryview,
        starts: Sequence[int],
        sizes: Sequence[int],
        *,
        windowed: bool = True,
    ) -> set[int]:
        """`could_hold_keys` of contents laid out in one block as `_joined` lays them
        out (each `sizes[n]` bytes from `starts[n]`, after SEPARATOR)."""
        from nexpay_scan.prefilter import prefilter_for, suspect_objects  # (made once a run)

        prefilter = prefilter_for(self.detector.keywords)
        return suspect_objects(prefilter, block, starts, sizes, windowed=windowed)

    def hold_proven_keys(self, texts: Sequence[bytes]) -> set[int]:
        """The indexes of `texts` (decoded tokens, archive members) in which a rule with a
        checksum finds a value whose checksum matches: a key that needs nothing around it
        to be one. In one search of them all, by those rules alone. Asked only past the
        token cap or the member cap, which such keys do not count against."""
        from bisect import bisect_right

        if self._proving is None:
            self._proving = Detector([rule for rule in self.settings.rules if rule.checksum])
        block, starts = _joined(texts)
        guard = self.detector.guard
        return {
            bisect_right(starts, candidate.start) - 1
            for candidate in self._proving.candidates(block)
            if not value_drop_reason(candidate, guard)
        }

    def window_overlap(self) -> int:
        """What a window of a big file repeats of the one before it (see
        `window_may_hold_keys`)."""
        from nexpay_scan.prefilter import prefilter_for

        return prefilter_for(self.detector.keywords).window_overlap

    def window_may_hold_keys(
        self, window: bytes | memoryview, *, first: bool, binary: bool
    ) -> bool:
        """False when no key can hide in this window of a big file read a window at a time
        (see `prefilter.window_suspect`: every window False, and the file's end no zip's
        (`prefilter.zip_behind`), answers as `could_hold_keys` of the whole file); True
        may be a false alarm. `binary`: the file's first window is binary
        (`prefilter.is_binary_start`)."""
        from nexpay_scan.prefilter import prefilter_for, window_suspect

        prefilter = prefilter_for(self.detector.keywords)
        return window_suspect(prefilter, window, first=first, binary=binary)

    def warm_up(self, *, rules: bool = True) -> None:
        """Searches a sample holding every keyword, as content and through the prefilter:
        what the search imports and compiles late (`regex`, the rules, the decoders) is
        done once, before workers are forked, in memory they then share. Not `rules`:
        the prefilter only, without `regex` (see `prefilter._FOUND_BEFORE_REGEX`): the
        rules are then loaded by the process that first meets a keyword, if one does."""
        keywords = self.detector.keywords
        sample = b"\n".join(keywords) + b"\n"
        if not rules:
            self.could_hold_keys([b"x = 1\n", _WARM_RUN])
            return
        import regex  # noqa: F401 - imported for the side effect described above

        # and content naming no keyword, with a base64 run: the prefilter's search for
        # runs and its decoding (a forked reader warmed here searched its first batch in
        # 15 ms, against 21 cold; 9-10 later)
        self.could_hold_keys([sample, _WARM_RUN])
        any(True for _ in self.sightings(sample))

    def sightings(
        self, data: bytes, undecoded: list[tuple[str, str]] | None = None
    ) -> Iterator[Sighting]:
        """Every match that passes the filters that do not depend on where `data` lives:
        first as it is, then in what it decodes to (only computed if asked for). Linear in
        `data` whatever it holds: a candidate is placed only once its value passed.
        `undecoded` receives what decoding passed over (see `decoded_views`)."""
        guard = self.detector.guard
        lines = Lines(data, guard)
        for candidate in self.detector.candidates(data, binary=looks_binary(data)):
            if value_drop_reason(candidate, guard):
                continue
            place = lines.place(candidate.start)
            if not place_drop_reason(candidate, place):
                allowed = allow_comment(candidate, place)
                yield Sighting(candidate, place.line, place.column, None, place.git_line, allowed)
        origins = Lines(data, guard)  # where decoded keys sit in `data`
        views = decoded_views(
            data,
            hints=self.hints,
            skipped=undecoded,
            worth=self.could_hold_keys,
            keyed=self.hold_proven_keys,
        )
        for view in views:
            yield from self._decoded(view, data, origins)

    def _decoded(self, view: DecodedView, data: bytes, origins: Lines) -> Iterator[Sighting]:
        """Sightings in text decoded from `data`, placed at the encoded text in `data`."""
        guard = self.detector.guard
        lines = Lines(view.data, guard)
        note, stored, unpacked = decoded_note(view), _stored(view), _unpacked(view)
        for candidate in self.detector.candidates(view.data, binary=looks_binary(view.data)):
            if not view.decoded(candidate.start, candidate.end):
                continue  # context copied around a token: the plain scan looked there
            if value_drop_reason(candidate, guard):
                continue
            place = lines.place(candidate.start)
            reason = place_drop_reason(candidate, place)
            # named by the structure around its encoded form (a Basic header's request)
            if reason and not named_outside(
                candidate, reason, place, data, view.origin(candidate.start)
            ):
                continue
            origin = origins.place(view.origin(candidate.start))
            line, column = origin.line, origin.column
            if _in_utf16(view):  # lines and columns count the UTF-16 file's characters
                line, column = view.position(data, candidate.start)
            allowed = allow_comment(candidate, place) or allow_comment(candidate, origin)
            yield Sighting(
                candidate, line, column, note, origin.git_line, allowed, stored, unpacked
            )

    def _finding(
        self, candidate: Candidate, path: str, line: int, column: int, commit: Commit | None
    ) -> Finding:
        rule = candidate.rule
        return Finding(
            rule_id=rule.id,
            description=rule.description,
            kind=rule.kind,
            severity=rule.severity,
            file=path,
            line=line,
            column=column,
            secret=Secret(candidate.value),
            commit=commit,
            pair=Secret(candidate.pair) if candidate.pair else None,
        )
