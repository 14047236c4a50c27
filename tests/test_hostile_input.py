"""Hostile and strange input: odd repositories, huge or broken content, bad config, bad
output paths, Ctrl-C. Each test checks what a user sees: exit code (0 clean, 1 findings,
2 error), a one-line error without a traceback, and findings where keys were planted."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo, Run, git, run_cli
from tests.keys import client_id, legacy_client_id, legacy_secret, secret

DEFAULT_LIMIT = "larger than 52428800 bytes"


def _json(run: Run) -> dict[str, Any]:
    assert "Traceback" not in run.err, run.err
    document: dict[str, Any] = run.json()
    return document


def _found(run: Run) -> list[tuple[str, int, int, str]]:
    """(file, line, column, full credential) of each finding; needs --no-redact."""
    return sorted((f["file"], f["line"], f["column"], f["match"]) for f in _json(run)["findings"])


def _history(cli: Any, repo: Path, *args: str) -> Run:
    """`history` with a JSON report that shows full credentials."""
    run: Run = cli("history", "--repo", str(repo), "--format", "json", "--no-redact", *args)
    return run


def _matches(run: Run) -> set[str]:
    return {f["match"] for f in _json(run)["findings"]}


def _assert_one_line_error(run: Run, *needles: str) -> None:
    """Exit 2 and exactly one line on stderr, an error that names what is wrong."""
    assert run.code == 2, (run.code, run.out, run.err)
    assert "Traceback" not in run.err and "internal error" not in run.err, run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("nexpay-scan: error: "), run.err
    for needle in needles:
        assert needle in lines[0], (needle, run.err)


def _fast_import(path: Path, stream: bytes) -> None:
    """Writes history straight into the object store: thousands of commits a second."""
    done = subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"],
        input=stream,
        check=False,
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def _data(content: bytes) -> bytes:
    return b"data %d\n" % len(content) + content + b"\n"


def _commit_header(ref: bytes, when: int, message: bytes = b"change") -> bytes:
    who = b"Ada Author <ada@example.com> %d +0000\n" % when
    return b"commit " + ref + b"\n" + b"author " + who + b"committer " + who + _data(message)


def _scan_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


# --- odd repositories ---------------------------------------------------------------------


def test_empty_repository(cli: Any, repo: Repo) -> None:
    history = cli("history", "--repo", str(repo.path), "--format", "json")
    assert history.code == 0
    assert _json(history)["findings"] == []
    assert _json(history)["summary"]["commits_scanned"] == 0
    staged = cli("staged", "--repo", str(repo.path))
    assert staged.code == 0 and "no Nexpay credentials found" in staged.out
    assert "Traceback" not in staged.err
    on_disk = cli("files", str(repo.path))
    assert on_disk.code == 0
    # HEAD names no commit yet: a revision that does not exist, said in one line
    _assert_one_line_error(cli("history", "HEAD", "--repo", str(repo.path)), "HEAD")
    # the first commit of an empty repository is still checked
    repo.write("first.env", f"K={secret(1)}\n")
    repo.stage()
    first = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert first.code == 1 and _found(first) == [("first.env", 1, 3, secret(1))]


def _shallow_clone(repo: Repo, tmp_path: Path, depth: int) -> Path:
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", f"--depth={depth}", f"file://{repo.path}", str(clone))
    assert (clone / ".git" / "shallow").is_file()
    return clone


def test_shallow_clone_scans_what_is_there(cli: Any, repo: Repo, tmp_path: Path) -> None:
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
        run = _history(cli, clone, "--engine", engine)
        assert run.code == 1, run.err
        assert _found(run) == [("new.env", 1, 3, secret(2))]
        [finding] = _json(run)["findings"]
        assert finding["commit"] == added
        assert _json(run)["summary"]["commits_scanned"] == 2


def test_shallow_boundary_is_not_reported_as_the_introduction(
    cli: Any, repo: Repo, tmp_path: Path
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
        run = _history(cli, clone, "--engine", engine)
        assert run.code == 1, run.err
        assert _matches(run) == {secret(1), secret(2)}
        [old] = [f for f in _json(run)["findings"] if f["match"] == secret(1)]
        assert old["commit"] == boundary
        assert any("shallow" in note for note in old.get("notes", [])), old


def test_detached_head(cli: Any, repo: Repo) -> None:
    repo.write("a.txt", "a\n")
    first = repo.commit("first")
    repo.write("b.txt", "b\n")
    repo.commit("second")
    repo.git("checkout", "-q", "--detach", first)
    repo.write("detached.env", f"K={secret(1)}\n")
    repo.stage()
    staged = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert staged.code == 1
    assert _found(staged) == [("detached.env", 1, 3, secret(1))]
    on_no_branch = repo.commit("key on a detached HEAD")
    for args in ([], ["HEAD"], ["--engine", "diff"]):
        run = _history(cli, repo.path, *args)
        assert run.code == 1, (args, run.err)
        assert [f["commit"] for f in _json(run)["findings"]] == [on_no_branch]


def test_bare_repository(cli: Any, repo: Repo, tmp_path: Path) -> None:
    repo.write("README.md", "docs\n")
    repo.commit()
    repo.write("deploy/prod.env", f"NEXPAY_SECRET={secret(1)}\n")
    added = repo.commit("add key")
    repo.git("rm", "-q", "deploy/prod.env")
    repo.commit("remove key")
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(bare))
    for engine in ("blob", "diff"):
        run = _history(cli, bare, "--engine", engine)
        assert run.code == 1, run.err
        assert _found(run) == [("deploy/prod.env", 1, 15, secret(1))]
        assert _json(run)["findings"][0]["commit"] == added
    # a bare repository has no index and no commit in progress: nothing to find, no crash
    staged = cli("staged", "--repo", str(bare))
    assert staged.code in (0, 2), staged
    assert "Traceback" not in staged.err and "internal error" not in staged.err


def test_worktrees(cli: Any, repo: Repo, tmp_path: Path) -> None:
    repo.write("README.md", "docs\n")
    repo.commit()
    tree = tmp_path / "second-worktree"
    repo.git("worktree", "add", "-q", "-b", "feature", str(tree))
    (tree / "conf").mkdir()
    (tree / "conf" / "k.env").write_text(f"NEXPAY_CLIENT_ID={client_id(1)}\nK={secret(1)}\n")
    git(tree, "add", "conf/k.env")
    staged = cli("staged", "--repo", str(tree), "--format", "json", "--no-redact")
    assert staged.code == 1, staged.err
    assert _found(staged) == [
        ("conf/k.env", 1, 18, client_id(1)),
        ("conf/k.env", 2, 3, secret(1)),
    ]
    # the main work tree's index is another index: nothing staged there
    assert cli("staged", "--repo", str(repo.path)).code == 0
    git(tree, "commit", "-q", "-m", "key in a worktree")
    added = git(tree, "rev-parse", "HEAD").strip()
    for where in (repo.path, tree):
        run = _history(cli, where)
        assert run.code == 1, run.err
        assert _matches(run) == {client_id(1), secret(1)}
        assert {f["commit"] for f in _json(run)["findings"]} == {added}


def test_submodules(cli: Any, repo: Repo, tmp_path: Path) -> None:
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
    assert _found(staged) == [("outer.env", 1, 3, secret(2))]
    assert _json(staged)["summary"]["skipped"] == {"submodule": 1}
    added = repo.commit("add submodule and a key")
    for engine in ("blob", "diff"):
        run = _history(cli, repo.path, "--engine", engine)
        assert run.code == 1, run.err
        # the submodule's history is another repository: only the outer key is this one's
        assert _found(run) == [("outer.env", 1, 3, secret(2))]
        assert _json(run)["findings"][0]["commit"] == added


LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 12345\n"
)


def test_git_lfs_pointer_files(cli: Any, repo: Repo) -> None:
    repo.write(".gitattributes", "*.bin filter=lfs diff=lfs merge=lfs -text\n")
    repo.write("model.bin", LFS_POINTER)
    repo.commit("pointer")
    # an LFS-tracked path committed without git-lfs holds its real content: scanned as text
    repo.write("keys.bin", f"NEXPAY_SECRET={secret(1)}\n")
    repo.write("other.bin", LFS_POINTER.replace("12345", "99"))
    repo.stage()
    staged = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert staged.code == 1, staged.err
    assert _found(staged) == [("keys.bin", 1, 15, secret(1))]
    repo.commit("key in an LFS path")
    history = _history(cli, repo.path)
    assert history.code == 1, history.err
    assert _found(history) == [("keys.bin", 1, 15, secret(1))]
    on_disk = cli("files", str(repo.path), "--format", "json", "--no-redact")
    assert on_disk.code == 1
    assert _found(on_disk) == [("keys.bin", 1, 15, secret(1))]
    summary = _json(on_disk)["summary"]
    assert summary["files_scanned"] == 4 and summary["skipped"] == {}
    (repo.path / "keys.bin").unlink()
    clean = cli("files", str(repo.path), "--format", "json")
    assert clean.code == 0 and _json(clean)["summary"]["files_scanned"] == 3


# --- huge and broken content ----------------------------------------------------------------


def test_200_mb_file_is_skipped_and_counted(cli: Any, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    with (tree / "huge.dat").open("wb") as stream:
        stream.truncate(200 * 1024 * 1024)  # sparse: 200 MB of zeros in no time
        stream.seek(-100, os.SEEK_END)
        stream.write(f" {secret(1)} ".encode())
    (tree / "small.env").write_text(f"K={secret(2)}\n")
    run = cli("files", str(tree), "--format", "json", "--no-redact")
    assert run.code == 1, run.err
    assert _found(run) == [("tree/small.env", 1, 3, secret(2))]
    summary = _json(run)["summary"]
    assert summary["skipped"] == {DEFAULT_LIMIT: 1}
    assert summary["files_skipped"] == 1 and summary["files_scanned"] == 1
    text = cli("files", str(tree))
    assert f"skipped: 1 {DEFAULT_LIMIT}" in text.out
    # named on the command line, the big file is skipped the same way (not read)
    alone = cli("files", str(tree / "huge.dat"), "--format", "json")
    assert alone.code == 0 and _json(alone)["summary"]["skipped"] == {DEFAULT_LIMIT: 1}


def test_oversized_file_in_history_is_skipped_and_counted(cli: Any, repo: Repo) -> None:
    repo.write(".nexpay-scan.toml", "[scan]\nmax_file_size = 1000\n")
    repo.write("big.txt", "x" * 2000 + f" {secret(1)}\n")
    repo.write("small.env", f"K={secret(2)}\n")
    repo.stage()
    staged = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert staged.code == 1
    assert _found(staged) == [("small.env", 1, 3, secret(2))]
    assert _json(staged)["summary"]["skipped"] == {"larger than 1000 bytes": 1}
    repo.commit("a big file and a key, together")
    for engine in ("blob", "diff"):
        run = _history(cli, repo.path, "--engine", engine)
        assert run.code == 1, run.err
        assert _found(run) == [("small.env", 1, 3, secret(2))]
        assert _json(run)["summary"]["skipped"] == {"larger than 1000 bytes": 1}, engine


def test_5_mb_single_line_with_a_key_at_the_end(cli: Any, repo: Repo) -> None:
    filler = 5 * 1024 * 1024
    repo.write("one-line.min.js", "x" * filler + f" {secret(1)}")
    expected = [("one-line.min.js", 1, filler + 2, secret(1))]
    on_disk = cli("files", str(repo.path), "--format", "json", "--no-redact")
    assert on_disk.code == 1 and _found(on_disk) == expected
    repo.stage()
    staged = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert staged.code == 1 and _found(staged) == expected
    repo.commit()
    history = _history(cli, repo.path)
    assert history.code == 1 and _found(history) == expected


def test_file_of_nul_bytes_gets_binary_rules_only(cli: Any, repo: Repo) -> None:
    repo.write("zeros.bin", b"\0" * 1_000_000)
    blob = (
        b"\0" * 100
        + secret(1).encode()
        + b"\0" * 100
        + client_id(1).encode()
        + b"\0NEXPAY_SECRET="
        + legacy_secret(1).encode()
        + b"\0NEXPAY_CLIENT_ID="
        + legacy_client_id(1).encode()
        + b"\0" * 100
    )
    repo.write("blob.bin", blob)
    expected = [("blob.bin", 1, 101, secret(1)), ("blob.bin", 1, 250, client_id(1))]
    on_disk = cli("files", str(repo.path), "--format", "json", "--no-redact")
    assert on_disk.code == 1 and _found(on_disk) == expected
    repo.stage()
    staged = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert staged.code == 1 and _found(staged) == expected
    repo.commit()
    history = _history(cli, repo.path)
    assert history.code == 1 and _found(history) == expected
    (repo.path / "blob.bin").unlink()
    zeros = cli("files", str(repo.path), "--format", "json")
    assert zeros.code == 0 and _json(zeros)["summary"]["files_scanned"] == 1


def test_invalid_utf8_in_content_path_author_and_message(cli: Any, repo: Repo) -> None:
    repo.write("README.md", "docs\n")
    repo.commit()
    parent = repo.git("rev-parse", "HEAD").strip().encode()
    content = b"\xff\xfe caf\xe9 \xc3\nNEXPAY_SECRET=" + secret(1).encode() + b" \xc3(\n"
    stream = (
        b"commit refs/heads/main\n"
        b"author Ren\xe9 \xff <ren\xe9@example.com> 1704200000 +0000\n"
        b"committer Ren\xe9 \xff <ren\xe9@example.com> 1704200000 +0000\n"
        + _data(b"caf\xe9: \xff\xfe not UTF-8\n")
        + b"from "
        + parent
        + b"\n"
        + b'M 100644 inline "dir\\351/k\\377.env"\n'
        + _data(content)
    )
    _fast_import(repo.path, stream)
    added = repo.git("rev-parse", "main").strip()
    for engine in ("blob", "diff"):
        run = _history(cli, repo.path, "--engine", engine)
        assert run.code == 1, run.err
        [finding] = _json(run)["findings"]
        assert (finding["line"], finding["column"], finding["match"]) == (2, 15, secret(1))
        assert finding["commit"] == added
        assert finding["file"].startswith("dir") and finding["file"].endswith(".env")
        assert finding["author"].startswith("Ren")
    # text on a real UTF-8 stdout (not captured strings): the odd bytes do not crash it
    text = run_cli("history", "--repo", str(repo.path), env=_scan_env(LC_ALL="C.UTF-8"))
    assert text.code == 1, text.err
    assert "Traceback" not in text.err and "internal error" not in text.err
    assert "k\\xff.env" in text.out
    # and the same path, staged in a work tree
    repo.git("checkout", "-q", "main")
    repo.write("new.env", b"\xe9\xff" + f" {secret(2)}\n".encode())
    repo.stage()
    staged = run_cli(
        "staged", "--repo", str(repo.path), "--format", "json", "--no-redact", cwd=repo.path
    )
    assert staged.code == 1, staged.err
    assert _found(staged) == [("new.env", 1, 4, secret(2))]


COMMIT_MARKER = "\x01nexpay-scan-commit\x01"  # how the history reader splits `git log -p`
WALK_MARKER = "\x01nexpay-scan-walk\x01"  # what the blob engine's tree walk once split on
# a name that reads as a raw record adding a blob that is not there (the walk lists the
# blobs a range adds: asking git for this one would fail the scan)
RAW_RECORD = ":100644 100644 " + "0" * 40 + " " + "e" * 40 + " M"


@pytest.mark.parametrize("where", ["content", "path", "author", "path-walk", "path-raw"])
def test_scanner_markers_in_names_and_content_cannot_hide_a_key(
    cli: Any, repo: Repo, where: str
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
            run = _history(cli, repo.path, "--engine", engine, *selection)
            assert run.code == 1, (engine, run.code, run.err)
            assert _found(run) == [(key_file, 1, 3, secret(1))], engine
            assert _json(run)["findings"][0]["commit"] == added
            assert _json(run)["summary"]["commits_scanned"] == commits, engine


def test_paths_with_newlines(cli: Any, repo: Repo) -> None:
    name = "line\nbreak.env"
    repo.write(name, f"K={secret(1)}\n")
    repo.write("tab\tand\rcr.env", f"K={secret(2)}\n")
    repo.stage()
    expected = [("line\nbreak.env", 1, 3, secret(1)), ("tab\tand\rcr.env", 1, 3, secret(2))]
    staged = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert staged.code == 1 and _found(staged) == expected
    repo.commit()
    for engine in ("blob", "diff"):
        run = _history(cli, repo.path, "--engine", engine)
        assert run.code == 1 and _found(run) == expected, engine
    # text output shows the newline escaped: one finding cannot pose as two lines
    text = cli("history", "--repo", str(repo.path))
    assert text.code == 1
    assert "line\\nbreak.env:1:3" in text.out
    assert "\nbreak.env" not in text.out


def test_crlf_line_endings(cli: Any, repo: Repo) -> None:
    content = (
        "# settings\r\n"
        f"K={secret(1)}\r\n"
        f"ALLOWED={secret(2)}  # nexpay-scan: allow\r\n"
        "nexpay:\r\n"
        f"  secret: {legacy_secret(1)}\r\n"
    )
    repo.write("crlf.yaml", content)
    expected = [("crlf.yaml", 2, 3, secret(1)), ("crlf.yaml", 5, 11, legacy_secret(1))]
    on_disk = cli("files", str(repo.path), "--format", "json", "--no-redact")
    assert on_disk.code == 1 and _found(on_disk) == expected
    repo.stage()
    staged = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert staged.code == 1 and _found(staged) == expected
    repo.commit()
    history = _history(cli, repo.path)
    assert history.code == 1 and _found(history) == expected


@pytest.mark.slow
def test_commit_touching_50000_files(cli: Any, repo: Repo) -> None:
    repo.write("README.md", "docs\n")
    repo.commit()
    parent = repo.git("rev-parse", "HEAD").strip().encode()
    key_path = "d31/f31337.env"
    stream = [
        b"blob\nmark :1\n" + _data(b"nothing to see\n"),
        b"blob\nmark :2\n" + _data(f"NEXPAY_SECRET={secret(1)}\n".encode()),
        _commit_header(b"refs/heads/main", 1704300000, b"vendor everything"),
        b"from " + parent + b"\n",
    ]
    for number in range(50_000):
        path = f"d{number // 1000}/f{number}.env"
        mark = 2 if path == key_path else 1
        stream.append(f"M 100644 :{mark} {path}\n".encode())
    _fast_import(repo.path, b"".join(stream))
    added = repo.git("rev-parse", "main").strip()
    assert repo.git("diff-tree", "--no-commit-id", "-r", "--name-only", added).count("\n") == 50_000
    for engine in ("blob", "diff"):
        run = _history(cli, repo.path, "--engine", engine)
        assert run.code == 1, run.err
        assert _found(run) == [(key_path, 1, 15, secret(1))]
        assert _json(run)["findings"][0]["commit"] == added


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


def test_octopus_merge_keys_in_its_parents(cli: Any, octopus: tuple[Repo, dict[str, str]]) -> None:
    repo, introduced = octopus
    repo.git("merge", "-q", "--no-edit", "topic1", "topic2", "topic3")
    assert len(repo.git("log", "-1", "--format=%P").split()) == 4
    for args in (["--engine", "blob"], ["--engine", "diff"], ["main"]):
        run = _history(cli, repo.path, *args)
        assert run.code == 1, run.err
        found = {f["match"]: f["commit"] for f in _json(run)["findings"]}
        assert found == introduced, args


def test_octopus_merge_that_adds_a_key_itself(
    cli: Any, octopus: tuple[Repo, dict[str, str]]
) -> None:
    """An "evil" merge: the key is in none of the parents, only in the merge's own tree."""
    repo, _ = octopus
    repo.git("merge", "-q", "--no-commit", "topic1", "topic2", "topic3")
    repo.write("merge-only.env", f"K={secret(9)}\n")
    repo.git("add", "merge-only.env")
    repo.git("commit", "-q", "--no-edit")
    merge = repo.git("rev-parse", "HEAD").strip()
    for args in (["--engine", "blob"], ["--engine", "diff"], ["main"], [f"{merge}^1..{merge}"]):
        run = _history(cli, repo.path, *args)
        assert run.code == 1, run.err
        assert secret(9) in _matches(run), args
        [evil] = [f for f in _json(run)["findings"] if f["match"] == secret(9)]
        assert evil["file"] == "merge-only.env", args


