"""Which commits a push sends: from git's pre-push input or pre-commit's environment."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from nexpay_scan.errors import FatalError
from nexpay_scan.sources.git import run_git

_ZERO = frozenset("0")


def _is_null(sha: str) -> bool:
    return set(sha) <= _ZERO


def _commit_exists(repo: Path, sha: str) -> bool:
    found = run_git(repo, "rev-parse", "-q", "--verify", f"{sha}^{{commit}}", ok_codes=(0, 1, 128))
    return found.strip() != b""


def _new_commits(local: str, remote: str | None) -> list[str]:
    """`git log` arguments for commits of `local` that no remote-tracking ref has."""
    return [local, "--not", f"--remotes={remote}" if remote else "--remotes"]


def pushed_revisions(
    repo: Path,
    remote: str | None,
    environ: Mapping[str, str],
    read_stdin: Callable[[], Sequence[str]],
) -> Iterator[list[str]]:
    """`git log` arguments, one list per pushed ref, covering exactly the new commits.

    pre-commit gives a range in PRE_COMMIT_FROM_REF/TO_REF; for a new branch that starts at
    a root commit it gives none, and then the branch's commits missing from the remote are
    scanned. Git's own hook input has one line per ref: deletions send nothing. With no
    input at all (run by hand), the commits of HEAD that no remote has are scanned.
    """
    remote = remote or environ.get("PRE_COMMIT_REMOTE_NAME")
    start, end = environ.get("PRE_COMMIT_FROM_REF"), environ.get("PRE_COMMIT_TO_REF")
    if start and end:
        yield [f"{start}..{end}"]
        return
    if environ.get("PRE_COMMIT_LOCAL_BRANCH"):
        yield _new_commits(environ["PRE_COMMIT_LOCAL_BRANCH"], remote)
        return
    stdin_lines = read_stdin()
    if not stdin_lines:  # run by hand: the commits not on any remote yet
        yield _new_commits("HEAD", remote)
        return
    for line in stdin_lines:
        parts = line.split()
        if len(parts) != 4:
            raise FatalError(f"unexpected pre-push input line: {line[:80]!r}")
        _, local_sha, _, remote_sha = parts
        if _is_null(local_sha):
            continue
        if not _is_null(remote_sha) and _commit_exists(repo, remote_sha):
            yield [f"{remote_sha}..{local_sha}"]
        else:
            yield _new_commits(local_sha, remote)
