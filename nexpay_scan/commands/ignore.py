"""`nexpay-scan ignore --last-found`: the last blocked run's findings, listed as ignored."""

from __future__ import annotations

from nexpay_scan.commands.pipeline import EXIT_CLEAN
from nexpay_scan.sources.git import repo_root


def ignore(repo: str, reason: str) -> int:
    """`nexpay-scan ignore --last-found --reason TEXT`: lists the findings of the last run
    that found something in `.nexpayscanignore`, each with the reason and the date."""
    from nexpay_scan.known import add_to_ignore, read_last_found
    from nexpay_scan.suppressions import IGNORE_NAME

    root = repo_root(repo)
    entries = read_last_found(root)
    added = add_to_ignore(root, entries, reason)
    print(
        f"nexpay-scan: added {added} of {len(entries)} findings to {IGNORE_NAME} "
        f"({len(entries) - added} already listed); commit it for review"
    )
    return EXIT_CLEAN
