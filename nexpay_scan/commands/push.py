"""`nexpay-scan pre-push` and `pre-receive`: the commits a push sends, client and server side."""

from __future__ import annotations

import os
import sys

from nexpay_scan.commands.pipeline import (
    EXIT_CLEAN,
    Scanned,
    make_scanner,
    run_scan,
    stdin_lines,
    suppression_files,
)
from nexpay_scan.findings import Finding
from nexpay_scan.sources.git import repo_root

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.commands.options import ScanOptions


def pre_push(options: ScanOptions, remote: str | None) -> int:
    """`nexpay-scan pre-push`: the commits a push would send."""
    from nexpay_scan.sources.blob_engine import default_workers, scan_by
    from nexpay_scan.sources.history import HistoryScan
    from nexpay_scan.sources.push import objects_outside_commits, pushed_objects, pushed_revisions

    root = repo_root(options.repo)
    scanner = make_scanner(options, root, "pre-push")
    scan = HistoryScan(root, scanner)
    scan.tags_of_range = False  # the tags pushed are named in the hook's input
    lines: list[str] = []  # git's hook input, when it is read (not under pre-commit)

    def read_lines() -> list[str]:
        lines.extend(stdin_lines())
        return lines

    pushed = list(pushed_revisions(root, remote, os.environ, read_lines))
    for revisions in pushed:
        scan_by("auto", scan, revisions, default_workers())
    refs, had = pushed_objects(root, remote, lines)
    scan.scan_tags([(_tag_name(ref), sha) for ref, sha in refs])
    extra = objects_outside_commits(root, scanner, refs, had)
    return run_scan(Scanned(scan.findings() + extra, scanner, root, None, pushed), options)


def pre_receive(options: ScanOptions) -> int:
    """`nexpay-scan pre-receive`: a server-side hook that rejects pushes adding a key."""
    from nexpay_scan.sources.blob_engine import default_workers, scan_by
    from nexpay_scan.sources.history import HistoryScan
    from nexpay_scan.sources.push import objects_outside_commits
    from nexpay_scan.sources.receive import (
        break_glass_reason,
        log_break_glass,
        received_refs,
        received_revisions,
    )
    from nexpay_scan.trust import receiving_side, suppression_changes

    root = repo_root(options.repo)
    lines = stdin_lines()
    trusted = receiving_side(root, [line.split(" ", 1)[0] for line in lines])
    scanner = make_scanner(options, root, "pre-receive", trusted)
    scan = HistoryScan(root, scanner)
    scan.tags_of_range = False  # a pushed tag is no ref yet: named in the hook's input
    changes: list[Finding] = []
    received = list(received_revisions(lines))
    for revisions in received:
        scan_by("auto", scan, revisions, default_workers())
        if trusted is not None:
            files = suppression_files(options, root, trusted)
            changes += suppression_changes(root, revisions, files, trusted)
    scan.scan_tags([(_tag_name(ref), sha) for ref, sha in received_refs(lines)])
    extra = objects_outside_commits(root, scanner, received_refs(lines), ["--all"])
    findings = scan.findings() + extra + list({f.file: f for f in changes}.values())
    code = run_scan(Scanned(findings, scanner, root, trusted, received), options)
    if code == EXIT_CLEAN:
        return code
    reason = break_glass_reason(os.environ)
    if reason is not None:
        log = log_break_glass(root, os.environ, reason, lines, len(scan.findings()) + len(extra))
        print(
            f"nexpay-scan: push ACCEPTED by break-glass ({reason!r}); logged in {log}. "
            "Revoke the key now all the same.",
            file=sys.stderr,
        )
        return EXIT_CLEAN
    print(
        "nexpay-scan: push rejected: it adds Nexpay credentials (above). Remove them from "
        "the commits (rewrite them before pushing), revoke the keys, and push again. In an "
        'emergency: git push -o nexpay-scan.break-glass="REASON" (logged).',
        file=sys.stderr,
    )
    return code


def _tag_name(ref: str) -> str:
    return ref.removeprefix("refs/tags/")
