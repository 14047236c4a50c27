"""`--verify` says "revoked" only when it is true: a 401 counts only for a client ID that
belongs with the secret (its header, file, commit, or the tree at a range's head); guesses
from elsewhere are bounded and come after every secret's own pairs."""

from __future__ import annotations

import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexpay_scan.config import load_settings
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.tree_ids import client_ids_at, range_heads
from testing.cli import CliRun, Result, run_cli
from testing.fake_nexpay import FakeNexpay
from testing.git_repo import ROOT, Repo, git
from testing.keys import client_id, legacy_client_id, legacy_secret, secret

LIVE_CID, LIVE_SK = client_id(1), secret(1)
OTHER_CID, LONELY_SK = client_id(2), secret(3)
ACCOUNT = {"id": "usr_42", "email": "owner@shop.example", "name": "Shop Owner"}
GUESSED_401 = "no client ID from its file or commit; 1 from elsewhere answered 401"


@pytest.fixture
def api() -> Iterator[FakeNexpay]:
    with FakeNexpay() as server:
        yield server


def _by_match(run: Result) -> dict[str, dict[str, Any]]:
    return {f["match"]: f for f in run.json()["findings"]}


def _verify(api: FakeNexpay, *extra: str) -> list[str]:
    return ["--verify", "--api-base", api.base_url, "--no-redact", *extra]


@pytest.fixture
def guessed_only(repo: Repo) -> Repo:
    """A secret whose only client ID in the history is in another file and commit."""
    repo.write("ids.env", f"NEXPAY_CLIENT_ID={OTHER_CID}\n")
    repo.commit("client ID")
    repo.write("lonely.env", f"NEXPAY_SECRET={LONELY_SK}\n")
    repo.commit("secret")
    return repo


# --- a 401 from a guess proves nothing ---------------------------------------------------


def test_guessed_401_is_unverified_with_the_reason_in_json_and_text(
    cli: CliRun, guessed_only: Repo, api: FakeNexpay
) -> None:
    repo = guessed_only.path
    run = cli("history", "--repo", str(repo), "--format", "json", *_verify(api))
    found = _by_match(run)[LONELY_SK]
    assert (found["status"], found["status_reason"]) == ("unverified", GUESSED_401)
    assert api.count(OTHER_CID, LONELY_SK) == 1  # it was asked, and the 401 did not count
    text = cli("history", "--repo", str(repo), *_verify(api))
    assert f"status: unverified - {GUESSED_401}" in text.out
    assert "REVOKED" not in text.out


@pytest.mark.parametrize("suffix", [".md", ".html"])
def test_audit_report_never_reassures_on_a_guess(
    cli: CliRun, guessed_only: Repo, api: FakeNexpay, tmp_path: Path, suffix: str
) -> None:
    report = tmp_path / f"audit{suffix}"
    cli("history", "--repo", str(guessed_only.path), *_verify(api), "--report", str(report))
    text = report.read_text()
    assert "UNVERIFIED" in text and GUESSED_401 in text
    assert "could not be checked" in text  # the headline: treat it as live
    for reassuring in ("stays revoked", "Every secret found is revoked", "REVOKED<", "REVOKED*"):
        assert reassuring not in text


def test_a_live_answer_from_a_guess_is_live(
    cli: CliRun, guessed_only: Repo, api: FakeNexpay
) -> None:
    api.live(OTHER_CID, LONELY_SK, ACCOUNT)
    run = cli("history", "--repo", str(guessed_only.path), "--format", "json", *_verify(api))
    found = _by_match(run)[LONELY_SK]
    assert found["status"] == "live" and found["verified_with"] == OTHER_CID
    assert "elsewhere" in found["status_reason"]
    run = cli("history", "--repo", str(guessed_only.path), *_verify(api, "--fail-on", "live"))
    assert run.code == 1


