"""`nexpay-scan ci`: this pull/merge request or push, from the CI's variables."""

from __future__ import annotations

import os
import sys

from nexpay_scan.commands.history import scan_history
from nexpay_scan.commands.options import CiRequest, HistoryRequest
from nexpay_scan.commands.pipeline import EXIT_CLEAN, check_report_name
from nexpay_scan.sources.git import repo_root

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.commands.options import ScanOptions


def ci(options: ScanOptions, request: CiRequest) -> int:
    """`nexpay-scan ci`: the commits of this pull/merge request or push, from the CI's
    environment (GitHub Actions, GitLab CI)."""
    from nexpay_scan.ci import ci_range
    from nexpay_scan.trust import range_base

    root = repo_root(options.repo)
    check_report_name(options)
    planned = ci_range(root, os.environ, deepen=request.deepen, base=request.base)
    revisions = planned.revisions
    if not options.quiet:
        print(f"nexpay-scan: {planned.described}", file=sys.stderr)
    if not revisions:
        return EXIT_CLEAN
    wanted = HistoryRequest(
        revisions=tuple(revisions),
        engine="auto",
        jobs=options.jobs,
        all_occurrences=request.all_occurrences,
        track_places=bool(options.report),
    )
    # in a GitHub Actions job, the findings as annotations and a job summary too
    reported = options._replace(ci_annotations=True)
    return scan_history(reported, root, wanted, range_base(root, revisions, planned.named))
