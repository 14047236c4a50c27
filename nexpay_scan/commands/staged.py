"""`nexpay-scan staged`: the lines the next commit adds (the pre-commit hook)."""

from __future__ import annotations

import argparse
from collections.abc import Collection

from nexpay_scan.commands.pipeline import finish, make_scanner
from nexpay_scan.config import builtin_rules


def staged(args: argparse.Namespace) -> int:
    """`nexpay-scan staged`: the lines the next commit adds."""
    return scan_staged(args, "staged")


def scan_staged(args: argparse.Namespace, mode: str, only: Collection[str] | None = None) -> int:
    from nexpay_scan.sources.staged import StagedDiff

    with StagedDiff(args.repo) as diff:
        builtin_rules()  # loaded while git starts
        root = diff.root()
        scanner = make_scanner(args, root, mode)
        findings = diff.scan(scanner, only)
    return finish(args, scanner, findings, root)
