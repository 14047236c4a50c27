"""What the threat model in SECURITY.md promises, checked as a user would see it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nexpay_scan.findings import Finding, Secret
from testing.cli import CliRun
from testing.fake_nexpay import FakeNexpay
from testing.git_repo import Repo
from testing.keys import client_id, secret


def _every_file(folder: Path) -> list[Path]:
    return [Path(d) / f for d, _, files in os.walk(folder) for f in files]


def test_nothing_secret_on_disk(cli: CliRun, repo: Repo, tmp_path: Path) -> None:
    cid, sk = client_id(1), secret(1)
    with FakeNexpay() as api:
        api.live(cid, sk)
        repo.write("a.env", f"ID={cid}\nSK={sk}\n")
        repo.commit()
        for command in ("files", "history"):
            target = [str(repo.path)] if command == "files" else ["--repo", str(repo.path)]
            cli(command, *target, "--verify", "--api-base", api.base_url)
        cli("baseline", "create", "--repo", str(repo.path), "--output", str(tmp_path / "b.json"))
    written = [*_every_file(tmp_path / ".cache"), tmp_path / "b.json"]
    assert written
    for path in written:
        content = path.read_bytes()
        assert sk.encode() not in content and cid.encode() not in content, path


def test_api_base_in_the_environment_sends_nothing_without_verify(
    cli: CliRun, repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeNexpay() as api:
        monkeypatch.setenv("NEXPAY_API_BASE", api.base_url)
        repo.write("a.env", f"{client_id(2)}:{secret(2)}\n")
        assert cli("files", str(repo.path)).code == 1
        assert api.requests == []


@pytest.mark.parametrize(
    "config",
    [
        "verify = true\n",
        "api_base = 'https://attacker.example'\n",
        "[scan]\nverify = true\n",
        "[scan]\napi-base = 'https://attacker.example'\n",
        "[scan]\nno_redact = true\n",
    ],
)
def test_repository_config_cannot_send_or_reveal_keys(cli: CliRun, repo: Repo, config: str) -> None:
    repo.write(".nexpay-scan.toml", config)
    repo.write("a.env", f"{client_id(3)}:{secret(3)}\n")
    run = cli("files", str(repo.path))
    assert run.code == 2 and "only be set on the command line" in run.err
    assert secret(3) not in run.out + run.err


def test_secret_never_shows_whole_in_reprs_or_strings() -> None:
    value = secret(4)
    finding = Finding("r", "d", "secret", "high", "f", 1, 1, Secret(value))
    for text in (
        repr(finding),
        str(finding),
        repr(Secret(value)),
        str(Secret(value)),
        f"{Secret(value)}",
    ):
        assert value not in text
    assert Secret(value).reveal() == value
