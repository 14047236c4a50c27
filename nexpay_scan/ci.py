"""The commits a CI run should scan, worked out from GitHub Actions or GitLab CI variables."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from nexpay_scan.errors import FatalError
from nexpay_scan.sources.git import run_git, shallow_edges

_NULL = "0" * 40
_DEEPEN_STEPS = (50, 200, 1000, 5000)


def ci_range(repo: Path, env: Mapping[str, str], *, deepen: bool) -> list[str]:
    """`git log` revisions for this pipeline: `base..head` of the pull/merge request or
    push; a new branch is compared with the default branch. Never silently less."""
    if env.get("GITHUB_ACTIONS") == "true":
        base, head = _github(env)
    elif env.get("GITLAB_CI") == "true":
        base, head = _gitlab(env)
    else:
        raise FatalError(
            "not in GitHub Actions or GitLab CI (GITHUB_ACTIONS / GITLAB_CI unset): "
            "use `nexpay-scan history BASE..HEAD`"
        )
    _ensure_present(repo, base, head, deepen=deepen)
    return [f"{base}..{head}"]


def _need(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise FatalError(f"CI variable {name} is not set, so the commits to scan are unknown")
    return value


def _github(env: Mapping[str, str]) -> tuple[str, str]:
    event_name = _need(env, "GITHUB_EVENT_NAME")
    path = Path(_need(env, "GITHUB_EVENT_PATH"))
    try:
        event = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FatalError(f"GITHUB_EVENT_PATH {path}: cannot read the event ({error})") from None
    if event_name in ("pull_request", "pull_request_target"):
        request = event.get("pull_request") or {}
        base, head = request.get("base", {}).get("sha"), request.get("head", {}).get("sha")
        if not base or not head:
            raise FatalError(f"{path}: the pull_request event has no base.sha/head.sha")
        return base, head
    if event_name == "push":
        before, after = event.get("before") or _NULL, event.get("after") or _need(env, "GITHUB_SHA")
        if before.strip("0"):
            return before, after
        default = (event.get("repository") or {}).get("default_branch")
        if not default:
            raise FatalError(f"{path}: a new branch was pushed and the default branch is unknown")
        return f"origin/{default}", after
    raise FatalError(f"GITHUB_EVENT_NAME {event_name!r}: only pull_request and push are scanned")


def _gitlab(env: Mapping[str, str]) -> tuple[str, str]:
    head = _need(env, "CI_COMMIT_SHA")
    if env.get("CI_MERGE_REQUEST_IID"):
        base = env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA") or _need(
            env, "CI_MERGE_REQUEST_TARGET_BRANCH_SHA"
        )
        return base, head
    before = env.get("CI_COMMIT_BEFORE_SHA", _NULL)
    if before.strip("0"):
        return before, head
    return f"origin/{_need(env, 'CI_DEFAULT_BRANCH')}", head


def _present(repo: Path, rev: str) -> bool:
    found = run_git(repo, "rev-parse", "-q", "--verify", f"{rev}^{{commit}}", ok_codes=(0, 1, 128))
    return bool(found.strip())


def _crosses_shallow_edge(repo: Path, base: str, head: str) -> bool:
    edges = shallow_edges(repo)
    if not edges:
        return False
    listed = run_git(repo, "rev-list", f"{base}..{head}").decode().split()
    return bool(edges & set(listed))


def _ensure_present(repo: Path, base: str, head: str, *, deepen: bool) -> None:
    """Both ends present and no shallow edge between them, deepening if allowed."""
    for depth in (0, *(_DEEPEN_STEPS if deepen else ())):
        if depth:
            run_git(repo, "fetch", "--quiet", "--no-tags", f"--deepen={depth}", "origin")
        ok = _present(repo, base) and _present(repo, head)
        if ok and not _crosses_shallow_edge(repo, base, head):
            return
    missing = base if not _present(repo, base) else head
    raise FatalError(
        f"this clone is too shallow to scan {base}..{head} ({missing} or the commits between "
        "are missing): clone with full history (actions/checkout `fetch-depth: 0`, GitLab "
        "`GIT_DEPTH: 0`) or pass --deepen to fetch more"
    )
