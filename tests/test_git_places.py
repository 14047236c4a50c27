"""Places only git has: commit and tag messages, commits only a reflog names, and objects
nothing reaches (local only in a clone with a work tree, findings on a server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nexpay_scan.sources.messages import TAGS_HELD_BYTES
from testing.cli import CliRun, Result, with_stdin
from testing.git_repo import Repo, git
from testing.keys import secret

ENGINES = ["diff", "blob"]
FLAGS = ("--format", "json", "--no-redact")


def _findings(run: Result, code: int = 1) -> list[dict[str, Any]]:
    assert run.code == code, run.out + run.err
    found: list[dict[str, Any]] = run.json()["findings"]
    return found


def _history(cli: CliRun, path: Path, engine: str, code: int = 1) -> Any:
    run = cli("history", "--repo", str(path), "--engine", engine, *FLAGS)
    assert run.code == code, run.out + run.err
    return run.json()


@pytest.fixture
def told(repo: Repo) -> tuple[Repo, str]:
    """A commit whose message holds a key, and its parent."""
    repo.write("a.txt", "start\n")
    base = repo.commit("start")
    repo.write("b.txt", "more\n")
    repo.commit(f"rotate the key\n\nold one was NEXPAY_SECRET={secret(700)}\n")
    return repo, base


@pytest.mark.parametrize("engine", ENGINES)
def test_commit_message_is_scanned_by_history(
    cli: CliRun, told: tuple[Repo, str], engine: str
) -> None:
    repo, _ = told
    (found,) = _history(cli, repo.path, engine)["findings"]
    head = repo.git("rev-parse", "HEAD").strip()
    assert (found["match"], found["file"], found["line"]) == (secret(700), "(commit message)", 3)
    assert found["commit"] == head and found["author"] == "Ada Author"


def test_commit_message_is_scanned_by_ci_pre_push_and_pre_receive(
    cli: CliRun, told: tuple[Repo, str], tmp_path: Path
) -> None:
    repo, base = told
    where = ("--repo", str(repo.path))
    ci = _findings(cli("ci", "--base", base, *where, *FLAGS))
    pushed = _findings(with_stdin(cli, "", "pre-push", *where, *FLAGS))
    server = tmp_path / "server.git"
    git(tmp_path, "init", "-q", "--bare", str(server))
    git(server, "fetch", "-q", str(repo.path), "main")
    head = repo.git("rev-parse", "HEAD").strip()
    line = f"{'0' * 40} {head} refs/heads/main\n"
    received = _findings(with_stdin(cli, line, "pre-receive", "--repo", str(server), *FLAGS))
    for found in (ci, pushed, received):
        assert [(f["match"], f["file"]) for f in found] == [(secret(700), "(commit message)")]


@pytest.fixture
def tagged(repo: Repo) -> Repo:
    repo.write("a.txt", "start\n")
    repo.commit("start")
    repo.git("tag", "-a", "v1.2", "-m", f"release\n\nsmoke test with {secret(701)}\n")
    return repo


def test_a_range_whose_tags_outgrow_what_is_held_scans_them_all(cli: CliRun, repo: Repo) -> None:
    """A range's tags are read beside its scan while their objects fit in
    `messages.TAGS_HELD_BYTES` together, the others one by one after it (a tag's message
    can be any size: none is held with the others): the same findings, in the tags'
    order, a key after the tag that outgrows the room included."""
    repo.write("a.txt", "old\n")
    repo.commit("old")
    repo.write("a.txt", "new\n")
    head = repo.commit("new")
    messages = [
        f"release 1 {secret(705)}\n",
        "release 2, its notes\n" + "x" * TAGS_HELD_BYTES,
        f"release 3 {secret(706)}\n",
    ]
    stream = "".join(
        f"tag t{n}\nfrom {head}\ntagger Ada Author <ada@example.com> 1700000000 +0000\n"
        + _data(message)
        for n, message in enumerate(messages, 1)
    )
    git(repo.path, "fast-import", "--quiet", input=stream)
    for engine in ENGINES:
        found = _findings(
            cli("history", "--repo", str(repo.path), "--engine", engine, *FLAGS, "HEAD~1..HEAD")
        )
        assert [(f["file"], f["match"]) for f in found] == [
            ("(tag message t1)", secret(705)),
            ("(tag message t3)", secret(706)),
        ]


def _data(text: str) -> str:
    return f"data {len(text.encode())}\n{text}"


@pytest.mark.parametrize("engine", ENGINES)
def test_tag_message_is_scanned_by_history(cli: CliRun, tagged: Repo, engine: str) -> None:
    (found,) = _history(cli, tagged.path, engine)["findings"]
    assert (found["match"], found["file"], found["line"]) == (secret(701), "(tag message v1.2)", 3)
    assert found["author"] == "Ada Author"
    assert found["commit"] == tagged.git("rev-parse", "v1.2").strip()  # the tag object


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("engine", ENGINES)
def test_a_range_scans_the_tags_on_its_commits_and_no_others(
    cli: CliRun, repo: Repo, engine: str, packed: bool
) -> None:
    """A range scans the messages of the annotated tags on its own commits, a tag of such
    a tag too (its target, peeled, is in the range), loose or packed; not those on commits
    before it, nor a lightweight tag."""
    repo.write("a.txt", "old\n")
    repo.commit("old")
    repo.git("tag", "-a", "before", "-m", f"old release {secret(702)}\n")
    repo.write("a.txt", "new\n")
    repo.commit("new")
    repo.git("tag", "-a", "inside", "-m", f"new release {secret(703)}\n")
    repo.git("tag", "-a", "outer", "inside", "-m", f"re-tagged {secret(704)}\n")
    repo.git("tag", "light")
    if packed:
        repo.git("pack-refs", "--all")
    where = ("--repo", str(repo.path), "--engine", engine, *FLAGS)
    found = _findings(cli("history", *where, "HEAD~1..HEAD"))
    assert sorted((f["file"], f["match"]) for f in found) == [
        ("(tag message inside)", secret(703)),
        ("(tag message outer)", secret(704)),
    ]


def test_tag_message_is_scanned_by_pre_push_and_pre_receive(
    cli: CliRun, tagged: Repo, tmp_path: Path
) -> None:
    tag = tagged.git("rev-parse", "v1.2").strip()
    line = f"refs/tags/v1.2 {tag} refs/tags/v1.2 {'0' * 40}\n"
    pushed = with_stdin(cli, line, "pre-push", "--repo", str(tagged.path), *FLAGS)
    server = tmp_path / "server.git"
    git(tmp_path, "init", "-q", "--bare", str(server))
    git(server, "fetch", "-q", str(tagged.path), "refs/tags/v1.2")
    line = f"{'0' * 40} {tag} refs/tags/v1.2\n"
    received = with_stdin(cli, line, "pre-receive", "--repo", str(server), *FLAGS)
    for run in (pushed, received):
        found = _findings(run)
        assert [(f["match"], f["file"]) for f in found] == [(secret(701), "(tag message v1.2)")]


# -- commits only a reflog names ---------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_deleted_branch_commit_is_attributed_to_its_commit(
    cli: CliRun, repo: Repo, engine: str
) -> None:
    repo.write("a.txt", "start\n")
    repo.commit("start")
    repo.git("checkout", "-q", "-b", "spike")
    repo.write("spike.env", f"NEXPAY_SECRET={secret(702)}\n")
    sha = repo.commit("try the API")
    repo.git("checkout", "-q", "main")
    repo.git("branch", "-q", "-D", "spike")
    (found,) = _history(cli, repo.path, engine)["findings"]
    assert (found["match"], found["file"], found["commit"]) == (secret(702), "spike.env", sha)
    assert not found.get("unreachable")


@pytest.mark.parametrize("engine", ENGINES)
def test_amended_away_commit_is_attributed_to_its_commit(
    cli: CliRun, repo: Repo, engine: str
) -> None:
    repo.write("app.env", f"NEXPAY_SECRET={secret(703)}\n")
    sha = repo.commit("oops")
    repo.write("app.env", "NEXPAY_SECRET=${NEXPAY_SECRET}\n")
    repo.git("commit", "-q", "-a", "--amend", "-m", "config")
    (found,) = _history(cli, repo.path, engine)["findings"]
    assert (found["match"], found["file"], found["commit"]) == (secret(703), "app.env", sha)


@pytest.mark.parametrize("engine", ENGINES)
def test_older_stash_is_attributed_to_its_commit(cli: CliRun, repo: Repo, engine: str) -> None:
    repo.write("app.env", "NEXPAY_SECRET=\n")
    repo.commit("start")
    repo.write("app.env", f"NEXPAY_SECRET={secret(704)}\n")
    repo.git("stash", "-q")
    older = repo.git("rev-parse", "stash@{0}").strip()
    repo.write("other.txt", "newer work\n")
    repo.git("stash", "-q", "-u")
    found = _history(cli, repo.path, engine)["findings"]
    assert [(f["match"], f["file"], f["commit"]) for f in found] == [
        (secret(704), "app.env", older)
    ]


# -- objects nothing reaches ---------------------------------------------------------------


def test_history_after_the_hook_blocked_a_commit_lists_the_blob_as_local_only(
    cli: CliRun, repo: Repo
) -> None:
    repo.write("a.txt", "start\n")
    repo.commit("start")
    repo.write("app.env", f"NEXPAY_SECRET={secret(705)}\n")
    repo.stage()
    assert cli("staged", "--repo", str(repo.path)).code == 1  # the hook blocks the commit
    repo.git("reset", "-q")
    (repo.path / "app.env").unlink()
    run = cli("history", "--repo", str(repo.path), "--no-redact")
    assert run.code == 0, run.out + run.err
    assert "no Nexpay credentials found" in run.out
    assert "local only, never pushed" in run.out and secret(705) in run.out
    report = _history(cli, repo.path, "blob", code=0)
    assert report["findings"] == []
    (listed,) = report["suppressed"]
    assert listed["match"] == secret(705) and listed.get("unreachable")


def test_unreachable_blob_in_a_bare_mirror_is_a_finding(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    repo.write("a.txt", "start\n")
    repo.commit("start")
    mirror = tmp_path / "mirror.git"
    git(tmp_path, "clone", "-q", "--mirror", str(repo.path), str(mirror))
    loose = tmp_path / "loose.env"
    loose.write_text(f"NEXPAY_SECRET={secret(706)}\n")
    git(mirror, "hash-object", "-w", str(loose))
    (found,) = _history(cli, mirror, "blob")["findings"]
    assert found["match"] == secret(706) and found["unreachable"]
    assert found["file"].startswith("(unreachable blob ")


# -- a reviewed key stays reviewed wherever it goes ----------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_baseline_entry_follows_the_key_through_a_rename_and_an_amend(
    cli: CliRun, repo: Repo, tmp_path: Path, engine: str
) -> None:
    repo.write("fixtures/old.env", f"NEXPAY_SECRET={secret(707)}\n")
    repo.commit("fixture")
    baseline = str(tmp_path / "baseline.json")
    assert cli("baseline", "create", "--repo", str(repo.path), "--output", baseline).code == 0
    repo.git("mv", "fixtures/old.env", "fixtures/new.env")
    repo.commit("rename")
    repo.write("fixtures/new.env", f"# reviewed\nNEXPAY_SECRET={secret(707)}\n")
    repo.git("commit", "-q", "-a", "--amend", "-m", "rename, with a comment")
    where = ("--repo", str(repo.path), "--engine", engine, "--baseline", baseline)
    run = cli("history", *where, "--all-occurrences", "--format", "json")
    assert run.code == 0, run.out
    assert {f["file"] for f in run.json()["suppressed"]} >= {"fixtures/new.env"}


# -- one commit, the same key in several places ----------------------------------------------


def test_a_key_in_several_files_of_a_commit_is_shown_plain_first_and_names_every_file(
    cli: CliRun, repo: Repo
) -> None:
    key = secret(708)
    escaped = key.replace("_", "\\u005f")
    repo.write("a_notebook.ipynb", f'{{"cells": [{{"source": ["k = \\"{escaped}\\""]}}]}}\n')
    repo.write("b.env", f"NEXPAY_SECRET={key}\n")
    repo.write("c.env", f"NEXPAY_SECRET={key}\n")
    repo.commit(f"add the key {key}")
    for engine in ENGINES:
        (found,) = _history(cli, repo.path, engine)["findings"]
        assert found["file"] in ("b.env", "c.env") and found["occurrences"] == 4
        also = next(n for n in found["notes"] if n.startswith("also in this commit: "))
        other = "c.env" if found["file"] == "b.env" else "b.env"
        for place in (other, "a_notebook.ipynb (decoded)", "(commit message)"):
            assert place in also
    text = cli("history", "--repo", str(repo.path)).out
    assert "note: also in this commit: " in text
    sarif = cli("history", "--repo", str(repo.path), "--format", "sarif").json()
    (result,) = sarif["runs"][0]["results"]
    assert "a_notebook.ipynb (decoded)" in result["message"]["text"]


@pytest.mark.parametrize("stamp", ["253402300800", "99999999999999999999", "-99999999999"])
@pytest.mark.parametrize("engine", ENGINES)
def test_a_tag_dated_past_any_calendar_is_scanned_undated(
    cli: CliRun, repo: Repo, engine: str, stamp: str
) -> None:
    """A tag object written by hand (`hash-object --literally`: git's own tools refuse it)
    with a tagger date no calendar holds: its message is scanned all the same, the finding
    has no date, and the scan does not fail (it said "internal error (ValueError)")."""
    repo.write("a.txt", "base\n")
    base = repo.commit("base")
    repo.write("a.txt", "start\n")
    start = repo.commit("start")
    tag = (
        f"object {start}\ntype commit\ntag evil\ntagger Eve <eve@example.com> {stamp} +0000\n"
        f"\nrelease\n\nsmoke test with {secret(705)}\n"
    )
    (repo.path / "tag.txt").write_text(tag)
    sha = repo.git("hash-object", "-t", "tag", "-w", "--literally", "tag.txt").strip()
    (repo.path / "tag.txt").unlink()
    repo.git("update-ref", "refs/tags/evil", sha)
    for found in (
        _history(cli, repo.path, engine)["findings"],
        _findings(cli("history", "--repo", str(repo.path), f"{base}..{start}", *FLAGS)),
    ):
        assert [(f["match"], f["file"], f["date"]) for f in found] == [
            (secret(705), "(tag message evil)", "")
        ]


@pytest.mark.parametrize("committer", ["Eve <eve@example.com>", "Eve", "Eve <e@x> soon +0000"])
@pytest.mark.parametrize("engine", ENGINES)
def test_a_commit_whose_committer_holds_no_time_is_scanned(
    cli: CliRun, repo: Repo, tmp_path: Path, engine: str, committer: str
) -> None:
    """A commit object written by hand whose committer line holds no time (git prints none
    for `%ct`): its key is found and the audit report written (both said "internal error
    (ValueError)")."""
    repo.write("app.py", f'NEXPAY_SECRET = "{secret(706)}"\n')
    repo.stage()
    tree = repo.git("write-tree").strip()
    (tmp_path / "commit.txt").write_text(
        f"tree {tree}\nauthor Eve <eve@example.com> 1700000000 +0000\n"
        f"committer {committer}\n\nadd settings\n"
    )
    sha = repo.git("hash-object", "-t", "commit", "-w", "--literally", str(tmp_path / "commit.txt"))
    repo.git("update-ref", "refs/heads/main", sha.strip())
    found = _history(cli, repo.path, engine)["findings"]
    assert [(f["match"], f["file"], f["commit"]) for f in found] == [
        (secret(706), "app.py", sha.strip())
    ]
    report = tmp_path / "audit.md"
    run = cli("history", "--repo", str(repo.path), "--quiet", "--report", str(report))
    assert run.code == 1, run.err
    assert "app.py" in report.read_text(encoding="utf-8")