def test_same_commit_client_id_belongs(cli: CliRun, repo: Repo, api: FakeNexpay) -> None:
    repo.write("ids.env", f"NEXPAY_CLIENT_ID={OTHER_CID}\n")
    repo.write("lonely.env", f"NEXPAY_SECRET={LONELY_SK}\n")
    repo.commit("both")
    run = cli("history", "--repo", str(repo.path), "--format", "json", *_verify(api))
    found = _by_match(run)[LONELY_SK]
    assert found["status"] == "revoked" and "from its commit" in found["status_reason"]


# --- range scans: the client ID already in the base branch belongs ------------------------


@pytest.fixture
def secret_only_pr(repo: Repo) -> tuple[Repo, str, str]:
    """A base branch with the client ID; a pull request that adds only the secret."""
    repo.write("config/nexpay.env", f"NEXPAY_CLIENT_ID={LIVE_CID}\n")
    repo.write("config/other.env", f"NEXPAY_CLIENT_ID={OTHER_CID}\n")
    base = repo.commit("base")
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("config/secret.env", f"NEXPAY_SECRET={LIVE_SK}\n")
    head = repo.commit("adds the secret")
    return repo, base, head


def test_range_pairs_the_secret_with_the_head_tree(
    cli: CliRun, secret_only_pr: tuple[Repo, str, str], api: FakeNexpay
) -> None:
    repo, base, head = secret_only_pr
    api.live(LIVE_CID, LIVE_SK, ACCOUNT)
    history = ["history", "--repo", str(repo.path), f"{base}..{head}"]
    run = cli(*history, "--format", "json", *_verify(api, "--fail-on", "live"))
    [found] = run.json()["findings"]
    assert run.code == 1 and found["status"] == "live" and found["verified_with"] == LIVE_CID


def test_range_401_with_the_head_tree_is_revoked(
    cli: CliRun, secret_only_pr: tuple[Repo, str, str], api: FakeNexpay
) -> None:
    repo, base, head = secret_only_pr
    run = cli("history", "--repo", str(repo.path), f"{base}..{head}", "--format", "json")
    assert run.json()["findings"][0]["status"] == "unverified"  # no --verify: not checked
    run = cli(
        "history", "--repo", str(repo.path), f"{base}..{head}", "--format", "json", *_verify(api)
    )
    [found] = run.json()["findings"]
    assert found["status"] == "revoked"
    assert found["status_reason"] == (
        "all 2 client IDs from the tree at the head commit answered 401: revoked or never valid"
    )


def test_range_with_more_tree_client_ids_than_are_tried_is_not_revoked(
    cli: CliRun, secret_only_pr: tuple[Repo, str, str], api: FakeNexpay
) -> None:
    # The 3 nearest client IDs answering 401 say nothing about the 4 left untried.
    repo, base, _ = secret_only_pr
    repo.git("checkout", "-q", base)
    repo.write("fixtures/ids.env", "".join(f"ID={client_id(40 + i)}\n" for i in range(5)))
    base = repo.commit("more client IDs")
    repo.write("app/secret.env", f"NEXPAY_SECRET={LONELY_SK}\n")
    head = repo.commit("adds a secret")
    run = cli(
        "history", "--repo", str(repo.path), f"{base}..{head}", "--format", "json", *_verify(api)
    )
    [found] = run.json()["findings"]
    assert (found["status"], found["status_reason"]) == (
        "unverified",
        "3 client IDs from the tree at the head commit answered 401, 4 more of its own not tried",
    )


