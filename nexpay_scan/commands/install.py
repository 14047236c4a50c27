"""`nexpay-scan install-hook`: plain git hooks for teams without the framework."""

from __future__ import annotations

from nexpay_scan.commands.pipeline import EXIT_CLEAN
from nexpay_scan.sources.git import repo_root


def install_hook(repo: str, pre_push: bool, commit_msg: bool, force: bool, uninstall: bool) -> int:
    """`nexpay-scan install-hook`: plain git hooks for teams without the framework."""
    from nexpay_scan.install import install_hooks

    if uninstall:
        from nexpay_scan.install import uninstall_hooks

        lines = uninstall_hooks(repo_root(repo))
    else:
        lines = install_hooks(
            repo_root(repo), pre_push=pre_push, force=force, commit_msg=commit_msg
        )
    for line in lines:
        print(line)
    return EXIT_CLEAN
