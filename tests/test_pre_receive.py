"""`nexpay-scan pre-receive`: a git server rejects a push that adds a key."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.git_repo import Repo, git, pre_receive_server, push
from testing.keys import secret


@pytest.fixture
def server(tmp_path: Path) -> Path:
    """A bare repository whose pre-receive hook runs nexpay-scan."""
    return pre_receive_server(tmp_path)


def test_push_with_a_key_is_rejected_and_clean_push_accepted(repo: Repo, server: Path) -> None:
    repo.git("remote", "add", "origin", str(server))
    repo.write("a.txt", "clean\n")
    repo.commit()
    assert push(repo).returncode == 0
    key = secret(1)
    repo.write("deploy.env", f"NEXPAY_SECRET={key}\n")
    repo.commit()
    rejected = push(repo)
    assert rejected.returncode != 0
    assert "push rejected" in rejected.stderr and "deploy.env" in rejected.stderr
    assert key not in rejected.stderr and key[:11] in rejected.stderr
    assert "pre-receive hook declined" in rejected.stderr
    assert git(server, "rev-parse", "main").strip() != repo.git("rev-parse", "HEAD").strip()


def test_only_new_commits_are_scanned(repo: Repo, server: Path) -> None:
    repo.git("remote", "add", "origin", str(server))
    repo.write("old.env", f"NEXPAY_SECRET={secret(2)}\n")
    repo.commit()
    assert push(repo, "-o", "nexpay-scan.break-glass=known test key").returncode == 0
    repo.write("b.txt", "more\n")
    repo.commit()
    assert push(repo).returncode == 0  # the old key is already on the server


def test_break_glass_is_accepted_and_logged(repo: Repo, server: Path) -> None:
    repo.git("remote", "add", "origin", str(server))
    repo.write("deploy.env", f"NEXPAY_SECRET={secret(3)}\n")
    repo.commit()
    pushed = push(repo, "-o", "nexpay-scan.break-glass=INC-42 key already revoked")
    assert pushed.returncode == 0, pushed.stderr
    assert "break-glass" in pushed.stderr
    log = (server / "nexpay-scan-break-glass.log").read_text()
    assert "INC-42 key already revoked" in log and "refs/heads/main" in log
    assert secret(3) not in log
