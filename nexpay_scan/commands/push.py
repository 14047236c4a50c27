"""`nexpay-scan pre-push` and `pre-receive`: the commits a push sends, client and server side."""

from __future__ import annotations

import os
import sys

from nexpay_scan.commands.pipeline import (
    EXIT_CLEAN,
    progress_for,
    run_scan,
    stdin_lines,
    suppression_files,
)
from nexpay_scan.sources.git import repo_root

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.commands.options import ScanOptions


def pre_push(options: ScanOptions, remote: str | None) -> int:
    """`nexpay-scan pre-push`: the commits a push would send."""
    from nexpay_scan.sources.push import PushSource

    root = repo_root(options.repo)
    source = PushSource(root, remote, os.environ, stdin_lines, progress_for(options))
    return run_scan(source, options)


def pre_receive(options: ScanOptions) -> int:
    """`nexpay-scan pre-receive`: a server-side hook that rejects pushes adding a key."""
    from nexpay_scan.sources.receive import ReceiveSource, break_glass_reason, log_break_glass
    from nexpay_scan.trust import receiving_side

    root = repo_root(options.repo)
    lines = stdin_lines()
    trusted = receiving_side(root, [line.split(" ", 1)[0] for line in lines])
    watched = suppression_files(options, root, trusted) if trusted is not None else []
    source = ReceiveSource(root, lines, trusted, watched, progress_for(options))
    # a server keeps no fingerprints for `ignore --last-found`: nobody runs it there
    code = run_scan(source, options._replace(remember_found=False))
    if code == EXIT_CLEAN:
        return code
    reason = break_glass_reason(os.environ)
    if reason is not None:
        log = log_break_glass(root, os.environ, reason, lines, source.credentials)
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
