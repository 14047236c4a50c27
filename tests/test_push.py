"""`nexpay-scan pre-push`: exactly the commits being pushed."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.cli import CliRun, run_cli
from testing.git_repo import Repo, git
from testing.keys import secret

ZERO = "0" * 40


@pytest.fixture
def pushed(repo: Repo, tmp_path: Path) -> tuple[Repo, str]:
    """A repository whose main is on a bare remote, with one key already pushed."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo.write("old.env", f"K={secret(1)}\n")
    base = repo.commit("old")
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "origin", "main")
    return repo, base


def test_git_hook_input_scans_only_new_commits(pushed: tuple[Repo, str]) -> None:
    repo, base = pushed
    repo.write("new.env", f"K={secret(2)}\n")
    head = repo.commit("new")
    line = f"refs/heads/main {head} refs/heads/main {base}\n"
    run = run_cli(
        "pre-push", "origin", "url", "--format", "json", cwd=repo.path, stdin=line.encode()
    )
    assert run.code == 1
    assert [f["file"] for f in run.json()["findings"]] == ["new.env"]


def test_new_branch_scans_commits_no_remote_has(pushed: tuple[Repo, str]) -> None:
    repo, _ = pushed
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("topic.env", f"K={secret(3)}\n")
    head = repo.commit("topic")
    line = f"refs/heads/topic {head} refs/heads/topic {ZERO}\n"
    run = run_cli(
        "pre-push", "origin", "url", "--format", "json", cwd=repo.path, stdin=line.encode()
    )
    assert [f["file"] for f in run.json()["findings"]] == ["topic.env"]


def test_deletion_pushes_nothing(pushed: tuple[Repo, str]) -> None:
    repo, base = pushed
    line = f"(delete) {ZERO} refs/heads/gone {base}\n"
    run = run_cli("pre-push", "origin", "url", cwd=repo.path, stdin=line.encode())
    assert run.code == 0


def test_pre_commit_range_from_the_environment(
    pushed: tuple[Repo, str], cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, base = pushed
    repo.write("a.env", f"K={secret(4)}\n")
    head = repo.commit()
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", base)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", head)
    run = cli("pre-push", "--repo", str(repo.path), "--format", "json")
    assert [f["file"] for f in run.json()["findings"]] == ["a.env"]


def test_root_commit_push_without_a_range(
    repo: Repo, cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write("a.env", f"K={secret(5)}\n")
    repo.commit()
    monkeypatch.setenv("PRE_COMMIT_REMOTE_NAME", "origin")
    monkeypatch.setenv("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/main")
    run = cli("pre-push", "--repo", str(repo.path), "--format", "json")
    assert [f["file"] for f in run.json()["findings"]] == ["a.env"]


def test_garbled_hook_input_is_an_error(pushed: tuple[Repo, str]) -> None:
    repo, _ = pushed
    run = run_cli("pre-push", "origin", "url", cwd=repo.path, stdin=b"not four fields\n")
    assert run.code == 2
    assert "git push --no-verify" in run.err
