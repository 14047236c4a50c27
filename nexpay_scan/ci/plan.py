"""What one CI run asks for (`Plan`), the revisions it comes to (`CiRange`), and the
helpers that read CI variables: a required one, a branch name, a commit id."""

from __future__ import annotations

from collections.abc import Mapping

from nexpay_scan.errors import FatalError
from nexpay_scan.records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from nexpay_scan.sources.gitlog import Named


class Plan(Record):
    """What one CI run asks for: scan `head`, compared with `base` (a commit), else with
    the branch `compare_with`, else (neither, or it is this very branch) the whole history."""

    system: str  # "GitHub Actions"
    event: str  # "push", "pull request", "schedule"...
    head: str
    base: str | None = None  # a commit the remote had: `before`, the target's commit
    compare_with: str | None = None  # a branch name: the target, the default branch
    branch: str | None = None  # the branch this run is for, when known
    whole: bool = False  # the event means "the branch's whole history"


class CiRange(Record):
    """The revisions to scan and how they came about, for the log line and the tests."""

    revisions: list[str]  # empty: nothing to scan (a deleted branch)
    described: str  # "GitHub Actions push: abc..def"
    # what git answered of the revisions' ends while the run was planned (after its last
    # fetch), which the scan need not ask again (`gitlog.commits_named_by`)
    named: Mapping[str, Named] | None = None


def need(env: Mapping[str, str], name: str) -> str:
    """The variable `name`, else a one-line error: without it the commits are unknown."""
    value = env.get(name, "").strip()
    if not value:
        raise FatalError(f"CI variable {name} is not set, so the commits to scan are unknown")
    return value


def branch_name(ref: str | None) -> str | None:
    """`refs/heads/main` or `origin/main` as `main`; None for none."""
    if not ref:
        return None
    for prefix in ("refs/heads/", "refs/remotes/origin/", "origin/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def commit_or_none(value: str | None) -> str | None:
    """A commit id from a variable: None when unset or all zeros (no commit)."""
    value = (value or "").strip()
    return value if value.strip("0") else None
