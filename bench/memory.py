#!/usr/bin/env python3
"""Peak memory of nexpay-scan on huge commits and files, against a 300 MB bound.

Builds repositories in a temporary folder (git fast-import) holding one oversized commit
each: many 1 MB files, or one huge file, with a small file holding a key beside them.
Each scan's figure is the peak RSS of its whole process tree (nexpay-scan and every git it
starts), sampled from /proc every few milliseconds, and never below the largest single
process's own peak (`ru_maxrss` from wait4). Baselines measured in the same run:
`python -c pass` and `git log -p` of the same commit (what git alone costs).

    python3 bench/memory.py                    # 100 MB and 500 MB commits, 200 MB files
    python3 bench/memory.py --sizes 100 --project /tmp/main-checkout   # another checkout

Linux only (/proc). Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import MB
from repos import FastImport, code_text, nexpay_client_id, nexpay_secret

LIMIT_MB = 300.0
UNDER_LIMIT_MB = 49  # just under the default max_file_size (50 MB)
SEVERAL_MB = 45  # each of four files read with --jobs 4 (at most two of them at once)
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _session_rss_kb(sid: int) -> int:
    """The summed resident memory of every process in session `sid`."""
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) != sid:  # pid, comm, then state ppid pgrp session
                continue
            with open(f"/proc/{name}/statm", "rb") as statm:
                total += int(statm.read().split()[1]) * PAGE_KB
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
    return total


class _TreeSampler(threading.Thread):
    """Polls the summed RSS of a process's session (it and all its children)."""

    def __init__(self, sid: int) -> None:
        super().__init__(daemon=True)
        self.sid = sid
        self.peak_kb = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak_kb = max(self.peak_kb, _session_rss_kb(self.sid))
            self._done.wait(0.005)

    def stop(self) -> None:
        self._done.set()
        self.join()


class Result:
    """One command's figures."""

    def __init__(self, label: str, code: int, tree_mb: float, single_mb: float, secs: float):
        self.label, self.code = label, code
        self.tree_mb, self.single_mb, self.secs = tree_mb, single_mb, secs


def measure(label: str, argv: Sequence[str], cwd: Path, env: dict[str, str]) -> Result:
    """Runs `argv` (output discarded) and returns its peak tree RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    sampler = _TreeSampler(proc.pid)
    sampler.start()
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    sampler.stop()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        tail = err.decode("utf-8", "replace").strip().splitlines()[-2:]
        print(f"    {label}: exit {code}: {' | '.join(tail)}", file=sys.stderr)
    single = usage.ru_maxrss / 1024
    return Result(label, code, max(sampler.peak_kb / 1024, single), single, _since(start))


def _since(start: float) -> float:
    return time.perf_counter() - start


# -- inputs -----------------------------------------------------------------------------


def _key_file(rng: random.Random) -> bytes:
    client, secret = nexpay_client_id(rng), nexpay_secret(rng)
    return f'NEXPAY_CLIENT_ID = "{client}"\nNEXPAY_SECRET = "{secret}"\n'.encode()


def _text(rng: random.Random, size: int, salt: int) -> bytes:
    """About `size` bytes of code-like text: a 1 MB pattern shifted by `salt` lines."""
    unit = "\n".join(code_text(random.Random(7), 25_000)).encode() + b"\n"
    lines = unit.split(b"\n")
    shift = salt % len(lines)
    unit = b"\n".join(lines[shift:] + lines[:shift])
    head = f"# part {salt} {rng.random()}\n".encode()
    out = (head + unit) * (size // len(unit) + 1)
    return out[:size]


def make_commit_repo(root: Path, total_mb: int, kind: str) -> Path:
    """A repository whose last commit adds `total_mb` MB: 1 MB files ("many"), one file
    ("huge"; or "under" the default size limit; or four just under it, "several"), and a
    small file with a key."""
    repo = root / f"commit-{kind}-{total_mb}"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    rng = random.Random(total_mb)
    fast = subprocess.Popen(
        ["git", "-C", str(repo), "-c", "pack.compression=1", "fast-import", "--quiet"],
        stdin=subprocess.PIPE,
    )
    assert fast.stdin is not None
    out = FastImport(fast.stdin)
    first = out.commit("refs/heads/main", "start", [("README.md", b"# bench\n")])
    changes: list[tuple[str, bytes | None]] = [("config/keys.env", _key_file(rng))]
    if kind == "many":
        changes += [(f"data/f{n:04d}.txt", _text(rng, MB, n)) for n in range(total_mb)]
    elif kind == "huge":
        changes.append(("data/huge.txt", _text(rng, total_mb * MB, 0)))
    elif kind == "several":  # big files that several readers could hold at once
        changes += [(f"data/big{n}.txt", _text(rng, SEVERAL_MB * MB, n)) for n in range(4)]
    else:  # "under": the biggest file the default limit lets through, scanned whole
        changes.append(("data/big.txt", _text(rng, UNDER_LIMIT_MB * MB, 0)))
    out.commit("refs/heads/main", f"add {total_mb} MB", changes, parent=first)
    fast.stdin.close()
    if fast.wait() != 0:
        raise SystemExit("git fast-import failed")
    # no checkout: git cannot read a file from the work tree instead of its blob (as in a
    # CI clone where the file is gone from HEAD, or a server's bare repository)
    return repo


def make_file_repo(root: Path, size_mb: int) -> tuple[Path, Path, Path]:
    """A repository with a `size_mb` MB one-line file staged, and a 40 MB base64 file with
    a key inside (wrapped at 76 columns, under the 50 MB default limit)."""
    repo = root / "staged"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "s"], check=True)
    line = repo / "one-line.min.js"
    rng = random.Random(1)
    unit = b"".join(b"var a%d=%d;" % (n, n) for n in range(100_000))
    with open(line, "wb") as out:
        for _ in range(size_mb * MB // len(unit) + 1):
            out.write(unit)
        out.truncate(size_mb * MB)
    encoded = repo / "payload.b64"
    raw = _text(rng, 29 * MB, 3) + b"\n" + _key_file(rng)
    data = base64.encodebytes(raw)  # 76-column lines
    encoded.write_bytes(data)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "core.compression=1", "add", line.name], check=True
    )
    return repo, line, encoded


# -- the run ----------------------------------------------------------------------------


def scanner_env(project: Path) -> dict[str, str]:
    return dict(os.environ, NO_COLOR="1", GIT_TERMINAL_PROMPT="0", PYTHONPATH=str(project))


def run(args: argparse.Namespace) -> list[tuple[str, Result, Result | None]]:
    env = scanner_env(args.project.resolve())
    scan = [sys.executable, "-m", "nexpay_scan"]
    rows: list[tuple[str, Result, Result | None]] = []
    with tempfile.TemporaryDirectory(prefix="nexpay-mem-") as tmp:
        root = Path(tmp)
        python = measure("python -c pass", [sys.executable, "-c", "pass"], root, env)
        rows.append(("baseline", python, None))
        cases = [(size, kind) for size in args.sizes for kind in ("many", "huge")]
        extra = [(UNDER_LIMIT_MB, "under"), (4 * SEVERAL_MB, "several")]
        cases = [c for c in [*cases, *extra] if c[1] in args.kinds]
        for size, kind in cases:
            _say(f"building a {size} MB commit ({kind})")
            repo = _built(root, "commit", kind, str(size))
            log = [*("git", "log", "-p", "-1", "--raw", "--no-renames", "HEAD")]
            base = measure(f"git log -p ({kind}, {size} MB)", log, repo, env)
            rows.append(("baseline", base, None))
            jobs = ["--jobs", "4"] if kind == "several" else []
            for label, argv in (
                (
                    f"history HEAD~1..HEAD ({kind} files, {size} MB{', --jobs 4' if jobs else ''})",
                    ["history", "HEAD~1..HEAD", *jobs],
                ),
                (
                    f"history, blob engine ({kind} files, {size} MB{', --jobs 4' if jobs else ''})",
                    ["history", *jobs],
                ),
            ):
                _say(label)
                rows.append(("scan", measure(label, [*scan, *argv], repo, env), base))
            subprocess.run(["rm", "-rf", str(repo)], check=True)
        if not args.file_mb:
            return rows
        _say(f"building a {args.file_mb} MB one-line file")
        repo = _built(root, "files", str(args.file_mb))
        line, encoded = repo / "one-line.min.js", repo / "payload.b64"
        for label, argv in (
            (f"staged ({args.file_mb} MB one-line file)", ["staged"]),
            (f"files ({args.file_mb} MB one-line file)", ["files", line.name]),
            ("files (40 MB base64 file)", ["files", encoded.name]),
        ):
            _say(label)
            rows.append(("scan", measure(label, [*scan, *argv], repo, env), python))
    return rows


def _built(root: Path, *what: str) -> Path:
    """Builds an input in a child process: this one stays small, for the kernel counts a
    parent's peak RSS into its children's `ru_maxrss` when they start."""
    out = subprocess.run(
        [sys.executable, __file__, "--build", str(root), *what],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return Path(out.stdout.strip())


def build(root: Path, what: str, *params: str) -> Path:
    """What `--build` makes: `commit many|huge MB` or `files MB`."""
    if what == "commit":
        return make_commit_repo(root, int(params[1]), params[0])
    return make_file_repo(root, int(params[0]))[0]


def _say(what: str) -> None:
    print(f"  .. {what}", file=sys.stderr, flush=True)


def report(rows: list[tuple[str, Result, Result | None]]) -> int:
    print(f"{'command':<52} {'tree peak':>10} {'largest':>9} {'time':>7} exit  vs baseline")
    print(f"{'':<52} {'(sampled)':>10} {'(rusage)':>9}")
    failed = 0
    for kind, result, base in rows:
        verdict = ""
        if kind == "scan":
            ok = result.tree_mb < LIMIT_MB and result.code in (0, 1)
            failed += not ok
            versus = f"{result.tree_mb - base.tree_mb:+.0f} MB vs {base.label}" if base else ""
            verdict = f"{'PASS' if ok else 'FAIL'} < {LIMIT_MB:.0f} MB  {versus}"
        print(
            f"{result.label:<52} {result.tree_mb:>7.0f} MB {result.single_mb:>6.0f} MB "
            f"{result.secs:>6.1f}s {result.code:>4}  {verdict}"
        )
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500], help="commit MB")
    parser.add_argument("--file-mb", type=int, default=200, help="the one-line file's MB (0: none)")
    parser.add_argument(
        "--kinds",
        nargs="+",
        default=["many", "huge", "under", "several"],
        help="commits to build",
    )
    parser.add_argument(
        "--project",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="the checkout whose nexpay_scan runs (default: this one)",
    )
    parser.add_argument("--build", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build:
        print(build(Path(args.build[0]), *args.build[1:]))
        return 0
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return report(run(args))


if __name__ == "__main__":
    sys.exit(main())
