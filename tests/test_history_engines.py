"""The blob route and the diff route through history give the same findings."""

from __future__ import annotations

from typing import Any

import pytest

from testing.cli import CliRun
from testing.git_repo import Repo
from testing.keys import client_id, legacy_secret, secret


@pytest.fixture
def tangled(repo: Repo) -> Repo:
    """Branches, merges, renames, a revert, a key removed and re-added, a dangling blob."""
    body = "".join(f"line {i}\n" for i in range(40))
    repo.write("app/settings.py", body)
    repo.write("README.md", "docs\n")
    repo.commit("start")
    repo.write("app/settings.py", body + f'NEXPAY_SECRET = "{secret(1)}"\n')
    repo.commit("add key 1")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("feature.env", f"NEXPAY_CLIENT_ID={client_id(1)}\nNEXPAY_SECRET={secret(2)}\n")
    repo.commit("feature key")
    (repo.path / "config").mkdir()
    repo.git("mv", "feature.env", "config/feature.env")
    repo.commit("rename with key")
    repo.git("checkout", "-q", "main")
    repo.write("other.yaml", f"nexpay:\n  secret: {legacy_secret(1)}\n")
    repo.commit("legacy key on main")
    repo.git("merge", "-q", "--no-ff", "feature", "-m", "merge feature")
    repo.write("app/settings.py", body)
    repo.commit("remove key 1")
    repo.write("app/settings.py", body + f'NEXPAY_SECRET = "{secret(1)}"  # again\n')
    readded = repo.commit("re-add key 1")
    repo.git("revert", "--no-edit", readded)
    repo.write("bin/cache.pyc", b"\x00\x01" + secret(3).encode() + b"\x00")
    repo.commit("binary with key")
    repo.git("checkout", "-q", "-b", "side", "HEAD~3")
    repo.write("side.txt", f"{secret(4)}\n")
    repo.commit("side branch key")
    repo.git("checkout", "-q", "main")
    dangling = repo.path / "dangling.txt"
    dangling.write_text(f"NEXPAY_SECRET={secret(5)}\n")
    repo.git("hash-object", "-w", str(dangling))
    dangling.unlink()
    return repo


def _history(cli: CliRun, repo: Repo, *args: str) -> list[dict[str, Any]]:
    run = cli("history", "--repo", str(repo.path), "--format", "json", "--no-redact", *args)
    assert run.code == 1, run.err
    findings: list[dict[str, Any]] = run.json()["findings"]
    return findings


def _key(f: dict[str, Any]) -> tuple[Any, ...]:
    return (f["match"], f.get("commit"), f["file"], f["line"], f["column"], f.get("occurrences"))


@pytest.mark.parametrize("extra", [[], ["--all-occurrences"]])
def test_blob_and_diff_routes_agree(cli: CliRun, tangled: Repo, extra: list[str]) -> None:
    diff = _history(cli, tangled, "--engine", "diff", *extra)
    one = _history(cli, tangled, "--engine", "blob", "--jobs", "1", *extra)
    two = _history(cli, tangled, "--engine", "blob", "--jobs", "2", *extra)
    history = [f for f in one if not f.get("unreachable")]
    assert sorted(map(_key, history)) == sorted(map(_key, diff))
    assert sorted(map(_key, one)) == sorted(map(_key, two))
    assert {f["match"] for f in diff} == {
        secret(1),
        secret(2),
        secret(3),
        secret(4),
        client_id(1),
        legacy_secret(1),
    }


def test_both_routes_count_every_commit(cli: CliRun, tangled: Repo) -> None:
    # the blob route counts commits from its tree walk when it has one (a key was found)
    every = int(tangled.git("rev-list", "--all", "--count"))
    for engine in ("diff", "blob"):
        run = cli("history", "--repo", str(tangled.path), "--format", "json", "--engine", engine)
        assert run.json()["summary"]["commits_scanned"] == every, engine


def test_key_reintroduced_counts_occurrences_at_first_commit(cli: CliRun, tangled: Repo) -> None:
    [first] = [f for f in _history(cli, tangled) if f["match"] == secret(1)]
    message = tangled.git("log", "-1", "--format=%s", first["commit"]).strip()
    assert message == "add key 1"
    assert first["occurrences"] == 2


def test_dangling_blob_is_reported_apart(cli: CliRun, tangled: Repo) -> None:
    run = cli("history", "--repo", str(tangled.path), "--format", "json", "--no-redact")
    assert not [f for f in run.json()["findings"] if f.get("unreachable")]
    # in a work tree's repository it never left the machine: listed apart, as local only
    [dangling] = [f for f in run.json()["suppressed"] if f.get("unreachable")]
    assert "local only, never pushed" in dangling["suppression"]["justification"]
    assert dangling["match"] == secret(5)
    assert dangling["file"].startswith("(unreachable blob ")
    assert "commit" not in dangling
    assert "dangling" in dangling["notes"][0]


