"""`nexpay-scan baseline create|update|prune`: known findings, as fingerprints."""

from __future__ import annotations

from nexpay_scan.commands.options import HistoryRequest
from nexpay_scan.commands.pipeline import (
    EXIT_CLEAN,
    check_destinations,
    make_scanner,
    redact_names,
    write_atomically,
)
from nexpay_scan.findings import Finding
from nexpay_scan.sources.git import repo_root
from nexpay_scan.sources.history_source import HistorySource

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from pathlib import Path

    from nexpay_scan.commands.options import ScanOptions


def baseline(options: ScanOptions, action: str, what: str, file: str) -> int:
    """`nexpay-scan baseline create|update|prune`: today's findings as known, so only new
    ones fail; `file` is the baseline file."""
    from nexpay_scan.suppressions import baseline_text

    root = repo_root(options.repo)
    check_destinations(file)
    if action in ("update", "prune"):
        return _baseline_edit(options, root, action, what, file)
    found = _baseline_findings(options, root, what)
    write_atomically(file, baseline_text(found))
    if not options.quiet:
        print(f"nexpay-scan: wrote {len(found)} known findings to {file} (no secrets in it)")
    return EXIT_CLEAN


def _baseline_findings(options: ScanOptions, root: Path, what: str) -> list[Finding]:
    """Today's findings, as `baseline create` takes them in."""
    from nexpay_scan.sources.files import FileSource

    scanner = make_scanner(options, root)
    if what == "files":
        source = FileSource([str(root)], root, jobs=options.jobs, base=str(root))
        found = source.findings(scanner)
    else:
        wanted = HistoryRequest(jobs=options.jobs, all_occurrences=True)
        found = HistorySource(root, wanted).findings(scanner)
    if scanner.settings.redact:  # (the file is "no secrets in it": no key in a name either)
        redact_names(found, scanner.settings)
    return found


def _baseline_edit(options: ScanOptions, root: Path, action: str, what: str, file: str) -> int:
    """`baseline update` adds today's new findings; `baseline prune` drops the entries no
    longer found. Either way only fingerprints and digests are written."""
    from nexpay_scan.known import merged_baseline
    from nexpay_scan.suppressions import baseline_bytes

    raw = baseline_bytes(file)
    found = _baseline_findings(options, root, what)
    text, added, dropped = merged_baseline(raw, file, found, prune=action == "prune")
    write_atomically(file, text)
    if not options.quiet:
        what = f"added {added} new" if action == "update" else f"dropped {dropped}"
        print(f"nexpay-scan: {what} findings in {file} (no secrets in it)")
    return EXIT_CLEAN
