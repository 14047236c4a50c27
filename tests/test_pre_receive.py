"""`nexpay-scan pre-receive`: a git server rejects a push that adds a key."""

from __future__ import annotations

import subprocess
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


def test_a_push_of_many_refs_is_one_scan(repo: Repo, server: Path) -> None:
    """`git push --all` of 200 branches along one history of 30 commits: each commit is
    scanned once, not once for each branch that reaches it (a scan per ref made a mirror
    push into a new repository walk its history once per ref), and the key once."""
    repo.git("remote", "add", "origin", str(server))
    commits = []
    for number in range(30):
        content = f"NEXPAY_SECRET={secret(4)}\n" if number == 5 else f"{number}\n"
        repo.write(f"f{number}.env", content)
        commits.append(repo.commit(f"commit {number}"))
    refs = "".join(f"create refs/heads/b{n:03d} {commits[n % 30]}\n" for n in range(200))
    git(repo.path, "update-ref", "--stdin", input=refs)
    rejected = subprocess.run(
        ["git", "-C", str(repo.path), "push", "--all", "origin"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rejected.returncode != 0
    assert "Scanned 30 commits" in rejected.stderr, rejected.stderr[-2000:]
    assert rejected.stderr.count("f5.env") == 1 and secret(4) not in rejected.stderr


def test_the_refs_of_a_push_past_one_command_line_go_in_parts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past IDS_AT_ONCE refs (a command line's worth), one list a part, each excluding
    what every ref already holds; a deletion adds nothing."""
    from nexpay_scan.sources import git as git_calls
    from nexpay_scan.sources.receive import received_revisions

    monkeypatch.setattr(git_calls, "IDS_AT_ONCE", 5)
    news = [f"{n:040x}" for n in range(1, 13)]
    lines = [f"{'0' * 40} {new} refs/heads/b{n}" for n, new in enumerate(news)]
    lines.append(f"{news[0]} {'0' * 40} refs/heads/gone")
    parts = list(received_revisions(lines))
    assert [part[:-2] for part in parts] == [news[0:5], news[5:10], news[10:12]]
    assert all(part[-2:] == ["--not", "--all"] for part in parts)
