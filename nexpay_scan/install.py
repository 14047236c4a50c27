"""Plain git hooks for teams that do not use the pre-commit framework."""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

from nexpay_scan.errors import FatalError
from nexpay_scan.sources.git import run_git

MARKER = "# installed by nexpay-scan install-hook"
_TEMPLATE = """#!/bin/sh
{marker}
# Blocks a {what} that adds a Nexpay API key. Fails closed: if the scan cannot run,
# the {what} is blocked too. To {verb} anyway, knowingly: git {verb} --no-verify
python={python}
package={package}
# two file tests, not a trial import: that would start Python twice on every {what}
if [ -x "$python" ] && [ -f "$package" ]; then
    # -I: isolated, so a module committed in the work tree (argparse.py, nexpay_scan/) is
    # never imported in place of ours, and PYTHON* variables change nothing
    exec "$python" -I -m nexpay_scan {command}
elif command -v nexpay-scan >/dev/null 2>&1; then
    exec nexpay-scan {command}
fi
echo "nexpay-scan: {what} blocked: nexpay-scan is not installed (pip install nexpay-scan)." >&2
echo "nexpay-scan: to {verb} anyway, knowingly: git {verb} --no-verify" >&2
exit 1
"""


# what the hook runs with `python -m`: its presence says this install is still there
_PACKAGE_MAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__main__.py")


def hooks_dir(repo: Path) -> Path:
    """Where git looks for hooks in `repo` (core.hooksPath respected)."""
    out = run_git(repo, "rev-parse", "--git-path", "hooks").decode().strip()
    path = Path(out)
    return path if path.is_absolute() else repo / path


def hook_script(command: str, what: str, verb: str) -> str:
    """The shell script of one hook, calling this interpreter first."""
    return _TEMPLATE.format(
        marker=MARKER,
        python=shlex.quote(sys.executable),
        package=shlex.quote(_PACKAGE_MAIN),
        command=command,
        what=what,
        verb=verb,
    )


def install_hooks(repo: Path, *, pre_push: bool, force: bool) -> list[str]:
    """Writes the hooks; returns what was done, one line each. A foreign hook needs force."""
    wanted = [("pre-commit", hook_script("staged", "commit", "commit"))]
    if pre_push:
        wanted.append(("pre-push", hook_script('pre-push "$@"', "push", "push")))
    folder = hooks_dir(repo)
    done = []
    for name, script in wanted:
        path = folder / name
        try:
            done.append(_write_hook(path, script, force=force))
        except OSError as error:
            raise FatalError(
                f"{path}: cannot write the hook ({error.strerror}); "
                "check where git keeps hooks: git config --get core.hooksPath"
            ) from None
    return done


def _write_hook(path: Path, script: str, *, force: bool) -> str:
    note = ""
    if path.exists() and MARKER not in path.read_text(errors="replace"):
        if not force:
            raise FatalError(
                f"{path} exists and was not written by nexpay-scan; "
                "pass --force to replace it (it is kept as .backup)"
            )
        backup = path.with_name(path.name + ".backup")
        os.replace(path, backup)
        note = f" (the old hook is kept as {backup.name})"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return f"installed {path}{note}"
