"""Real git repositories in temporary folders, with git's identity and clock pinned."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
"""The checkout under test (its README, rules, CI templates)."""

GIT_ENV: Final = {
    "GIT_AUTHOR_NAME": "Ada Author",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Author",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
"""Who commits in a test, and no user or system git configuration."""


def git(repo: Path, *args: str, **kwargs: Any) -> str:
    """Runs git in `repo` and returns its stdout; fails the test if git fails."""
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False, **kwargs
    )
    assert done.returncode == 0, f"git {' '.join(args)} failed: {done.stderr}"
    return str(done.stdout)


class Repo:
    """A real git repository in a temporary folder, with helpers to write and commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "-q", "-b", "main")
        self._tick = 0

    def write(self, name: str, content: str | bytes) -> Path:
        """Writes `content` (text as UTF-8) to `name` in the work tree; returns its path."""
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_bytes(content.encode())
        else:
            target.write_bytes(content)
        return target

    def stage(self, *names: str) -> None:
        """Stages `names`, or every change when none is named."""
        git(self.path, "add", "-A", "--", *(names or ["."]))

    def commit(self, message: str = "change", *names: str) -> str:
        """Stages and commits (an empty commit too); returns the new commit's ID.

        The first 28 commits are dated a day apart in January 2024, so history is ordered
        the same on every run."""
        self.stage(*names)
        self._tick += 1
        date = f"2024-01-{self._tick:02d}T12:00:00+00:00" if self._tick < 29 else None
        env = dict(os.environ)
        if date:
            env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
        git(self.path, "commit", "-q", "--allow-empty", "-m", message, env=env)
        return git(self.path, "rev-parse", "HEAD").strip()

    def merge_started(
        self, side: dict[str, str], main: dict[str, str], branch: str = "side"
    ) -> None:
        """Two lines of work from HEAD (on main): `branch` committing the files `side`,
        then main committing `main`; then `git merge --no-ff --no-commit BRANCH` left under
        way, for the caller to write the merge's own changes and commit it."""
        git(self.path, "checkout", "-q", "-b", branch)
        for name, content in side.items():
            self.write(name, content)
        self.commit(f"work on {branch}")
        git(self.path, "checkout", "-q", "main")
        for name, content in main.items():
            self.write(name, content)
        self.commit("work on main")
        git(self.path, "merge", "-q", "--no-ff", "--no-commit", branch)

    def git(self, *args: str) -> str:
        """Runs git in this repository; returns its stdout."""
        return git(self.path, *args)


def pre_receive_server(folder: Path) -> Path:
    """A bare repository `folder/server.git` whose pre-receive hook runs this checkout's
    nexpay-scan, as a git server would."""
    bare = folder / "server.git"
    git(folder, "init", "-q", "--bare", str(bare))
    git(bare, "config", "receive.advertisePushOptions", "true")
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(
        f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m nexpay_scan pre-receive\n"
    )
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    return bare


def push(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    """`git push ARGS origin HEAD:refs/heads/main` from `repo`; the caller checks the outcome."""
    return subprocess.run(
        ["git", "-C", str(repo.path), "push", *args, "origin", "HEAD:refs/heads/main"],
        capture_output=True,
        text=True,
        check=False,
    )