def test_rename_counts_as_an_occurrence_in_both_routes(cli: CliRun, tangled: Repo) -> None:
    for engine in ("blob", "diff"):
        found = _history(cli, tangled, "--engine", engine, "--all-occurrences")
        files = sorted(f["file"] for f in found if f["match"] == secret(2))
        assert files == ["config/feature.env", "feature.env"]


def _encoded_keys_repo(repo: Repo) -> Repo:
    import base64
    import io
    import zipfile

    repo.write("README.md", "hello\n")
    repo.commit("start")
    encoded_env = base64.b64encode(f"NEXPAY_SECRET={secret(6)}\n".encode() * 3)
    repo.write("deploy/env.b64", encoded_env + b"\n")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("app/.env", f"NEXPAY_SECRET={secret(7)}\n")
    repo.write("dist/bundle.zip", archive.getvalue())
    repo.write("win.txt", f"NEXPAY_SECRET={secret(8)}\r\n".encode("utf-16"))
    repo.commit("encoded keys")
    # a wholly base64 file, wrapped as `base64` does, where a later commit adds a key at
    # the end: that commit's patch does not touch the file's first line
    plain = "".join(f"SETTING_{n}=value number {n}\n" for n in range(12))
    wrapped = base64.encodebytes(plain.encode())
    repo.write("deploy/settings.b64", wrapped)
    repo.commit("settings")
    wrapped = base64.encodebytes(f"{plain}NEXPAY_SECRET={secret(10)}\n".encode())
    repo.write("deploy/settings.b64", wrapped)
    repo.commit("settings with a key")
    return repo


@pytest.mark.parametrize("route", [["--engine", "blob"], ["--engine", "diff"], ["HEAD~3..HEAD"]])
def test_keys_that_only_show_decoded_are_found_by_every_route(
    cli: CliRun, repo: Repo, route: list[str]
) -> None:
    found = {f["match"]: f for f in _history(cli, _encoded_keys_repo(repo), *route)}
    assert set(found) == {secret(6), secret(7), secret(8), secret(10)}
    assert found[secret(6)]["file"] == "deploy/env.b64"
    assert "decoded from base64" in found[secret(6)]["notes"]
    assert found[secret(7)]["file"] == "dist/bundle.zip"
    assert any("zip" in note for note in found[secret(7)]["notes"])
    assert found[secret(10)]["file"] == "deploy/settings.b64"
    assert found[secret(10)]["commit"] == repo.git("rev-parse", "HEAD").strip()


def test_a_key_a_merge_itself_adds_is_found_by_both_routes(cli: CliRun, repo: Repo) -> None:
    repo.write("a.txt", "a\n")
    repo.commit()
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("t.txt", "t\n")
    repo.commit()
    repo.git("checkout", "-q", "main")
    repo.write("m.txt", "m\n")
    repo.commit()
    repo.git("merge", "-q", "--no-commit", "topic")
    repo.write("evil.env", f"x\nNEXPAY_SECRET={secret(9)}\n")
    repo.write("a.txt", "a\nmore\n")
    merge = repo.commit("merge with a key of its own")
    for args in (["--engine", "blob"], ["--engine", "diff"], [f"{merge}^1..{merge}"]):
        [finding] = _history(cli, repo, *args)
        assert (finding["commit"], finding["file"], finding["line"]) == (merge, "evil.env", 2)


_OWN_RULE = """
[[rule]]
id = "tok"
description = "a repository's own token"
kind = "secret"
regex = 'tok_[0-9]{8}'
keywords = ["tok_"]
"""


@pytest.mark.parametrize("engine", ["blob", "diff"])
def test_a_repository_rule_with_its_own_keyword_is_found_by_both_routes(
    cli: CliRun, repo: Repo, engine: str
) -> None:
    # its keyword shares no letters with Nexpay's: the prefilter's one pass still finds it
    repo.write(".nexpay-scan.toml", _OWN_RULE)
    repo.write("deploy.env", "TOKEN=tok_12345678\n")
    repo.commit("token")
    repo.write("deploy.env", "TOKEN=\n")
    repo.commit("token removed")
    found = _history(cli, repo, "--engine", engine)
    assert [f["match"] for f in found] == ["tok_12345678"]
    assert found[0]["file"] == "deploy.env"
