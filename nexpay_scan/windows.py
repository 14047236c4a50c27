"""Content over `max_file_size`, searched a window at a time: never held whole, never
passed over unread.

A 60 MB log dump that holds a key is content like any other: padding a file past the size
limit must not walk a key past the gate. Content bigger than the limit comes in as pieces
(a file read a block at a time, a `git cat-file` answer as it streams) and is searched in
windows of WINDOW_BYTES that overlap by OVERLAP_BYTES:

- each window is searched as a whole content is (the prefilter, the rules, the decoders),
  and owns the findings that start before the next window's start; the next window starts
  at least OVERLAP_BYTES / 2 before this one ends, so a match shorter than that is whole
  in the window that owns it, and a match cut off at a window's end starts in what the
  next window owns (it is dropped here and found whole there);
- the next window starts at a line's start where one is near (else past a byte no token
  holds), so that no match starts at a token cut in two; in a run of token bytes longer
  than half the overlap, it starts half the overlap before, and owns only from there;
- lines and columns count from the content's start, as a whole scan counts them.

What a window cannot see is named, not passed in silence: an archive this big is not
opened whole (a zip's directory is at its end; a window opens the members it holds whole
by their local headers, a gzip stream only in the first), and UTF-16 text is not decoded
past its first window. A legacy value's
context (the name or section that holds it) is looked for within its window.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from nexpay_scan.filters import Lines
from nexpay_scan.findings import Commit, Finding
from nexpay_scan.records import Record
from nexpay_scan.scan import Scanner
from nexpay_scan.stats import Stats

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

WINDOW_BYTES = 8 << 20
OVERLAP_BYTES = 64 << 10
# a byte no token runs over: where a window may start when no line starts near
_TOKEN_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+/=.%")


class _Window(Record):
    """One window of big content: its bytes, the part of them it owns (findings that
    start there are its own), and where the next window starts in them."""

    data: bytes
    owned_from: int
    owned_to: int  # (len(data) for the last)
    next_at: int  # (len(data) for the last)
    last: bool


def scan_in_windows(
    scanner: Scanner,
    pieces: Iterable[bytes],
    path: str,
    *,
    commit: Commit | None = None,
    stats: Stats,
) -> list[Finding]:
    """Findings in the content that `pieces` make up (all of them are read, whatever is
    found), searched a window at a time, placed as in the whole content; counted as one
    file in `stats`."""
    findings: list[Finding] = []
    line, column = 1, 1  # where the current window starts in the whole content
    first = True
    sha = commit.sha if commit is not None else None
    for window in _windows(pieces, WINDOW_BYTES, OVERLAP_BYTES):
        data, last = window.data, window.last
        if first and not last:  # (content in one window is searched whole)
            _name_what_windows_miss(data, path, sha, scanner, stats)
        elif last and not first:
            _name_zip_behind(data, path, sha, scanner, stats)
        first = False
        lines = Lines(data)
        start = lines.place(window.owned_from) if window.owned_from else None
        following = lines.place(window.next_at) if not last else None
        end = lines.place(window.owned_to) if not last else None
        owned = window.owned_to - window.owned_from
        if scanner.could_hold_keys([data]):
            scanned = scanner.scan(data, path, commit=commit, stats=stats)
            stats.bytes_scanned -= len(data) - owned  # (each byte counted once)
        else:
            scanned = []
            stats.bytes_scanned += owned
        for finding in scanned:
            at = (finding.line, finding.column)
            if start is not None and at < (start.line, start.column):
                continue  # the window before's (this one may start within it)
            if end is not None and at >= (end.line, end.column):
                continue  # the next window's (this one may end within it)
            if finding.line == 1:
                finding.column += column - 1
            finding.line += line - 1
            findings.append(finding)
        if following is not None:
            column = column + following.column - 1 if following.line == 1 else following.column
            line += following.line - 1
    stats.files_scanned += 1
    return findings


def scan_read(
    scanner: Scanner,
    data: bytes | Iterator[bytes],
    path: str,
    *,
    commit: Commit | None = None,
    stats: Stats,
) -> list[Finding]:
    """Findings in one content as a reader gives it (`BlobReader.read_or_stream`): whole,
    or over the size limit a piece at a time, searched in windows."""
    if isinstance(data, bytes):
        stats.files_scanned += 1
        return scanner.scan(data, path, commit=commit, stats=stats)
    return scan_in_windows(scanner, data, path, commit=commit, stats=stats)


def read_pieces(stream: BinaryIO, head: bytes = b"") -> Iterator[bytes]:
    """`head` (bytes already read from `stream`), then the rest of `stream` a window at a
    time: content over the size limit as `scan_in_windows` takes it."""
    if head:
        yield head
    while piece := stream.read(WINDOW_BYTES):
        yield piece


def _windows(pieces: Iterable[bytes], window: int, overlap: int) -> Iterator[_Window]:
    """The windows of the content `pieces` make up: every piece is read, and at most a
    window and a piece are held. Each window but the last owns up to a boundary
    (`_boundary`) at least `overlap` / 2 before its end, so a match that starts before it
    is whole in it. The next window starts at that boundary when it follows a line break
    or a byte no token holds (no match starts in a token cut in two, and a whole archive
    a window holds starts with it); else `overlap` / 2 before it, and owns from it: a
    match that starts in the cut token's part before the boundary is not its own."""
    held = bytearray()
    source = iter(pieces)
    ended = False
    owned_from = 0
    while True:
        while not ended and len(held) < window + overlap:
            piece = next(source, None)
            if piece is None:
                ended = True
            else:
                held += piece
        if ended and len(held) <= window + overlap:
            yield _Window(bytes(held), owned_from, len(held), len(held), last=True)
            return
        data = bytes(held[: window + overlap])
        boundary, clean = _boundary(data, window, overlap // 2)
        next_at = boundary if clean else _character_start(data, boundary - overlap // 2)
        yield _Window(data, owned_from, boundary, next_at, last=False)
        owned_from = boundary - next_at
        del held[:next_at]


def _boundary(data: bytes, low: int, reach: int) -> tuple[int, bool]:
    """Where a window's own part ends: at or past `low`, before `low + reach`; just past a
    line break if there is one, else past a byte no token holds (clean: True), else at
    `low` (moved back to a character's start; False)."""
    for brk in (b"\n", b"\r"):
        found = data.find(brk, low, low + reach)
        if found >= 0:
            return found + 1, True
    for at in range(low, low + reach):
        if data[at] not in _TOKEN_BYTES and data[at] < 0x80:
            return at + 1, True
    return _character_start(data, low), False


def _character_start(data: bytes, at: int) -> int:
    """`at`, or the start of the UTF-8 character it is inside of."""
    while at > 0 and 0x80 <= data[at] < 0xC0:
        at -= 1
    return at


def _name_what_windows_miss(
    data: bytes, path: str, sha: str | None, scanner: Scanner, stats: Stats
) -> None:
    """Names what the first window of big content shows no window can search: an
    archive's members, UTF-16 text past the first window."""
    from nexpay_scan.decoders.archives import is_7z, is_stream, is_zip
    from nexpay_scan.decoders.utf16 import utf16_codec

    limit = scanner.settings.max_file_size
    if is_zip(data) or is_stream(data) or is_7z(data):
        stats.skip(_archive_reason(limit), path, commit=sha)
    elif utf16_codec(data) is not None:
        stats.skip(
            f"UTF-16 text larger than {limit} bytes: decoded in its first window only, "
            "searched as bytes after it",
            path,
            commit=sha,
        )


def _name_zip_behind(
    data: bytes, path: str, sha: str | None, scanner: Scanner, stats: Stats
) -> None:
    """Names big content that ends as a zip (a zipapp, a self-extracting archive)."""
    from nexpay_scan.decoders.archives import is_zip_behind

    if is_zip_behind(data):
        stats.skip(_archive_reason(scanner.settings.max_file_size), path, commit=sha)


def _archive_reason(limit: int) -> str:
    return (
        f"an archive larger than {limit} bytes: searched a window at a time, its "
        "members opened only where a window holds one whole"
    )
