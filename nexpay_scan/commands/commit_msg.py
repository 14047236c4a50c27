"""`nexpay-scan commit-msg FILE`: the message of the commit being made (git's
`commit-msg` hook, or the pre-commit framework's commit-msg stage)."""

from __future__ import annotations

from nexpay_scan.commands.pipeline import run_scan
from nexpay_scan.sources.commit_message import CommitMessageSource
from nexpay_scan.sources.git import repo_top

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.commands.options import ScanOptions


def commit_msg(options: ScanOptions, message: str) -> int:
    """Scans the commit message in the file `message` (git passes its path to the hook)."""
    return run_scan(CommitMessageSource(message, repo_top(options.repo)), options)
