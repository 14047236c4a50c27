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
  holds), so that no match starts at a token cut in two;
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
from nexpay_scan.scan import Scanner
from nexpay_scan.stats import Stats

WINDOW_BYTES = 8 << 20
OVERLAP_BYTES = 64 << 10
# a byte no token runs over: where a window may start when no line starts near
_TOKEN_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+/=.%")


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
    for data, owned, last in _windows(pieces, WINDOW_BYTES, OVERLAP_BYTES):
        if first and not last:  # (content in one window is searched whole)
            _name_what_windows_miss(data, path, sha, scanner, stats)
        elif last and not first:
            _name_zip_behind(data, path, sha, scanner, stats)
        first = False
        end = Lines(data).place(owned) if not last else None
        if scanner.could_hold_keys([data]):
            scanned = scanner.scan(data, path, commit=commit, stats=stats)
            stats.bytes_scanned -= len(data) - owned  # (the overlap is counted once)
        else:
            scanned = []
            stats.bytes_scanned += owned
        for finding in scanned:
            if end is not None and (finding.line, finding.column) >= (end.line, end.column):
                continue  # the next window's (it may be cut off here)
            if finding.line == 1:
                finding.column += column - 1
            finding.line += line - 1
            findings.append(finding)
        if end is not None:
            column = column + end.column - 1 if end.line == 1 else end.column
            line += end.line - 1
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


def _windows(
    pieces: Iterable[bytes], window: int, overlap: int
) -> Iterator[tuple[bytes, int, bool]]:
    """(window, how many of its bytes it owns, whether it is the last) over the content
    `pieces` make up; every piece is read, and at most a window and a piece are held."""
    held = bytearray()
    source = iter(pieces)
    ended = False
    while True:
        while not ended and len(held) < window + overlap:
            piece = next(source, None)
            if piece is None:
                ended = True
            else:
                held += piece
        if ended and len(held) <= window + overlap:
            yield bytes(held), len(held), True
            return
        data = bytes(held[: window + overlap])
        start = _next_start(data, window, overlap // 2)
        yield data, start, False
        del held[:start]


def _next_start(data: bytes, low: int, reach: int) -> int:
    """Where the window after `data` starts: at or past `low`, before `low + reach`; just
    past a line break if there is one, else past a byte no token holds, else at `low`
    (moved back to a character's start)."""
    for brk in (b"\n", b"\r"):
        found = data.find(brk, low, low + reach)
        if found >= 0:
            return found + 1
    for at in range(low, low + reach):
        if data[at] not in _TOKEN_BYTES and data[at] < 0x80:
            return at + 1
    while low > 0 and 0x80 <= data[low] < 0xC0:  # (not inside a UTF-8 character)
        low -= 1
    return low


def _name_what_windows_miss(
    data: bytes, path: str, sha: str | None, scanner: Scanner, stats: Stats
) -> None:
    """Names what the first window of big content shows no window can search: an
    archive's members, UTF-16 text past the first window."""
    from nexpay_scan.decoders.archives import is_gzip, is_zip
    from nexpay_scan.decoders.utf16 import utf16_codec

    limit = scanner.settings.max_file_size
    if is_zip(data) or is_gzip(data):
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