# --- hostile configuration and arguments ----------------------------------------------------

BACKTRACKING_RULE = """
[[rule]]
id = "hostile-backtracking"
description = "a rule that backtracks catastrophically"
kind = "secret"
regex = '(a+)+$'
keywords = ["a"]
"""


@pytest.mark.slow
def test_catastrophically_backtracking_rule_is_stopped_and_named(
    cli: Any, repo: Repo, tmp_path: Path
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
        written = Run(run.code, report.read_text(), run.err)
        assert _found(written) == expected
        stopped = _json(written)["summary"]["rule_timeouts"]
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
    cli: Any, repo: Repo, tmp_path: Path, content: bytes, problem: str
) -> None:
    repo.write("README.md", "docs\n")
    repo.commit()
    repo.write(".nexpay-scan.toml", content)
    for command in (["history", "--repo", str(repo.path)], ["files", str(repo.path)]):
        _assert_one_line_error(cli(*command), ".nexpay-scan.toml", problem)
    staged = cli("staged", "--repo", str(repo.path))
    assert staged.code == 2 and problem in staged.err and "Traceback" not in staged.err
    given = tmp_path / "rules.toml"
    given.write_bytes(content)
    _assert_one_line_error(
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
def test_revision_that_does_not_exist(cli: Any, repo: Repo, revision: str) -> None:
    repo.write("a.env", f"K={secret(1)}\n")
    repo.commit()
    run = cli("history", revision, "--repo", str(repo.path))
    _assert_one_line_error(run)
    assert run.out == ""


def test_branch_that_does_not_exist(cli: Any, repo: Repo) -> None:
    repo.commit()
    _assert_one_line_error(cli("history", "--branch", "nope", "--repo", str(repo.path)), "nope")


# --- output that cannot be written ------------------------------------------------------------


def _full_device(folder: Path) -> Path:
    """/dev/full, or (when this process could replace /dev/full, e.g. as root) a copy of
    its device node in `folder`, so a tool that replaces its output file harms nothing."""
    if not os.access("/dev", os.W_OK):
        return Path("/dev/full")
    node = folder / "full"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except OSError as error:
        pytest.skip(f"cannot make a private /dev/full ({error.strerror})")
    with pytest.raises(OSError, match="No space left"), node.open("wb") as stream:
        stream.write(b"x")
        stream.flush()
    return node


def test_output_to_a_full_disk(cli: Any, repo: Repo, tmp_path: Path) -> None:
    """--output on a device is written into (ENOSPC here), never replaced by a file."""
    repo.write("a.env", f"K={secret(1)}\n")
    repo.commit()
    out = tmp_path / "out"
    out.mkdir()
    device = _full_device(out)
    run = cli("history", "--repo", str(repo.path), "--format", "json", "--output", str(device))
    _assert_one_line_error(run, str(device), "No space left on device")
    assert stat.S_ISCHR(device.stat().st_mode), "the device node was replaced by a file"
    assert sorted(p.name for p in out.iterdir()) == (["full"] if device.parent == out else [])


def test_output_that_fails_part_way_leaves_nothing(repo: Repo, tmp_path: Path) -> None:
    """A write that fails after some bytes (here a file-size limit, as on a full disk)."""
    for number in range(40):
        repo.write(f"k{number}.env", f"K={secret(number)}\n")
    repo.commit()
    out = tmp_path / "out"
    out.mkdir()

    report = out / "report.json"
    # the limit holds across exec; Python ignores SIGXFSZ, so a write past it fails (EFBIG)
    limited = (
        "import os, resource, sys; "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096)); "
        "os.execv(sys.executable, [sys.executable, '-m', 'nexpay_scan', *sys.argv[1:]])"
    )
    argv = [sys.executable, "-c", limited, "history", "--repo", str(repo.path)]
    done = subprocess.run(
        [*argv, "--format", "json", "--output", str(report)],
        capture_output=True,
        check=False,
    )
    run = Run(done.returncode, done.stdout.decode(), done.stderr.decode())
    _assert_one_line_error(run, str(report), "cannot write the report")
    assert list(out.iterdir()) == []


