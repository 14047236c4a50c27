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
{chain}# two file tests, not a trial import: that would start Python twice on every {what}
if [ -x "$python" ] && [ -f "$package" ]; then
    # -I: isolated, so a module committed in the work tree (argparse.py, nexpay_scan/) is
    # never imported in place of ours, and PYTHON* variables change nothing; -c runs what
    # the console script runs (`-m` would load runpy and importlib on every {what})
    {run_python}
elif command -v nexpay-scan >/dev/null 2>&1; then
    {run_path}
fi
echo "nexpay-scan: {what} blocked: nexpay-scan is not installed (reinstall it)." >&2
echo "nexpay-scan: to {verb} anyway, knowingly: git {verb} --no-verify" >&2
exit 1
"""


# a file of the package the hook runs: its presence says this install is still there
_PACKAGE_MAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__main__.py")
_RUN = shlex.quote("from nexpay_scan.cli import run; run()")


def hooks_dir(repo: Path) -> Path:
    """Where git looks for hooks in `repo` (core.hooksPath respected)."""
    out = run_git(repo, "rev-parse", "--git-path", "hooks").decode().strip()
    path = Path(out)
    return path if path.is_absolute() else repo / path


LEGACY_SUFFIX = ".legacy"
# The hook that `--force` replaced runs first, with the same arguments (for pre-push, the
# same standard input): installing nexpay-scan adds a check, it never drops a team's own.
_CHAIN = """legacy="$0{suffix}"
if [ -x "$legacy" ]; then
    {feed}"$legacy" "$@" || exit $?
fi
"""
# pre-push reads the pushed refs on standard input: read once (trailing newlines kept by
# the `x`), then given to each hook
_READ_STDIN = "input=$(cat; echo x); input=${input%x}\n"
_FEED = 'printf %s "$input" | '


def hook_script(command: str, what: str, verb: str, *, stdin: bool = False) -> str:
    """The shell script of one hook, calling this interpreter first; the hook it replaced
    (kept beside it as NAME.legacy) runs before it, and its failure blocks too."""
    feed = _FEED if stdin else ""
    chain = (_READ_STDIN if stdin else "") + _CHAIN.format(suffix=LEGACY_SUFFIX, feed=feed)
    if stdin:  # a pipeline runs in a subshell: `exec` there would not end this script
        run_python = f'{feed}"$python" -I -c {_RUN} {command}; exit $?'
        run_path = f"{feed}nexpay-scan {command}; exit $?"
    else:
        run_python = f'exec "$python" -I -c {_RUN} {command}'
        run_path = f"exec nexpay-scan {command}"
    return _TEMPLATE.format(
        marker=MARKER,
        python=shlex.quote(sys.executable),
        package=shlex.quote(_PACKAGE_MAIN),
        what=what,
        verb=verb,
        chain=chain,
        run_python=run_python,
        run_path=run_path,
    )


# the hooks nexpay-scan may write, as git names them
HOOK_NAMES = ("pre-commit", "pre-push", "commit-msg")


def install_hooks(
    repo: Path, *, pre_push: bool, force: bool, commit_msg: bool = False
) -> list[str]:
    """Writes the hooks; returns what was done, one line each. A foreign hook needs force."""
    wanted = [("pre-commit", hook_script("staged", "commit", "commit"))]
    if pre_push:
        wanted.append(("pre-push", hook_script('pre-push "$@"', "push", "push", stdin=True)))
    if commit_msg:
        # git passes the message's file; "a commit that adds a key" in its message
        wanted.append(("commit-msg", hook_script('commit-msg "$1"', "commit", "commit")))
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
    legacy = path.with_name(path.name + LEGACY_SUFFIX)
    if path.exists() and MARKER not in path.read_text(errors="replace"):
        if not force:
            raise FatalError(
                f"{path} exists and was not written by nexpay-scan; pass --force to run "
                f"it first and then nexpay-scan (it is kept as {legacy.name})"
            )
        if legacy.exists():
            raise FatalError(
                f"{legacy} exists already: remove it or `install-hook --uninstall` first"
            )
        os.replace(path, legacy)
        note = f" (the hook it replaces, kept as {legacy.name}, still runs first)"
    elif legacy.exists():
        note = f" (runs {legacy.name} first)"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return f"installed {path}{note}"


def uninstall_hooks(repo: Path) -> list[str]:
    """Removes the hooks nexpay-scan wrote and puts back the ones they replaced; a hook
    someone else wrote is left alone."""
    folder = hooks_dir(repo)
    done = []
    for name in HOOK_NAMES:
        path = folder / name
        legacy = path.with_name(name + LEGACY_SUFFIX)
        try:
            ours = path.exists() and MARKER in path.read_text(errors="replace")
            if path.exists() and not ours:
                done.append(f"left {path} alone (not written by nexpay-scan)")
                continue
            if ours:
                path.unlink()
            if legacy.exists():
                os.replace(legacy, path)
                done.append(f"restored {path} (the hook nexpay-scan had replaced)")
            elif ours:
                done.append(f"removed {path}")
        except OSError as error:
            raise FatalError(f"{path}: cannot remove the hook ({error.strerror})") from None
    return done or ["no nexpay-scan hook installed"]
