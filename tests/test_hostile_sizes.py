"""Hostile sizes: a 200 MB file, files over the repository's size limit, a 5 MB line, a
commit touching 50,000 files. Big content is searched a window at a time, never read
whole, and keys beside it are still found (how long it takes is bench/hostile.py's)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testing.cli import CliRun
from testing.fast_import import wide_commit
from testing.git_repo import Repo
from testing.keys import secret
from testing.results import assert_every_mode_finds, found_keys, history_json, json_of


def test_200_mb_file_is_searched_in_windows(cli: CliRun, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    with (tree / "huge.dat").open("wb") as stream:
        stream.truncate(200 * 1024 * 1024)  # sparse: 200 MB of zeros in no time
        stream.seek(-100, os.SEEK_END)
        stream.write(f" {secret(1)} ".encode())
    (tree / "small.env").write_text(f"K={secret(2)}\n")
    run = cli("files", str(tree), "--format", "json", "--no-redact")
    assert run.code == 1, run.err
    column = 200 * 1024 * 1024 - 100 + 2
    huge = ("tree/huge.dat", 1, column, secret(1))
    assert found_keys(run) == [huge, ("tree/small.env", 1, 3, secret(2))]
    summary = json_of(run)["summary"]
    assert summary["skipped"] == {} and summary["files_scanned"] == 2
    # named on the command line, the same
    alone = cli("files", str(tree / "huge.dat"), "--format", "json", "--no-redact")
    assert alone.code == 1 and found_keys(alone) == [huge]


def test_oversized_file_in_history_is_searched_in_windows(cli: CliRun, repo: Repo) -> None:
    repo.write(".nexpay-scan.toml", "[scan]\nmax_file_size = 1000\n")
    repo.write("big.txt", "x" * 2000 + f" {secret(1)}\n")
    repo.write("small.env", f"K={secret(2)}\n")
    expected = [("big.txt", 1, 2002, secret(1)), ("small.env", 1, 3, secret(2))]
    repo.stage()
    staged = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert staged.code == 1
    assert found_keys(staged) == expected
    assert json_of(staged)["summary"]["skipped"] == {}
    repo.commit("a big file and a key, together")
    for engine in ("blob", "diff"):
        run = history_json(cli, repo.path, "--engine", engine)
        assert run.code == 1, run.err
        assert found_keys(run) == expected
        assert json_of(run)["summary"]["skipped"] == {}, engine


def test_5_mb_single_line_with_a_key_at_the_end(cli: CliRun, repo: Repo) -> None:
    filler = 5 * 1024 * 1024
    repo.write("one-line.min.js", "x" * filler + f" {secret(1)}")
    expected = [("one-line.min.js", 1, filler + 2, secret(1))]
    assert_every_mode_finds(cli, repo, expected)


@pytest.mark.slow
def test_commit_touching_50000_files(cli: CliRun, repo: Repo) -> None:
    repo.write("README.md", "docs\n")
    repo.commit()
    key_path = "d31/f31337.env"
    wide_commit(repo.path, 50_000, key_path, f"NEXPAY_SECRET={secret(1)}\n".encode())
    added = repo.git("rev-parse", "main").strip()
    assert repo.git("diff-tree", "--no-commit-id", "-r", "--name-only", added).count("\n") == 50_000
    for engine in ("blob", "diff"):
        run = history_json(cli, repo.path, "--engine", engine)
        assert run.code == 1, run.err
        assert found_keys(run) == [(key_path, 1, 15, secret(1))]
        assert json_of(run)["findings"][0]["commit"] == added
