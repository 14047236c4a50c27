"""Hostile configuration and arguments: a rule that backtracks catastrophically, a config
file that is not TOML, revisions and branches that do not exist. A bad rule is stopped
and named; bad input is a one-line error, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.cli import CliRun, Result
from testing.git_repo import Repo
from testing.hostile_rules import BACKTRACKING_RULE
from testing.keys import secret
from testing.results import assert_one_line_error, found_keys, json_of


@pytest.mark.slow
def test_catastrophically_backtracking_rule_is_stopped_and_named(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    repo.write(".nexpay-scan.toml", BACKTRACKING_RULE)
    repo.write("hostile.txt", f"K={secret(1)}\n" + "a" * 5000 + "!\n")
    repo.write("other.env", f"K={secret(2)}\n")
    expected = [("hostile.txt", 1, 3, secret(1)), ("other.env", 1, 3, secret(2))]
    repo.commit()
    report = tmp_path / "report.json"
    for command in (["files", str(repo.path)], ["history", "--repo", str(repo.path)]):
        # JSON into a file, and the text summary a person reads on stderr
        run = cli(*command, "--format", "json", "--no-redact", "--output", str(report))
        # the scan goes on: the other rules still searched every file, the hostile one too
        assert run.code == 1, run.err
        assert "Traceback" not in run.err and "internal error" not in run.err
        written = Result(run.code, report.read_text(), run.err)
        assert found_keys(written) == expected
        stopped = json_of(written)["summary"]["rule_timeouts"]
        assert [name for name in stopped if "hostile-backtracking" in name], stopped
        [warning] = [line for line in run.err.splitlines() if "hostile-backtracking" in line]
        assert warning.startswith("warning: rule hostile-backtracking"), warning
        assert ".nexpay-scan.toml" in warning


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"this is = not [toml\n", "not valid TOML"),
        (b"\xff\xfe[scan]\n", "not valid TOML"),
        (b"\0" * 64, "not valid TOML"),
        (b"[scan\nmax_file_size = 1\n", "not valid TOML"),
    ],
    ids=["garbage", "not-utf8", "nul-bytes", "unclosed-table"],
)
def test_config_file_that_is_not_toml(
    cli: CliRun, repo: Repo, tmp_path: Path, content: bytes, problem: str
) -> None:
    repo.write("README.md", "docs\n")
    repo.commit()
    repo.write(".nexpay-scan.toml", content)
    for command in (["history", "--repo", str(repo.path)], ["files", str(repo.path)]):
        assert_one_line_error(cli(*command), ".nexpay-scan.toml", problem)
    staged = cli("staged", "--repo", str(repo.path))
    assert staged.code == 2 and problem in staged.err and "Traceback" not in staged.err
    given = tmp_path / "rules.toml"
    given.write_bytes(content)
    assert_one_line_error(
        cli("files", str(repo.path / "README.md"), "--config", str(given)), "rules.toml", problem
    )


@pytest.mark.parametrize(
    "revision",
    [
        "no-such-branch",
        "no-such-branch..HEAD",
        "HEAD..no-such-branch",
        "0123456789abcdef0123456789abcdef01234567",
        "HEAD~999",
        "HEAD^{nonsense}",
    ],
)
def test_revision_that_does_not_exist(cli: CliRun, repo: Repo, revision: str) -> None:
    repo.write("a.env", f"K={secret(1)}\n")
    repo.commit()
    run = cli("history", revision, "--repo", str(repo.path))
    assert_one_line_error(run)
    assert run.out == ""


def test_branch_that_does_not_exist(cli: CliRun, repo: Repo) -> None:
    repo.commit()
    assert_one_line_error(cli("history", "--branch", "nope", "--repo", str(repo.path)), "nope")
