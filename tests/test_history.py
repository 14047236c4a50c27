"""`nexpay-scan history`: each secret once, at the commit that brought it in."""

from __future__ import annotations

import os

import pytest

from testing.cli import CliRun, on_a_terminal
from testing.git_repo import Repo
from testing.keys import legacy_secret, secret


def test_secret_is_reported_once_at_its_introduction(cli: CliRun, repo: Repo) -> None:
    key = secret(1)
    repo.write("a.txt", "start\n")
    repo.commit("start")
    repo.write("config/app.env", f"X=1\nNEXPAY_SECRET={key}\n")
    introduced = repo.commit("add key")
    repo.write("other.py", f'K = "{key}"\n')
    repo.commit("copy key")
    repo.write("config/app.env", "X=1\n")
    repo.commit("remove key")
    run = cli("history", "--repo", str(repo.path), "--format", "json")
    assert run.code == 1
    [finding] = run.json()["findings"]
    assert finding["commit"] == introduced
    assert (finding["file"], finding["line"]) == ("config/app.env", 2)
    assert (finding["author"], finding["email"]) == ("Ada Author", "ada@example.com")
    assert finding["date"].startswith("2024-01-02")
    assert finding["occurrences"] == 2
    assert run.json()["summary"]["commits_scanned"] == 4


def test_all_occurrences_lists_every_one(cli: CliRun, repo: Repo) -> None:
    key = secret(2)
    repo.write("a.env", f"K={key}\n")
    repo.commit()
    repo.write("b.env", f"K={key}\n")
    repo.commit()
    run = cli("history", "--repo", str(repo.path), "--format", "json", "--all-occurrences")
    assert sorted(f["file"] for f in run.json()["findings"]) == ["a.env", "b.env"]


def test_all_branches_are_scanned_by_default(cli: CliRun, repo: Repo) -> None:
    repo.write("a.txt", "a\n")
    repo.commit()
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("f.env", f"NEXPAY_SECRET={secret(3)}\n")
    on_branch = repo.commit("on a branch")
    repo.git("checkout", "-q", "main")
    run = cli("history", "--repo", str(repo.path), "--format", "json")
    assert [f["commit"] for f in run.json()["findings"]] == [on_branch]


def test_range_scans_only_the_commits_of_the_range(cli: CliRun, repo: Repo) -> None:
    repo.write("old.env", f"K={secret(4)}\n")
    base = repo.commit()
    repo.write("new.env", f"K={secret(5)}\n")
    repo.commit()
    run = cli("history", f"{base}..HEAD", "--repo", str(repo.path), "--format", "json")
    assert [f["file"] for f in run.json()["findings"]] == ["new.env"]
    assert run.json()["summary"]["commits_scanned"] == 1


def test_legacy_key_needs_context_that_may_sit_above_the_change(cli: CliRun, repo: Repo) -> None:
    repo.write("settings.yaml", "nexpay:\n  region: eu\n")
    repo.commit()
    repo.write("settings.yaml", f"nexpay:\n  region: eu\n  secret: {legacy_secret(1)}\n")
    added = repo.commit()
    repo.write("elsewhere.yaml", f"session:\n  key: {legacy_secret(2)}\n")
    repo.commit()
    run = cli("history", "--repo", str(repo.path), "--format", "json")
    assert [(f["commit"], f["line"]) for f in run.json()["findings"]] == [(added, 3)]


def test_missing_revision_is_a_one_line_error(cli: CliRun, repo: Repo) -> None:
    repo.commit()
    run = cli("history", "no-such-branch..HEAD", "--repo", str(repo.path))
    assert run.code == 2
    assert "no-such-branch" in run.err and "Traceback" not in run.err
    assert len(run.err.strip().splitlines()) == 1


def test_revision_that_looks_like_an_option_is_not_one(cli: CliRun, repo: Repo) -> None:
    repo.commit()
    run = cli("history", "--repo", str(repo.path), "--", "--output=/tmp/pwned")
    assert run.code == 2


def test_empty_repository_scans_nothing(cli: CliRun, repo: Repo) -> None:
    run = cli("history", "--repo", str(repo.path), "--format", "json")
    assert run.code == 0
    assert run.json()["summary"]["commits_scanned"] == 0


def test_progress_on_a_terminal_only(cli: CliRun, repo: Repo) -> None:
    for i in range(3):
        repo.write(f"f{i}.txt", f"{i}\n")
        repo.commit()
    for engine, unit in (("diff", "commits"), ("blob", "MB of blobs")):
        drawn = on_a_terminal("history", "--repo", str(repo.path), "--engine", engine)
        assert unit in drawn and "left" in drawn
        quiet = on_a_terminal("history", "--repo", str(repo.path), "--engine", engine, "-q")
        assert "left" not in quiet
    piped = cli("history", "--repo", str(repo.path))
    assert "left" not in piped.err


@pytest.mark.parametrize("base", [":/release 1.0", "HEAD^{/release 1.0}"])
@pytest.mark.parametrize("command", ["history", "ci"])
def test_a_range_based_on_a_commit_message_is_refused(
    cli: CliRun, repo: Repo, base: str, command: str
) -> None:
    """The trusted side of a range is where the config, the allow list and the baseline are
    read. A revision found by its message (`:/text`, `REV^{/text}`) can name a commit the
    change under scan wrote (its message matches too, and is younger): one line, exit 2,
    nothing scanned, whatever git would make of it."""
    repo.write("a.txt", "x\n")
    repo.commit("release 1.0 is cut here")
    repo.write("new.env", f"NEXPAY_SECRET={secret(92)}\n")
    repo.commit("new settings (release 1.0 follow-up)")
    args = [f"{base}..HEAD"] if command == "history" else ["--base", base]
    run = cli(command, *args, "--repo", str(repo.path))
    assert run.code == 2, run.out + run.err
    (error,) = [line for line in run.err.splitlines() if "error:" in line]
    assert "found by a commit message" in error and "commit id" in error


@pytest.mark.parametrize(
    ("revision", "kind"),
    [
        ("HEAD:config", "tree"),
        ("HEAD^{tree}", "tree"),
        ("HEAD:config/app.env", "blob"),
        ("HEAD~1..HEAD:config", "tree"),
        ("HEAD:config..HEAD", "tree"),
        ("tree-tag", "tree"),
        ("annotated-blob-tag", "blob"),
        ("HEAD~1..annotated-blob-tag", "blob"),
        (":config/app.env", "blob"),
    ],
)
def test_a_revision_that_names_no_commit_is_refused(
    cli: CliRun, repo: Repo, revision: str, kind: str
) -> None:
    """`git log` walks past a tree or a blob it is given and lists no commit, so a scan of
    `HEAD:config` (or of a tag on a tree) scanned nothing and exited clean, whatever the
    tree held. It is one line naming the revision, exit 2, and the key is not printed."""
    key = secret(93)
    repo.write("a.txt", "x\n")
    repo.commit("start")
    repo.write("config/app.env", f"NEXPAY_SECRET={key}\n")
    repo.commit("settings")
    repo.git("tag", "tree-tag", "HEAD:config")
    repo.git("tag", "-a", "-m", "the settings", "annotated-blob-tag", "HEAD:config/app.env")
    run = cli("history", revision, "--repo", str(repo.path))
    assert run.code == 2, run.out + run.err
    side = revision.split("..")[-1] if revision.startswith("HEAD~1..") else revision
    side = side.split("..")[0]
    (error,) = run.err.strip().splitlines()
    assert f"{side} names a {kind}, not a commit" in error
    assert key not in run.out + run.err and "Traceback" not in run.err


_NOT_UTF8 = os.fsdecode(b"caf\xe9")


@pytest.mark.parametrize(
    "revisions",
    [
        ["HEAD^!"],
        ["^HEAD~1", "HEAD"],
        ["HEAD~1...HEAD"],
        ["HEAD@{0}"],
        ["HEAD~1.."],
        [_NOT_UTF8],
        [f"HEAD~1..{_NOT_UTF8}"],
    ],
)
def test_revisions_that_name_commits_are_scanned(
    cli: CliRun, repo: Repo, revisions: list[str]
) -> None:
    """The forms of a revision git log takes still scan their commits: the check that a
    revision names a commit understands them (a range, a negation, `^!`, a reflog entry, a
    branch named in bytes that are not UTF-8)."""
    repo.write("a.txt", "x\n")
    repo.commit("start")
    repo.write("app.env", f"NEXPAY_SECRET={secret(94)}\n")
    repo.commit("settings")
    repo.git("branch", _NOT_UTF8)
    run = cli("history", *revisions, "--repo", str(repo.path), "--format", "json")
    assert run.code == 1, run.out + run.err
    assert [f["file"] for f in run.json()["findings"]] == ["app.env"]


def test_a_revision_that_names_nothing_is_a_bad_revision(cli: CliRun, repo: Repo) -> None:
    repo.write("a.txt", "x\n")
    repo.commit("start")
    for revision in ("nosuch", "HEAD..nosuch", "HEAD:nosuch"):
        run = cli("history", revision, "--repo", str(repo.path))
        assert run.code == 2, run.out + run.err
        (error,) = run.err.strip().splitlines()
        assert "bad revision" in error
