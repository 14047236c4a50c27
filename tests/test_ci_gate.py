"""The CI gate: baselines, the ignore file, pull-request ranges from CI variables, filters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from testing.cli import CliRun
from testing.git_repo import Repo, git
from testing.keys import secret


def test_baseline_adopts_an_old_repository_then_fails_only_on_new_keys(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    repo.write("old/a.env", f"K={secret(1)}\n")
    repo.write("old/b.env", f"K={secret(2)}\n")
    repo.commit()
    baseline = tmp_path / "baseline.json"
    run = cli("baseline", "create", "--repo", str(repo.path), "--output", str(baseline))
    assert run.code == 0
    text = baseline.read_text()
    assert secret(1) not in text and secret(2) not in text
    assert len(json.loads(text)["findings"]) == 2
    clean = cli("files", str(repo.path), "--baseline", str(baseline), "--format", "json")
    assert clean.code == 0 and clean.json()["summary"]["suppressed"] == 2
    repo.write("new.env", f"K={secret(3)}\n")
    repo.commit()
    for command in (["files", str(repo.path)], ["history", "--repo", str(repo.path)]):
        run = cli(*command, "--baseline", str(baseline), "--format", "json", "--no-redact")
        assert run.code == 1
        assert [f["match"] for f in run.json()["findings"]] == [secret(3)]


def test_missing_or_foreign_baseline_is_an_error(cli: CliRun, repo: Repo, tmp_path: Path) -> None:
    run = cli("files", str(repo.path), "--baseline", str(tmp_path / "none.json"))
    assert run.code == 2 and "baseline not found" in run.err
    (tmp_path / "x.json").write_text('{"findings": []}')
    run = cli("files", str(repo.path), "--baseline", str(tmp_path / "x.json"))
    assert run.code == 2 and "not a nexpay-scan baseline" in run.err


def test_ignore_file_takes_fingerprints_with_comments(cli: CliRun, repo: Repo) -> None:
    repo.write("a.env", f"K={secret(1)}\n")
    repo.write("b.env", f"K={secret(2)}\n")
    first = cli("files", str(repo.path), "--format", "json").json()["findings"]
    ignored = next(f for f in first if f["file"] == "a.env")["fingerprint"]
    repo.write(".nexpayscanignore", f"# test fixture, revoked 2024-01-01\n{ignored}  # a.env\n\n")
    run = cli("files", str(repo.path), "--format", "json")
    assert [f["file"] for f in run.json()["findings"]] == ["b.env"]


def test_fingerprint_survives_edits_above_the_line(cli: CliRun, repo: Repo) -> None:
    repo.write("a.env", f"K={secret(1)}\n")
    before = cli("files", str(repo.path), "--format", "json").json()["findings"][0]
    repo.write("a.env", f"# a comment\nX=1\nK={secret(1)}\n")
    after = cli("files", str(repo.path), "--format", "json").json()["findings"][0]
    assert before["line"] != after["line"] and before["fingerprint"] == after["fingerprint"]


@pytest.fixture
def pull_request(repo: Repo, tmp_path: Path) -> tuple[Repo, str, str]:
    repo.write("old.env", f"K={secret(1)}\n")
    base = repo.commit("base")
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("new.env", f"K={secret(2)}\n")
    repo.commit("topic 1")
    repo.write("more.txt", "x\n")
    head = repo.commit("topic 2")
    return repo, base, head


def _github_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, event: dict[str, Any]
) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", name)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))


def test_ci_github_pull_request(
    cli: CliRun,
    pull_request: tuple[Repo, str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo, base, head = pull_request
    _github_env(
        monkeypatch,
        tmp_path,
        "pull_request",
        {"pull_request": {"base": {"sha": base}, "head": {"sha": head}}},
    )
    run = cli("ci", "--repo", str(repo.path), "--format", "json")
    assert run.code == 1
    assert [f["file"] for f in run.json()["findings"]] == ["new.env"]
    assert run.json()["summary"]["commits_scanned"] == 2
    assert f"{base}..{head}" in run.err


def test_ci_github_push(
    cli: CliRun,
    pull_request: tuple[Repo, str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo, base, head = pull_request
    _github_env(monkeypatch, tmp_path, "push", {"before": base, "after": head})
    assert [
        f["file"]
        for f in cli("ci", "--repo", str(repo.path), "--format", "json").json()["findings"]
    ] == ["new.env"]


def test_ci_gitlab_merge_request(
    cli: CliRun, pull_request: tuple[Repo, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, base, head = pull_request
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("CI_MERGE_REQUEST_IID", "7")
    monkeypatch.setenv("CI_MERGE_REQUEST_DIFF_BASE_SHA", base)
    monkeypatch.setenv("CI_COMMIT_SHA", head)
    run = cli("ci", "--repo", str(repo.path), "--format", "json")
    assert [f["file"] for f in run.json()["findings"]] == ["new.env"]


def test_ci_names_the_missing_variable(
    cli: CliRun, repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.commit()
    monkeypatch.setenv("GITLAB_CI", "true")
    run = cli("ci", "--repo", str(repo.path))
    assert run.code == 2 and "CI_COMMIT_SHA" in run.err
    monkeypatch.delenv("GITLAB_CI")
    run = cli("ci", "--repo", str(repo.path))
    assert run.code == 2 and "no CI system recognised" in run.err and "--base REF" in run.err


def test_ci_shallow_clone_says_how_deep(
    cli: CliRun,
    pull_request: tuple[Repo, str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    origin, base, head = pull_request
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth=1", "--branch=topic", f"file://{origin.path}", str(clone))
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("CI_MERGE_REQUEST_IID", "7")
    monkeypatch.setenv("CI_MERGE_REQUEST_DIFF_BASE_SHA", base)
    monkeypatch.setenv("CI_COMMIT_SHA", head)
    run = cli("ci", "--repo", str(clone))
    assert run.code == 2 and "too shallow" in run.err and "fetch-depth: 0" in run.err
    deepened = cli("ci", "--repo", str(clone), "--deepen", "--format", "json")
    assert [f["file"] for f in deepened.json()["findings"]] == ["new.env"]


def test_history_since_until_and_branch(cli: CliRun, pull_request: tuple[Repo, str, str]) -> None:
    repo, _, _ = pull_request

    def files(*args: str) -> list[str]:
        run = cli("history", "--repo", str(repo.path), "--format", "json", *args)
        return sorted(f["file"] for f in run.json()["findings"])

    assert files() == ["new.env", "old.env"]
    assert files("--since", "2024-01-02") == ["new.env"]
    assert files("--until", "2024-01-01T23:00:00") == ["old.env"]
    # a bare date is its whole day, whatever the hour the scan runs (git alone would read
    # it as that day at the current time: the commits at noon in or out by the clock)
    assert files("--until", "2024-01-01") == ["old.env"]
    assert files("--since", "2024-01-02", "--until", "2024-01-02") == ["new.env"]
    assert files("--branch", "main") == ["old.env"]
    assert files("--branch", "topic") == ["new.env", "old.env"]


def test_ci_on_github_annotates_and_writes_a_job_summary(
    cli: CliRun, repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write(".nexpay-scan.toml", "[scan]\nallow_paths = ['^fixtures/']\n")
    base = repo.commit("base")
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("new%,:.env", f"K={secret(2)}\n")
    repo.write("fixtures/app.env", f"K={secret(3)}\n")
    head = repo.commit("topic")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    event = {"pull_request": {"base": {"sha": base}, "head": {"sha": head}}}
    _github_env(monkeypatch, tmp_path, "pull_request", event)
    sarif = tmp_path / "out.sarif"
    run = cli("ci", "--repo", str(repo.path), "--format", "sarif", "--output", str(sarif))
    assert run.code == 1
    lines = [line for line in run.out.splitlines() if line.startswith("::")]
    assert lines[0].startswith("::error file=new%25%2C%3A.env,line=1,col=3,title=nexpay-secret")
    assert lines[1].startswith("::notice file=fixtures/app.env,line=1")
    assert "allow_paths" in lines[1]
    assert secret(2) not in run.out and secret(2)[:11] in run.out
    text = summary.read_text()
    assert "## nexpay-scan" in text and "new%,:.env" in text and "Suppressed" in text
    assert "Revoke the key now" in text and secret(2) not in text


def test_a_malformed_ignore_line_is_an_error_naming_the_line(cli: CliRun, repo: Repo) -> None:
    repo.write("a.env", f"K={secret(1)}\n")
    repo.write(".nexpayscanignore", "# reviewed\n" + "0" * 32 + "  # fixture\nnot-a-fingerprint\n")
    run = cli("files", str(repo.path))
    assert run.code == 2
    assert ".nexpayscanignore: line 3 is not a finding's fingerprint" in run.err
    assert "Traceback" not in run.err
