"""Git plumbing an attacker can use to slip a key past the gate, each met with real git:
type changes, merges git resolved itself, refs to blobs and trees, replace refs, partial
clones, renames out of an allowlisted path, a dying `git cat-file`, GIT_DIR."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from testing.cli import CliRun, Result
from testing.git_repo import ROOT, Repo, git, pre_receive_server
from testing.keys import secret
from testing.results import assert_one_line_error

ENGINES = ["blob", "diff"]
_JSON_PLAIN = ("--format", "json", "--no-redact")
BODY = "".join(f"setting_{i} = {i}\n" for i in range(1, 10))


def _files(run: Result) -> set[str]:
    return {f["file"] for f in run.json()["findings"]}


def _history(cli: CliRun, repo: Repo, engine: str) -> Result:
    return cli("history", "--repo", str(repo.path), "--engine", engine, "--format", "json")


# --- a type change beside a key -----------------------------------------------------------


def _stage_typechange(repo: Repo, to_symlink: bool) -> set[str]:
    """A commit in which `a` turns into a symlink (or from one into a file) while other
    files get keys; returns where the keys are. Git writes two patch sections for the one
    raw record of `a`: paired by position, every later file got the wrong section."""
    link = repo.path / "a"
    if to_symlink:
        repo.write("a", "plain file\n")
    else:
        link.symlink_to("target")
    odd = ['we"ird\nname.env', "odd b/name.env"]  # git quotes the first; not the second
    for name in ["conf.env", *odd]:
        repo.write(name, BODY)
    repo.commit("start")
    link.unlink()
    keyed = {"conf.env", *odd}
    if to_symlink:
        link.symlink_to("target")
    else:
        repo.write("a", f"{BODY}NEXPAY_SECRET={secret(30)}\n")
        keyed.add("a")
    for seed, name in enumerate(["conf.env", *odd], 31):  # line 10: not line 1
        repo.write(name, f"{BODY}NEXPAY_SECRET={secret(seed)}\n")
    repo.stage()
    assert "T\0a\0" in repo.git("diff", "--cached", "--raw", "-z")
    return keyed


@pytest.mark.parametrize("to_symlink", [True, False], ids=["file-to-symlink", "symlink-to-file"])
def test_typechange_beside_a_key_is_found_when_staged(
    cli: CliRun, repo: Repo, to_symlink: bool
) -> None:
    keyed = _stage_typechange(repo, to_symlink)
    run = cli("staged", "--repo", str(repo.path), "--format", "json")
    assert run.code == 1
    assert _files(run) == keyed


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("to_symlink", [True, False], ids=["file-to-symlink", "symlink-to-file"])
def test_typechange_beside_a_key_is_found_in_history(
    cli: CliRun, repo: Repo, to_symlink: bool, engine: str
) -> None:
    keyed = _stage_typechange(repo, to_symlink)
    repo.commit("typechange and keys")
    run = _history(cli, repo, engine)
    assert run.code == 1
    assert _files(run) == keyed


# --- merges: what git merged itself, and what the merge adds -----------------------------


@pytest.fixture
def evil_merge(repo: Repo) -> Repo:
    """main and topic both change shared.txt (git merges it cleanly, so `--cc` shows it in
    the raw records but writes no patch section) and conflict.py (the resolution adds a
    key); the merge also adds zz.env with a key, listed after shared.txt."""
    lines = [f"line {i}\n" for i in range(20)]
    repo.write("shared.txt", "".join(lines))
    repo.write("conflict.py", BODY)
    repo.commit("start")
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("shared.txt", "".join([*lines[:18], "topic\n", *lines[19:]]))
    repo.write("conflict.py", BODY.replace("setting_5 = 5", "setting_5 = 'topic'"))
    repo.commit("topic")
    repo.git("checkout", "-q", "main")
    repo.write("shared.txt", "".join([*lines[:2], "main\n", *lines[3:]]))
    repo.write("conflict.py", BODY.replace("setting_5 = 5", "setting_5 = 'main'"))
    repo.commit("main")
    subprocess.run(
        ["git", "-C", str(repo.path), "merge", "-q", "--no-commit", "topic"],
        capture_output=True,
        check=False,
    )
    repo.write("conflict.py", BODY.replace("setting_5 = 5", f"NEXPAY_SECRET = '{secret(33)}'"))
    repo.write("zz.env", f"NEXPAY_SECRET={secret(34)}\n")
    repo.commit("merge topic")
    combined = repo.git("log", "-1", "--cc", "--raw", "--format=", "HEAD")
    assert "shared.txt" in combined  # a raw record...
    assert "diff --cc shared.txt" not in repo.git("log", "-1", "--cc", "-p", "--format=")
    return repo


@pytest.mark.parametrize("engine", ENGINES)
def test_evil_merge_and_conflict_resolution_keys_are_found(
    cli: CliRun, evil_merge: Repo, engine: str
) -> None:
    run = _history(cli, evil_merge, engine)
    assert run.code == 1
    assert _files(run) == {"conflict.py", "zz.env"}
    merge = evil_merge.git("rev-parse", "HEAD").strip()
    assert {f["commit"] for f in run.json()["findings"]} == {merge}


def _push(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo.path), "push", "origin", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_pre_receive_rejects_an_evil_merge(evil_merge: Repo, tmp_path: Path) -> None:
    server = pre_receive_server(tmp_path)
    evil_merge.git("remote", "add", "origin", str(server))
    rejected = _push(evil_merge, "main")
    assert rejected.returncode != 0
    assert "push rejected" in rejected.stderr
    assert "zz.env" in rejected.stderr and "conflict.py" in rejected.stderr
    assert secret(34) not in rejected.stderr


# --- refs to blobs and trees, replace refs ------------------------------------------------


@pytest.fixture
def pushing(repo: Repo, tmp_path: Path) -> tuple[Repo, Path]:
    """A clean main already on a server that runs nexpay-scan in pre-receive."""
    server = pre_receive_server(tmp_path)
    repo.git("remote", "add", "origin", str(server))
    repo.write("README.md", "clean\n")
    repo.commit("start")
    assert _push(repo, "main").returncode == 0
    return repo, server


def _blob_with_key(repo: Repo, seed: int) -> str:
    loose = repo.path.parent / "loose.env"
    loose.write_text(f"NEXPAY_SECRET={secret(seed)}\n")
    return repo.git("hash-object", "-w", str(loose)).strip()


def _tag_on_a_tree(repo: Repo, seed: int) -> str:
    """An annotated tag `snapshot` on a tree (no commit) holding config/deploy.env."""
    repo.write("config/deploy.env", f"NEXPAY_SECRET={secret(seed)}\n")
    repo.stage()
    tree = repo.git("write-tree").strip()
    repo.git("reset", "-q")
    repo.git("tag", "-a", "-m", "a tree", "snapshot", tree)
    return tree


def _replaced_commit(repo: Repo, seed: int) -> str:
    """A commit on main adding a key, and a replace ref that makes git show a clean one."""
    repo.write("deploy.env", f"NEXPAY_SECRET={secret(seed)}\n")
    repo.stage()
    repo.git("commit", "-q", "--no-verify", "-m", "add deploy.env")  # past any pre-commit hook
    keyed = repo.git("rev-parse", "HEAD").strip()
    repo.write("deploy.env", "NEXPAY_SECRET=${NEXPAY_SECRET}\n")
    repo.stage()
    tree = repo.git("write-tree").strip()
    clean = repo.git("commit-tree", tree, "-p", "HEAD~1", "-m", "add deploy.env").strip()
    repo.git("reset", "-q", "--hard", keyed)
    repo.git("replace", keyed, clean)
    assert "${NEXPAY_SECRET}" in repo.git("show", "HEAD:deploy.env")  # what git shows now
    return keyed


@pytest.mark.parametrize("engine", ENGINES)
def test_a_whole_history_finds_what_refs_hold_outside_commits(
    cli: CliRun, repo: Repo, engine: str
) -> None:
    """`git tag backup $(git hash-object -w .env)`, or a tag on a tree: content no commit
    holds, which `git log` walks past. Both engines name it by its ref, or by its path in
    the tree (the blob engine said "brought in by a merge commit" with no file; the diff
    engine did not find it). A key a commit holds too is listed once, at its commit."""
    repo.write("app.py", f'NEXPAY_SECRET = "{secret(36)}"\n')
    repo.commit("add app")
    repo.git("tag", "backup", _blob_with_key(repo, 37))
    _tag_on_a_tree(repo, 38)
    repo.git("tag", "whole-tree", repo.git("rev-parse", "HEAD^{tree}").strip())  # app.py too
    run = cli("history", "--repo", str(repo.path), "--engine", engine, *_JSON_PLAIN)
    assert run.code == 1, run.err
    found = {(f["file"], f["match"]): f.get("notes", []) for f in run.json()["findings"]}
    assert set(found) == {
        ("app.py", secret(36)),
        ("refs/tags/backup", secret(37)),
        ("config/deploy.env", secret(38)),
    }
    assert found[("refs/tags/backup", secret(37))] == [
        "in no commit (git log walks past it): in refs/tags/backup"
    ]
    assert found[("config/deploy.env", secret(38))] == [
        "in no commit (git log walks past it): in the tree that refs/tags/snapshot points at"
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_refs_outside_commits_among_more_refs_than_a_command_line_holds(
    cli: CliRun, repo: Repo, engine: str
) -> None:
    """The blobs refs hold outside commits are listed by one `rev-list`, the commits of
    every other ref excluded on its standard input: 70,000 branches (past the 2 MB a
    command line holds) made the scan fail with "internal error (OSError)", and each tag
    on a tree cost a `rev-list` of its own. Each key is named by the first ref (in ref
    order) that reaches it: a blob a tag holds, and that a tagged tree holds too, by its
    own tag."""
    repo.write("app.py", "x = 1\n")
    commit = repo.commit("start")
    branches = "".join(f"{commit} refs/heads/b{n:05d}\n" for n in range(70_000))
    (repo.path / ".git" / "packed-refs").write_text(f"# pack-refs with: sorted \n{branches}")
    blob = _blob_with_key(repo, 41)
    repo.git("tag", "a-blob", blob)
    repo.write("nested/held.env", f"NEXPAY_SECRET={secret(41)}\n")  # the tagged blob again
    repo.write("nested/other.env", f"NEXPAY_SECRET={secret(42)}\n")
    repo.stage()
    repo.git("tag", "b-tree", repo.git("write-tree").strip())
    repo.git("reset", "-q")
    run = cli("history", "--repo", str(repo.path), "--engine", engine, *_JSON_PLAIN)
    assert run.code == 1, run.err
    found = {f["match"]: (f["file"], f.get("notes", [])) for f in run.json()["findings"]}
    assert found == {
        secret(41): (
            "refs/tags/a-blob",
            ["in no commit (git log walks past it): in refs/tags/a-blob"],
        ),
        secret(42): (
            "nested/other.env",
            ["in no commit (git log walks past it): in the tree that refs/tags/b-tree points at"],
        ),
    }


def test_pre_receive_rejects_a_blob_pushed_as_a_ref(pushing: tuple[Repo, Path]) -> None:
    repo, server = pushing
    blob = _blob_with_key(repo, 35)
    rejected = _push(repo, f"{blob}:refs/tags/loose")
    assert rejected.returncode != 0
    assert "refs/tags/loose" in rejected.stderr and "push rejected" in rejected.stderr
    assert secret(35) not in rejected.stderr
    assert "loose" not in git(server, "tag")


def test_pre_receive_rejects_a_tag_on_a_tree(pushing: tuple[Repo, Path]) -> None:
    repo, server = pushing
    _tag_on_a_tree(repo, 36)
    rejected = _push(repo, "refs/tags/snapshot")
    assert rejected.returncode != 0
    assert "config/deploy.env" in rejected.stderr and "refs/tags/snapshot" in rejected.stderr
    assert "snapshot" not in git(server, "tag")


def test_pre_receive_ignores_replace_refs(pushing: tuple[Repo, Path]) -> None:
    repo, server = pushing
    keyed = _replaced_commit(repo, 37)
    # first the replacement (a clean commit): accepted; the server now has the replace ref
    assert _push(repo, "refs/replace/*:refs/replace/*").returncode == 0
    rejected = _push(repo, "main")
    assert rejected.returncode != 0
    assert "deploy.env" in rejected.stderr and "push rejected" in rejected.stderr
    assert git(server, "rev-parse", "main").strip() != keyed


@pytest.fixture
def pre_push_hook(cli: CliRun, pushing: tuple[Repo, Path]) -> Repo:
    """`pushing`, with nexpay-scan as the local repository's plain git pre-push hook and a
    server that accepts anything: only the pre-push hook stands in the way."""
    repo, server = pushing
    (server / "hooks" / "pre-receive").unlink()
    assert cli("install-hook", "--repo", str(repo.path), "--pre-push").code == 0
    return repo


def test_pre_push_blocks_a_blob_pushed_as_a_ref(pre_push_hook: Repo) -> None:
    blob = _blob_with_key(pre_push_hook, 38)
    blocked = _push(pre_push_hook, f"{blob}:refs/tags/loose")
    assert blocked.returncode != 0
    shown = blocked.stdout + blocked.stderr  # (git 2.39 passes on pre-push's stdout)
    assert "refs/tags/loose" in shown and "nexpay-secret" in shown


def test_pre_push_blocks_a_tag_on_a_tree(pre_push_hook: Repo) -> None:
    _tag_on_a_tree(pre_push_hook, 39)
    blocked = _push(pre_push_hook, "refs/tags/snapshot")
    assert blocked.returncode != 0
    assert "config/deploy.env" in blocked.stdout + blocked.stderr


def test_pre_push_ignores_replace_refs(pre_push_hook: Repo) -> None:
    _replaced_commit(pre_push_hook, 40)
    blocked = _push(pre_push_hook, "main")
    assert blocked.returncode != 0
    shown = blocked.stdout + blocked.stderr
    assert "deploy.env" in shown and "nexpay-secret" in shown


def test_clean_pushes_of_tags_and_branches_pass(pre_push_hook: Repo, tmp_path: Path) -> None:
    pre_push_hook.write("more.txt", "clean\n")
    pre_push_hook.commit("more")
    pre_push_hook.git("tag", "-a", "-m", "release", "v1")
    assert _push(pre_push_hook, "main", "v1").returncode == 0


# --- partial clones -----------------------------------------------------------------------


@pytest.fixture
def partial_clone(repo: Repo, tmp_path: Path) -> Repo:
    """`git clone --filter=blob:none` over file:// of a repository whose first commit holds
    a key that a later commit removed: that old blob is not in the clone."""
    repo.git("config", "uploadpack.allowFilter", "true")
    repo.write("deploy.env", f"NEXPAY_SECRET={secret(41)}\n")
    repo.commit("key")
    repo.write("deploy.env", "NEXPAY_SECRET=${NEXPAY_SECRET}\n")
    repo.commit("no key")
    clone = tmp_path / "partial"
    git(tmp_path, "clone", "-q", "--filter=blob:none", f"file://{repo.path}", str(clone))
    # no background repack after the fetch the advice runs: it may drop a pack mid-scan
    git(clone, "config", "maintenance.auto", "false")
    git(clone, "config", "gc.auto", "0")
    return _existing(clone)


def _existing(path: Path) -> Repo:
    """A Repo for a repository that already exists (a clone)."""
    found = Repo.__new__(Repo)
    found.path, found._tick = path, 0
    return found


def _missing(repo: Repo) -> int:
    listed = repo.git("rev-list", "--objects", "--no-object-names", "--missing=print", "--all")
    return sum(1 for line in listed.splitlines() if line.startswith("?"))


@pytest.mark.parametrize("engine", ENGINES)
def test_partial_clone_is_an_error_that_says_what_to_fetch(
    cli: CliRun, partial_clone: Repo, engine: str
) -> None:
    assert _missing(partial_clone) == 1
    run = _history(cli, partial_clone, engine)
    assert run.code == 2
    assert len(run.err.strip().splitlines()) == 1
    assert "1 object is missing (a partial clone of 'origin')" in run.err
    assert _missing(partial_clone) == 1  # nothing was fetched behind the user's back
    # the advice works: after it, the key is found
    for command in run.err.split("`")[1].split(" && "):
        git(partial_clone.path, *command.split()[1:])
    assert _missing(partial_clone) == 0
    found = _history(cli, partial_clone, engine)
    assert found.code == 1 and _files(found) == {"deploy.env"}


# --- a rename out of an allowlisted path --------------------------------------------------


def test_rename_out_of_an_allowlisted_path_is_found(cli: CliRun, repo: Repo) -> None:
    repo.write(".nexpay-scan.toml", "[scan]\nallow_paths = ['^tests/fixtures/']\n")
    repo.write("tests/fixtures/app.env", f"NEXPAY_SECRET={secret(42)}\n")
    repo.stage()
    assert cli("staged", "--repo", str(repo.path)).code == 0  # allowed where it is
    repo.commit("fixture")
    (repo.path / "config").mkdir()
    repo.git("mv", "tests/fixtures/app.env", "config/prod.env")
    run = cli("staged", "--repo", str(repo.path))
    assert run.code == 1
    assert "config/prod.env" in run.out and "nexpay-secret" in run.out


# --- a dying git cat-file, GIT_DIR --------------------------------------------------------


def test_cat_file_dying_on_a_staged_blob_is_an_error(cli: CliRun, repo: Repo) -> None:
    # `binary` in .gitattributes: git diff names the blob without reading it, so only the
    # blob reader meets the corrupt object (git prints its header, then dies)
    repo.write(".gitattributes", "*.bin binary\n")
    repo.commit("attributes")
    repo.write("cache.bin", f"NEXPAY_SECRET={secret(43)}\n")
    repo.stage()
    blob = repo.git("rev-parse", ":cache.bin").strip()
    stored = repo.path / ".git" / "objects" / blob[:2] / blob[2:]
    whole = stored.read_bytes()
    stored.chmod(0o644)
    stored.write_bytes(whole[:12])  # cut short: the header inflates, the content does not
    run = cli("staged", "--repo", str(repo.path))
    assert run.code == 2
    error = run.err.splitlines()[0]  # (the next line says how to bypass, knowingly)
    assert "git cat-file stopped" in error and "git fsck" in error


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_corrupt_blob_in_the_store_stops_a_whole_history_scan(
    cli: CliRun, repo: Repo, jobs: str
) -> None:
    """Read by this process alone (--jobs 1) or beside a forked reader: one line that
    says what to run, never a hang or a partial report."""
    for number in range(20):
        repo.write(f"notes/{number}.txt", f"line {number}\n" * 400)
    repo.write("app.env", f"NEXPAY_SECRET={secret(45)}\n")
    repo.commit("files")
    blob = repo.git("rev-parse", "HEAD:notes/7.txt").strip()
    stored = repo.path / ".git" / "objects" / blob[:2] / blob[2:]
    whole = stored.read_bytes()
    stored.chmod(0o644)
    stored.write_bytes(whole[:12])  # cut short: the header inflates, the content does not
    run = cli("history", "--repo", str(repo.path), "--jobs", jobs, "--format", "json")
    assert_one_line_error(run, "git fsck")
    assert run.out == ""


def test_git_dir_naming_another_repository_than_repo_is_an_error(
    cli: CliRun, repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write("app.env", f"NEXPAY_SECRET={secret(44)}\n")
    repo.stage()
    other = Repo(tmp_path / "other")
    monkeypatch.setenv("GIT_DIR", str(other.path / ".git"))
    for command in ("staged", "history"):
        run = cli(command, "--repo", str(repo.path))
        assert run.code == 2, command
        assert "GIT_DIR" in run.err and "--repo" in run.err
    # GIT_DIR naming the very repository --repo names: fine (a hook's environment)
    monkeypatch.setenv("GIT_DIR", str(repo.path / ".git"))
    assert cli("staged", "--repo", str(repo.path)).code == 1
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("GIT_DIR", ".git")
    assert cli("staged").code == 1


def test_pre_commit_hook_with_git_index_file_still_scans_the_commit(repo: Repo) -> None:
    # git runs the hook of `git commit -a`/`git commit FILE` with GIT_INDEX_FILE on a
    # temporary index: that index, not .git/index, is what the commit records
    repo.write("a.txt", "clean\n")
    repo.commit("start")
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    hook.write_text(
        f'#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m nexpay_scan staged --repo "$PWD"\n'
    )
    hook.chmod(0o755)
    repo.write("a.txt", f"NEXPAY_SECRET={secret(45)}\n")  # not staged: only `commit -a` has it
    done = subprocess.run(
        ["git", "-C", str(repo.path), "commit", "-a", "-m", "try"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ},
    )
    assert done.returncode != 0
    assert "a.txt" in done.stderr and "nexpay-secret" in done.stderr
