"""`nexpay-scan staged`: what the next commit adds, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.cli import CliRun, Result
from testing.git_repo import Repo
from testing.keys import client_id, secret


def _found(run: Result) -> list[tuple[str, int, str]]:
    return [(f["file"], f["line"], f["match"]) for f in run.json()["findings"]]


def test_only_added_lines_are_findings(cli: CliRun, repo: Repo) -> None:
    old, new = secret(1), secret(2)
    repo.write("app.env", f"A=1\nOLD={old}\n")
    repo.commit("old key")
    repo.write("app.env", f"A=1\nOLD={old}\nB=2\nNEW={new}\n")
    repo.stage()
    run = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert run.code == 1
    assert _found(run) == [("app.env", 4, new)]


def test_clean_change_exits_zero(cli: CliRun, repo: Repo) -> None:
    repo.write("README.md", "hello\n")
    repo.stage()
    run = cli("staged", "--repo", str(repo.path))
    assert run.code == 0
    assert "no Nexpay credentials found" in run.out


def test_nothing_staged_exits_zero(cli: CliRun, repo: Repo) -> None:
    repo.write("a.txt", "a\n")
    repo.commit()
    assert cli("staged", "--repo", str(repo.path)).code == 0
    empty = Repo(repo.path.parent / "empty")
    assert cli("staged", "--repo", str(empty.path)).code == 0


def test_repository_without_commits_uses_the_empty_tree(cli: CliRun, repo: Repo) -> None:
    repo.write("first.py", f'KEY = "{secret(3)}"\n')
    repo.stage()
    run = cli("staged", "--repo", str(repo.path), "--format", "json")
    assert [(f["file"], f["line"]) for f in run.json()["findings"]] == [("first.py", 1)]


def test_unstaged_changes_are_not_scanned(cli: CliRun, repo: Repo) -> None:
    repo.write("a.txt", "clean\n")
    repo.stage()
    repo.write("a.txt", f"dirty {secret(4)}\n")
    assert cli("staged", "--repo", str(repo.path)).code == 0


def test_staged_version_gives_file_and_line(cli: CliRun, repo: Repo) -> None:
    repo.write("a.txt", "".join(f"line {i}\n" for i in range(1, 11)))
    repo.commit()
    lines = [f"line {i}\n" for i in range(1, 11)]
    lines.insert(2, "inserted\n")
    lines.insert(7, f"key {secret(5)}\n")
    repo.write("a.txt", "".join(lines))
    repo.stage()
    repo.write("a.txt", "unstaged rewrite\n")
    run = cli("staged", "--repo", str(repo.path), "--format", "json")
    assert [(f["file"], f["line"], f["column"]) for f in run.json()["findings"]] == [
        ("a.txt", 8, 5)
    ]


def test_rename_adds_its_content_at_the_new_path_and_deletion_adds_nothing(
    cli: CliRun, repo: Repo
) -> None:
    # as in history: where a key is NOW is what an allowlist or a reviewer judges
    repo.write("keys/old.env", f"KEY={secret(6)}\n")
    repo.write("keys/gone.env", f"KEY={secret(7)}\n")
    repo.commit()
    repo.git("mv", "keys/old.env", "keys/new.env")
    repo.git("rm", "-q", "keys/gone.env")
    run = cli("staged", "--repo", str(repo.path), "--format", "json")
    assert run.code == 1
    assert [f["file"] for f in run.json()["findings"]] == ["keys/new.env"]


def test_rename_with_an_added_key_reports_the_new_path(cli: CliRun, repo: Repo) -> None:
    body = "".join(f"setting_{i} = {i}\n" for i in range(30))
    repo.write("old.py", body)
    repo.commit()
    repo.git("mv", "old.py", "new.py")
    repo.write("new.py", body + f'KEY = "{secret(8)}"\n')
    repo.stage()
    run = cli("staged", "--repo", str(repo.path), "--format", "json")
    assert [(f["file"], f["line"]) for f in run.json()["findings"]] == [("new.py", 31)]


def test_binary_file_reports_keys_its_old_version_lacked(cli: CliRun, repo: Repo) -> None:
    old, new = secret(9), secret(10)
    repo.write("cache.pyc", b"\x00\x01" + old.encode() + b"\x00")
    repo.commit()
    repo.write("cache.pyc", b"\x00\x01" + old.encode() + b"\x00\xff" + new.encode())
    repo.stage()
    run = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert [f["match"] for f in run.json()["findings"]] == [new]


def test_old_binary_version_is_read_between_new_blobs_asked_ahead(cli: CliRun, repo: Repo) -> None:
    # The new blobs are asked of git all at once; the old version of a binary file is
    # asked in between, out of that order, and every file after it is still scanned.
    old, new, later = secret(9), secret(10), secret(11)
    repo.write("a.pyc", b"\x00\x01" + old.encode() + b"\x00")
    repo.write("b.pyc", b"\x00\x01" + old.encode() + b"\x00")
    repo.commit()
    repo.write("a.pyc", b"\x00\x01" + old.encode() + b"\x00\xff" + new.encode())
    repo.write("b.pyc", b"\x00\x01" + old.encode() + b"\x00\xfe" + later.encode())
    repo.write("c.env", f"KEY={later}\n")
    repo.stage()
    run = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    found = [(f["file"], f["match"]) for f in run.json()["findings"]]
    assert found == [("a.pyc", new), ("b.pyc", later), ("c.env", later)]


@pytest.mark.parametrize(
    "name", ["with space.env", "ünïcödé/ключ.env", "new\nline.env", "tab\there.env"]
)
def test_odd_file_names(cli: CliRun, repo: Repo, name: str) -> None:
    repo.write(name, f"NEXPAY_CLIENT_ID={client_id(1)}\n")
    repo.stage()
    run = cli("staged", "--repo", str(repo.path), "--format", "json")
    assert [f["file"] for f in run.json()["findings"]] == [name]
    text = cli("staged", "--repo", str(repo.path))
    assert text.code == 1 and "Traceback" not in text.err


def test_submodule_is_skipped_not_crashed(cli: CliRun, repo: Repo, tmp_path: Path) -> None:
    inner = Repo(tmp_path / "inner")
    inner.write("x.txt", "x\n")
    inner.commit()
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner.path), "sub")
    run = cli("staged", "--repo", str(repo.path), "--format", "json")
    assert run.code == 0
    assert run.json()["summary"]["skipped"] == {"submodule": 1}


def test_not_a_repository_is_a_one_line_error(cli: CliRun, tmp_path: Path) -> None:
    run = cli("staged", "--repo", str(tmp_path))
    assert run.code == 2
    assert "not a git repository" in run.err
    assert "git commit --no-verify" in run.err


@pytest.mark.parametrize("flag", ["--rep", "--repo="])
def test_the_repository_named_is_scanned_whatever_git_was_started_on(
    cli: CliRun, repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    """The git calls start before the tool loads, for the repository a plain command line
    names; an abbreviation argparse accepts (`--rep`) is no plain line: the scan starts
    its own calls, and reads the repository named, not the current folder's."""
    clean = Repo(tmp_path / "clean")
    clean.write("a.txt", "a\n")
    clean.commit()
    monkeypatch.chdir(clean.path)
    repo.write("a.txt", "a\n")
    repo.commit()
    repo.write("key.env", f"KEY={secret(1)}\n")
    repo.stage()
    args = [f"--repo={repo.path}"] if flag == "--repo=" else [flag, str(repo.path)]
    run = cli("staged", *args, "--format", "json", "--no-redact")
    assert run.code == 1
    assert _found(run) == [("key.env", 1, secret(1))]


def test_a_bad_flag_stops_the_git_calls_started_early(cli: CliRun, repo: Repo) -> None:
    from nexpay_scan.sources import staged_git

    repo.write("key.env", f"KEY={secret(1)}\n")
    repo.stage()
    run = cli("staged", "--repo", str(repo.path), "--bogus")
    assert run.code == 2
    assert "unrecognized arguments: --bogus" in run.err
    assert staged_git._early == []


def test_git_calls_started_early_match_the_threshold_of_the_config() -> None:
    from nexpay_scan.config import DEFAULT_MAX_FILE_SIZE
    from nexpay_scan.sources.staged_git import LEAN

    assert ("-c", f"core.bigFileThreshold={DEFAULT_MAX_FILE_SIZE}") == LEAN
