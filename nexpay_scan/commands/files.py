"""`nexpay-scan files`: files and folders as they are on disk."""

from __future__ import annotations

import os
from collections.abc import Sequence

from nexpay_scan.commands.pipeline import run_scan
from nexpay_scan.errors import FatalError
from nexpay_scan.sources.git import known_git_dir, repo_top

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.commands.options import ScanOptions
    from nexpay_scan.paths import StrPath


def _config_root(start: str) -> tuple[str, bool]:
    """Where `.nexpay-scan.toml` is looked for (the enclosing repository, else `start`),
    and whether that folder is a repository's top (asked of git once)."""
    if not os.path.isdir(start):
        folder = os.getcwd()
        return folder, _in_repository(folder)
    try:
        return repo_top(start), True
    except FatalError:
        return start, False


def files(options: ScanOptions, paths: Sequence[str]) -> int:
    """`nexpay-scan files PATH...`: files and folders as they are on disk."""
    from nexpay_scan.sources.files import FileSource

    first = next((p for p in paths if p != "-"), ".")
    start = first if os.path.isdir(first) else os.path.dirname(first) or "."
    root, top = _config_root(start)
    base = root if top else None  # else the current folder
    source = FileSource(paths, root, jobs=options.jobs, base=base)
    if top:
        source.git_dir = known_git_dir(root)
    elif os.path.isdir(start):  # in no repository: nowhere to remember what it found
        options = options._replace(remember_found=False)
    return run_scan(source, options)


def _in_repository(folder: StrPath) -> bool:
    try:
        return os.path.samefile(repo_top(folder), folder)
    except (FatalError, OSError):
        return False
