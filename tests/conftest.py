"""Shared test fixtures: real git repositories in temporary folders, the CLI in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nexpay_scan.cli import main

ROOT = Path(__file__).resolve().parent.parent
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Author",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Author",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


# what `nexpay-scan ci` reads to tell which CI system it runs on, and what it was run for
_CI_PREFIXES = ("GITHUB_", "CI_", "BITBUCKET_", "BUILD_", "SYSTEM_", "CIRCLE_", "BUILDKITE")
_CI_NAMES = {"GITLAB_CI", "TF_BUILD", "JENKINS_URL", "CHANGE_ID", "CHANGE_TARGET", "CIRCLECI"}
_CI_NAMES |= {"GIT_COMMIT", "GIT_BRANCH", "GIT_PREVIOUS_SUCCESSFUL_COMMIT", "TAG_NAME"}


@pytest.fixture(autouse=True)
def _pinned_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key, value in _GIT_ENV.items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith(("PRE_COMMIT", "GIT_INDEX", "GIT_DIR"))]:
        monkeypatch.delenv(key)
    monkeypatch.delenv("NEXPAY_API_BASE", raising=False)
    for key in [k for k in os.environ if k.startswith(_CI_PREFIXES) or k in _CI_NAMES]:
        monkeypatch.delenv(key)  # the machine running the tests may be a CI job itself
    monkeypatch.setenv("NEXPAY_SCAN_CACHE_DIR", str(tmp_path / ".cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    # a user runs the scanner from somewhere: here, the test's own folder (files outside a
    # repository are named relative to the current folder)
    monkeypatch.chdir(tmp_path)


def git(repo: Path, *args: str, **kwargs: Any) -> str:
    """Runs git in `repo`; fails the test if git fails."""
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
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_bytes(content.encode())
        else:
            target.write_bytes(content)
        return target

    def stage(self, *names: str) -> None:
        git(self.path, "add", "-A", "--", *(names or ["."]))

    def commit(self, message: str = "change", *names: str) -> str:
        self.stage(*names)
        self._tick += 1
        date = f"2024-01-{self._tick:02d}T12:00:00+00:00" if self._tick < 29 else None
        env = dict(os.environ)
        if date:
            env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
        git(self.path, "commit", "-q", "--allow-empty", "-m", message, env=env)
        return git(self.path, "rev-parse", "HEAD").strip()

    def git(self, *args: str) -> str:
        return git(self.path, *args)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """An empty repository on branch main."""
    return Repo(tmp_path / "repo")


@dataclass
class Run:
    """What a user sees from one command: exit code, stdout, stderr."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """Runs `nexpay-scan ARGS` in this process and returns a Run."""

    def run(*args: str) -> Run:
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    yield run


def run_cli(
    *args: str,
    cwd: Path | None = None,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """Runs the installed CLI as a separate process, as a user or a hook would."""
    done = subprocess.run(
        [sys.executable, "-m", "nexpay_scan", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env=env,
        check=False,
    )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


def on_a_terminal(*args: str, stream: str = "stderr", env: dict[str, str] | None = None) -> str:
    """Runs the CLI with stdout or stderr on a pseudo-terminal; returns what it drew there."""
    import pty

    main_fd, child = pty.openpty()
    other = subprocess.DEVNULL
    done = subprocess.run(
        [sys.executable, "-m", "nexpay_scan", *args],
        stdout=child if stream == "stdout" else other,
        stderr=child if stream == "stderr" else other,
        env=env,
        check=False,
    )
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main_fd)
    assert done.returncode in (0, 1)
    return b"".join(chunks).decode()
