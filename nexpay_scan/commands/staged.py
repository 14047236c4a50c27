"""`nexpay-scan staged`: the lines the next commit adds (the pre-commit hook)."""

from __future__ import annotations

from collections.abc import Collection

from nexpay_scan.commands.pipeline import run_scan
from nexpay_scan.config import builtin_rules

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.commands.options import ScanOptions


def staged(options: ScanOptions) -> int:
    """`nexpay-scan staged`: the lines the next commit adds."""
    return scan_staged(options)


def scan_staged(options: ScanOptions, only: Collection[str] | None = None) -> int:
    """The staged lines (of the files in `only`, if given), scanned and reported."""
    from nexpay_scan.sources.staged import StagedDiff, StagedSource

    with StagedDiff(options.repo) as diff:
        builtin_rules()  # loaded while git works
        return run_scan(StagedSource(diff, only), options)
