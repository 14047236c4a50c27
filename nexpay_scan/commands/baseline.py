"""`nexpay-scan baseline create|update|prune`: known findings, as fingerprints."""

from __future__ import annotations

import argparse

from nexpay_scan.commands.history import HistoryRequest, history_findings
from nexpay_scan.commands.pipeline import EXIT_CLEAN, make_scanner, write_atomically
from nexpay_scan.errors import FatalError
from nexpay_scan.findings import Finding
from nexpay_scan.sources.git import repo_root

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from pathlib import Path


def baseline(args: argparse.Namespace) -> int:
    """`nexpay-scan baseline create`: today's findings as known, so only new ones fail."""
    from nexpay_scan.suppressions import baseline_text

    root = repo_root(args.repo)
    if args.action in ("update", "prune"):
        return _baseline_edit(args, root)
    found = _baseline_findings(args, root)
    write_atomically(args.output, baseline_text(found))
    if not args.quiet:
        print(f"nexpay-scan: wrote {len(found)} known findings to {args.output} (no secrets in it)")
    return EXIT_CLEAN


def _baseline_findings(args: argparse.Namespace, root: Path) -> list[Finding]:
    """Today's findings, as `baseline create` takes them in."""
    from nexpay_scan.sources.files import scan_paths

    scanner = make_scanner(args, root, args.scan)
    if args.scan == "files":
        return scan_paths([str(root)], scanner, args.jobs, str(root))
    return history_findings(HistoryRequest(jobs=args.jobs, all_occurrences=True), root, scanner)


def _baseline_edit(args: argparse.Namespace, root: Path) -> int:
    """`baseline update` adds today's new findings; `baseline prune` drops the entries no
    longer found. Either way only fingerprints and digests are written."""
    from nexpay_scan.known import merged_baseline

    try:
        with open(args.output, "rb") as stream:
            raw = stream.read()
    except FileNotFoundError:
        raise FatalError(
            f"{args.output}: baseline not found (create one: nexpay-scan baseline create)"
        ) from None
    except OSError as error:
        raise FatalError(f"{args.output}: cannot read ({error.strerror})") from None
    found = _baseline_findings(args, root)
    text, added, dropped = merged_baseline(raw, args.output, found, prune=args.action == "prune")
    write_atomically(args.output, text)
    if not args.quiet:
        what = f"added {added} new" if args.action == "update" else f"dropped {dropped}"
        print(f"nexpay-scan: {what} findings in {args.output} (no secrets in it)")
    return EXIT_CLEAN
