"""The bench's records (commands, measurements, targets, the run's context) and how a
command is run and measured: wall time and peak RSS (wait4, /proc), runs interleaved."""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

MB = 1024 * 1024


@dataclass
class Command:
    """One command line to measure."""

    label: str
    argv: list[str]
    cwd: str | None = None
    ok_codes: tuple[int, ...] = (0,)
    env: dict[str, str] | None = None
    stdin: bytes | None = None  # fed from a file (a hook's input), else /dev/null
    tree: bool = False  # sample the summed RSS of its whole process tree


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
    tree_kb: list[int] = field(default_factory=list)  # summed RSS of its tree (sampled)
    tree_pss_kb: list[int] = field(default_factory=list)  # summed PSS of its tree (sampled)
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

    @property
    def peak_tree_mb(self) -> float | None:
        """The peak of the summed RSS of the process tree (sampled), never below the
        largest single process's peak; None when it was not sampled."""
        if not self.tree_kb or not max(self.tree_kb):
            return None
        single = 0 if self.rss_is_floor else max(self.maxrss_kb)  # a floor says "at most"
        return max(max(self.tree_kb), single) / 1024

    @property
    def peak_tree_pss_mb(self) -> float | None:
        """The peak of the summed PSS of the process tree (sampled): each shared page
        counted once, split between the processes sharing it (a forked reader's pages it
        still shares with its parent, the pack files every git maps)."""
        peak = max(self.tree_pss_kb, default=0)
        return peak / 1024 if peak else None

    def summary(self) -> dict[str, object]:
        if not self.ok:
            return {"error": self.error}
        return {
            "median_s": self.median_s,
            "min_s": min(self.times_s),
            "max_s": max(self.times_s),
            "peak_rss_mb": self.peak_rss_mb,
            "peak_own_rss_mb": self.peak_own_mb,
            "peak_tree_rss_mb": self.peak_tree_mb,
            "peak_tree_pss_mb": self.peak_tree_pss_mb,
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
    # the old code, measured beside it for "new / old" rows (--baseline-scanner)
    old_scanner: list[str] | None = None
    old_scanner_env: dict[str, str] = field(default_factory=dict)


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


class _TreeSampler(threading.Thread):
    """Polls the summed resident memory of every process in one session (a command
    started with start_new_session: it and all its children). /proc is listed at each
    poll, but each process's stat is read once (pid reuse within a run is not expected)."""

    def __init__(self, sid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.sid = sid
        self.interval = interval
        self.peak_kb = 0
        self.peak_pss_kb = 0
        self._member: dict[int, bool] = {}
        self._stop_event = threading.Event()

    def _is_member(self, pid: int) -> bool:
        known = self._member.get(pid)
        if known is None:
            try:
                with open(f"/proc/{pid}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
                known = int(fields[3]) == self.sid  # state ppid pgrp session
            except (OSError, ValueError, IndexError):
                return False  # gone: ask again if the pid shows up later
            self._member[pid] = known
        return known

    def _sample_kb(self) -> tuple[int, int]:
        """The summed RSS and PSS (kB) of the session's processes now."""
        total = pss = 0
        for name in os.listdir("/proc"):
            if not name.isdigit() or not self._is_member(int(name)):
                continue
            try:
                with open(f"/proc/{name}/statm", "rb") as fh:
                    total += int(fh.read().split()[1]) * PAGE_KB
                pss += _pss_kb(name)
            except (OSError, ValueError, IndexError):
                continue  # ended meanwhile
        return total, pss

    def run(self) -> None:
        while not self._stop_event.is_set():
            rss, pss = self._sample_kb()
            self.peak_kb = max(self.peak_kb, rss)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _pss_kb(pid: str) -> int:
    """A process's proportional set size (kB), 0 where /proc does not say."""
    with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
        for line in fh:
            if line.startswith(b"Pss:"):
                return int(line.split()[1])
    return 0


@dataclass
class RunResult:
    seconds: float
    returncode: int
    maxrss_kb: int
    own_hwm_kb: int
    floor_kb: int
    stderr_tail: str
    tree_kb: int = 0
    tree_pss_kb: int = 0


def run_once(cmd: Command, timeout: float) -> RunResult:
    """Run a command with stdout to /dev/null; wall time and rusage via wait4."""
    env = os.environ.copy()
    env.update({"NO_COLOR": "1", "GIT_TERMINAL_PROMPT": "0"})
    if cmd.env:
        env.update(cmd.env)
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as given:
        if cmd.stdin is not None:
            given.write(cmd.stdin)
            given.seek(0)
        # The child is spawned with vfork, and Linux counts the parent's peak RSS
        # into the child's ru_maxrss at exec: a figure at this floor means "at most".
        floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd.argv,
            cwd=cmd.cwd,
            env=env,
            stdin=subprocess.DEVNULL if cmd.stdin is None else given,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        sampler = _HwmSampler(proc.pid)
        sampler.start()
        tree = _TreeSampler(proc.pid) if cmd.tree else None
        if tree is not None:
            tree.start()
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
        if tree is not None:
            tree.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read()[-2000:].decode("utf-8", "replace")
    if proc.returncode == -signal.SIGKILL and elapsed >= timeout:
        tail = f"timed out after {timeout:.0f} s\n{tail}"
    tree_kb = tree.peak_kb if tree is not None else 0
    tree_pss_kb = tree.peak_pss_kb if tree is not None else 0
    return RunResult(
        elapsed,
        proc.returncode,
        usage.ru_maxrss,
        sampler.peak_kb,
        floor,
        tail,
        tree_kb,
        tree_pss_kb,
    )


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
                res.tree_kb.append(rr.tree_kb)
                res.tree_pss_kb.append(rr.tree_pss_kb)
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


def present(*cmds: Command | None) -> list[Command]:
    return [c for c in cmds if c is not None]


def find(ms: Sequence[Measurement], label: str) -> Measurement | None:
    return next((m for m in ms if m.label == label), None)
