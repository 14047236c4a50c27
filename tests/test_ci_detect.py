"""Which CI system a run is on and what it asks to scan (nexpay_scan/ci.py), from the
variables each system documents and GitHub's event payload, fed as plain dicts: no process
environment, one full clone whose origin has `main` (the default branch) and `topic`.
The promise: a pull/merge request is compared with its target, a push with what the remote
had before it (else the default branch), a run with no "before" scans the whole history,
a deleted branch nothing; and links to the platform come from the CI's variables or the
origin URL, never with credentials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexpay_scan.ci import CiRange, WebLinks, ci_range, web_links
from nexpay_scan.errors import FatalError
from testing.git_repo import GIT_ENV, Repo, git


class Clone:
    """A full clone of a remote with `main` (two commits) and `topic` (one more)."""

    def __init__(self, tmp_path: Path) -> None:
        seed = Repo(tmp_path / "seed")
        seed.write("a.txt", "one\n")
        self.first = seed.commit("one")
        seed.write("a.txt", "two\n")
        self.main = seed.commit("two")
        seed.git("checkout", "-q", "-b", "topic")
        seed.write("b.txt", "topic\n")
        self.topic = seed.commit("topic")
        remote = tmp_path / "remote.git"
        git(tmp_path, "clone", "-q", "--bare", str(seed.path), str(remote))
        git(remote, "symbolic-ref", "HEAD", "refs/heads/main")
        self.path = tmp_path / "clone"
        git(tmp_path, "clone", "-q", "--no-checkout", str(remote), str(self.path))
        git(self.path, "checkout", "-q", "topic")
        self.events = tmp_path / "events"
        self.events.mkdir()

    def event(self, payload: dict[str, Any]) -> str:
        """A GitHub event payload file; returns its path."""
        path = self.events / f"event{len(list(self.events.iterdir()))}.json"
        path.write_text(json.dumps(payload))
        return str(path)

    def github(self, name: str, payload: dict[str, Any], **env: str) -> CiRange:
        variables = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": name,
            "GITHUB_EVENT_PATH": self.event(payload),
            "GITHUB_SHA": self.topic,
            "GITHUB_REF": "refs/heads/topic",
            "GITHUB_REF_NAME": "topic",
            **env,
        }
        return self.range(variables)

    def range(self, env: dict[str, str], base: str | None = None) -> CiRange:
        return ci_range(self.path, env, deepen=False, base=base)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clone]:
    """One clone for the module: nothing here changes it (made before the per-test pinned
    environment exists, so it pins git's own)."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in GIT_ENV.items():
            patch.setenv(key, value)
        yield Clone(tmp_path_factory.mktemp("ci"))


REPOSITORY = {"repository": {"default_branch": "main"}}


# --- GitHub Actions ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pull_request", "pull_request_target"])
def test_github_pull_request_compares_with_its_target(clone: Clone, name: str) -> None:
    request = {
        "base": {"sha": clone.main, "ref": "main"},
        "head": {"sha": clone.topic, "ref": "topic"},
    }
    found = clone.github(name, {"pull_request": request, **REPOSITORY})
    assert found.revisions == [f"{clone.main}..{clone.topic}"]
    assert found.described.startswith(f"GitHub Actions {name}: ")


def test_github_pull_request_without_its_commits_is_an_error(clone: Clone) -> None:
    with pytest.raises(FatalError, match=r"pull_request\.base\.sha/head\.sha"):
        clone.github("pull_request", {"pull_request": {"base": {"ref": "main"}}})


def test_github_merge_group_compares_with_the_groups_base(clone: Clone) -> None:
    group = {"base_sha": clone.main, "head_sha": clone.topic, "base_ref": "refs/heads/main"}
    found = clone.github("merge_group", {"merge_group": group})
    assert found.revisions == [f"{clone.main}..{clone.topic}"]


def test_github_push_scans_before_to_after(clone: Clone) -> None:
    push = {"before": clone.main, "after": clone.topic, **REPOSITORY}
    assert clone.github("push", push).revisions == [f"{clone.main}..{clone.topic}"]


def test_github_push_of_a_new_branch_compares_with_the_default_branch(clone: Clone) -> None:
    push = {"before": "0" * 40, "after": clone.topic, **REPOSITORY}
    assert clone.github("push", push).revisions == [f"origin/main..{clone.topic}"]


def test_github_push_whose_before_the_clone_lacks_falls_back_and_says_so(clone: Clone) -> None:
    rewritten = "1234567890abcdef" * 2 + "12345678"  # a force-push's old tip
    push = {"before": rewritten, "after": clone.topic, **REPOSITORY}
    found = clone.github("push", push)
    assert found.revisions == [f"origin/main..{clone.topic}"]
    assert "force-push" in found.described and rewritten[:12] in found.described


def test_github_first_push_of_the_default_branch_scans_its_whole_history(clone: Clone) -> None:
    push = {"before": "0" * 40, "after": clone.main, **REPOSITORY}
    found = clone.github(
        "push", push, GITHUB_SHA=clone.main, GITHUB_REF="refs/heads/main", GITHUB_REF_NAME="main"
    )
    assert found.revisions == [clone.main]
    assert "whole history of main" in found.described


def test_github_deleted_branch_has_nothing_to_scan(clone: Clone) -> None:
    found = clone.github("push", {"deleted": True, "before": clone.topic, "after": "0" * 40})
    assert found.revisions == []


def test_github_tag_push_scans_the_tagged_history(clone: Clone) -> None:
    push = {"before": "0" * 40, "after": clone.topic, **REPOSITORY}
    found = clone.github("push", push, GITHUB_REF="refs/tags/v1", GITHUB_REF_NAME="v1")
    assert found.revisions == [clone.topic]
    assert found.described.startswith("GitHub Actions tag push")


@pytest.mark.parametrize("name", ["workflow_dispatch", "schedule", "release"])
def test_github_runs_with_no_before_scan_the_whole_history(clone: Clone, name: str) -> None:
    assert clone.github(name, REPOSITORY).revisions == [clone.topic]


def test_github_event_file_missing_or_not_json_is_a_one_line_error(clone: Clone) -> None:
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push"}
    with pytest.raises(FatalError, match="GITHUB_EVENT_PATH is not set"):
        clone.range(env)
    broken = clone.events / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(FatalError, match="cannot read the event"):
        clone.range({**env, "GITHUB_EVENT_PATH": str(broken)})


# --- GitLab CI --------------------------------------------------------------------------------


def _gitlab(clone: Clone, **env: str) -> CiRange:
    return clone.range(
        {"GITLAB_CI": "true", "CI_COMMIT_SHA": clone.topic, "CI_DEFAULT_BRANCH": "main", **env}
    )


def test_gitlab_merge_request_compares_with_its_diff_base(clone: Clone) -> None:
    found = _gitlab(
        clone,
        CI_MERGE_REQUEST_IID="7",
        CI_MERGE_REQUEST_DIFF_BASE_SHA=clone.first,
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main",
    )
    assert found.revisions == [f"{clone.first}..{clone.topic}"]
    assert found.described.startswith("GitLab CI merge request")


def test_gitlab_merge_request_with_only_its_target_branch(clone: Clone) -> None:
    found = _gitlab(clone, CI_MERGE_REQUEST_IID="7", CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main")
    assert found.revisions == [f"origin/main..{clone.topic}"]


def test_gitlab_push_scans_before_to_head_or_compares_with_the_default_branch(
    clone: Clone,
) -> None:
    pushed = _gitlab(clone, CI_COMMIT_BRANCH="topic", CI_COMMIT_BEFORE_SHA=clone.main)
    assert pushed.revisions == [f"{clone.main}..{clone.topic}"]
    new = _gitlab(clone, CI_COMMIT_BRANCH="topic", CI_COMMIT_BEFORE_SHA="0" * 40)
    assert new.revisions == [f"origin/main..{clone.topic}"]


@pytest.mark.parametrize(
    "env",
    [{"CI_COMMIT_TAG": "v1"}, {"CI_PIPELINE_SOURCE": "schedule"}, {"CI_PIPELINE_SOURCE": "web"}],
)
def test_gitlab_tags_and_scheduled_runs_scan_the_whole_history(
    clone: Clone, env: dict[str, str]
) -> None:
    assert _gitlab(clone, **env).revisions == [clone.topic]


def test_gitlab_without_its_commit_is_an_error(clone: Clone) -> None:
    with pytest.raises(FatalError, match="CI_COMMIT_SHA is not set"):
        clone.range({"GITLAB_CI": "true"})


# --- the others -------------------------------------------------------------------------------


def test_bitbucket_pull_request_with_an_abbreviated_destination_commit(clone: Clone) -> None:
    found = clone.range(
        {
            "BITBUCKET_BUILD_NUMBER": "12",
            "BITBUCKET_COMMIT": clone.topic,
            "BITBUCKET_PR_ID": "3",
            "BITBUCKET_PR_DESTINATION_BRANCH": "main",
            "BITBUCKET_PR_DESTINATION_COMMIT": clone.first[:12],
        }
    )
    assert found.revisions == [f"{clone.first}..{clone.topic}"]


def test_bitbucket_branch_compares_with_the_default_branch(clone: Clone) -> None:
    env = {"BITBUCKET_BUILD_NUMBER": "12", "BITBUCKET_COMMIT": clone.topic}
    assert clone.range({**env, "BITBUCKET_BRANCH": "topic"}).revisions == [
        f"origin/main..{clone.topic}"
    ]
    assert clone.range({**env, "BITBUCKET_TAG": "v1"}).revisions == [clone.topic]


def test_azure_pull_request_and_scheduled_build(clone: Clone) -> None:
    env = {"TF_BUILD": "True", "BUILD_SOURCEVERSION": clone.topic}
    request = {
        **env,
        "BUILD_REASON": "PullRequest",
        "SYSTEM_PULLREQUEST_TARGETBRANCH": "refs/heads/main",
    }
    assert clone.range(request).revisions == [f"origin/main..{clone.topic}"]
    scheduled = {**env, "BUILD_REASON": "Schedule", "BUILD_SOURCEBRANCH": "refs/heads/topic"}
    assert clone.range(scheduled).revisions == [clone.topic]


def test_jenkins_change_request_and_branch_since_the_last_success(clone: Clone) -> None:
    env = {"JENKINS_URL": "https://ci.example/", "GIT_COMMIT": clone.topic}
    change = {**env, "CHANGE_ID": "5", "CHANGE_TARGET": "main"}
    assert clone.range(change).revisions == [f"origin/main..{clone.topic}"]
    branch = {**env, "GIT_BRANCH": "origin/topic", "GIT_PREVIOUS_SUCCESSFUL_COMMIT": clone.first}
    assert clone.range(branch).revisions == [f"{clone.first}..{clone.topic}"]
    with pytest.raises(FatalError, match="CHANGE_TARGET is not set"):
        clone.range({**env, "CHANGE_ID": "5"})


def test_circleci_branch_compares_with_the_default_branch(clone: Clone) -> None:
    env = {"CIRCLECI": "true", "CIRCLE_SHA1": clone.topic, "CIRCLE_BRANCH": "topic"}
    found = clone.range(env)
    assert found.revisions == [f"origin/main..{clone.topic}"]
    assert found.described.startswith("CircleCI push")


def test_buildkite_pull_request_compares_with_its_base_branch(clone: Clone) -> None:
    env = {
        "BUILDKITE": "true",
        "BUILDKITE_COMMIT": clone.topic,
        "BUILDKITE_PULL_REQUEST": "9",
        "BUILDKITE_PULL_REQUEST_BASE_BRANCH": "main",
    }
    assert clone.range(env).revisions == [f"origin/main..{clone.topic}"]
    env["BUILDKITE_PULL_REQUEST"] = "false"
    env["BUILDKITE_TAG"] = "v1"
    assert clone.range(env).revisions == [clone.topic]


def test_no_ci_system_is_an_error_that_names_base(clone: Clone) -> None:
    with pytest.raises(FatalError, match=r"no CI system recognised.*--base REF"):
        clone.range({"CI": "true", "PATH": "/usr/bin"})


def test_base_wins_over_the_ci_variables(clone: Clone) -> None:
    env = {"GITLAB_CI": "true", "CI_COMMIT_SHA": clone.topic, "CI_COMMIT_TAG": "v1"}
    found = clone.range(env, base=clone.first)
    assert found.revisions == [f"{clone.first}..HEAD"]
    with pytest.raises(FatalError, match="no such commit"):
        clone.range(env, base="--output=/tmp/x")


# --- links to the platform --------------------------------------------------------------------


def test_links_from_the_ci_variables(clone: Clone) -> None:
    github = web_links(
        clone.path,
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": "acme/shop",
            "GITHUB_SERVER_URL": "https://git.acme.example/",
        },
    )
    assert github == WebLinks("github", "https://git.acme.example/acme/shop")
    gitlab = web_links(
        clone.path,
        {"GITLAB_CI": "true", "CI_PROJECT_URL": "https://ci-token:s3cr3t@gitlab.com/acme/shop/"},
    )
    assert gitlab == WebLinks("gitlab", "https://gitlab.com/acme/shop")


@pytest.mark.parametrize(
    ("url", "links"),
    [
        ("git@github.com:acme/shop.git", WebLinks("github", "https://github.com/acme/shop")),
        (
            "https://user:token@gitlab.com/acme/group/shop.git",
            WebLinks("gitlab", "https://gitlab.com/acme/group/shop"),
        ),
        (
            "ssh://git@bitbucket.org/acme/shop",
            WebLinks("bitbucket", "https://bitbucket.org/acme/shop"),
        ),
        (
            "git@ssh.dev.azure.com:v3/acme/Shop/shop",
            WebLinks("azure", "https://dev.azure.com/acme/Shop/_git/shop"),
        ),
        ("https://git.acme.example/shop.git", None),
    ],
)
def test_links_from_the_origin_url(repo: Repo, url: str, links: WebLinks | None) -> None:
    repo.git("remote", "add", "origin", url)
    assert web_links(repo.path, {}) == links


@pytest.mark.parametrize(
    ("platform", "file_url"),
    [
        ("github", "https://host/r/blob/abc/dir/a%20b.env#L3"),
        ("gitlab", "https://host/r/-/blob/abc/dir/a%20b.env#L3"),
        ("bitbucket", "https://host/r/src/abc/dir/a%20b.env#lines-3"),
        ("azure", "https://host/r?path=/dir/a%20b.env&version=GCabc&line=3&lineEnd=3"),
    ],
)
def test_each_platform_links_a_line_of_a_file(platform: str, file_url: str) -> None:
    assert WebLinks(platform, "https://host/r").file_url("abc", "dir/a b.env", 3) == file_url
