"""Each CI system's documented variables (and GitHub's event payload) read into one
`Plan`; `SYSTEMS` lists how each is recognised, in the order they are tried. A new CI
system is a reader here and a line in `SYSTEMS`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

from nexpay_scan.ci.plan import Plan, branch_name, commit_or_none, need
from nexpay_scan.errors import FatalError
from nexpay_scan.sources.git import run_git

TYPE_CHECKING = False  # typing is not imported at run time (start-up time)
if TYPE_CHECKING:
    from typing import Any

_PR_EVENTS = (
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
)


# GitHub Actions


def _github(repo: Path, env: Mapping[str, str]) -> Plan | None:
    name = need(env, "GITHUB_EVENT_NAME")
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
        target = branch_name(group.get("base_ref"))
        return Plan("GitHub Actions", name, group["head_sha"], group["base_sha"], target)
    if name == "push":
        if event.get("deleted"):
            return None
        head = commit_or_none(event.get("after")) or sha
        if ref.startswith("refs/tags/"):
            return Plan("GitHub Actions", "tag push", head, whole=True)
        before = commit_or_none(event.get("before"))
        return Plan("GitHub Actions", "push", head, before, default, branch)
    # workflow_dispatch, schedule, release, workflow_run...: no "before" to compare with
    return Plan("GitHub Actions", name, sha, branch=branch, whole=True)


def _github_event(env: Mapping[str, str]) -> dict[str, Any]:
    import json  # (GitHub's runs only)

    path = Path(need(env, "GITHUB_EVENT_PATH"))
    try:
        event = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FatalError(f"GITHUB_EVENT_PATH {path}: cannot read the event ({error})") from None
    if not isinstance(event, dict):
        raise FatalError(f"GITHUB_EVENT_PATH {path}: not an event payload")
    return event


# GitLab CI


def _gitlab(repo: Path, env: Mapping[str, str]) -> Plan:
    head = need(env, "CI_COMMIT_SHA")
    default = env.get("CI_DEFAULT_BRANCH") or None
    branch = env.get("CI_COMMIT_BRANCH") or None
    if env.get("CI_MERGE_REQUEST_IID"):
        base = env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA") or env.get(
            "CI_MERGE_REQUEST_TARGET_BRANCH_SHA"
        )
        target = env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME") or default
        if not base and not target:
            need(env, "CI_MERGE_REQUEST_DIFF_BASE_SHA")
        return Plan("GitLab CI", "merge request", head, base or None, target)
    if env.get("CI_COMMIT_TAG"):
        return Plan("GitLab CI", "tag", head, whole=True)
    source = env.get("CI_PIPELINE_SOURCE", "push")
    if source in ("schedule", "web", "api", "trigger", "pipeline", "parent_pipeline"):
        return Plan("GitLab CI", source, head, branch=branch, whole=True)
    before = commit_or_none(env.get("CI_COMMIT_BEFORE_SHA"))
    return Plan("GitLab CI", "push", head, before, default, branch)


# Bitbucket Pipelines


def _bitbucket(repo: Path, env: Mapping[str, str]) -> Plan:
    head = need(env, "BITBUCKET_COMMIT")
    if env.get("BITBUCKET_PR_ID"):
        target = need(env, "BITBUCKET_PR_DESTINATION_BRANCH")
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
    head = need(env, "BUILD_SOURCEVERSION")
    reason = env.get("BUILD_REASON", "")
    source = env.get("BUILD_SOURCEBRANCH", "")
    if reason == "PullRequest":
        target = branch_name(need(env, "SYSTEM_PULLREQUEST_TARGETBRANCH"))
        return Plan("Azure Pipelines", "pull request", head, compare_with=target)
    if source.startswith("refs/tags/"):
        return Plan("Azure Pipelines", "tag", head, whole=True)
    branch = branch_name(source) if source.startswith("refs/heads/") else None
    if reason in ("Manual", "Schedule"):
        return Plan("Azure Pipelines", reason.lower(), head, branch=branch, whole=True)
    return Plan("Azure Pipelines", reason or "push", head, branch=branch)


# Jenkins


def _jenkins(repo: Path, env: Mapping[str, str]) -> Plan:
    head = env.get("GIT_COMMIT", "").strip() or "HEAD"
    if env.get("CHANGE_ID"):
        target = need(env, "CHANGE_TARGET")
        return Plan("Jenkins", "pull request", head, compare_with=target)
    if env.get("TAG_NAME"):
        return Plan("Jenkins", "tag", head, whole=True)
    branch = branch_name(env.get("BRANCH_NAME") or env.get("GIT_BRANCH"))
    previous = commit_or_none(env.get("GIT_PREVIOUS_SUCCESSFUL_COMMIT"))
    return Plan("Jenkins", "branch build", head, previous, branch=branch)


# CircleCI


def _circleci(repo: Path, env: Mapping[str, str]) -> Plan:
    head = need(env, "CIRCLE_SHA1")
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


SYSTEMS: tuple[
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