def test_ci_pairs_the_secret_with_the_head_tree(
    cli: CliRun,
    secret_only_pr: tuple[Repo, str, str],
    api: FakeNexpay,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo, base, head = secret_only_pr
    api.live(LIVE_CID, LIVE_SK, ACCOUNT)
    event = tmp_path / "event.json"
    event.write_text(
        f'{{"pull_request": {{"base": {{"sha": "{base}"}}, "head": {{"sha": "{head}"}}}}}}'
    )
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    run = cli(
        "ci", "--repo", str(repo.path), "--format", "json", *_verify(api, "--fail-on", "live")
    )
    assert run.code == 1 and run.json()["findings"][0]["status"] == "live"


def test_pre_push_pairs_the_secret_with_the_pushed_tree(
    secret_only_pr: tuple[Repo, str, str], api: FakeNexpay
) -> None:
    repo, base, head = secret_only_pr
    api.live(LIVE_CID, LIVE_SK, ACCOUNT)
    line = f"refs/heads/topic {head} refs/heads/topic {base}\n"
    run = run_cli(
        "pre-push",
        "origin",
        "url",
        "--format",
        "json",
        *_verify(api, "--fail-on", "live"),
        cwd=repo.path,
        stdin=line.encode(),
    )
    assert run.code == 1 and run.json()["findings"][0]["status"] == "live"


def test_pre_receive_pairs_the_secret_with_the_pushed_tree(
    repo: Repo, api: FakeNexpay, tmp_path: Path
) -> None:
    server = tmp_path / "server.git"
    git(tmp_path, "init", "-q", "--bare", str(server))
    hook = server / "hooks" / "pre-receive"
    hook.write_text(
        f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m nexpay_scan pre-receive "
        f"--verify --api-base {api.base_url} --fail-on live\n"
    )
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    repo.git("remote", "add", "origin", str(server))
    repo.write("nexpay.env", f"NEXPAY_CLIENT_ID={LIVE_CID}\n")
    repo.commit("client ID")
    push = ["git", "-C", str(repo.path), "push", "origin", "HEAD:refs/heads/main"]
    assert subprocess.run(push, capture_output=True, check=False).returncode == 0
    repo.write("secret.env", f"NEXPAY_SECRET={LIVE_SK}\n")
    repo.commit("secret")
    api.live(LIVE_CID, LIVE_SK, ACCOUNT)
    rejected = subprocess.run(push, capture_output=True, text=True, check=False)
    assert rejected.returncode != 0 and "status: LIVE" in rejected.stderr
    assert api.count(LIVE_CID, LIVE_SK) == 1


def test_whole_history_has_no_head_tree_to_pair_with(
    cli: CliRun, secret_only_pr: tuple[Repo, str, str], api: FakeNexpay
) -> None:
    repo, _, head = secret_only_pr
    run = cli("history", "--repo", str(repo.path), head, "--format", "json", *_verify(api))
    found = _by_match(run)[LIVE_SK]
    assert found["status"] == "unverified" and found["status_reason"].startswith(
        "no client ID from its file or commit; 2 from elsewhere answered 401"
    )


def test_client_ids_in_the_tree_follow_the_rules(repo: Repo) -> None:
    legacy = legacy_client_id(1)
    repo.write("a/nexpay.env", f"NEXPAY_CLIENT_ID={LIVE_CID}\n")
    repo.write("b/legacy.yml", f"nexpay:\n  client_id: {legacy}\n")
    repo.write("c/request.log", f"nexpay call REQUEST_ID={legacy_client_id(2)}\n")  # no rule
    repo.write("d/docs.md", "NEXPAY_CLIENT_ID=nxp_cid_XXXXXXXXXXXXXXXXXXXXXXXX\n")  # placeholder
    repo.write("e/data.bin", b"\0" + LIVE_CID.encode() + b"\0")
    head = repo.commit()
    repo.write("later.env", f"NEXPAY_CLIENT_ID={OTHER_CID}\n")  # not in the tree at `head`
    scanner = Scanner(load_settings(repo.path, None, redact=True))
    found = client_ids_at(repo.path, [head], scanner)
    assert {(t.value, t.path) for t in found} == {
        (LIVE_CID, "a/nexpay.env"),
        (legacy, "b/legacy.yml"),
    }
    assert client_ids_at(repo.path, ["no-such-revision"], scanner) == []
    # several heads, in one search of their trees: each head's files, each ID once
    later = repo.commit("later")
    both = client_ids_at(repo.path, [head, "no-such-revision", later, head], scanner)
    assert {(t.value, t.path) for t in both} == {
        (LIVE_CID, "a/nexpay.env"),
        (legacy, "b/legacy.yml"),
        (OTHER_CID, "later.env"),
    }


@pytest.mark.parametrize(
    ("revision_lists", "heads"),
    [
        ([["A..B"]], ["B"]),
        ([["--end-of-options", "A..B"]], ["B"]),
        ([["A..."]], ["HEAD"]),
        ([["B", "^A"]], ["B"]),
        ([["new1", "--not", "--all"], ["new2", "--not", "--remotes=origin"]], ["new1", "new2"]),
        ([["main"]], []),  # a whole history
        ([[]], []),
    ],
)
def test_range_heads(revision_lists: list[list[str]], heads: list[str]) -> None:
    assert range_heads(revision_lists) == heads


def test_legacy_secret_pairs_with_the_legacy_client_id_in_the_head_tree(
    cli: CliRun, repo: Repo, api: FakeNexpay
) -> None:
    cid, sk = legacy_client_id(1), legacy_secret(1)
    repo.write("settings.yml", f"nexpay:\n  client_id: {cid}\n")
    base = repo.commit("base")
    repo.write("secrets.env", f"NEXPAY_SECRET={sk}\n")
    head = repo.commit("secret")
    api.live(cid, sk, ACCOUNT)
    run = cli(
        "history", "--repo", str(repo.path), f"{base}..{head}", "--format", "json", *_verify(api)
    )
    assert _by_match(run)[sk]["status"] == "live"


# --- guesses are bounded, and come after every secret's own pairs -------------------------


def test_decoy_secrets_cannot_crowd_out_a_real_key(
    cli: CliRun, repo: Repo, api: FakeNexpay
) -> None:
    decoys = [secret(1000 + i) for i in range(2000)]
    repo.write("decoys.env", "".join(f"NEXPAY_SECRET={d}\n" for d in decoys))
    repo.write("ids.env", "".join(f"NEXPAY_CLIENT_ID={client_id(500 + i)}\n" for i in range(5)))
    repo.write("prod.env", f"NEXPAY_CLIENT_ID={LIVE_CID}\nNEXPAY_SECRET={LIVE_SK}\n")
    api.live(LIVE_CID, LIVE_SK, ACCOUNT)
    run = cli("files", str(repo.path), "--format", "json", *_verify(api, "--fail-on", "live"))
    found = _by_match(run)
    assert run.code == 1 and found[LIVE_SK]["status"] == "live"
    assert api.snapshot()[0].pair == (LIVE_CID, LIVE_SK)  # own pairs before any guess
    assert len(api.requests) == 1 + 50  # the real pair, then the run's 50 guesses
    statuses = {found[d]["status"] for d in decoys}
    assert statuses == {"unverified"}
    reasons = [found[d]["status_reason"] for d in decoys]
    assert reasons.count(GUESSED_401) == 50
    assert (
        reasons.count(
            "no client ID from its file or commit; the run's guesses from elsewhere went to other secrets"
        )
        == 1950
    )


def test_a_crowded_file_cannot_hold_back_a_lone_key(
    cli: CliRun, repo: Repo, api: FakeNexpay
) -> None:
    pairs = "".join(f"{client_id(300 + i)}:{secret(300 + i)}\n" for i in range(30))
    repo.write("a-decoys.env", pairs)
    repo.write("z-prod.env", f"{LIVE_CID}:{LIVE_SK}\n")
    api.live(LIVE_CID, LIVE_SK, ACCOUNT)
    run = cli(
        "files", str(repo.path), "--format", "json", *_verify(api, "--verify-concurrency", "1")
    )
    assert _by_match(run)[LIVE_SK]["status"] == "live"
    assert api.snapshot()[0].pair == (LIVE_CID, LIVE_SK)
