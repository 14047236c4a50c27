"""Files and folders as they are on disk, and standard input."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence

from nexpay_scan.errors import FatalError
from nexpay_scan.findings import Finding
from nexpay_scan.scan import Scanner

STDIN = "-"
_SKIPPED_DIRS = frozenset({".git"})


def scan_paths(paths: Sequence[str], scanner: Scanner) -> list[Finding]:
    """Findings in every file under `paths`; a file in a folder is named relative to it."""
    findings: list[Finding] = []
    for given in paths:
        if given == STDIN:
            findings.extend(_scan_content(sys.stdin.buffer.read(), "<stdin>", scanner))
        elif os.path.isdir(given):
            for path, shown in _walk(given, scanner):
                findings.extend(_scan_file(path, shown, scanner, named=False))
        elif os.path.exists(given):
            findings.extend(_scan_file(given, given, scanner, named=True))
        else:
            raise FatalError(f"{given}: no such file or folder")
    return findings


def _walk(root: str, scanner: Scanner) -> Iterator[tuple[str, str]]:
    """Regular files under `root` (sorted, no symlinks followed), with their shown names
    (relative to `root`, with `/`). Plain strings, not `pathlib`: tens of thousands of
    files pay for every path object."""
    prefix = len(os.path.join(root, ""))
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            scanner.summary.skip(f"unreadable folder ({error.strerror})")
            continue
        subfolders = []
        for entry in entries:
            if entry.is_symlink():
                scanner.summary.skip("symbolic link")
            elif entry.is_dir():
                if entry.name not in _SKIPPED_DIRS:
                    subfolders.append(entry.path)
            elif entry.is_file():
                yield entry.path, _shown(entry.path[prefix:])
            else:
                scanner.summary.skip("not a regular file")
        stack.extend(reversed(subfolders))


def _shown(relative: str) -> str:
    return relative if os.sep == "/" else relative.replace(os.sep, "/")


def _scan_file(path: str, shown: str, scanner: Scanner, *, named: bool) -> list[Finding]:
    try:
        if scanner.too_big(os.stat(path).st_size):
            return []
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as error:
        if named:
            raise FatalError(f"{shown}: cannot read ({error.strerror})") from None
        scanner.summary.skip(f"unreadable ({error.strerror})")
        return []
    return _scan_content(data, shown, scanner)


def _scan_content(data: bytes, shown: str, scanner: Scanner) -> list[Finding]:
    scanner.summary.files_scanned += 1
    return scanner.scan(data, shown)
