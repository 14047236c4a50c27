"""Odd repositories: empty, shallow, detached, bare, worktrees, submodules, Git LFS
pointers, octopus merges. Each test checks what a user sees: exit code, findings where
keys were planted, and no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexpay_scan.sources.lfs import POINTER_IN_FOLDER
from testing.cli import CliRun
from testing.git_repo import Repo, git
from testing.keys import client_id, secret
from testing.results import assert_one_line_error, found_keys, history_json, json_of, matches_of


def test_empty_repository(cli: CliRun, repo: Repo) -> None:
    history = cli("history", "--repo", str(repo.path), "--format", "json")
    assert history.code == 0
    assert json_of(history)["findings"] == []
    assert json_of(history)["summary"]["commits_scanned"] == 0
    staged = cli("staged", "--repo", str(repo.path))
    assert staged.code == 0 and "no Nexpay credentials found" in staged.out
    assert "Traceback" not in staged.err
    on_disk = cli("files", str(repo.path))
    assert on_disk.code == 0
    # HEAD names no commit yet: a revision that does not exist, said in one line
    assert_one_line_error(cli("history", "HEAD", "--repo", str(repo.path)), "HEAD")
    # the first commit of an empty repository is still checked
    repo.write("first.env", f"K={secret(1)}\n")
    repo.stage()
    first = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert first.code == 1 and found_keys(first) == [("first.env", 1, 3, secret(1))]


def _shallow_clone(repo: Repo, tmp_path: Path, depth: int) -> Path:
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", f"--depth={depth}", f"file://{repo.path}", str(clone))
    assert (clone / ".git" / "shallow").is_file()
    return clone


def test_shallow_clone_scans_what_is_there(cli: CliRun, repo: Repo, tmp_path: Path) -> None:
    repo.write("old.env", f"K={secret(1)}\n")
    repo.commit("key that the clone does not hold")
    repo.git("rm", "-q", "old.env")
    repo.commit("remove it")
    repo.write("README.md", "docs\n")
    repo.commit("docs")
    repo.write("new.env", f"K={secret(2)}\n")
    added = repo.commit("key in the clone")
    clone = _shallow_clone(repo, tmp_path, depth=2)
    for engine in ("blob", "diff"):
        run = history_json(cli, clone, "--engine", engine)
        assert run.code == 1, run.err
        assert found_keys(run) == [("new.env", 1, 3, secret(2))]
        [finding] = json_of(run)["findings"]
        assert finding["commit"] == added
        assert json_of(run)["summary"]["commits_scanned"] == 2


def test_shallow_boundary_is_not_reported_as_the_introduction(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    """A key already in the boundary commit's tree came in at an older commit the clone
    lacks: the finding must say that the history is cut there, not just "introduced in"."""
    repo.write("old.env", f"K={secret(1)}\n")
    repo.commit("the real introduction, not in the clone")
    repo.write("README.md", "docs\n")
    boundary = repo.commit("docs: the shallow boundary")
    repo.write("new.env", f"K={secret(2)}\n")
    repo.commit("key in the clone")
    clone = _shallow_clone(repo, tmp_path, depth=2)
    for engine in ("blob", "diff"):
        run = history_json(cli, clone, "--engine", engine)
        assert run.code == 1, run.err
        assert matches_of(run) == {secret(1), secret(2)}
        [old] = [f for f in json_of(run)["findings"] if f["match"] == secret(1)]
        assert old["commit"] == boundary
        assert any("shallow" in note for note in old.get("notes", [])), old


def test_detached_head(cli: CliRun, repo: Repo) -> None:
    repo.write("a.txt", "a\n")
    first = repo.commit("first")
    repo.write("b.txt", "b\n")
    repo.commit("second")
    repo.git("checkout", "-q", "--detach", first)
    repo.write("detached.env", f"K={secret(1)}\n")
    repo.stage()
    staged = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert staged.code == 1
    assert found_keys(staged) == [("detached.env", 1, 3, secret(1))]
    on_no_branch = repo.commit("key on a detached HEAD")
    for args in ([], ["HEAD"], ["--engine", "diff"]):
        run = history_json(cli, repo.path, *args)
        assert run.code == 1, (args, run.err)
        assert [f["commit"] for f in json_of(run)["findings"]] == [on_no_branch]


def test_bare_repository(cli: CliRun, repo: Repo, tmp_path: Path) -> None:
    repo.write("README.md", "docs\n")
    repo.commit()
    repo.write("deploy/prod.env", f"NEXPAY_SECRET={secret(1)}\n")
    added = repo.commit("add key")
    repo.git("rm", "-q", "deploy/prod.env")
    repo.commit("remove key")
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(bare))
    for engine in ("blob", "diff"):
        run = history_json(cli, bare, "--engine", engine)
        assert run.code == 1, run.err
        assert found_keys(run) == [("deploy/prod.env", 1, 15, secret(1))]
        assert json_of(run)["findings"][0]["commit"] == added
    # a bare repository has no index and no commit in progress: nothing to find, no crash
    staged = cli("staged", "--repo", str(bare))
    assert staged.code in (0, 2), staged
    assert "Traceback" not in staged.err and "internal error" not in staged.err


def test_worktrees(cli: CliRun, repo: Repo, tmp_path: Path) -> None:
    repo.write("README.md", "docs\n")
    repo.commit()
    tree = tmp_path / "second-worktree"
    repo.git("worktree", "add", "-q", "-b", "feature", str(tree))
    (tree / "conf").mkdir()
    (tree / "conf" / "k.env").write_text(f"NEXPAY_CLIENT_ID={client_id(1)}\nK={secret(1)}\n")
    git(tree, "add", "conf/k.env")
    staged = cli("staged", "--repo", str(tree), "--format", "json", "--no-redact")
    assert staged.code == 1, staged.err
    assert found_keys(staged) == [
        ("conf/k.env", 1, 18, client_id(1)),
        ("conf/k.env", 2, 3, secret(1)),
    ]
    # the main work tree's index is another index: nothing staged there
    assert cli("staged", "--repo", str(repo.path)).code == 0
    git(tree, "commit", "-q", "-m", "key in a worktree")
    added = git(tree, "rev-parse", "HEAD").strip()
    for where in (repo.path, tree):
        run = history_json(cli, where)
        assert run.code == 1, run.err
        assert matches_of(run) == {client_id(1), secret(1)}
        assert {f["commit"] for f in json_of(run)["findings"]} == {added}


def test_submodules(cli: CliRun, repo: Repo, tmp_path: Path) -> None:
    inner = Repo(tmp_path / "inner")
    inner.write("inner.env", f"K={secret(1)}\n")
    inner.commit("a key in the submodule's own history")
    repo.write("README.md", "docs\n")
    repo.commit()
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner.path), "sub")
    repo.write("outer.env", f"K={secret(2)}\n")
    repo.stage()
    staged = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert staged.code == 1, staged.err
    assert found_keys(staged) == [("outer.env", 1, 3, secret(2))]
    assert json_of(staged)["summary"]["skipped"] == {"submodule": 1}
    added = repo.commit("add submodule and a key")
    for engine in ("blob", "diff"):
        run = history_json(cli, repo.path, "--engine", engine)
        assert run.code == 1, run.err
        # the submodule's history is another repository: only the outer key is this one's
        assert found_keys(run) == [("outer.env", 1, 3, secret(2))]
        assert json_of(run)["findings"][0]["commit"] == added


LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 12345\n"
)


def test_git_lfs_pointer_files(cli: CliRun, repo: Repo) -> None:
    repo.write(".gitattributes", "*.bin filter=lfs diff=lfs merge=lfs -text\n")
    repo.write("model.bin", LFS_POINTER)
    repo.commit("pointer")
    # an LFS-tracked path committed without git-lfs holds its real content: scanned as text
    repo.write("keys.bin", f"NEXPAY_SECRET={secret(1)}\n")
    repo.write("other.bin", LFS_POINTER.replace("12345", "99"))
    repo.stage()
    staged = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert staged.code == 1, staged.err
    assert found_keys(staged) == [("keys.bin", 1, 15, secret(1))]
    repo.commit("key in an LFS path")
    history = history_json(cli, repo.path)
    assert history.code == 1, history.err
    assert found_keys(history) == [("keys.bin", 1, 15, secret(1))]
    on_disk = cli("files", str(repo.path), "--format", "json", "--no-redact")
    assert on_disk.code == 1
    assert found_keys(on_disk) == [("keys.bin", 1, 15, secret(1))]
    summary = json_of(on_disk)["summary"]
    # the pointers on disk stand for content that is not here (no git-lfs): named
    assert summary["files_scanned"] == 4 and summary["skipped"] == {POINTER_IN_FOLDER: 2}
    assert {s["file"] for s in summary["skipped_files"]} == {"model.bin", "other.bin"}
    (repo.path / "keys.bin").unlink()
    clean = cli("files", str(repo.path), "--format", "json")
    assert clean.code == 0 and json_of(clean)["summary"]["files_scanned"] == 3


@pytest.fixture
def octopus(repo: Repo) -> tuple[Repo, dict[str, str]]:
    """main merged with three branches at once, each adding a key of its own."""
    repo.write("README.md", "docs\n")
    repo.commit("base")
    introduced: dict[str, str] = {}
    for number in (1, 2, 3):
        repo.git("checkout", "-q", "-b", f"topic{number}", "main")
        repo.write(f"topic{number}.env", f"K={secret(number)}\n")
        introduced[secret(number)] = repo.commit(f"topic {number}")
    repo.git("checkout", "-q", "main")
    repo.write("main.txt", "main moves on\n")
    repo.commit("main")
    return repo, introduced


def test_octopus_merge_keys_in_its_parents(
    cli: CliRun, octopus: tuple[Repo, dict[str, str]]
) -> None:
    repo, introduced = octopus
    repo.git("merge", "-q", "--no-edit", "topic1", "topic2", "topic3")
    assert len(repo.git("log", "-1", "--format=%P").split()) == 4
    for args in (["--engine", "blob"], ["--engine", "diff"], ["main"]):
        run = history_json(cli, repo.path, *args)
        assert run.code == 1, run.err
        found = {f["match"]: f["commit"] for f in json_of(run)["findings"]}
        assert found == introduced, args


def test_octopus_merge_that_adds_a_key_itself(
    cli: CliRun, octopus: tuple[Repo, dict[str, str]]
) -> None:
    """An "evil" merge: the key is in none of the parents, only in the merge's own tree."""
    repo, _ = octopus
    repo.git("merge", "-q", "--no-commit", "topic1", "topic2", "topic3")
    repo.write("merge-only.env", f"K={secret(9)}\n")
    repo.git("add", "merge-only.env")
    repo.git("commit", "-q", "--no-edit")
    merge = repo.git("rev-parse", "HEAD").strip()
    for args in (["--engine", "blob"], ["--engine", "diff"], ["main"], [f"{merge}^1..{merge}"]):
        run = history_json(cli, repo.path, *args)
        assert run.code == 1, run.err
        assert secret(9) in matches_of(run), args
        [evil] = [f for f in json_of(run)["findings"] if f["match"] == secret(9)]
        assert evil["file"] == "merge-only.env", args
