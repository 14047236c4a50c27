"""The commits a CI run should scan, worked out from the CI system's documented variables.

Each system says what it runs for in its own words; each is read into one `Plan`: the head,
and what to compare it with. A pull/merge request compares with its target; a push with
what the remote had before it (its `before` commit), else with the default branch; a run
that has no "before" (a schedule, a manual run, a tag, the first push of the default
branch) scans the branch's whole history. Never an empty range that passes, never exit 2
on a full clone for an ordinary event.

The modules: `plan` (the records and reading variables), `systems` (one reader per CI
system, and the table of them), `clone` (what this clone has, fetched or deepened), `links`
(the platform's web links for reports).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from nexpay_scan.ci.clone import (
    default_branch,
    ensure_head,
    ensure_present,
    ensure_whole,
    forget_present,
    known_names,
    look_for,
    need_commit,
    present,
    remote_branch,
    too_shallow,
)
from nexpay_scan.ci.links import WebLinks, web_links
from nexpay_scan.ci.plan import CiRange, Plan
from nexpay_scan.ci.systems import SYSTEMS
from nexpay_scan.errors import FatalError
from nexpay_scan.sources.git import shallow_edges

__all__ = ["CiRange", "Plan", "WebLinks", "ci_range", "web_links"]


def ci_range(
    repo: Path, env: Mapping[str, str], *, deepen: bool, base: str | None = None
) -> CiRange:
    """The `git log` revisions this pipeline must scan. `base` (from `--base REF`) wins
    over the CI variables: `REF..HEAD`."""
    forget_present()  # (what this run finds: a test runs many in one process)
    if base is not None:
        plan = Plan("--base", "given base", "HEAD", base=base)
        look_for(repo, [base, plan.head])
        need_commit(repo, base, "--base")
        return _resolved(repo, plan, deepen=deepen)
    for detect, read in SYSTEMS:
        if detect(env):
            found = read(repo, env)
            if found is None:
                return CiRange([], "nothing to scan: the push deleted the branch")
            return _resolved(repo, found, deepen=deepen)
    raise FatalError(
        "no CI system recognised (GitHub Actions, GitLab CI, Bitbucket Pipelines, Azure "
        "Pipelines, Jenkins, CircleCI, Buildkite): pass --base REF to scan REF..HEAD"
    )


def _resolved(repo: Path, plan: Plan, *, deepen: bool) -> CiRange:
    """The plan made concrete in this clone: fetching what is missing, falling back from a
    `before` the clone lacks (a force-push) to the branch compared with."""
    look_for(repo, [plan.head, *([plan.base] if plan.base else [])])
    ensure_head(repo, plan.head, deepen=deepen)
    label = f"{plan.system} {plan.event}"
    if plan.base and not plan.whole:
        if present(repo, plan.base) or (shallow_edges(repo) and deepen):
            ensure_present(repo, plan.base, plan.head, deepen=deepen)
            revisions = [f"{plan.base}..{plan.head}"]
            return CiRange(revisions, f"{label}: {revisions[0]}", known_names(repo))
        if shallow_edges(repo):
            too_shallow(plan.base, plan.head, plan.base)
        label += f" ({plan.base[:12]} is not in this clone: rewritten by a force-push?)"
    compare = None if plan.whole else (plan.compare_with or default_branch(repo))
    if compare and compare != plan.branch:
        ref = remote_branch(repo, compare)
        ensure_present(repo, ref, plan.head, deepen=deepen)
        return CiRange([f"{ref}..{plan.head}"], f"{label}: {ref}..{plan.head}", known_names(repo))
    ensure_whole(repo, deepen=deepen)
    what = f"the whole history of {plan.branch or plan.head}"
    return CiRange([plan.head], f"{label}: {what} ({plan.head})")
