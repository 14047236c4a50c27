"""The clone a CI run scans in: whether it has a commit, the remote's default branch,
fetching a branch or deepening a shallow clone (with `--deepen`), and the one-line errors
that say how to clone instead."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nexpay_scan.ci.plan import branch_name
from nexpay_scan.errors import FatalError
from nexpay_scan.sources.git import commit_named, objects_named, run_git, shallow_edges
from nexpay_scan.sources.gitlog import Named, named_forms

_DEEPEN_STEPS = (50, 200, 1000, 5000)


_PRESENT: set[tuple[str, str]] = set()  # (repository, revision) found this run
# (repository, revision) -> what git answered of it (`gitlog.named_forms`) since the last
# fetch: the range's ends, which the scan then need not ask again (`known_names`)
_NAMED: dict[tuple[str, str], Named] = {}


def forget_present() -> None:
    """Starts a run's planning with nothing known present."""
    _PRESENT.clear()
    _NAMED.clear()


def look_for(repo: Path, revs: Sequence[str]) -> None:
    """Asks git at once which of `revs` name a commit this clone has (one call for the
    ends of a range, which `present` then answers from), and what each names, as the
    scan asks it of a range's ends (`known_names`)."""
    asked = [
        r
        for r in dict.fromkeys(revs)
        if _plain(r) and (str(repo), r) not in _PRESENT and (str(repo), r) not in _NAMED
    ]
    if not asked:
        return
    found = iter(objects_named(repo, [form for rev in asked for form in named_forms(rev)]))
    for rev in asked:
        named = tuple(next(found) for _ in range(3))
        _NAMED[(str(repo), rev)] = named
        if named[1][1] == "commit":
            _PRESENT.add((str(repo), rev))


def known_names(repo: Path) -> dict[str, Named]:
    """What git answered of the revisions `look_for` asked in `repo` since the last fetch."""
    return {rev: named for (where, rev), named in _NAMED.items() if where == str(repo)}


def _fetch(repo: Path, *args: str, ok_codes: tuple[int, ...] = (0,)) -> bytes:
    """`git fetch ARGS`; what a revision names may have changed with it (a remote
    branch moved, a missing base arrived): asked again."""
    try:
        return run_git(repo, "fetch", *args, ok_codes=ok_codes)
    finally:
        _NAMED.clear()


def _plain(rev: str) -> bool:
    """A revision `look_for` may ask in a batch: none that `need_commit` refuses, nor one
    a batch reads otherwise (a newline, a `REV:path`)."""
    return not (rev.startswith(("-", ":/")) or "^{/" in rev or "\n" in rev or ":" in rev)


def present(repo: Path, rev: str) -> bool:
    """True when this clone has the commit `rev` names. A commit found stays found (a
    fetch only adds), so it is asked of git once a run: planning a range asked for each
    end up to three times, one git call after another (a tenth of a short range's time)."""
    key = (str(repo), rev)
    if key in _PRESENT:
        return True
    found = bool(commit_named(repo, rev))
    if found:
        _PRESENT.add(key)
    return found


def need_commit(repo: Path, rev: str, what: str) -> None:
    """A one-line error unless `rev` (given as `what`) is a commit this clone has, named
    otherwise than by a commit message (see `trust.refuse_found_by_message`)."""
    from nexpay_scan.trust import refuse_found_by_message

    refuse_found_by_message(rev)
    if rev.startswith("-") or not present(repo, rev):
        raise FatalError(f"{what} {rev}: no such commit in this clone (fetch it first)")


def default_branch(repo: Path) -> str | None:
    """The remote's default branch: `origin/HEAD` if the clone knows it, else asked of
    the remote; None when neither says."""
    found = run_git(repo, "symbolic-ref", "-q", "refs/remotes/origin/HEAD", ok_codes=(0, 1, 128))
    name = branch_name(found.decode().strip())
    if name:
        return name
    listed = run_git(repo, "ls-remote", "--symref", "origin", "HEAD", ok_codes=(0, 1, 2, 128))
    for line in listed.decode(errors="replace").splitlines():
        if line.startswith("ref: ") and line.endswith("\tHEAD"):
            return branch_name(line[5:].split("\t", 1)[0])
    return None


def remote_branch(repo: Path, name: str) -> str:
    """`origin/NAME`, fetched first if this clone lacks it (GitLab's and Jenkins's default
    fetch takes only the pipeline's own ref)."""
    ref = f"refs/remotes/origin/{name}"
    if present(repo, ref):
        return f"origin/{name}"
    fetched = _fetch(
        repo,
        "--quiet",
        "--no-tags",
        "origin",
        f"+refs/heads/{name}:{ref}",
        ok_codes=(0, 1, 128),
    )
    del fetched
    if not present(repo, ref):
        raise FatalError(
            f"the branch to compare with, {name}, is not in this clone and could not be "
            f"fetched: run `git fetch origin +refs/heads/{name}:{ref}` before the scan, or "
            "pass --base REF"
        )
    return f"origin/{name}"


def _crosses_shallow_edge(repo: Path, base: str, head: str) -> bool:
    edges = shallow_edges(repo)
    if not edges:
        return False
    listed = run_git(repo, "rev-list", f"{base}..{head}").decode().split()
    return bool(edges & set(listed))


def ensure_head(repo: Path, head: str, *, deepen: bool) -> None:
    """The commit to scan present (fetched with `deepen`), else a one-line error."""
    if present(repo, head):
        return
    if deepen:
        _fetch(repo, "--quiet", "--no-tags", "origin", head, ok_codes=(0, 1, 128))
    if not present(repo, head):
        raise FatalError(
            f"the commit to scan, {head}, is not in this clone: check out the pull request's "
            "head (actions/checkout `ref:`) or pass --deepen"
        )


def ensure_present(repo: Path, base: str, head: str, *, deepen: bool) -> None:
    """Both ends present and no shallow edge between them, deepening if allowed."""
    for depth in (0, *(_DEEPEN_STEPS if deepen else ())):
        if depth:
            _fetch(repo, "--quiet", "--no-tags", f"--deepen={depth}", "origin")
        ok = present(repo, base) and present(repo, head)
        if ok and not _crosses_shallow_edge(repo, base, head):
            return
    too_shallow(base, head, base if not present(repo, base) else head)


def ensure_whole(repo: Path, *, deepen: bool) -> None:
    """A whole-history scan in a shallow clone would scan less than it says."""
    if not shallow_edges(repo):
        return
    if deepen:
        _fetch(repo, "--quiet", "--no-tags", "--unshallow", "origin")
        if not shallow_edges(repo):
            return
    raise FatalError(
        "this run scans the branch's whole history, and this clone is shallow: clone with "
        "full history (actions/checkout `fetch-depth: 0`, GitLab `GIT_DEPTH: 0`, Bitbucket "
        "`clone: depth: full`, Azure `fetchDepth: 0`) or pass --deepen"
    )


def too_shallow(base: str, head: str, missing: str) -> None:
    """The one-line error for a range this clone is too shallow to scan."""
    raise FatalError(
        f"this clone is too shallow to scan {base}..{head} ({missing} or the commits between "
        "are missing): clone with full history (actions/checkout `fetch-depth: 0`, GitLab "
        "`GIT_DEPTH: 0`) or pass --deepen to fetch more"
    )