def test_output_in_a_place_that_cannot_hold_it(cli: Any, repo: Repo, tmp_path: Path) -> None:
    repo.write("a.env", f"K={secret(1)}\n")
    repo.commit()
    a_file = tmp_path / "plain-file"
    a_file.write_text("not a folder\n")
    targets = [a_file / "report.json", tmp_path / "missing" / "report.json"]
    for target in targets:
        run = cli("history", "--repo", str(repo.path), "--format", "json", "--output", str(target))
        _assert_one_line_error(run, str(target), "cannot write the report")
    assert a_file.read_text() == "not a folder\n"
    assert not (tmp_path / "missing").exists()


def test_output_in_a_read_only_folder(cli: Any, repo: Repo, tmp_path: Path) -> None:
    repo.write("a.env", f"K={secret(1)}\n")
    repo.commit()
    if os.geteuid() == 0:  # root writes through permissions: /proc refuses new files
        folder = Path("/proc")
        before = set(os.listdir(folder))
    else:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        before = set()
    target = folder / "hostile-report.json"
    try:
        run = cli("history", "--repo", str(repo.path), "--format", "json", "--output", str(target))
        _assert_one_line_error(run, str(target), "cannot write the report")
        assert not any(name.startswith(".hostile-report") for name in os.listdir(folder))
        assert not target.exists()
        assert folder == Path("/proc") or set(os.listdir(folder)) == before
    finally:
        if folder != Path("/proc"):
            folder.chmod(0o755)


