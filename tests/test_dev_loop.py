"""The developer's loop: advice for the stage, bypass lines, `ignore --last-found`, baseline
update/prune, chained hooks, bad dates and report names, the progress total, and the audit
report's "still present" at every branch and tag tip."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nexpay_scan.progress import Progress
from testing.cli import CliRun, on_a_terminal
from testing.git_repo import Repo, git
from testing.keys import secret
from testing.results import assert_one_line_error


def _commit(repo: Repo, *, message: str = "try") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-q", "-m", message],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )


# Advice that fits the stage


def test_commit_time_advice_says_the_key_has_not_left(cli: CliRun, repo: Repo) -> None:
    repo.commit("start")
    repo.write("app.env", f"K={secret(1)}\n")
    repo.stage()
    run = cli("staged", "--repo", str(repo.path))
    assert run.code == 1
    assert "has not left this machine" in run.out and "Re-stage" in run.out
    assert "revoke it" in run.out  # if it was ever shared
    assert run.err.rstrip().endswith("To commit anyway, knowingly: git commit --no-verify")


def test_push_time_advice_rewrites_the_unpushed_commits(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo.git("remote", "add", "origin", str(remote))
    repo.commit("start")
    repo.git("push", "-q", "origin", "main")
    repo.write("app.env", f"K={secret(1)}\n")
    head = repo.commit("adds a key")
    line = f"refs/heads/main {head} refs/heads/main {'0' * 40}\n"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "nexpay_scan",
            "pre-push",
            "origin",
            str(remote),
            "--repo",
            str(repo.path),
        ],
        input=line,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    assert run.returncode == 1
    assert "git commit --amend" in run.stdout and "git rebase -i" in run.stdout
    assert run.stderr.rstrip().endswith("To push anyway, knowingly: git push --no-verify")


def test_ci_and_audit_advice_is_to_revoke_now(cli: CliRun, repo: Repo) -> None:
    repo.write("app.env", f"K={secret(1)}\n")
    repo.commit("adds a key")
    run = cli("history", "--repo", str(repo.path))
    assert run.code == 1 and "Revoke the key now" in run.out
    assert "--no-verify" not in run.err  # no bypass for an audit


# ignore --last-found


def test_ignore_last_found_lists_the_blocked_findings_with_reason_and_date(
    cli: CliRun, repo: Repo
) -> None:
    repo.commit("start")
    repo.write("tests/fixture.env", f"K={secret(1)}\n")
    repo.stage()
    blocked = cli("staged", "--repo", str(repo.path), "--format", "json")
    assert blocked.code == 1
    found = blocked.json()["findings"][0]
    digest = found["secret_sha256"]
    remembered = (repo.path / ".git" / "nexpay-scan" / "last-found").read_text()
    assert found["fingerprint"] in remembered and secret(1) not in remembered
    assert digest in remembered  # a sha256, as baselines hold: never the key
    run = cli("ignore", "--repo", str(repo.path), "--last-found", "--reason", "test fixture")
    assert run.code == 0 and "added 1 of 1" in run.out
    listed = (repo.path / ".nexpayscanignore").read_text()
    assert re.fullmatch(
        rf"{digest}  # test fixture \(\d{{4}}-\d\d-\d\d, nexpay-secret, tests/fixture.env\)\n",
        listed,
    )
    again = cli("ignore", "--repo", str(repo.path), "--last-found", "--reason", "again")
    assert "added 0 of 1" in again.out  # listed once
    repo.stage()
    assert cli("staged", "--repo", str(repo.path)).code == 0
    # the entry follows the key: renamed, it is still the same reviewed fixture
    repo.git("mv", "tests/fixture.env", "tests/renamed.env")
    repo.stage()
    assert cli("staged", "--repo", str(repo.path)).code == 0


def test_files_remembers_in_the_git_dir_of_the_worktree_it_scans(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    repo.commit("start")
    tree = tmp_path / "linked"
    repo.git("worktree", "add", "-q", str(tree))
    (tree / "a.env").write_text(f"K={secret(1)}\n")
    run = cli("files", str(tree), "--format", "json")
    assert run.code == 1
    remembered = repo.path / ".git" / "worktrees" / "linked" / "nexpay-scan" / "last-found"
    assert run.json()["findings"][0]["fingerprint"] in remembered.read_text()
    assert not (repo.path / ".git" / "nexpay-scan").exists()  # the main tree's: not it
    listed = cli("ignore", "--repo", str(tree), "--last-found", "--reason", "fixture")
    assert listed.code == 0 and "added 1 of 1" in listed.out
    # in no repository: found, and nothing written beside the files
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "b.env").write_text(f"K={secret(2)}\n")
    assert cli("files", str(plain)).code == 1
    assert [p.name for p in plain.iterdir()] == ["b.env"]


def test_ignore_without_a_blocked_run_or_reason_is_an_error(cli: CliRun, repo: Repo) -> None:
    repo.commit("start")
    run = cli("ignore", "--repo", str(repo.path), "--last-found", "--reason", "x")
    assert run.code == 2 and "no blocked run" in run.err
    run = cli("ignore", "--repo", str(repo.path), "--last-found")
    assert run.code == 2 and "--reason" in run.err


# baseline update / prune


def test_baseline_update_adds_new_and_prune_drops_gone(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    repo.write("a.env", f"K={secret(1)}\n")
    repo.commit()
    baseline = tmp_path / "baseline.json"
    args = ("--repo", str(repo.path), "--output", str(baseline), "--scan", "files")
    assert cli("baseline", "create", *args).code == 0
    repo.write("b.env", f"K={secret(2)}\n")
    run = cli("baseline", "update", *args)
    assert run.code == 0 and "added 1 new" in run.out
    files = [e["file"] for e in json.loads(baseline.read_text())["findings"]]
    assert files == ["a.env", "b.env"]
    (repo.path / "a.env").unlink()
    run = cli("baseline", "prune", *args)
    assert run.code == 0 and "dropped 1" in run.out
    text = baseline.read_text()
    assert [e["file"] for e in json.loads(text)["findings"]] == ["b.env"]
    assert secret(1) not in text and secret(2) not in text


def test_baseline_update_of_a_missing_baseline_is_an_error(cli: CliRun, repo: Repo) -> None:
    repo.commit()
    run = cli("baseline", "update", "--repo", str(repo.path), "--output", "nope.json")
    assert run.code == 2 and "baseline not found" in run.err


# install-hook --force chains the hook it replaces; --uninstall restores it


def test_force_keeps_running_the_replaced_hook_and_uninstall_restores_it(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    repo.commit("start")
    hooks = repo.path / ".git" / "hooks"
    ran = tmp_path / "team-hook-ran"
    team = f"#!/bin/sh\necho team >> {ran}\nexit ${{TEAM_HOOK_EXIT:-0}}\n"
    (hooks / "pre-commit").write_text(team)
    (hooks / "pre-commit").chmod(0o755)
    run = cli("install-hook", "--repo", str(repo.path), "--force")
    assert run.code == 0 and "still runs first" in run.out
    repo.write("a.txt", "clean\n")
    repo.stage()
    assert _commit(repo).returncode == 0 and ran.read_text() == "team\n"  # both ran
    repo.write("b.env", f"K={secret(1)}\n")
    repo.stage()
    blocked = _commit(repo)
    assert blocked.returncode == 1 and "nexpay-secret" in blocked.stdout + blocked.stderr
    os.environ["TEAM_HOOK_EXIT"] = "3"
    try:
        repo.write("b.env", "clean\n")
        repo.stage()
        assert _commit(repo).returncode != 0  # the team's hook still blocks
    finally:
        del os.environ["TEAM_HOOK_EXIT"]
    run = cli("install-hook", "--repo", str(repo.path), "--uninstall")
    assert run.code == 0 and "restored" in run.out
    assert (hooks / "pre-commit").read_text() == team
    assert not (hooks / "pre-commit.legacy").exists()


def test_chained_pre_push_hook_gets_the_same_stdin(cli: CliRun, repo: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo.git("remote", "add", "origin", str(remote))
    repo.commit("start")
    hooks = repo.path / ".git" / "hooks"
    seen = tmp_path / "seen"
    (hooks / "pre-push").write_text(f"#!/bin/sh\ncat > {seen}\n")
    (hooks / "pre-push").chmod(0o755)
    assert cli("install-hook", "--repo", str(repo.path), "--pre-push", "--force").code == 0
    repo.write("app.env", f"K={secret(1)}\n")
    repo.stage()
    repo.git("commit", "-q", "--no-verify", "-m", "adds a key")  # past the commit hook
    pushed = subprocess.run(
        ["git", "push", "-q", "origin", "main"], cwd=repo.path, capture_output=True, text=True
    )
    assert pushed.returncode != 0 and "nexpay-secret" in pushed.stdout + pushed.stderr
    assert seen.read_text().startswith("refs/heads/main ")  # the team's hook read the refs


# bad input fails before the scan


@pytest.mark.parametrize("flag", ["--since", "--until"])
@pytest.mark.parametrize("value", ["notadate", "last blursday", ""])
def test_dates_git_cannot_parse_are_an_error(
    cli: CliRun, repo: Repo, flag: str, value: str
) -> None:
    repo.write("a.env", f"K={secret(1)}\n")
    repo.commit()
    run = cli("history", "--repo", str(repo.path), flag, value)
    assert run.code == 2 and "not a date git understands" in run.err


@pytest.mark.parametrize("value", ["2024-01-01", "2 weeks ago", "yesterday", "last tuesday"])
def test_dates_git_parses_are_accepted(cli: CliRun, repo: Repo, value: str) -> None:
    repo.commit()
    assert cli("history", "--repo", str(repo.path), "--since", value).code == 0


def test_report_with_an_unknown_suffix_fails_before_the_scan(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    repo.write("a.env", f"K={secret(1)}\n")
    repo.commit()
    run = cli("history", "--repo", str(repo.path), "--report", str(tmp_path / "x.txt"))
    assert run.code == 2 and "unknown report type '.txt'" in run.err
    assert "Scanned" not in run.out + run.err  # nothing was scanned


# the progress display


def test_progress_total_is_fixed_and_time_left_real() -> None:
    import io

    stream = io.StringIO()
    progress = Progress("commits", enabled=True, stream=stream)
    progress.expect(1000, "bytes")
    progress.start(0, "bytes")
    progress.total += 300  # what the blob lister adds as it discovers batches
    assert progress.total == 1000
    progress.done = 250
    line = progress.line(progress._started + 5.0)
    assert "0/0 MB" in line or "(25%)" in line
    assert "15s left" in line  # 250 in 5 s: 750 more take 15 s


def test_whole_history_progress_shows_a_fixed_total(repo: Repo) -> None:
    for n in range(3):
        repo.write(f"f{n}.txt", "x" * 200_000 + "\n")
        repo.commit(f"c{n}")
    drawn = on_a_terminal("history", "--repo", str(repo.path), "--engine", "blob")
    totals = set(re.findall(r"/([\d,]+) MB of blobs", drawn))
    assert len(totals) <= 1  # never a growing total


# the audit report: still present at every branch and tag tip


def test_audit_names_the_tips_that_still_hold_a_key(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    repo.commit("start")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app.env", f"K={secret(1)}\n")
    repo.commit("adds a key on feature")
    repo.git("tag", "-a", "v1.0", "-m", "release")
    repo.git("checkout", "-q", "main")  # HEAD (main) never had it
    out = tmp_path / "audit.md"
    run = cli("history", "--repo", str(repo.path), "--report", str(out), "--quiet")
    assert run.code == 1
    text = out.read_text()
    assert "yes: in the files at feature, v1.0" in text
    assert "in the files of no branch or tag tip" not in text


@pytest.mark.parametrize("flag", ["--since", "--until"])
@pytest.mark.parametrize("value", ["2024-13-45", "2024-02-30"])
def test_calendar_days_that_do_not_exist_are_an_error(
    cli: CliRun, repo: Repo, flag: str, value: str
) -> None:
    # git reads them as some other date and scans what that selects: never silently
    repo.write("a.env", f"K={secret(1)}\n")
    repo.commit()
    run = cli("history", "--repo", str(repo.path), flag, value)
    assert_one_line_error(run, "is no day of the calendar", value)
