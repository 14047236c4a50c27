"""Ctrl-C and SIGTERM in the middle of a scan: the right exit code, one line on stderr,
no report and no temporary file left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testing.cli import run_cli
from testing.fast_import import commit_header, data
from testing.processes import children


def _scan_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def busy_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 commits of 3,000 distinct blobs full of keyword hits that are no keys: a few
    seconds of scanning by either engine, built by fast-import in under a second."""
    path = tmp_path_factory.mktemp("busy") / "repo"
    env = _scan_env(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=env)
    parts = []
    for number in range(3000):
        content = "".join(f"token nxp_sk_{number:010d}{j:032d} x\n" for j in range(100))
        parts.append(commit_header(b"refs/heads/main", 1700000000 + number))
        parts.append(f"M 100644 inline f{number % 30}.txt\n".encode() + data(content.encode()))
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"],
        input=b"".join(parts),
        check=True,
        env=env,
    )
    return path


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["blob", "diff"])
@pytest.mark.parametrize(
    ("whom", "sig"),
    [("process-group", signal.SIGINT), ("process", signal.SIGINT), ("process", signal.SIGTERM)],
)
def test_sigint_mid_scan(
    busy_repo: Path, tmp_path: Path, engine: str, whom: str, sig: signal.Signals
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    temp = tmp_path / "tmpdir"
    temp.mkdir()
    report = out / "report.json"
    argv = [sys.executable, "-m", "nexpay_scan", "history", "--repo", str(busy_repo)]
    argv += ["--engine", engine, "--format", "json", "--output", str(report)]
    _interrupt_mid_scan(argv, whom, sig, env=_scan_env(TMPDIR=str(temp)), settle=0.3)
    assert not report.exists()
    assert list(out.iterdir()) == [], "a partial or temporary report was left behind"
    assert list(temp.iterdir()) == [], "temporary files were left behind"


@pytest.fixture(scope="module")
def busy_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 24 MB of files full of keyword hits that are no keys: over the size at which
    `files` starts workers, and seconds of scanning."""
    root = tmp_path_factory.mktemp("busy-tree")
    for number in range(600):
        lines = "".join(f"token nxp_sk_{number:010d}{j:032d} x\n" for j in range(700))
        (root / f"f{number:03}.txt").write_text(lines)
    return root


@pytest.mark.slow
@pytest.mark.parametrize(
    ("whom", "sig"),
    [("process-group", signal.SIGINT), ("process", signal.SIGINT), ("process", signal.SIGTERM)],
)
def test_signal_mid_files_scan_with_workers(
    busy_tree: Path, whom: str, sig: signal.Signals
) -> None:
    """Ctrl-C or SIGTERM while `files` scans with workers: one line, the signal's exit
    code, no traceback (a worker ends quietly, whichever signal reaches it), no worker
    left running."""
    argv = [sys.executable, "-m", "nexpay_scan", "files", "--jobs", "2", str(busy_tree)]
    workers = _interrupt_mid_scan(argv, whom, sig, env=_scan_env(), settle=0.2)
    assert workers, "no worker was forked"
    for pid in workers:
        assert not os.path.exists(f"/proc/{pid}"), "a worker was left running"


def _interrupt_mid_scan(
    argv: list[str], whom: str, sig: signal.Signals, *, env: dict[str, str], settle: float
) -> set[int]:
    """Runs `argv` in its own process group (like a job a terminal runs), sends `sig` to
    the process or its group `settle` seconds after it first has a child (git, a worker:
    it is scanning), and checks that it stopped as a signal should stop it: the signal's
    exit code, one line saying so, nothing on stdout, no traceback. Returns the children
    it had when signalled."""
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
    )
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 10
        while not started and time.monotonic() < deadline:
            time.sleep(0.01)
            started = children(process.pid)
        time.sleep(settle)
        assert process.poll() is None, "the scan ended before it could be interrupted"
        started |= children(process.pid)
        if whom == "process-group":  # what Ctrl-C on a terminal does: children get it too
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
        # a guard against hanging the suite, not a bound: how long stopping takes is no test's
        stdout, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    said = "interrupted" if sig == signal.SIGINT else "terminated"
    assert process.returncode == 128 + sig, stderr.decode()
    assert "Traceback" not in stderr.decode()
    assert stderr.decode().strip().splitlines() == [f"nexpay-scan: {said}"]
    assert stdout == b""
    return started


def test_uninterrupted_scan_writes_its_report(busy_repo: Path, tmp_path: Path) -> None:
    """Control for the test above: the same command, left alone, writes a whole report."""
    report = tmp_path / "report.json"
    done = run_cli(
        "history",
        "--repo",
        str(busy_repo),
        "--format",
        "json",
        "--output",
        str(report),
        "--since",
        "2023-11-14T23:03:00Z",
    )
    assert done.code == 0, done.err
    document = json.loads(report.read_text())
    assert document["findings"] == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []
