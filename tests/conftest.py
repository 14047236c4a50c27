"""The suite's fixtures, built from the `testing` package: `repo` (a real git repository),
`cli` (the CLI in-process), and an environment pinned for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.cli import CliRun, in_process
from testing.git_repo import GIT_ENV, Repo

# what `nexpay-scan ci` reads to tell which CI system it runs on, and what it was run for
_CI_PREFIXES = ("GITHUB_", "CI_", "BITBUCKET_", "BUILD_", "SYSTEM_", "CIRCLE_", "BUILDKITE")
_CI_NAMES = {"GITLAB_CI", "TF_BUILD", "JENKINS_URL", "CHANGE_ID", "CHANGE_TARGET", "CIRCLECI"}
_CI_NAMES |= {"GIT_COMMIT", "GIT_BRANCH", "GIT_PREVIOUS_SUCCESSFUL_COMMIT", "TAG_NAME"}


@pytest.fixture(autouse=True)
def _pinned_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key, value in GIT_ENV.items():
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


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """An empty repository on branch main."""
    return Repo(tmp_path / "repo")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Iterator[CliRun]:
    """Runs `nexpay-scan ARGS` in this process and returns a `Result`."""

    def read_output() -> tuple[str, str]:
        captured = capsys.readouterr()
        return captured.out, captured.err

    yield in_process(read_output)