# --- Ctrl-C ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def busy_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 commits of 3,000 distinct blobs full of keyword hits that are no keys: a few
    seconds of scanning by either engine, built by fast-import in under a second."""
    path = tmp_path_factory.mktemp("busy") / "repo"
    env = _scan_env(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=env)
    parts = []
    for number in range(3000):
        content = "".join(f"token nxp_sk_{number:010d}{j:032d} x\n" for j in range(100))
        parts.append(_commit_header(b"refs/heads/main", 1700000000 + number))
        parts.append(f"M 100644 inline f{number % 30}.txt\n".encode() + _data(content.encode()))
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"],
        input=b"".join(parts),
        check=True,
        env=env,
    )
    return path


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["blob", "diff"])
@pytest.mark.parametrize(
    ("whom", "sig"),
    [("process-group", signal.SIGINT), ("process", signal.SIGINT), ("process", signal.SIGTERM)],
)
def test_sigint_mid_scan(
    busy_repo: Path, tmp_path: Path, engine: str, whom: str, sig: signal.Signals
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    temp = tmp_path / "tmpdir"
    temp.mkdir()
    report = out / "report.json"
    argv = [sys.executable, "-m", "nexpay_scan", "history", "--repo", str(busy_repo)]
    process = subprocess.Popen(
        [*argv, "--engine", engine, "--format", "json", "--output", str(report)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_scan_env(TMPDIR=str(temp)),
        start_new_session=True,  # its own process group, like a job a terminal runs
    )
    try:
        deadline = time.monotonic() + 10
        while not _children(process.pid) and time.monotonic() < deadline:
            time.sleep(0.02)  # wait until it runs git, i.e. is scanning
        time.sleep(0.3)
        assert process.poll() is None, "the scan ended before it could be interrupted"
        if whom == "process-group":  # what Ctrl-C on a terminal does: git gets it too
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    said = "interrupted" if sig == signal.SIGINT else "terminated"
    assert process.returncode == 128 + sig, stderr.decode()
    assert "Traceback" not in stderr.decode()
    assert stderr.decode().strip().splitlines() == [f"nexpay-scan: {said}"]
    assert stdout == b""
    assert not report.exists()
    assert list(out.iterdir()) == [], "a partial or temporary report was left behind"
    assert list(temp.iterdir()) == [], "temporary files were left behind"


def test_uninterrupted_scan_writes_its_report(busy_repo: Path, tmp_path: Path) -> None:
    """Control for the test above: the same command, left alone, writes a whole report."""
    report = tmp_path / "report.json"
    done = run_cli(
        "history",
        "--repo",
        str(busy_repo),
        "--format",
        "json",
        "--output",
        str(report),
        "--since",
        "2023-11-14T23:03:00Z",
    )
    assert done.code == 0, done.err
    document = json.loads(report.read_text())
    assert document["findings"] == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []
