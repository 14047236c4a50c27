"""Which commits and objects a push sends (nexpay_scan/sources/push.py), from git's pre-push
input (`<local ref> <local object> <remote ref> <remote object>`, a line per ref) or from
pre-commit's environment, through real repositories with a real remote. The promise: the
revisions cover exactly the commits the remote does not have yet, in one list for every
ref pushed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from nexpay_scan.errors import FatalError
from nexpay_scan.sources.push import pushed_objects, pushed_revisions
from testing.cli import CliRun, with_stdin
from testing.git_repo import Repo, git
from testing.keys import secret

ZERO = "0" * 40


@pytest.fixture
def pushed(repo: Repo, tmp_path: Path) -> tuple[Repo, str]:
    """A repository whose main (two commits) is on a bare remote `origin`; returns its tip."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo.write("a.txt", "one\n")
    repo.commit("one")
    repo.write("a.txt", "two\n")
    base = repo.commit("two")
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "origin", "main")
    return repo, base


def _revisions(
    repo: Repo, stdin: str = "", environ: Mapping[str, str] | None = None
) -> list[list[str]]:
    lines = stdin.splitlines()
    return list(pushed_revisions(repo.path, "origin", environ or {}, lambda: lines))


def _commits(repo: Repo, revisions: Iterable[list[str]]) -> list[set[str]]:
    """The commits each list of `git log` arguments names."""
    return [set(repo.git("rev-list", *args, "--").split()) for args in revisions]


def _new_commits(repo: Repo, *messages: str) -> list[str]:
    ids = []
    for message in messages:
        repo.write(f"{message}.txt", f"{message}\n")
        ids.append(repo.commit(message))
    return ids


def test_a_fast_forward_sends_the_commits_after_the_remotes_tip(
    pushed: tuple[Repo, str],
) -> None:
    repo, base = pushed
    new = _new_commits(repo, "three", "four")
    line = f"refs/heads/main {new[-1]} refs/heads/main {base}"
    assert _commits(repo, _revisions(repo, line)) == [set(new)]


def test_a_new_branch_sends_the_commits_no_remote_has(pushed: tuple[Repo, str]) -> None:
    repo, _ = pushed
    repo.git("checkout", "-q", "-b", "topic")
    new = _new_commits(repo, "topic1", "topic2")
    line = f"refs/heads/topic {new[-1]} refs/heads/topic {ZERO}"
    assert _commits(repo, _revisions(repo, line)) == [set(new)]


def test_a_deletion_sends_nothing(pushed: tuple[Repo, str]) -> None:
    repo, base = pushed
    line = f"(delete) {ZERO} refs/heads/main {base}"
    assert _revisions(repo, line) == []
    assert pushed_objects(repo.path, "origin", [line])[0] == []


def test_a_force_push_sends_what_the_old_tip_does_not_reach(pushed: tuple[Repo, str]) -> None:
    repo, base = pushed
    repo.git("reset", "-q", "--hard", "HEAD~1")
    rewritten = _new_commits(repo, "rewritten")
    line = f"refs/heads/main {rewritten[0]} refs/heads/main {base}"
    assert _commits(repo, _revisions(repo, line)) == [set(rewritten)]


def test_a_force_push_over_a_tip_unknown_here_sends_what_no_remote_has(
    pushed: tuple[Repo, str],
) -> None:
    repo, _ = pushed
    new = _new_commits(repo, "three")
    unknown = "1234567890abcdef" * 2 + "12345678"  # someone else's push, never fetched
    line = f"refs/heads/main {new[0]} refs/heads/main {unknown}"
    assert _commits(repo, _revisions(repo, line)) == [set(new)]


def test_an_annotated_tag_sends_the_commits_it_brings(pushed: tuple[Repo, str]) -> None:
    repo, base = pushed
    new = _new_commits(repo, "release")
    repo.git("tag", "-a", "-m", "v1", "v1")
    tag = repo.git("rev-parse", "v1").strip()
    assert tag != new[0]  # the tag object, not the commit, is what git names
    line = f"refs/tags/v1 {tag} refs/tags/v1 {ZERO}"
    assert _commits(repo, _revisions(repo, line)) == [set(new)]
    # a tag on a commit the remote has brings no commit
    repo.git("tag", "-a", "-m", "old", "v0", base)
    old = repo.git("rev-parse", "v0").strip()
    assert _commits(repo, _revisions(repo, f"refs/tags/v0 {old} refs/tags/v0 {ZERO}")) == [set()]


def test_several_refs_are_one_list_for_those_the_remote_has_and_one_for_new_ones(
    pushed: tuple[Repo, str],
) -> None:
    """A push of several refs is two scans at most, however many refs: the refs whose old
    value this clone has (less what any of those old values reaches, and no more: a
    stale remote-tracking ref narrows none of them), then the new ones (less the
    remote-tracking refs too)."""
    repo, base = pushed
    main = _new_commits(repo, "main3")
    other = _new_commits(repo, "main4")
    repo.git("checkout", "-q", "-b", "topic", base)
    topic = _new_commits(repo, "topic1")
    repo.git("update-ref", "refs/remotes/origin/stale", main[0])  # (the remote lost it)
    stdin = (
        f"refs/heads/main {other[0]} refs/heads/main {base}\n"
        f"refs/heads/topic {topic[0]} refs/heads/topic {ZERO}\n"
        f"(delete) {ZERO} refs/heads/old {base}\n"
    )
    assert _commits(repo, _revisions(repo, stdin)) == [set(main) | set(other), set(topic)]


def test_run_by_hand_sends_the_commits_of_head_no_remote_has(pushed: tuple[Repo, str]) -> None:
    repo, _ = pushed
    new = _new_commits(repo, "three")
    assert _commits(repo, _revisions(repo, "")) == [set(new)]


