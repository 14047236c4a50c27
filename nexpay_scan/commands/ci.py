"""`nexpay-scan ci`: this pull/merge request or push, from the CI's variables."""

from __future__ import annotations

import argparse
import os
import sys

from nexpay_scan.commands.history import (
    HistoryRequest,
    history_findings,
    link_findings,
    range_suppression_changes,
)
from nexpay_scan.commands.pipeline import EXIT_CLEAN, check_report_name, finish, make_scanner
from nexpay_scan.sources.git import repo_root


def ci(args: argparse.Namespace) -> int:
    """`nexpay-scan ci`: the commits of this pull/merge request or push, from the CI's
    environment (GitHub Actions, GitLab CI)."""
    from nexpay_scan.ci import ci_range
    from nexpay_scan.trust import range_base

    root = repo_root(args.repo)
    check_report_name(args)
    planned = ci_range(root, os.environ, deepen=args.deepen, base=args.base)
    revisions = planned.revisions
    if not args.quiet:
        print(f"nexpay-scan: {planned.described}", file=sys.stderr)
    if not revisions:
        return EXIT_CLEAN
    trusted = range_base(root, revisions)
    scanner = make_scanner(args, root, "history", trusted)
    wanted = HistoryRequest(
        revisions=tuple(revisions),
        engine="diff",
        jobs=args.jobs,
        all_occurrences=args.all_occurrences,
        track_places=bool(args.report),
    )
    findings = history_findings(wanted, root, scanner)
    link_findings(root, findings)
    findings += range_suppression_changes(args, root, wanted.revisions, trusted)
    return finish(args, scanner, findings, root, trusted, [revisions])
