#!/usr/bin/env python3
"""`nexpay-scan org` throughput and the coordinator's memory.

Generates repositories (git fast-import: 20 commits of a few files each, a key in every
tenth), adds real mirrors given with --real, and measures repositories per minute with one
process, `--workers 2`, and a Dask cluster of two local one-thread workers (started here on
loopback, stopped at the end), each on a fresh cache; then a re-run on the unchanged cache.
Targets: Dask's time at most 15% over the local pool's, a re-run several times faster, and
the coordinator's peak RSS flat as repositories are added (50 -> all).

    python3 bench/org.py --repos 200 --real /work/.mirror/pre-commit+pre-commit/repo

Linux only (/proc). Needs `pip install -e '.[dask]'` for the cluster.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from testing.keys import secret  # noqa: E402


def make_repo(path: Path, seed: int) -> None:
    """A bare repository of 20 commits; a key in every tenth repository."""
    lines = []
    for n in range(20):
        body = "".join(f"line {i} of file {n} in repo {seed}\n" for i in range(200))
        if n == 7 and seed % 10 == 0:
            body += f"NEXPAY_SECRET={secret(1000 + seed)}\n"
        data = body.encode()
        lines.append(
            f"commit refs/heads/main\ncommitter A <a@b> {1700000000 + n * 3600} +0000\n"
            f"data 6\nchange\nM 100644 inline f{n % 5}.txt\ndata {len(data)}\n"
        )
        lines.append(data.decode() + "\n")
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"],
        input="".join(lines).encode(),
        check=True,
    )


def peak_rss_mb(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Runs argv; returns (seconds, the process's own peak RSS in MB, exit code)."""
    started = time.monotonic()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    status = Path(f"/proc/{process.pid}/status")
    while process.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.02)
    _, err = process.communicate()
    if process.returncode not in (0, 1):
        print(err.decode()[-2000:], file=sys.stderr)
    return time.monotonic() - started, peak / 1024, process.returncode


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_cluster(folder: Path, env: dict[str, str]) -> tuple[str, list[subprocess.Popen[bytes]]]:
    dask = str(Path(sys.executable).with_name("dask"))
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"

    def start(*args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [dask, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )

    procs = [start("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")]
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            break
        except OSError:
            time.sleep(0.1)
    for n in range(2):
        local = str(folder / f"w{n}")
        procs.append(
            start(
                "worker", address, "--nthreads", "1", "--no-dashboard", "--local-directory", local
            )
        )
    time.sleep(3)  # the workers register
    return address, procs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--real", action="append", default=[], metavar="PATH")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    work = Path(tempfile.mkdtemp(prefix="nexpay-org-bench-"))
    try:
        for n in range(args.repos):
            make_repo(work / f"r{n:03}.git", n)
        listed = [str(work / f"r{n:03}.git") for n in range(args.repos)] + args.real
        count = len(listed)

        def run(
            name: str, items: list[str], *extra: str, cache: str | None = None
        ) -> tuple[float, float]:
            listing = work / f"{name}.txt"
            listing.write_text("\n".join(items) + "\n")
            argv = [
                sys.executable,
                "-m",
                "nexpay_scan",
                "org",
                "--repos",
                str(listing),
                "--quiet",
                "--format",
                "json",
                "--cache",
                cache or str(work / f"cache-{name}"),
                *extra,
            ]
            seconds, rss, code = peak_rss_mb(argv, env)
            assert code in (0, 1), f"{name}: exit {code}"
            print(
                f"{name:<28} {len(items):>4} repos {seconds:7.1f} s {len(items) / seconds * 60:8.0f} repos/min"
                f"  coordinator peak RSS {rss:6.1f} MB"
            )
            return seconds, rss

        one, _ = run("one process", listed, "--workers", "1")
        pool, _ = run("--workers 2", listed, "--workers", "2")
        again, _ = run(
            "re-run, unchanged cache",
            listed,
            "--workers",
            "2",
            cache=str(work / "cache---workers 2"),
        )
        address, procs = start_cluster(work, env)
        try:
            dask, rss_all = run("dask, 2 local workers", listed, "--scheduler", address)
            _, rss_50 = run("dask, first 50", listed[:50], "--scheduler", address)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
        print(f"\n{count} repositories. speed-up --workers 2 / one process: {one / pool:.2f}x")
        overhead = dask / pool - 1
        print(
            f"Dask overhead against the local pool: {overhead:+.1%} "
            f"({'PASS' if overhead <= 0.15 else 'FAIL'}: at most +15%)"
        )
        print(
            f"re-run on an unchanged cache: {pool / again:.1f}x faster "
            f"({'PASS' if pool / again >= 3 else 'FAIL'}: several times)"
        )
        growth = rss_all / rss_50 - 1
        print(
            f"coordinator peak RSS, 50 -> {count} repositories: {rss_50:.1f} -> {rss_all:.1f} MB "
            f"({growth:+.1%}, {'PASS' if growth <= 0.15 else 'FAIL'}: flat, within 15%)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
