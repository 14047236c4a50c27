"""`nexpay-scan hook`: the entry point for the pre-commit framework."""

from __future__ import annotations

import argparse
import os

from nexpay_scan.commands.pipeline import finish, make_scanner
from nexpay_scan.commands.staged import scan_staged
from nexpay_scan.sources.git import repo_root


def hook(args: argparse.Namespace) -> int:
    """Entry for the pre-commit framework: staged lines in a commit, else the files given."""
    if "GIT_INDEX_FILE" in os.environ:  # git sets it for the hooks of a commit
        return scan_staged(args, "staged", set(args.filenames) if args.filenames else None)
    from nexpay_scan.sources.files import scan_paths

    root = repo_root(args.repo)
    scanner = make_scanner(args, root, "files")
    found = (
        scan_paths(args.filenames, scanner, args.jobs, os.fspath(root)) if args.filenames else []
    )
    return finish(args, scanner, found, root)
