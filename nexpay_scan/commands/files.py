"""`nexpay-scan files`: files and folders as they are on disk."""

from __future__ import annotations

import os
from collections.abc import Sequence

from nexpay_scan.commands.pipeline import run_scan
from nexpay_scan.errors import FatalError
from nexpay_scan.sources.git import repo_root

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.commands.options import ScanOptions
    from nexpay_scan.paths import StrPath


def _config_root(start: str) -> StrPath:
    """Where `.nexpay-scan.toml` is looked for: the enclosing repository, else `start`."""
    if not os.path.isdir(start):
        return os.getcwd()
    try:
        return repo_root(start)
    except FatalError:
        return start


def files(options: ScanOptions, paths: Sequence[str]) -> int:
    """`nexpay-scan files PATH...`: files and folders as they are on disk."""
    from nexpay_scan.sources.files import FileSource

    first = next((p for p in paths if p != "-"), ".")
    root = _config_root(first if os.path.isdir(first) else os.path.dirname(first) or ".")
    base = os.fspath(root) if _in_repository(root) else None  # else the current folder
    return run_scan(FileSource(paths, root, jobs=options.jobs, base=base), options)


def _in_repository(folder: StrPath) -> bool:
    try:
        return os.path.samefile(repo_root(folder), folder)
    except (FatalError, OSError):
        return False