def test_a_line_that_is_not_git_input_is_a_one_line_error(pushed: tuple[Repo, str]) -> None:
    repo, _ = pushed
    with pytest.raises(FatalError, match="unexpected pre-push input line"):
        _revisions(repo, "refs/heads/main only-three fields")


def test_pre_commits_range_then_everything_unpushed(pushed: tuple[Repo, str]) -> None:
    """pre-commit names the first pushed ref only: its range, then every local branch and
    tag the remote lacks (what else is pushed cannot be known)."""
    repo, base = pushed
    new = _new_commits(repo, "three")
    repo.git("branch", "other", base)
    repo.git("checkout", "-q", "other")
    other = _new_commits(repo, "elsewhere")
    environ = {"PRE_COMMIT_FROM_REF": base, "PRE_COMMIT_TO_REF": new[0]}
    assert _commits(repo, _revisions(repo, environ=environ)) == [set(new), set(new + other)]
    environ = {"PRE_COMMIT_LOCAL_BRANCH": "main"}
    assert _commits(repo, _revisions(repo, environ=environ)) == [set(new), set(new + other)]


# --- refs that point at a blob or a tree --------------------------------------------------------


def test_a_blob_or_tree_pushed_as_a_ref_is_an_object_to_scan(pushed: tuple[Repo, str]) -> None:
    repo, base = pushed
    blob = git(repo.path, "hash-object", "-w", "--stdin", input=f"K={secret(1)}\n").strip()
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    stdin = [
        f"{blob} {blob} refs/tags/blob {ZERO}",
        f"{tree} {tree} refs/tags/tree {ZERO}",
        f"refs/heads/main {base} refs/heads/main {base}",
    ]
    refs, had = pushed_objects(repo.path, "origin", stdin)
    assert refs == [("refs/tags/blob", blob), ("refs/tags/tree", tree), ("refs/heads/main", base)]
    assert had == ["--remotes=origin", base]  # what the remote has: not scanned again


def test_a_key_in_a_blob_pushed_as_a_tag_is_found(cli: CliRun, pushed: tuple[Repo, str]) -> None:
    repo, _ = pushed
    blob = git(repo.path, "hash-object", "-w", "--stdin", input=f"K={secret(1)}\n").strip()
    line = f"{blob} {blob} refs/tags/blob {ZERO}\n"
    args = ("pre-push", "origin", "url", "--repo", str(repo.path), "--format", "json")
    run = with_stdin(cli, line, *args, "--no-redact")
    assert run.code == 1, run.err
    [finding] = run.json()["findings"]
    assert (finding["file"], finding["match"]) == ("refs/tags/blob", secret(1))


def test_a_push_past_one_command_line_goes_in_parts(
    pushed: tuple[Repo, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past IDS_AT_ONCE refs (a command line's worth), the new commits go a part at a time
    and the remote-tracking refs stand for the old values: the parts cover every commit
    the push sends (never one less), and each list fits on a command line."""
    from nexpay_scan.sources import git as git_calls

    repo, base = pushed
    first = repo.git("rev-parse", f"{base}~1").strip()
    repo.git("push", "-q", "origin", f"{first}:refs/heads/other")
    repo.git("fetch", "-q", "origin")
    new = _new_commits(repo, "three", "four", "five")
    stdin = (  # (two old values this clone has: one more than a command line takes)
        f"refs/heads/main {new[-1]} refs/heads/main {base}\n"
        f"refs/heads/other {new[0]} refs/heads/other {first}\n"
        f"refs/heads/t1 {new[1]} refs/heads/t1 {ZERO}\n"
    )
    whole = _commits(repo, _revisions(repo, stdin))
    monkeypatch.setattr(git_calls, "IDS_AT_ONCE", 1)
    lists = _revisions(repo, stdin)
    assert len(lists) == 3 and all(len(a[: a.index("--not")]) == 1 for a in lists)
    assert all(a[a.index("--not") + 1 :] == ["--remotes=origin"] for a in lists)
    assert set().union(*_commits(repo, lists)) == whole[0] == set(new)


@pytest.mark.parametrize("at_once", [None, 7])
def test_a_push_of_many_refs_scans_each_commit_once(
    cli: CliRun, pushed: tuple[Repo, str], monkeypatch: pytest.MonkeyPatch, at_once: int | None
) -> None:
    """`git push --all` of 200 new branches along 30 new commits: one scan, each commit
    once (a scan per ref walked the commits once for each branch reaching them), the
    key once. Past a command line's worth of refs (made 7 here), a scan a part: the key
    still once."""
    from nexpay_scan.sources import git as git_calls

    repo, base = pushed
    commits = []
    for number in range(30):
        content = f"NEXPAY_SECRET={secret(5)}\n" if number == 5 else f"{number}\n"
        repo.write(f"f{number}.env", content)
        commits.append(repo.commit(f"commit {number}"))
    lines = "".join(
        f"refs/heads/b{n:03d} {commits[n % 30]} refs/heads/b{n:03d} {ZERO}\n" for n in range(200)
    )
    lines += f"refs/heads/main {commits[-1]} refs/heads/main {base}\n"
    if at_once is not None:
        monkeypatch.setattr(git_calls, "IDS_AT_ONCE", at_once)
    args = ("pre-push", "origin", "--repo", str(repo.path), "--format", "json")
    run = with_stdin(cli, lines, *args)
    assert run.code == 1, run.err
    assert [f["file"] for f in run.json()["findings"]] == ["f5.env"]
    if at_once is None:
        assert run.json()["summary"]["commits_scanned"] == 30
