"""`nexpay-scan ci` on each CI system, driven by its real variable names and event payloads.

Every test runs in a real clone of a real bare "origin" repository, as a CI runner has it:
`main` holds an old key (old.env), the branch `topic` adds a new one (new.env) in two
commits. What a test checks is what a user sees: the exit code, the range named on stderr
and which keys were found.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testing.cli import CliRun
from testing.git_repo import Repo, git
from testing.keys import secret


@dataclass
class Forge:
    """An origin with `main` (one commit, old.env) and `topic` (two more, new.env)."""

    tmp: Path
    origin: Path
    dev: Repo
    main: str
    topic: str

    def clone(self, branch: str = "topic", *extra: str) -> Path:
        """A full clone checked out at `branch`'s tip, detached as CI runners do."""
        where = self.tmp / f"ci-{branch}-{len(list(self.tmp.iterdir()))}"
        git(self.tmp, "clone", "-q", *extra, f"file://{self.origin}", str(where))
        git(where, "checkout", "-q", "--detach", f"origin/{branch}")
        return where

    def ref_only_clone(self, branch: str) -> Path:
        """A clone as GitLab's and Jenkins's default fetch leaves it: only the pipeline's
        own ref, no origin/HEAD, no default branch."""
        where = self.tmp / f"ref-only-{branch}"
        git(self.tmp, "init", "-q", str(where))
        git(where, "remote", "add", "origin", f"file://{self.origin}")
        git(where, "fetch", "-q", "origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}")
        git(where, "checkout", "-q", "--detach", f"origin/{branch}")
        return where


@pytest.fixture
def forge(tmp_path: Path) -> Forge:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    dev = Repo(tmp_path / "dev")
    dev.git("remote", "add", "origin", str(origin))
    dev.write("old.env", f"K={secret(1)}\n")
    main = dev.commit("main")
    dev.git("push", "-q", "origin", "main")
    dev.git("checkout", "-q", "-b", "topic")
    dev.write("new.env", f"K={secret(2)}\n")
    dev.commit("topic 1")
    dev.write("more.txt", "x\n")
    topic = dev.commit("topic 2")
    dev.git("push", "-q", "origin", "topic")
    return Forge(tmp_path, origin, dev, main, topic)


def scan(cli: CliRun, clone: Path, *extra: str) -> tuple[int, list[str], str]:
    """Runs `ci` in the clone: exit code, the files with findings, and the range line."""
    run = cli("ci", "--repo", str(clone), "--format", "json", *extra)
    assert run.code in (0, 1), run.err
    scanned = next(line for line in run.err.splitlines() if line.startswith("nexpay-scan: "))
    return run.code, sorted(f["file"] for f in run.json()["findings"]), scanned


def on_github(
    mp: pytest.MonkeyPatch, tmp: Path, name: str, event: dict[str, Any], **env: str
) -> None:
    path = tmp / f"event-{name}.json"
    path.write_text(json.dumps(event))
    mp.setenv("GITHUB_ACTIONS", "true")
    mp.setenv("GITHUB_EVENT_NAME", name)
    mp.setenv("GITHUB_EVENT_PATH", str(path))
    for key, value in env.items():
        mp.setenv(key, value)


REPOSITORY = {"default_branch": "main", "full_name": "acme/shop"}
BOTH, NEW = ["new.env", "old.env"], ["new.env"]


# GitHub Actions


