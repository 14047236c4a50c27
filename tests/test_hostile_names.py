"""Hostile names: paths and content holding the scanner's own record markers, paths with
newlines. Whoever commits chooses names; none of them can hide a key or move it to
another file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testing.cli import CliRun
from testing.git_repo import Repo, git
from testing.keys import secret
from testing.results import found_keys, history_json, json_of

COMMIT_MARKER = "\x01nexpay-scan-commit\x01"  # how the history reader splits `git log -p`


WALK_MARKER = "\x01nexpay-scan-walk\x01"  # what the blob engine's tree walk once split on
# a name that reads as a raw record adding a blob that is not there (the walk lists the
# blobs a range adds: asking git for this one would fail the scan)
RAW_RECORD = ":100644 100644 " + "0" * 40 + " " + "e" * 40 + " M"


@pytest.mark.parametrize("where", ["content", "path", "author", "path-walk", "path-raw"])
def test_scanner_markers_in_names_and_content_cannot_hide_a_key(
    cli: CliRun, repo: Repo, where: str
) -> None:
    """Control bytes are valid in file content, file names and author names: text that
    looks like the scanner's own record separators must be read as what it is."""
    repo.write("README.md", "docs\n")
    repo.commit()
    env = dict(os.environ)
    key_file = "z.env"
    if where == "content":
        repo.write("a.txt", f"before\n{COMMIT_MARKER}after\n")
    elif where == "path":
        key_file = f"a{COMMIT_MARKER}b.env"
    elif where == "author":  # a numeric email reads as a commit time after a bad split
        env.update(GIT_AUTHOR_NAME=f"x{COMMIT_MARKER}y", GIT_AUTHOR_EMAIL="1700000000")
    elif where == "path-walk":
        repo.write(f"a{WALK_MARKER}b.txt", "hello\n")
    else:
        repo.write(RAW_RECORD, "hello\n")
    repo.write(key_file, f"K={secret(1)}\n")
    repo.stage()
    git(repo.path, "commit", "-q", "-m", "odd names", env=env)
    added = repo.git("rev-parse", "HEAD").strip()
    for engine in ("blob", "diff"):
        for selection, commits in (([], 2), (["HEAD~1..HEAD"], 1)):
            run = history_json(cli, repo.path, "--engine", engine, *selection)
            assert run.code == 1, (engine, run.code, run.err)
            assert found_keys(run) == [(key_file, 1, 3, secret(1))], engine
            assert json_of(run)["findings"][0]["commit"] == added
            assert json_of(run)["summary"]["commits_scanned"] == commits, engine


def test_paths_with_newlines(cli: CliRun, repo: Repo) -> None:
    name = "line\nbreak.env"
    repo.write(name, f"K={secret(1)}\n")
    repo.write("tab\tand\rcr.env", f"K={secret(2)}\n")
    repo.stage()
    expected = [("line\nbreak.env", 1, 3, secret(1)), ("tab\tand\rcr.env", 1, 3, secret(2))]
    staged = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert staged.code == 1 and found_keys(staged) == expected
    repo.commit()
    for engine in ("blob", "diff"):
        run = history_json(cli, repo.path, "--engine", engine)
        assert run.code == 1 and found_keys(run) == expected, engine
    # text output shows the newline escaped: one finding cannot pose as two lines
    text = cli("history", "--repo", str(repo.path))
    assert text.code == 1
    assert "line\\nbreak.env:1:3" in text.out
    assert "\nbreak.env" not in text.out


def test_a_repository_folder_with_a_newline_in_its_name(cli: CliRun, tmp_path: Path) -> None:
    """git names the work tree and its git dir on two lines: a newline in the folder's own
    name must not cut the top folder short (the repository's config would go unread, and
    a blocked run's fingerprints would be lost)."""
    repo = Repo(tmp_path / "odd\nrepo")
    repo.write(".nexpay-scan.toml", "[scan]\nallow_paths = ['^fixtures/']\n")
    repo.write("fixtures/k.env", f"K={secret(3)}\n")
    repo.write("app/k.env", f"K={secret(4)}\n")
    repo.stage()
    run = cli("staged", "--repo", str(repo.path), "--format", "json")
    assert run.code == 1
    assert [f["file"] for f in run.json()["findings"]] == ["app/k.env"]
    assert [f["file"] for f in run.json()["suppressed"]] == ["fixtures/k.env"]
    remembered = repo.path / ".git" / "nexpay-scan" / "last-found"
    assert "app/k.env" in remembered.read_text()


def test_a_bare_repository_with_a_newline_in_its_name(cli: CliRun, tmp_path: Path) -> None:
    """A bare repository (a server's, where pre-receive runs) is found by one git call that
    names it on the line after "true": a newline in its own name is kept."""
    repo = Repo(tmp_path / "work")
    repo.write("app/k.env", f"K={secret(5)}\n")
    repo.commit()
    bare = tmp_path / "odd\nserver.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(bare))
    run = cli("history", "--repo", str(bare), "--format", "json")
    assert run.code == 1, run.err
    assert [f["file"] for f in run.json()["findings"]] == ["app/k.env"]
