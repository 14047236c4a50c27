"""`nexpay-scan hook`: the entry point for the pre-commit framework."""

from __future__ import annotations

import os
from collections.abc import Sequence

from nexpay_scan.commands.pipeline import run_scan
from nexpay_scan.commands.staged import scan_staged
from nexpay_scan.sources.git import repo_root

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.commands.options import ScanOptions


def hook(options: ScanOptions, filenames: Sequence[str]) -> int:
    """Entry for the pre-commit framework: staged lines in a commit, else the files given."""
    if "GIT_INDEX_FILE" in os.environ:  # git sets it for the hooks of a commit
        return scan_staged(options, set(filenames) if filenames else None)
    from nexpay_scan.sources.files import FileSource

    root = repo_root(options.repo)
    source = FileSource(filenames, root, jobs=options.jobs, base=os.fspath(root))
    return run_scan(source, options)