@pytest.mark.parametrize("name", ["pull_request", "pull_request_target"])
def test_github_pull_request_events(
    cli: CliRun, forge: Forge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    request = {"base": {"sha": forge.main, "ref": "main"}, "head": {"sha": forge.topic}}
    on_github(monkeypatch, tmp_path, name, {"pull_request": request, "repository": REPOSITORY})
    code, found, scanned = scan(cli, forge.clone())
    assert (code, found) == (1, NEW)
    assert f"GitHub Actions {name}: {forge.main}..{forge.topic}" in scanned


def test_github_push_of_a_new_branch_compares_with_the_default_branch(
    cli: CliRun, forge: Forge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = {"before": "0" * 40, "after": forge.topic, "created": True, "repository": REPOSITORY}
    on_github(
        monkeypatch, tmp_path, "push", event, GITHUB_REF="refs/heads/topic", GITHUB_REF_NAME="topic"
    )
    code, found, scanned = scan(cli, forge.clone())
    assert (code, found) == (1, NEW)
    assert f"push: origin/main..{forge.topic}" in scanned


def test_github_force_push_whose_before_is_not_in_the_clone(
    cli: CliRun, forge: Forge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = "1234567890abcdef1234567890abcdef12345678"  # the commit the force-push replaced
    event = {"before": gone, "after": forge.topic, "forced": True, "repository": REPOSITORY}
    on_github(
        monkeypatch, tmp_path, "push", event, GITHUB_REF="refs/heads/topic", GITHUB_REF_NAME="topic"
    )
    code, found, scanned = scan(cli, forge.clone())
    assert (code, found) == (1, NEW)
    assert "is not in this clone" in scanned and f"origin/main..{forge.topic}" in scanned


def test_github_first_push_of_the_default_branch_scans_its_whole_history(
    cli: CliRun, forge: Forge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = {"before": "0" * 40, "after": forge.main, "created": True, "repository": REPOSITORY}
    on_github(
        monkeypatch, tmp_path, "push", event, GITHUB_REF="refs/heads/main", GITHUB_REF_NAME="main"
    )
    run = cli("ci", "--repo", str(forge.clone("main")), "--format", "json")
    assert run.code == 1 and run.json()["summary"]["commits_scanned"] == 1
    assert [f["file"] for f in run.json()["findings"]] == ["old.env"]
    assert f"the whole history of main ({forge.main})" in run.err


def test_github_push_of_an_existing_branch_scans_before_to_after(
    cli: CliRun, forge: Forge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = forge.dev.git("rev-parse", "topic~1").strip()
    event = {"before": first, "after": forge.topic, "repository": REPOSITORY}
    on_github(monkeypatch, tmp_path, "push", event, GITHUB_REF="refs/heads/topic")
    code, found, scanned = scan(cli, forge.clone())
    assert (code, found) == (0, [])  # the second commit adds no key
    assert f"push: {first}..{forge.topic}" in scanned


def test_github_merge_group(
    cli: CliRun, forge: Forge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = {"base_sha": forge.main, "head_sha": forge.topic, "base_ref": "refs/heads/main"}
    on_github(monkeypatch, tmp_path, "merge_group", {"merge_group": group})
    code, found, scanned = scan(cli, forge.clone())
    assert (code, found) == (1, NEW)
    assert f"merge_group: {forge.main}..{forge.topic}" in scanned


@pytest.mark.parametrize("name", ["workflow_dispatch", "schedule"])
def test_github_manual_and_scheduled_runs_scan_the_branch_history(
    cli: CliRun, forge: Forge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    on_github(
        monkeypatch,
        tmp_path,
        name,
        {"repository": REPOSITORY},
        GITHUB_SHA=forge.topic,
        GITHUB_REF="refs/heads/topic",
        GITHUB_REF_NAME="topic",
    )
    code, found, scanned = scan(cli, forge.clone())
    assert (code, found) == (1, BOTH)
    assert f"{name}: the whole history of topic ({forge.topic})" in scanned


def test_github_tag_push_scans_the_tagged_history(
    cli: CliRun, forge: Forge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = {"before": "0" * 40, "after": forge.topic, "repository": REPOSITORY}
    on_github(monkeypatch, tmp_path, "push", event, GITHUB_REF="refs/tags/v1.0")
    code, found, scanned = scan(cli, forge.clone())
    assert (code, found) == (1, BOTH)
    assert f"tag push: the whole history of {forge.topic}" in scanned


def test_github_branch_deletion_has_nothing_to_scan(
    cli: CliRun, forge: Forge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = {"before": forge.topic, "after": "0" * 40, "deleted": True}
    on_github(monkeypatch, tmp_path, "push", event, GITHUB_REF="refs/heads/topic")
    run = cli("ci", "--repo", str(forge.clone()))
    assert run.code == 0 and "nothing to scan" in run.err


def test_whole_history_in_a_shallow_clone_is_refused_then_deepened(
    cli: CliRun, forge: Forge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_github(monkeypatch, tmp_path, "schedule", {}, GITHUB_SHA=forge.topic)
    shallow = forge.clone("topic", "--depth=1", "--no-single-branch")
    run = cli("ci", "--repo", str(shallow))
    assert run.code == 2 and "shallow" in run.err and "fetch-depth: 0" in run.err
    code, found, _ = scan(cli, shallow, "--deepen")
    assert (code, found) == (1, BOTH)


# GitLab CI


def gitlab(mp: pytest.MonkeyPatch, **env: str) -> None:
    mp.setenv("GITLAB_CI", "true")
    mp.setenv("CI", "true")
    mp.setenv("CI_DEFAULT_BRANCH", "main")
    for key, value in env.items():
        mp.setenv(key, value)


def test_gitlab_new_branch_with_the_runners_default_fetch(
    cli: CliRun, forge: Forge, monkeypatch: pytest.MonkeyPatch
) -> None:
    gitlab(
        monkeypatch,
        CI_PIPELINE_SOURCE="push",
        CI_COMMIT_SHA=forge.topic,
        CI_COMMIT_BRANCH="topic",
        CI_COMMIT_BEFORE_SHA="0" * 40,
    )
    clone = forge.ref_only_clone("topic")
    code, found, scanned = scan(cli, clone)
    assert (code, found) == (1, NEW)
    assert f"GitLab CI push: origin/main..{forge.topic}" in scanned


def test_gitlab_names_what_to_fetch_when_the_default_branch_cannot_be(
    cli: CliRun, forge: Forge, monkeypatch: pytest.MonkeyPatch
) -> None:
    gitlab(monkeypatch, CI_COMMIT_SHA=forge.topic, CI_COMMIT_BRANCH="topic")
    clone = forge.ref_only_clone("topic")
    git(clone, "remote", "set-url", "origin", str(forge.tmp / "gone.git"))
    run = cli("ci", "--repo", str(clone))
    assert run.code == 2
    assert "git fetch origin +refs/heads/main:refs/remotes/origin/main" in run.err


def test_gitlab_merge_request(cli: CliRun, forge: Forge, monkeypatch: pytest.MonkeyPatch) -> None:
    gitlab(
        monkeypatch,
        CI_PIPELINE_SOURCE="merge_request_event",
        CI_MERGE_REQUEST_IID="7",
        CI_MERGE_REQUEST_DIFF_BASE_SHA=forge.main,
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main",
        CI_COMMIT_SHA=forge.topic,
    )
    code, found, scanned = scan(cli, forge.clone())
    assert (code, found) == (1, NEW)
    assert f"merge request: {forge.main}..{forge.topic}" in scanned


@pytest.mark.parametrize(
    ("env", "what"),
    [
        ({"CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_BRANCH": "topic"}, "schedule"),
        ({"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": "v1.0"}, "tag"),
    ],
)
def test_gitlab_schedule_and_tag_scan_the_whole_history(
    cli: CliRun, forge: Forge, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], what: str
) -> None:
    gitlab(monkeypatch, CI_COMMIT_SHA=forge.topic, **env)
    code, found, scanned = scan(cli, forge.clone())
    assert (code, found) == (1, BOTH)
    assert f"GitLab CI {what}: the whole history" in scanned


def test_gitlab_first_pipeline_of_the_default_branch(
    cli: CliRun, forge: Forge, monkeypatch: pytest.MonkeyPatch
) -> None:
    gitlab(
        monkeypatch,
        CI_COMMIT_SHA=forge.main,
        CI_COMMIT_BRANCH="main",
        CI_COMMIT_BEFORE_SHA="0" * 40,
    )
    code, found, scanned = scan(cli, forge.ref_only_clone("main"))
    assert (code, found) == (1, ["old.env"])
    assert "the whole history of main" in scanned


# Bitbucket Pipelines


def test_bitbucket_pull_request_and_branch(
    cli: CliRun, forge: Forge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("BITBUCKET_BUILD_NUMBER", "12")
    monkeypatch.setenv("BITBUCKET_COMMIT", forge.topic[:12])  # Bitbucket gives short ids
    monkeypatch.setenv("BITBUCKET_BRANCH", "topic")
    monkeypatch.setenv("BITBUCKET_PR_ID", "3")
    monkeypatch.setenv("BITBUCKET_PR_DESTINATION_BRANCH", "main")
    monkeypatch.setenv("BITBUCKET_PR_DESTINATION_COMMIT", forge.main[:12])
    clone = forge.ref_only_clone("topic")
    code, found, scanned = scan(cli, clone)
    assert (code, found) == (1, NEW)
    assert f"Bitbucket Pipelines pull request: {forge.main}..{forge.topic[:12]}" in scanned
    for name in ("BITBUCKET_PR_ID", "BITBUCKET_PR_DESTINATION_BRANCH"):
        monkeypatch.delenv(name)
    code, found, scanned = scan(cli, forge.clone())  # a branch push: the default branch
    assert (code, found) == (1, NEW)
    assert f"Bitbucket Pipelines push: origin/main..{forge.topic[:12]}" in scanned


# Azure Pipelines


def azure(mp: pytest.MonkeyPatch, **env: str) -> None:
    mp.setenv("TF_BUILD", "True")
    for key, value in env.items():
        mp.setenv(key, value)


def test_azure_pull_request(cli: CliRun, forge: Forge, monkeypatch: pytest.MonkeyPatch) -> None:
    azure(
        monkeypatch,
        BUILD_REASON="PullRequest",
        BUILD_SOURCEVERSION=forge.topic,
        BUILD_SOURCEBRANCH="refs/pull/4/merge",
        SYSTEM_PULLREQUEST_TARGETBRANCH="refs/heads/main",
        SYSTEM_PULLREQUEST_SOURCEBRANCH="refs/heads/topic",
    )
    code, found, scanned = scan(cli, forge.ref_only_clone("topic"))
    assert (code, found) == (1, NEW)
    assert f"Azure Pipelines pull request: origin/main..{forge.topic}" in scanned


@pytest.mark.parametrize(
    ("reason", "expected", "files"),
    [("IndividualCI", "origin/main..", NEW), ("Schedule", "the whole history of topic", BOTH)],
)
def test_azure_branch_builds(
    cli: CliRun,
    forge: Forge,
    monkeypatch: pytest.MonkeyPatch,
    reason: str,
    expected: str,
    files: list[str],
) -> None:
    azure(
        monkeypatch,
        BUILD_REASON=reason,
        BUILD_SOURCEVERSION=forge.topic,
        BUILD_SOURCEBRANCH="refs/heads/topic",
    )
    code, found, scanned = scan(cli, forge.clone())
    assert (code, found) == (1, files)
    assert expected in scanned


# Jenkins


def test_jenkins_multibranch_pull_request(
    cli: CliRun, forge: Forge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JENKINS_URL", "https://jenkins.example.com/")
    monkeypatch.setenv("BRANCH_NAME", "PR-5")
    monkeypatch.setenv("CHANGE_ID", "5")
    monkeypatch.setenv("CHANGE_TARGET", "main")
    monkeypatch.setenv("GIT_COMMIT", forge.topic)
    code, found, scanned = scan(cli, forge.ref_only_clone("topic"))
    assert (code, found) == (1, NEW)
    assert f"Jenkins pull request: origin/main..{forge.topic}" in scanned


def test_jenkins_branch_since_the_last_successful_build(
    cli: CliRun, forge: Forge, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = forge.dev.git("rev-parse", "topic~1").strip()
    monkeypatch.setenv("JENKINS_URL", "https://jenkins.example.com/")
    monkeypatch.setenv("BRANCH_NAME", "topic")
    monkeypatch.setenv("GIT_BRANCH", "origin/topic")
    monkeypatch.setenv("GIT_COMMIT", forge.topic)
    monkeypatch.setenv("GIT_PREVIOUS_SUCCESSFUL_COMMIT", first)
    code, found, scanned = scan(cli, forge.clone())
    assert (code, found) == (0, [])
    assert f"Jenkins branch build: {first}..{forge.topic}" in scanned


# CircleCI


def test_circleci_branch(cli: CliRun, forge: Forge, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIRCLECI", "true")
    monkeypatch.setenv("CIRCLE_SHA1", forge.topic)
    monkeypatch.setenv("CIRCLE_BRANCH", "topic")
    monkeypatch.setenv("CIRCLE_PULL_REQUEST", "https://github.com/acme/shop/pull/9")
    code, found, scanned = scan(cli, forge.clone())
    assert (code, found) == (1, NEW)
    assert f"CircleCI pull request: origin/main..{forge.topic}" in scanned


# Buildkite


def test_buildkite_pull_request_and_default_branch(
    cli: CliRun, forge: Forge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUILDKITE", "true")
    monkeypatch.setenv("BUILDKITE_COMMIT", forge.topic)
    monkeypatch.setenv("BUILDKITE_BRANCH", "topic")
    monkeypatch.setenv("BUILDKITE_PIPELINE_DEFAULT_BRANCH", "main")
    monkeypatch.setenv("BUILDKITE_PULL_REQUEST", "11")
    monkeypatch.setenv("BUILDKITE_PULL_REQUEST_BASE_BRANCH", "main")
    code, found, scanned = scan(cli, forge.ref_only_clone("topic"))
    assert (code, found) == (1, NEW)
    assert f"Buildkite pull request: origin/main..{forge.topic}" in scanned
    monkeypatch.setenv("BUILDKITE_PULL_REQUEST", "false")
    monkeypatch.setenv("BUILDKITE_COMMIT", forge.main)
    monkeypatch.setenv("BUILDKITE_BRANCH", "main")
    code, found, scanned = scan(cli, forge.clone("main"))
    assert (code, found) == (1, ["old.env"])
    assert "Buildkite push: the whole history of main" in scanned


# Anything else: --base


def test_base_scans_ref_to_head_and_trusts_ref(cli: CliRun, forge: Forge) -> None:
    clone = forge.clone()
    code, found, scanned = scan(cli, clone, "--base", forge.main)
    assert (code, found) == (1, NEW)
    assert f"--base given base: {forge.main}..HEAD" in scanned
    # the range cannot bring its own ignore file: it is read at REF
    fingerprint = cli("files", str(clone / "new.env"), "--format", "json").json()["findings"][0]
    (clone / ".nexpayscanignore").write_text(f"{fingerprint['fingerprint']}\n")
    git(clone, "add", ".nexpayscanignore")
    git(clone, "commit", "-q", "-m", "ignore it")
    run = cli("ci", "--repo", str(clone), "--base", forge.main, "--format", "json")
    assert run.code == 1
    assert "new.env" in [f["file"] for f in run.json()["findings"]]


def test_base_that_is_not_a_commit_is_an_error(cli: CliRun, forge: Forge) -> None:
    run = cli("ci", "--repo", str(forge.clone()), "--base", "no-such-branch")
    assert run.code == 2 and "--base no-such-branch" in run.err


# Links to the commit and the line on the hosting platform


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("git@github.com:acme/shop.git", "https://github.com/acme/shop/blob/{sha}/new.env#L1"),
        (
            "https://gitlab-ci-token:glcbt-s3cr3t@gitlab.com/acme/shop.git",
            "https://gitlab.com/acme/shop/-/blob/{sha}/new.env#L1",
        ),
        (
            "https://ada@bitbucket.org/acme/shop.git",
            "https://bitbucket.org/acme/shop/src/{sha}/new.env#lines-1",
        ),
        (
            "git@ssh.dev.azure.com:v3/acme/web/shop",
            "https://dev.azure.com/acme/web/_git/shop?path=/new.env&version=GC{sha}&line=1",
        ),
    ],
)
def test_findings_link_to_the_platform_from_the_origin_url(
    cli: CliRun, forge: Forge, origin: str, expected: str
) -> None:
    clone = forge.clone()
    git(clone, "remote", "set-url", "origin", origin)
    run = cli("history", f"{forge.main}..{forge.topic}", "--repo", str(clone), "--format", "json")
    introduced = forge.dev.git("rev-parse", "topic~1").strip()
    notes = run.json()["findings"][0]["notes"]
    assert any(expected.format(sha=introduced) in note for note in notes), notes
    assert not any("s3cr3t" in note or "ada@" in note for note in notes)


def test_findings_link_from_the_ci_variables(
    cli: CliRun, forge: Forge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = {"base": {"sha": forge.main}, "head": {"sha": forge.topic}}
    on_github(
        monkeypatch,
        tmp_path,
        "pull_request",
        {"pull_request": request},
        GITHUB_SERVER_URL="https://github.example.com",
        GITHUB_REPOSITORY="acme/shop",
    )
    run = cli("ci", "--repo", str(forge.clone()))
    introduced = forge.dev.git("rev-parse", "topic~1").strip()
    assert f"https://github.example.com/acme/shop/blob/{introduced}/new.env#L1" in run.out
    assert f"(commit https://github.example.com/acme/shop/commit/{introduced})" in run.out
