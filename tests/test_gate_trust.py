"""A pull request or a push cannot suppress its own key: range scans obey the trusted side.

Each test is an attack as a contributor would make it: a branch that adds a key together
with something that tells the gate to look away. The gate must fail, name the edit as a
finding a reviewer must approve, and keep every suppressed finding visible.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.cli import CliRun, Result
from testing.git_repo import Repo, pre_receive_server, push
from testing.keys import secret


@pytest.fixture
def base(repo: Repo) -> str:
    """main with one harmless commit: the base a pull request starts from."""
    repo.write("README.md", "hello\n")
    sha = repo.commit("base")
    repo.git("checkout", "-q", "-b", "pr")
    return sha


def _fingerprint(cli: CliRun, repo: Repo, name: str) -> str:
    found = cli("files", str(repo.path), "--format", "json").json()["findings"]
    return str(next(f["fingerprint"] for f in found if f["file"] == name))


ATTACKS = {
    "allow_paths": '[scan]\nallow_paths = [".*"]\n',
    "disable_rules": '[scan]\ndisable_rules = ["nexpay-secret"]\n',
    "max_file_size": "[scan]\nmax_file_size = 1\n",
    "same rule id": (
        '[[rule]]\nid = "nexpay-secret"\ndescription = "x"\nkind = "secret"\n'
        "regex = 'never-matches-anything'\nkeywords = [\"never-matches\"]\n"
    ),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_pull_request_cannot_loosen_the_config(
    cli: CliRun, repo: Repo, base: str, attack: str
) -> None:
    repo.write("app.env", f"NEXPAY_SECRET={secret(1)}\n")
    repo.write(".nexpay-scan.toml", ATTACKS[attack])
    repo.commit("add key and loosen the gate")
    run = cli("history", f"{base}..HEAD", "--repo", str(repo.path), "--format", "json")
    assert run.code == 1, run.err
    found = {(f["rule"], f["file"]) for f in run.json()["findings"]}
    assert ("nexpay-secret", "app.env") in found
    assert ("nexpay-suppression-change", ".nexpay-scan.toml") in found


def test_the_ignore_file_of_the_pull_request_is_not_obeyed(
    cli: CliRun, repo: Repo, base: str
) -> None:
    repo.write("app.env", f"NEXPAY_SECRET={secret(2)}\n")
    repo.write(".nexpayscanignore", _fingerprint(cli, repo, "app.env") + "  # trust me\n")
    repo.commit("add key and ignore it")
    run = cli("history", f"{base}..HEAD", "--repo", str(repo.path), "--format", "json")
    assert run.code == 1
    rules = sorted(f["rule"] for f in run.json()["findings"])
    assert rules == ["nexpay-secret", "nexpay-suppression-change"]


def test_the_ignore_file_of_the_base_is_obeyed_and_shown(cli: CliRun, repo: Repo) -> None:
    repo.write("fixture.env", f"NEXPAY_SECRET={secret(3)}\n")
    repo.commit("fixture")
    fingerprint = _fingerprint(cli, repo, "fixture.env")
    repo.write(".nexpayscanignore", f"{fingerprint}  # revoked test fixture\n")
    base = repo.commit("reviewed ignore entry")
    repo.git("checkout", "-q", "-b", "pr")
    repo.write("fixture.env", f"# moved down\nexport NEXPAY_SECRET={secret(3)}\n")
    repo.commit("touch the fixture")
    run = cli("history", f"{base}..HEAD", "--repo", str(repo.path), "--format", "json")
    assert run.code == 0, run.out
    document = run.json()
    assert document["findings"] == []
    suppressed = document["suppressed"]
    assert [s["file"] for s in suppressed] == ["fixture.env"]
    assert "revoked test fixture" in suppressed[0]["suppression"]["justification"]
    text = cli("history", f"{base}..HEAD", "--repo", str(repo.path))
    assert "suppressed: fixture.env:2" in text.out and "revoked test fixture" in text.out


def test_a_committed_baseline_is_read_at_the_base(cli: CliRun, repo: Repo, base: str) -> None:
    repo.write("app.env", f"NEXPAY_SECRET={secret(4)}\n")
    repo.commit("add key")
    created = cli(
        "baseline",
        "create",
        "--repo",
        str(repo.path),
        "--output",
        str(repo.path / "baseline.json"),
        "--quiet",
    )
    assert created.code == 0
    repo.commit("and baseline it")
    baseline = str(repo.path / "baseline.json")
    run = cli(
        "history",
        f"{base}..HEAD",
        "--repo",
        str(repo.path),
        "--baseline",
        baseline,
        "--format",
        "json",
    )
    assert run.code == 1
    document = run.json()
    rules = sorted(f["rule"] for f in document["findings"])
    assert rules == ["nexpay-secret", "nexpay-suppression-change"]
    assert any(
        "not in" in note and "baseline.json" in note for note in document["summary"]["notes"]
    )


def test_a_baseline_outside_the_repository_is_the_users_own(
    cli: CliRun, repo: Repo, base: str, tmp_path: Path
) -> None:
    repo.write("app.env", f"NEXPAY_SECRET={secret(5)}\n")
    repo.commit("add key")
    outside = tmp_path / "team-baseline.json"
    assert (
        cli("baseline", "create", "--repo", str(repo.path), "--output", str(outside), "-q").code
        == 0
    )
    run = cli(
        "history",
        f"{base}..HEAD",
        "--repo",
        str(repo.path),
        "--baseline",
        str(outside),
        "--format",
        "sarif",
    )
    assert run.code == 0
    results = json.loads(run.out)["runs"][0]["results"]
    assert len(results) == 1
    assert results[0]["suppressions"][0]["kind"] == "external"
    assert "team-baseline.json" in results[0]["suppressions"][0]["justification"]


def test_the_base_config_applies_in_a_range_scan(cli: CliRun, repo: Repo) -> None:
    repo.write(".nexpay-scan.toml", "[scan]\nallow_paths = ['^tests/fixtures/']\n")
    base = repo.commit("reviewed allowlist")
    repo.git("checkout", "-q", "-b", "pr")
    repo.write("tests/fixtures/app.env", f"NEXPAY_SECRET={secret(6)}\n")
    repo.write(".nexpay-scan.toml", "")  # the pull request drops the allowlist: not obeyed
    repo.commit("fixture")
    run = cli("history", f"{base}..HEAD", "--repo", str(repo.path), "--format", "sarif")
    assert run.code == 1  # the edit of the config is a finding
    results = json.loads(run.out)["runs"][0]["results"]
    by_rule = {r["ruleId"]: r for r in results}
    assert by_rule["nexpay-secret"]["suppressions"][0]["kind"] == "external"
    assert "nexpay-suppression-change" in by_rule
    assert "suppressions" not in by_rule["nexpay-suppression-change"]


def test_a_whole_history_scan_obeys_the_checkout(cli: CliRun, repo: Repo) -> None:
    """An audit of one's own repository is not a range scan: its config is the team's."""
    repo.write("app.env", f"NEXPAY_SECRET={secret(7)}\n")
    repo.write(".nexpay-scan.toml", "[scan]\nallow_paths = ['^app.env$']\n")
    repo.commit()
    run = cli("history", "--repo", str(repo.path), "--format", "json")
    assert run.code == 0
    assert [f["file"] for f in run.json()["suppressed"]] == ["app.env"]


def test_pre_receive_obeys_the_servers_config_not_the_pushers(repo: Repo, tmp_path: Path) -> None:
    server = pre_receive_server(tmp_path)
    repo.git("remote", "add", "origin", str(server))
    repo.write("README.md", "x\n")
    repo.commit()
    assert push(repo).returncode == 0
    repo.write("app.env", f"NEXPAY_SECRET={secret(8)}\n")
    repo.write(".nexpay-scan.toml", '[scan]\nallow_paths = [".*"]\n')
    repo.commit("key and allowlist")
    pushed = push(repo)
    assert pushed.returncode != 0
    assert "app.env" in pushed.stderr and "nexpay-suppression-change" in pushed.stderr


def test_an_allow_comment_the_change_adds_is_not_obeyed(cli: CliRun, repo: Repo, base: str) -> None:
    repo.write("app.env", f"NEXPAY_SECRET={secret(9)}  # nexpay-scan: allow test fixture\n")
    repo.commit("key with an allow comment")
    run = cli("history", f"{base}..HEAD", "--repo", str(repo.path), "--format", "json")
    assert run.code == 1
    [finding] = run.json()["findings"]
    assert finding["file"] == "app.env" and "suppression" not in finding
    assert any("not obeyed by a range scan" in note for note in finding["notes"])
    # the same line in the work tree: the team's own checkout obeys it, and shows it
    files = cli("files", str(repo.path), "--format", "sarif")
    assert files.code == 0
    [result] = json.loads(files.out)["runs"][0]["results"]
    assert result["suppressions"] == [
        {
            "kind": "inSource",
            "status": "accepted",
            "justification": "`nexpay-scan: allow` comment: test fixture",
        }
    ]


def test_suppression_files_that_are_folders_at_the_base_are_no_files(
    cli: CliRun, repo: Repo
) -> None:
    """The config and the ignore file are read at the base in one git call: a folder so
    named there is no such file (the scan runs with the built-in rules, nothing ignored),
    and the key the range adds is reported."""
    repo.write(".nexpay-scan.toml/readme.txt", "not a config\n")
    repo.write(".nexpayscanignore/readme.txt", "not an ignore file\n")
    base = repo.commit("odd folders")
    repo.write("app.env", f"NEXPAY_SECRET={secret(4)}\n")
    repo.commit("a key")
    run = cli("history", f"{base}..HEAD", "--repo", str(repo.path), "--format", "json")
    assert run.code == 1, run.err
    assert [f["file"] for f in run.json()["findings"]] == ["app.env"]


@pytest.mark.parametrize("engine", ["auto", "diff"])
def test_a_merge_that_writes_the_ignore_file_itself_is_named(
    cli: CliRun, repo: Repo, base: str, engine: str
) -> None:
    """An "evil merge": the pull request's merge commit adds an ignore file that neither
    side has. No other commit of the range touches it, so only the merge names the edit
    (a plain `git log` shows no merge's files)."""
    repo.write("app.env", f"NEXPAY_SECRET={secret(10)}\n")
    repo.commit("a key on a side branch")
    fingerprint = _fingerprint(cli, repo, "app.env")
    repo.git("checkout", "-q", "-b", "other", base)
    repo.write("other.txt", "unrelated\n")
    repo.commit("other work")
    repo.git("merge", "-q", "--no-ff", "--no-commit", "pr")
    repo.write(".nexpayscanignore", f"{fingerprint}  # nothing to see\n")
    merge = repo.commit("merge the key, and ignore it")
    run = _range(cli, repo, f"{base}..{merge}", engine)
    assert run.code == 1, run.err
    assert _rules_and_files(run) == {
        ("nexpay-secret", "app.env"),
        ("nexpay-suppression-change", ".nexpayscanignore"),
    }
    [change] = [f for f in run.json()["findings"] if f["file"] == ".nexpayscanignore"]
    assert change["commit"] == merge


@pytest.mark.parametrize("engine", ["auto", "diff"])
def test_a_merge_that_brings_in_the_bases_own_edit_is_not_named(
    cli: CliRun, repo: Repo, base: str, engine: str
) -> None:
    """The pull request merges main, whose reviewed ignore file changed meanwhile: the
    merge takes main's version as it is, which the trusted side already has, so it is no
    edit of the change's own."""
    repo.write("notes.txt", "work\n")
    repo.commit("pull request work")
    repo.git("checkout", "-q", "main")
    repo.write(".nexpayscanignore", "# reviewed on main\n")
    main = repo.commit("a reviewed ignore file")
    repo.git("checkout", "-q", "pr")
    repo.git("merge", "-q", "--no-ff", "-m", "merge main", "main")
    run = _range(cli, repo, f"{main}..pr", engine)
    assert run.code == 0, run.out
    assert run.json()["findings"] == []


def test_a_push_whose_merge_writes_the_config_itself_is_refused(repo: Repo, tmp_path: Path) -> None:
    """The server's gate, for the same "evil merge": the merge commit alone loosens the
    config; the push is refused and the edit named."""
    server = pre_receive_server(tmp_path)
    repo.git("remote", "add", "origin", str(server))
    repo.write("README.md", "x\n")
    start = repo.commit()
    assert push(repo).returncode == 0
    repo.merge_started({"app.env": f"NEXPAY_SECRET={secret(11)}\n"}, {"other.txt": "x\n"})
    repo.write(".nexpay-scan.toml", '[scan]\nallow_paths = [".*"]\n')
    repo.commit("merge side, and allow everything")
    assert repo.git("rev-list", "--count", f"{start}..HEAD").strip() == "3"
    pushed = push(repo)
    assert pushed.returncode != 0
    assert "app.env" in pushed.stderr
    assert "nexpay-suppression-change" in pushed.stderr and ".nexpay-scan.toml" in pushed.stderr


@pytest.mark.parametrize("engine", ["auto", "diff"])
def test_an_ignore_file_spelled_in_other_case_is_named(
    cli: CliRun, repo: Repo, base: str, engine: str
) -> None:
    """On macOS or Windows a checkout's scan opens `.NexpayScanIgnore` as the ignore file:
    a change that adds one edits the ignore file there, and is named as such."""
    repo.write("app.env", f"NEXPAY_SECRET={secret(12)}\n")
    repo.write(".NexpayScanIgnore", _fingerprint(cli, repo, "app.env") + "  # trust me\n")
    repo.commit("add key and ignore it, in other case")
    run = _range(cli, repo, f"{base}..HEAD", engine)
    assert run.code == 1, run.err
    assert _rules_and_files(run) == {
        ("nexpay-secret", "app.env"),
        ("nexpay-suppression-change", ".NexpayScanIgnore"),
    }


def _range(cli: CliRun, repo: Repo, selection: str, engine: str) -> Result:
    """`history SELECTION` of `repo` by `engine`, as JSON."""
    return cli(
        "history", selection, "--repo", str(repo.path), "--engine", engine, "--format", "json"
    )


def _rules_and_files(run: Result) -> set[tuple[str, str]]:
    return {(f["rule"], f["file"]) for f in run.json()["findings"]}
