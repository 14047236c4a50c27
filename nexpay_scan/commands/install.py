"""`nexpay-scan install-hook`: plain git hooks for teams without the framework."""

from __future__ import annotations

import argparse

from nexpay_scan.commands.pipeline import EXIT_CLEAN
from nexpay_scan.sources.git import repo_root


def install_hook(args: argparse.Namespace) -> int:
    """`nexpay-scan install-hook`: plain git hooks for teams without the framework."""
    from nexpay_scan.install import install_hooks

    if args.uninstall:
        from nexpay_scan.install import uninstall_hooks

        lines = uninstall_hooks(repo_root(args.repo))
    else:
        lines = install_hooks(repo_root(args.repo), pre_push=args.pre_push, force=args.force)
    for line in lines:
        print(line)
    return EXIT_CLEAN
