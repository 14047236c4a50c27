"""What a user reads in a run's output, picked apart for asserts: the JSON report, the
findings in it, a one-line error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from testing.cli import CliRun, Result
from testing.git_repo import Repo


def json_of(run: Result) -> dict[str, Any]:
    """The run's JSON report (and no traceback on stderr)."""
    assert "Traceback" not in run.err, run.err
    document: dict[str, Any] = run.json()
    return document


def gaps(run: Result) -> list[tuple[str, str]]:
    """(file, reason) of each piece of content the run names as not read whole, sorted."""
    assert run.code in (0, 1), run.err
    return sorted((s["file"], s["reason"]) for s in json_of(run)["summary"]["skipped_files"])


def found_keys(run: Result) -> list[tuple[str, int, int, str]]:
    """(file, line, column, full credential) of each finding, sorted; needs --no-redact."""
    return sorted((f["file"], f["line"], f["column"], f["match"]) for f in json_of(run)["findings"])


def matches_of(run: Result) -> set[str]:
    """The credentials found (full with --no-redact)."""
    return {f["match"] for f in json_of(run)["findings"]}


def history_json(cli: CliRun, repo: Path, *args: str) -> Result:
    """`history` of `repo` with a JSON report that shows full credentials."""
    return cli("history", "--repo", str(repo), "--format", "json", "--no-redact", *args)


def audit_report(cli: CliRun, repo: Path, out: Path) -> str:
    """The text of the audit report `history --report OUT` writes for `repo`, whose history
    holds keys (the run exits 1)."""
    run = cli("history", "--repo", str(repo), "--quiet", "--report", str(out))
    assert run.code == 1, run.err
    return out.read_text(encoding="utf-8")


def assert_one_line_error(run: Result, *needles: str) -> None:
    """Exit 2 and exactly one line on stderr, an error that names what is wrong."""
    assert run.code == 2, (run.code, run.out, run.err)
    assert "Traceback" not in run.err and "internal error" not in run.err, run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("nexpay-scan: error: "), run.err
    for needle in needles:
        assert needle in lines[0], (needle, run.err)


def assert_every_mode_finds(
    cli: CliRun, repo: Repo, expected: list[tuple[str, int, int, str]]
) -> None:
    """The work tree's files as `files` reads them, then staged (`staged`), then committed
    (`history`): each run blocks (exit 1) and finds exactly `expected` (see `found_keys`)."""
    on_disk = cli("files", str(repo.path), "--format", "json", "--no-redact")
    assert on_disk.code == 1 and found_keys(on_disk) == expected
    repo.stage()
    staged = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert staged.code == 1 and found_keys(staged) == expected
    repo.commit()
    history = history_json(cli, repo.path)
    assert history.code == 1 and found_keys(history) == expected
