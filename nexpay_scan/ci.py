"""The commits a CI run should scan, worked out from the CI system's documented variables.

Each system says what it runs for in its own words; each is read into one `Plan`: the head,
and what to compare it with. A pull/merge request compares with its target; a push with
what the remote had before it (its `before` commit), else with the default branch; a run
that has no "before" (a schedule, a manual run, a tag, the first push of the default
branch) scans the branch's whole history. Never an empty range that passes, never exit 2
on a full clone for an ordinary event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nexpay_scan.errors import FatalError
from nexpay_scan.records import Record
from nexpay_scan.sources.git import commit_named, run_git, shallow_edges

_NULL = "0" * 40
_DEEPEN_STEPS = (50, 200, 1000, 5000)
_PR_EVENTS = (
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
)


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


def ci_range(
    repo: Path, env: Mapping[str, str], *, deepen: bool, base: str | None = None
) -> CiRange:
    """The `git log` revisions this pipeline must scan. `base` (from `--base REF`) wins
    over the CI variables: `REF..HEAD`."""
    if base is not None:
        plan = Plan("--base", "given base", "HEAD", base=base)
        _need_commit(repo, base, "--base")
        return _resolved(repo, plan, deepen=deepen)
    for detect, read in _SYSTEMS:
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
    _ensure_head(repo, plan.head, deepen=deepen)
    label = f"{plan.system} {plan.event}"
    if plan.base and not plan.whole:
        if _present(repo, plan.base) or (shallow_edges(repo) and deepen):
            _ensure_present(repo, plan.base, plan.head, deepen=deepen)
            return CiRange([f"{plan.base}..{plan.head}"], f"{label}: {plan.base}..{plan.head}")
        if shallow_edges(repo):
            _too_shallow(plan.base, plan.head, plan.base)
        label += f" ({plan.base[:12]} is not in this clone: rewritten by a force-push?)"
    compare = None if plan.whole else (plan.compare_with or _default_branch(repo))
    if compare and compare != plan.branch:
        ref = _remote_branch(repo, compare)
        _ensure_present(repo, ref, plan.head, deepen=deepen)
        return CiRange([f"{ref}..{plan.head}"], f"{label}: {ref}..{plan.head}")
    _ensure_whole(repo, deepen=deepen)
    what = f"the whole history of {plan.branch or plan.head}"
    return CiRange([plan.head], f"{label}: {what} ({plan.head})")


def _need(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise FatalError(f"CI variable {name} is not set, so the commits to scan are unknown")
    return value


def _branch_name(ref: str | None) -> str | None:
    """`refs/heads/main` or `origin/main` as `main`; None for none."""
    if not ref:
        return None
    for prefix in ("refs/heads/", "refs/remotes/origin/", "origin/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def _commit_or_none(value: str | None) -> str | None:
    """A commit id from a variable: None when unset or all zeros (no commit)."""
    value = (value or "").strip()
    return value if value.strip("0") else None


# GitHub Actions


def _github(repo: Path, env: Mapping[str, str]) -> Plan | None:
    name = _need(env, "GITHUB_EVENT_NAME")
    event = _github_event(env)
    ref = env.get("GITHUB_REF", "")
    sha = env.get("GITHUB_SHA", "").strip() or "HEAD"
    branch = env.get("GITHUB_REF_NAME") if ref.startswith("refs/heads/") else None
    default = (event.get("repository") or {}).get("default_branch")
    if name in _PR_EVENTS:
        request = event.get("pull_request") or {}
        base, head = (request.get("base") or {}), (request.get("head") or {})
        if not base.get("sha") or not head.get("sha"):
            raise FatalError(f"the {name} event has no pull_request.base.sha/head.sha")
        return Plan("GitHub Actions", name, head["sha"], base["sha"], base.get("ref"))
    if name == "merge_group":
        group = event.get("merge_group") or {}
        if not group.get("base_sha") or not group.get("head_sha"):
            raise FatalError("the merge_group event has no merge_group.base_sha/head_sha")
        target = _branch_name(group.get("base_ref"))
        return Plan("GitHub Actions", name, group["head_sha"], group["base_sha"], target)
    if name == "push":
        if event.get("deleted"):
            return None
        head = _commit_or_none(event.get("after")) or sha
        if ref.startswith("refs/tags/"):
            return Plan("GitHub Actions", "tag push", head, whole=True)
        before = _commit_or_none(event.get("before"))
        return Plan("GitHub Actions", "push", head, before, default, branch)
    # workflow_dispatch, schedule, release, workflow_run...: no "before" to compare with
    return Plan("GitHub Actions", name, sha, branch=branch, whole=True)


def _github_event(env: Mapping[str, str]) -> dict[str, Any]:
    path = Path(_need(env, "GITHUB_EVENT_PATH"))
    try:
        event = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FatalError(f"GITHUB_EVENT_PATH {path}: cannot read the event ({error})") from None
    if not isinstance(event, dict):
        raise FatalError(f"GITHUB_EVENT_PATH {path}: not an event payload")
    return event


# GitLab CI


def _gitlab(repo: Path, env: Mapping[str, str]) -> Plan:
    head = _need(env, "CI_COMMIT_SHA")
    default = env.get("CI_DEFAULT_BRANCH") or None
    branch = env.get("CI_COMMIT_BRANCH") or None
    if env.get("CI_MERGE_REQUEST_IID"):
        base = env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA") or env.get(
            "CI_MERGE_REQUEST_TARGET_BRANCH_SHA"
        )
        target = env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME") or default
        if not base and not target:
            _need(env, "CI_MERGE_REQUEST_DIFF_BASE_SHA")
        return Plan("GitLab CI", "merge request", head, base or None, target)
    if env.get("CI_COMMIT_TAG"):
        return Plan("GitLab CI", "tag", head, whole=True)
    source = env.get("CI_PIPELINE_SOURCE", "push")
    if source in ("schedule", "web", "api", "trigger", "pipeline", "parent_pipeline"):
        return Plan("GitLab CI", source, head, branch=branch, whole=True)
    before = _commit_or_none(env.get("CI_COMMIT_BEFORE_SHA"))
    return Plan("GitLab CI", "push", head, before, default, branch)


# Bitbucket Pipelines


def _bitbucket(repo: Path, env: Mapping[str, str]) -> Plan:
    head = _need(env, "BITBUCKET_COMMIT")
    if env.get("BITBUCKET_PR_ID"):
        target = _need(env, "BITBUCKET_PR_DESTINATION_BRANCH")
        base = _full_commit(repo, env.get("BITBUCKET_PR_DESTINATION_COMMIT"))
        return Plan("Bitbucket Pipelines", "pull request", head, base, target)
    if env.get("BITBUCKET_TAG"):
        return Plan("Bitbucket Pipelines", "tag", head, whole=True)
    branch = env.get("BITBUCKET_BRANCH") or None
    return Plan("Bitbucket Pipelines", "push", head, branch=branch)


def _full_commit(repo: Path, short: str | None) -> str | None:
    """A commit id that may be abbreviated (Bitbucket's are), in full if the clone has it."""
    if not short or not re.fullmatch(r"[0-9a-fA-F]{7,64}", short):
        return None
    found = run_git(repo, "rev-parse", "-q", "--verify", f"{short}^{{commit}}", ok_codes=(0, 1))
    return found.decode().strip() or None


# Azure Pipelines


def _azure(repo: Path, env: Mapping[str, str]) -> Plan:
    head = _need(env, "BUILD_SOURCEVERSION")
    reason = env.get("BUILD_REASON", "")
    source = env.get("BUILD_SOURCEBRANCH", "")
    if reason == "PullRequest":
        target = _branch_name(_need(env, "SYSTEM_PULLREQUEST_TARGETBRANCH"))
        return Plan("Azure Pipelines", "pull request", head, compare_with=target)
    if source.startswith("refs/tags/"):
        return Plan("Azure Pipelines", "tag", head, whole=True)
    branch = _branch_name(source) if source.startswith("refs/heads/") else None
    if reason in ("Manual", "Schedule"):
        return Plan("Azure Pipelines", reason.lower(), head, branch=branch, whole=True)
    return Plan("Azure Pipelines", reason or "push", head, branch=branch)


# Jenkins


def _jenkins(repo: Path, env: Mapping[str, str]) -> Plan:
    head = env.get("GIT_COMMIT", "").strip() or "HEAD"
    if env.get("CHANGE_ID"):
        target = _need(env, "CHANGE_TARGET")
        return Plan("Jenkins", "pull request", head, compare_with=target)
    if env.get("TAG_NAME"):
        return Plan("Jenkins", "tag", head, whole=True)
    branch = _branch_name(env.get("BRANCH_NAME") or env.get("GIT_BRANCH"))
    previous = _commit_or_none(env.get("GIT_PREVIOUS_SUCCESSFUL_COMMIT"))
    return Plan("Jenkins", "branch build", head, previous, branch=branch)


# CircleCI


def _circleci(repo: Path, env: Mapping[str, str]) -> Plan:
    head = _need(env, "CIRCLE_SHA1")
    if env.get("CIRCLE_TAG"):
        return Plan("CircleCI", "tag", head, whole=True)
    # CircleCI names no pull request target: compared with the default branch
    # (`--base << pipeline.git.base_revision >>` gives the push's own before)
    event = "pull request" if env.get("CIRCLE_PULL_REQUEST") else "push"
    return Plan("CircleCI", event, head, branch=env.get("CIRCLE_BRANCH") or None)


# Buildkite


def _buildkite(repo: Path, env: Mapping[str, str]) -> Plan:
    head = env.get("BUILDKITE_COMMIT", "").strip()
    head = head if head and head != "HEAD" else "HEAD"
    default = env.get("BUILDKITE_PIPELINE_DEFAULT_BRANCH") or None
    if env.get("BUILDKITE_PULL_REQUEST", "false") not in ("", "false"):
        target = env.get("BUILDKITE_PULL_REQUEST_BASE_BRANCH") or default
        return Plan("Buildkite", "pull request", head, compare_with=target)
    if env.get("BUILDKITE_TAG"):
        return Plan("Buildkite", "tag", head, whole=True)
    branch = env.get("BUILDKITE_BRANCH") or None
    return Plan("Buildkite", "push", head, compare_with=default, branch=branch)


_SYSTEMS: tuple[
    tuple[Callable[[Mapping[str, str]], bool], Callable[[Path, Mapping[str, str]], Plan | None]],
    ...,
] = (
    (lambda env: env.get("GITHUB_ACTIONS") == "true", _github),
    (lambda env: env.get("GITLAB_CI") == "true", _gitlab),
    (lambda env: env.get("TF_BUILD", "").lower() == "true", _azure),
    (lambda env: bool(env.get("BITBUCKET_BUILD_NUMBER")), _bitbucket),
    (lambda env: bool(env.get("JENKINS_URL")), _jenkins),
    (lambda env: env.get("CIRCLECI") == "true", _circleci),
    (lambda env: env.get("BUILDKITE") == "true", _buildkite),
)


# The clone


def _present(repo: Path, rev: str) -> bool:
    return bool(commit_named(repo, rev))


def _need_commit(repo: Path, rev: str, what: str) -> None:
    if rev.startswith("-") or not _present(repo, rev):
        raise FatalError(f"{what} {rev}: no such commit in this clone (fetch it first)")


def _default_branch(repo: Path) -> str | None:
    """The remote's default branch: `origin/HEAD` if the clone knows it, else asked of
    the remote; None when neither says."""
    found = run_git(repo, "symbolic-ref", "-q", "refs/remotes/origin/HEAD", ok_codes=(0, 1, 128))
    name = _branch_name(found.decode().strip())
    if name:
        return name
    listed = run_git(repo, "ls-remote", "--symref", "origin", "HEAD", ok_codes=(0, 1, 2, 128))
    for line in listed.decode(errors="replace").splitlines():
        if line.startswith("ref: ") and line.endswith("\tHEAD"):
            return _branch_name(line[5:].split("\t", 1)[0])
    return None


def _remote_branch(repo: Path, name: str) -> str:
    """`origin/NAME`, fetched first if this clone lacks it (GitLab's and Jenkins's default
    fetch takes only the pipeline's own ref)."""
    ref = f"refs/remotes/origin/{name}"
    if _present(repo, ref):
        return f"origin/{name}"
    fetched = run_git(
        repo,
        "fetch",
        "--quiet",
        "--no-tags",
        "origin",
        f"+refs/heads/{name}:{ref}",
        ok_codes=(0, 1, 128),
    )
    del fetched
    if not _present(repo, ref):
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


def _ensure_head(repo: Path, head: str, *, deepen: bool) -> None:
    if _present(repo, head):
        return
    if deepen:
        run_git(repo, "fetch", "--quiet", "--no-tags", "origin", head, ok_codes=(0, 1, 128))
    if not _present(repo, head):
        raise FatalError(
            f"the commit to scan, {head}, is not in this clone: check out the pull request's "
            "head (actions/checkout `ref:`) or pass --deepen"
        )


def _ensure_present(repo: Path, base: str, head: str, *, deepen: bool) -> None:
    """Both ends present and no shallow edge between them, deepening if allowed."""
    for depth in (0, *(_DEEPEN_STEPS if deepen else ())):
        if depth:
            run_git(repo, "fetch", "--quiet", "--no-tags", f"--deepen={depth}", "origin")
        ok = _present(repo, base) and _present(repo, head)
        if ok and not _crosses_shallow_edge(repo, base, head):
            return
    _too_shallow(base, head, base if not _present(repo, base) else head)


def _ensure_whole(repo: Path, *, deepen: bool) -> None:
    """A whole-history scan in a shallow clone would scan less than it says."""
    if not shallow_edges(repo):
        return
    if deepen:
        run_git(repo, "fetch", "--quiet", "--no-tags", "--unshallow", "origin")
        if not shallow_edges(repo):
            return
    raise FatalError(
        "this run scans the branch's whole history, and this clone is shallow: clone with "
        "full history (actions/checkout `fetch-depth: 0`, GitLab `GIT_DEPTH: 0`, Bitbucket "
        "`clone: depth: full`, Azure `fetchDepth: 0`) or pass --deepen"
    )


def _too_shallow(base: str, head: str, missing: str) -> None:
    raise FatalError(
        f"this clone is too shallow to scan {base}..{head} ({missing} or the commits between "
        "are missing): clone with full history (actions/checkout `fetch-depth: 0`, GitLab "
        "`GIT_DEPTH: 0`) or pass --deepen to fetch more"
    )


# Links to the hosting platform


class WebLinks(Record):
    """Where the repository is shown on the web, and how that platform links a commit and a
    line of a file."""

    platform: str  # "github", "gitlab", "bitbucket", "azure"
    base: str  # https://github.com/acme/shop (never with credentials)

    def commit_url(self, sha: str) -> str:
        """The page of one commit."""
        path = {"gitlab": "/-/commit/", "bitbucket": "/commits/"}.get(self.platform, "/commit/")
        return f"{self.base}{path}{sha}"

    def file_url(self, sha: str, file: str, line: int) -> str:
        """One line of a file as the commit has it."""
        from urllib.parse import quote

        name = quote(file, safe="/")
        if self.platform == "gitlab":
            return f"{self.base}/-/blob/{sha}/{name}#L{line}"
        if self.platform == "bitbucket":
            return f"{self.base}/src/{sha}/{name}#lines-{line}"
        if self.platform == "azure":
            return f"{self.base}?path=/{name}&version=GC{sha}&line={line}&lineEnd={line}"
        return f"{self.base}/blob/{sha}/{name}#L{line}"


def web_links(repo: Path, env: Mapping[str, str]) -> WebLinks | None:
    """The platform the repository lives on: from the CI's variables, else from the
    `origin` URL (GitHub, GitLab, Bitbucket, Azure DevOps); None when neither says."""
    if env.get("GITHUB_ACTIONS") == "true" and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL") or "https://github.com"
        return WebLinks("github", f"{server.rstrip('/')}/{env['GITHUB_REPOSITORY']}")
    if env.get("GITLAB_CI") == "true" and env.get("CI_PROJECT_URL"):
        return WebLinks("gitlab", _without_credentials(env["CI_PROJECT_URL"]))
    if env.get("BITBUCKET_REPO_FULL_NAME"):
        return WebLinks("bitbucket", f"https://bitbucket.org/{env['BITBUCKET_REPO_FULL_NAME']}")
    if env.get("TF_BUILD", "").lower() == "true" and env.get("BUILD_REPOSITORY_URI"):
        found = _from_url(env["BUILD_REPOSITORY_URI"])
        if found is not None:
            return found
    origin = run_git(repo, "config", "--get", "remote.origin.url", ok_codes=(0, 1))
    return _from_url(origin.decode(errors="replace").strip())


def _without_credentials(url: str) -> str:
    return re.sub(r"^(https?://)[^/@]*@", r"\1", url.strip()).rstrip("/")


def _from_url(url: str) -> WebLinks | None:
    """A clone URL (https, ssh or scp-like) as the repository's web address."""
    match = re.match(r"^(?:[a-z+]+://)?(?:[^@/]*@)?([^/:]+)(?::\d+)?[:/](.+?)(?:\.git)?/?$", url)
    if not match:
        return None
    host, path = match[1].lower(), match[2].lstrip("/")
    if host == "github.com":
        return WebLinks("github", f"https://github.com/{path}")
    if host == "gitlab.com":
        return WebLinks("gitlab", f"https://gitlab.com/{path}")
    if host == "bitbucket.org":
        return WebLinks("bitbucket", f"https://bitbucket.org/{path}")
    if host == "ssh.dev.azure.com":  # v3/ORG/PROJECT/REPO
        parts = path.split("/")
        if len(parts) == 4 and parts[0] == "v3":
            return WebLinks("azure", f"https://dev.azure.com/{parts[1]}/{parts[2]}/_git/{parts[3]}")
        return None
    if host == "dev.azure.com" or host.endswith(".visualstudio.com"):
        return WebLinks("azure", f"https://{host}/{path}")
    return None
