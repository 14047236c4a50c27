"""`nexpay-scan org`: many repositories, over file://, git://, a fake GitHub and GitLab
(pagination, a rate limit, a private repository), a local pool and a real Dask cluster,
a journal that resumes after the coordinator is killed."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testing.cli import CliRun, Result
from testing.fake_forges import Forge, serve
from testing.fake_nexpay import FakeNexpay
from testing.git_repo import ROOT, Repo, git
from testing.keys import client_id, secret

SHARED = secret(41)  # in two repositories
ONLY_B = secret(42)


def _bare(root: Path, name: str, files: dict[str, str], *, drop: str | None = None) -> Path:
    """A bare repository `root/NAME.git` whose history adds `files` (and then removes
    `drop`, if given)."""
    work = Repo(root / "work" / name)
    for path, content in files.items():
        work.write(path, content)
    work.commit("add")
    if drop:
        (work.path / drop).unlink()
        work.commit("remove")
    target = root / f"{name}.git"
    git(root, "clone", "-q", "--bare", str(work.path), str(target))
    return target


@pytest.fixture
def forge_root(tmp_path: Path) -> Path:
    root = tmp_path / "served"
    root.mkdir()
    _bare(root, "alpha", {"prod.env": f"NEXPAY_SECRET={SHARED}\n"})
    _bare(
        root,
        "beta",
        {"a.env": f"NEXPAY_SECRET={SHARED}\n", "b.env": f"NEXPAY_SECRET={ONLY_B}\n"},
        drop="b.env",
    )
    _bare(root, "clean", {"README": "nothing here\n"})
    return root


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):  # bounded: 20 s
        assert process.poll() is None, "the server stopped"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing listened on {port}")


@contextlib.contextmanager
def git_daemon(base: Path) -> Iterator[str]:
    """`git daemon` serving `base` over the git protocol on loopback."""
    port = _free_port()
    process = subprocess.Popen(
        [
            "git",
            "daemon",
            f"--base-path={base}",
            "--export-all",
            "--reuseaddr",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"git://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _org(cli: CliRun, tmp_path: Path, *args: str) -> Result:
    return cli("org", "--cache", str(tmp_path / "cache"), "--workers", "1", *args)


def _keys(document: dict[str, Any]) -> dict[str, list[str]]:
    return {k["secret_sha256"]: k["repositories"] for k in document["keys"]}


def _sha(value: str) -> str:
    import hashlib

    return hashlib.sha256(value.encode()).hexdigest()


def test_repos_file_over_file_and_git_protocol_one_entry_per_key(
    cli: CliRun, tmp_path: Path, forge_root: Path
) -> None:
    with git_daemon(forge_root) as daemon:
        listing = tmp_path / "repos.txt"
        listing.write_text(
            "# the inventory\n"
            f"{(forge_root / 'alpha.git').as_uri()}\n"
            f"{daemon}/beta.git   # over git://\n"
            f"{forge_root / 'clean.git'}\n"
            f"{daemon}/missing.git\n"
        )
        run = _org(cli, tmp_path, "--repos", str(listing), "--format", "json")
    assert run.code == 1, run.err
    assert "1 of 4 repositories could not be scanned" in run.err
    document = run.json()
    repos = {r["repository"]: r for r in document["summary"]["repositories"]}
    assert repos[f"{daemon}/missing.git"]["state"] == "failed"
    assert "missing.git" in repos[f"{daemon}/missing.git"]["error"]
    assert repos[f"{daemon}/beta.git"]["findings"] == 2
    assert repos[str(forge_root / "clean.git")]["findings"] == 0
    assert {f["repository"] for f in document["findings"]} == {
        (forge_root / "alpha.git").as_uri(),
        f"{daemon}/beta.git",
    }
    keys = _keys(document)
    assert sorted(keys[_sha(SHARED)]) == sorted(
        [(forge_root / "alpha.git").as_uri(), f"{daemon}/beta.git"]
    )
    assert keys[_sha(ONLY_B)] == [f"{daemon}/beta.git"]
    gone = next(k for k in document["keys"] if k["secret_sha256"] == _sha(ONLY_B))
    assert gone["still_present"] is False and gone["left_tips"]
    assert SHARED not in run.out and ONLY_B not in run.out


def test_text_and_reports_list_each_key_once_with_its_repositories(
    cli: CliRun, tmp_path: Path, forge_root: Path
) -> None:
    listing = tmp_path / "repos.txt"
    listing.write_text("\n".join(str(p) for p in sorted(forge_root.glob("*.git"))) + "\n")
    html, md = tmp_path / "org.html", tmp_path / "org.md"
    run = _org(cli, tmp_path, "--repos", str(listing), "--report", str(html))
    assert run.code == 1, run.err
    assert run.out.count("sha256:") == 2  # two distinct keys, three findings
    assert "Repositories:" in run.out and "alpha.git: 1 findings" in run.out
    page = html.read_text()
    assert '<figure id="timeline"><svg' in page and page.count('class="lane') == 2
    assert "2 repos" in page and SHARED not in page
    run = _org(cli, tmp_path, "--repos", str(listing), "--report", str(md), "--format", "sarif")
    sarif = json.loads(run.out)["runs"][0]
    bases = sarif["originalUriBaseIds"]
    assert all(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] in bases
        for r in sarif["results"]
    )
    assert "data:image/svg+xml;base64," in md.read_text()


def test_a_rerun_reuses_unchanged_repositories_and_rescans_a_changed_one(
    cli: CliRun, tmp_path: Path, forge_root: Path
) -> None:
    listing = tmp_path / "repos.txt"
    listing.write_text("\n".join(str(p) for p in sorted(forge_root.glob("*.git"))) + "\n")
    first = _org(cli, tmp_path, "--repos", str(listing), "--format", "json").json()
    assert first["summary"]["repositories_scanned"] == 3
    work = Repo(tmp_path / "more")
    work.write("x.env", f"NEXPAY_SECRET={secret(43)}\n")
    work.commit()
    git(work.path, "push", "-q", str(forge_root / "clean.git"), "main:refs/heads/new")
    second = _org(cli, tmp_path, "--repos", str(listing), "--format", "json").json()
    states = {r["repository"]: r["state"] for r in second["summary"]["repositories"]}
    assert states[str(forge_root / "clean.git")] == "scanned"
    assert states[str(forge_root / "alpha.git")] == "reused"
    assert len(second["findings"]) == len(first["findings"]) + 1
    journal = "".join(p.read_text() for p in (tmp_path / "cache" / "journal").glob("*.json"))
    for value in (SHARED, ONLY_B, secret(43)):
        assert value not in journal


def test_github_pages_rate_limit_and_a_private_repository(
    cli: CliRun, tmp_path: Path, forge_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bare(forge_root, "secret-project", {"deploy.env": f"NEXPAY_SECRET={secret(44)}\n"})
    _bare(forge_root, "old", {"a.env": f"NEXPAY_SECRET={secret(45)}\n"})
    token = "ghp_" + "T0k3n" * 7
    forge = Forge(forge_root, token, private={"secret-project"}, archived={"old"}, rate_limited=1)
    for served in serve(forge, "github"):
        monkeypatch.delenv("GITHUB_TOKEN", raising=False)
        anonymous = _org(
            cli, tmp_path, "--github", "acme", "--github-api", served.base_url, "--format", "json"
        )
        assert anonymous.code == 1, anonymous.err
        assert "rate limited; waiting" in anonymous.err
        assert len(anonymous.json()["summary"]["repositories"]) == 3  # no private, no archived
        monkeypatch.setenv("GITHUB_TOKEN", token)
        run = _org(
            cli,
            tmp_path / "t",
            "--github",
            "acme",
            "--github-api",
            served.base_url,
            "--format",
            "json",
            "--report",
            str(tmp_path / "org.html"),
        )
        assert run.code == 1, run.err
        names = {r["repository"].rsplit("/", 1)[1] for r in run.json()["summary"]["repositories"]}
        assert names == {"alpha.git", "beta.git", "clean.git", "secret-project.git"}
        assert _sha(secret(44)) in _keys(run.json())
        pages = [s.path for s in served.seen if s.path.startswith("/orgs/")]
        assert any("page=2" in p for p in pages)
        assert all(
            "authorization" in s.headers
            for s in served.seen
            if s.path.startswith("/orgs/") and s in served.seen[-20:]
        )
    cache = tmp_path / "t" / "cache"
    stored = "".join(
        p.read_text(errors="replace")
        for p in cache.rglob("*")
        if p.is_file() and ("config" in p.name or p.suffix == ".json")
    )
    for text in (run.out, run.err, stored, (tmp_path / "org.html").read_text()):
        assert token not in text


def test_gitlab_group_with_subgroups_and_token(
    cli: CliRun, tmp_path: Path, forge_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bare(forge_root, "sub-tools", {"t.env": f"NEXPAY_SECRET={secret(46)}\n"})
    token = "glpat-" + "x1Y2z3" * 4
    forge = Forge(forge_root, token, private={"sub-tools"}, forks={"clean"})
    monkeypatch.setenv("GITLAB_TOKEN", token)
    for served in serve(forge, "gitlab"):
        run = _org(
            cli,
            tmp_path,
            "--gitlab",
            "acme/platform",
            "--gitlab-url",
            served.base_url,
            "--format",
            "json",
        )
        assert all(
            s.headers.get("private-token") == token
            for s in served.seen
            if s.path.startswith("/api/")
        )
    assert run.code == 1, run.err
    names = {r["repository"].rsplit("/", 1)[1] for r in run.json()["summary"]["repositories"]}
    assert names == {"alpha.git", "beta.git", "sub-tools.git"}  # the fork is left out
    assert token not in run.out + run.err


def test_plain_http_api_to_a_remote_host_is_refused(cli: CliRun, tmp_path: Path) -> None:
    run = _org(cli, tmp_path, "--github", "acme", "--github-api", "http://example.com/api")
    assert run.code == 2 and "only over HTTPS" in run.err


def test_verify_checks_each_distinct_secret_once(cli: CliRun, tmp_path: Path) -> None:
    root = tmp_path / "served"
    root.mkdir()
    cid = client_id(47)
    for name in ("one", "two", "three"):
        _bare(root, name, {"prod.env": f"NEXPAY_CLIENT_ID={cid}\nNEXPAY_SECRET={SHARED}\n"})
    listing = tmp_path / "repos.txt"
    listing.write_text("\n".join(str(p) for p in sorted(root.glob("*.git"))) + "\n")
    with FakeNexpay() as api:
        api.live(cid, SHARED, {"id": "acct_1", "email": "ops@example.com", "name": "Ops"})
        run = _org(
            cli,
            tmp_path,
            "--repos",
            str(listing),
            "--verify",
            "--api-base",
            api.base_url,
            "--format",
            "json",
            "--fail-on",
            "live",
        )
        asked = len(api.snapshot())
    assert run.code == 1, run.err
    assert asked == 1
    key = next(k for k in run.json()["keys"] if k["kind"] == "secret")
    assert key["status"] == "live" and len(key["repositories"]) == 3
    assert SHARED not in run.out


def _coordinator(tmp_path: Path, listing: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nexpay_scan",
            "org",
            "--repos",
            str(listing),
            "--cache",
            str(tmp_path / "cache"),
            "--format",
            "json",
            "--output",
            str(tmp_path / "out.json"),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def test_a_killed_coordinator_resumes_from_the_journal(tmp_path: Path) -> None:
    root = tmp_path / "served"
    root.mkdir()
    for n in range(12):
        _bare(root, f"r{n:02}", {"a.env": f"NEXPAY_SECRET={secret(100 + n)}\n"})
    listing = tmp_path / "repos.txt"
    listing.write_text("\n".join(str(p) for p in sorted(root.glob("*.git"))) + "\n")
    journal = tmp_path / "cache" / "journal"
    first = _coordinator(tmp_path, listing, "--workers", "1")
    for _ in range(600):  # bounded: 60 s
        if (
            journal.is_dir() and len(list(journal.glob("*.json"))) >= 3
        ) or first.poll() is not None:
            break
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    done_before = len(list(journal.glob("*.json")))
    assert 3 <= done_before < 12, "killed too late to test a resume"
    second = _coordinator(tmp_path, listing, "--workers", "2")
    _, err = second.communicate(timeout=300)
    assert second.returncode == 1, err.decode()
    summary = json.loads((tmp_path / "out.json").read_text())["summary"]
    assert summary["repositories_reused"] >= done_before
    assert summary["repositories_total"] == 12 and summary["distinct_keys"] == 12


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[str]:
    """A `dask scheduler` and two `dask worker` processes on loopback, stopped at the end."""
    pytest.importorskip("distributed")
    dask = str(Path(sys.executable).with_name("dask"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    processes = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=tmp_path,
        )
    ]
    try:
        _wait_for_port(port, processes[0])
        for n in range(2):
            processes.append(
                subprocess.Popen(
                    [
                        dask,
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--name",
                        f"w{n}",
                        "--local-directory",
                        str(tmp_path / f"w{n}"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=env,
                    cwd=tmp_path,
                )
            )
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_a_dask_cluster_gives_the_same_report_as_local_processes(
    tmp_path: Path, forge_root: Path, dask_cluster: str
) -> None:
    listing = tmp_path / "repos.txt"
    listing.write_text(
        "\n".join(str(p) for p in sorted(forge_root.glob("*.git"))) + "\nfile:///nowhere.git\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*extra: str) -> tuple[int, dict[str, Any]]:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "nexpay_scan",
                "org",
                "--repos",
                str(listing),
                "--format",
                "json",
                "--cache",
                str(tmp_path / f"cache{len(extra)}"),
                *extra,
            ],
            capture_output=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert done.stdout, done.stderr.decode()
        return done.returncode, json.loads(done.stdout)

    local_code, local = run("--workers", "2")
    dask_code, on_dask = run("--scheduler", dask_cluster, "--workers", "2", "--quiet")
    assert local_code == dask_code == 1
    assert _keys(local) == _keys(on_dask)
    assert on_dask["summary"]["repositories_failed"] == 1
    assert _listed(local) == _listed(on_dask)


def _listed(document: dict[str, Any]) -> list[str]:
    return sorted(json.dumps(f, sort_keys=True) for f in document["findings"])


def test_a_key_in_a_file_name_is_redacted_in_the_reports_and_the_cache(
    cli: CliRun, tmp_path: Path
) -> None:
    named = secret(45)
    served = tmp_path / "served"
    served.mkdir()
    _bare(served, "gamma", {f"keys/{named}.env": f"NEXPAY_SECRET={ONLY_B}\n"})
    listing = tmp_path / "repos.txt"
    listing.write_text(f"{served / 'gamma.git'}\n")
    html = tmp_path / "org.html"
    run = _org(cli, tmp_path, "--repos", str(listing), "--format", "json", "--report", str(html))
    assert run.code == 1, run.err
    [finding] = run.json()["findings"]
    assert named[:11] in finding["file"]  # (named, redacted)
    cached = "".join(
        path.read_text(errors="replace")
        for path in (tmp_path / "cache").rglob("*")
        if path.is_file() and path.stat().st_size < 10_000_000 and "objects" not in path.parts
    )
    for text in (run.out, run.err, html.read_text(), cached):
        assert named not in text and ONLY_B not in text
