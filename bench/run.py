#!/usr/bin/env python3
"""Benchmark nexpay-scan against baselines measured in the same invocation.

The machine this runs on is shared and noisy, so every target is a ratio to (or a
difference from) a baseline command that is run in the same invocation, and the
commands that are compared are run interleaved (one run of each in turn) and
summarised by their median.  See bench/README.md for what each row means.

Standard library only (and nexpay_scan.checksum); Python 3.10+. The modules beside it: see
bench/README.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

from measure import Context, Measurement, Target
from peers import PEER_DECODING, checkout_command, discover_tools
from repos import generated_repo, make_copy
from targets import (
    ALL_TARGETS,
    LIMITS,
    STAGED_SIZES,
    progress,
    run_repo_section,
    target_memory,
    target_staged,
)


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


def _env_words(env: dict[str, str]) -> str:
    return "".join(f"{shlex.quote(f'{k}={v}')} " for k, v in env.items())


def print_report(ctx: Context) -> None:
    t = ctx.tools
    print()
    print("nexpay-scan benchmark")
    for k, v in t.versions.items():
        print(f"  {k}: {v}")
    scanner = shlex.join(t.scanner) if t.scanner else "not available"
    print(f"  nexpay-scan command: {_env_words(t.scanner_env)}{scanner} ({t.scanner_note})")
    if t.old_scanner:
        old = _env_words(t.old_scanner_env) + shlex.join(t.old_scanner)
        print(f"  old nexpay-scan command (--baseline-scanner): {old}")
    print(f"  baseline interpreter: {t.python}")
    print(f"  gitleaks binary: {t.gitleaks or 'not installed'}")
    print(f"  kingfisher binary: {t.kingfisher or 'not installed'}")
    a = ctx.args
    print(
        f"  runs per command: {a.runs} (history, files), {a.hook_runs} (hook, range), "
        f"after {a.warmup} warm-up; figures are medians"
    )
    print(f"  peer decoding and archives: {a.peer_decoding}")
    before, after = ctx.meta.get("load_before"), ctx.meta.get("load_after")
    print(f"  load average (1, 5, 15 min): before {before}, after {after}; cpus {os.cpu_count()}")
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
    p.add_argument(
        "--checkout",
        metavar="DIR",
        help="measure the nexpay_scan of this checkout, run as its console script runs it",
    )
    p.add_argument(
        "--baseline-scanner",
        metavar="CMD",
        help="the old code, measured beside nexpay-scan in the same rounds: adds "
        "'new / old' rows (leading NAME=VALUE words are its environment)",
    )
    p.add_argument(
        "--baseline-checkout",
        metavar="DIR",
        help="the old code's checkout, run as its console script runs it",
    )
    p.add_argument(
        "--python",
        metavar="PATH",
        help="interpreter for --checkout and --baseline-checkout (default: this one)",
    )
    p.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a limit; keys: {', '.join(LIMITS)} (history: whatever the size)",
    )
    p.add_argument(
        "--range-depth",
        type=int,
        action="append",
        metavar="N",
        help="ranges HEAD~N..HEAD measured (history, ci, pre-push, pre-receive; "
        "repeatable; default 2000 and 50)",
    )
    p.add_argument(
        "--year",
        type=int,
        default=2023,
        help="the --since/--until selection: that calendar year (default 2023)",
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
    args.range_depth = args.range_depth or [2000, 50]
    args.limits = {}
    for item in args.limit:
        key, _, value = item.partition("=")
        if key not in LIMITS:
            p.error(f"--limit {item}: unknown key (keys: {', '.join(LIMITS)})")
        try:
            args.limits[key] = float(value)
        except ValueError:
            p.error(f"--limit {item}: not a number")
    if args.checkout:
        if args.scanner:
            p.error("give --scanner or --checkout, not both")
        args.scanner = checkout_command(args.checkout, args.python)
    if args.baseline_checkout:
        if args.baseline_scanner:
            p.error("give --baseline-scanner or --baseline-checkout, not both")
        args.baseline_scanner = checkout_command(args.baseline_checkout, args.python)
    return args


def _compile_bytecode(args: argparse.Namespace) -> None:
    """Byte-compiles the packages being measured, as `pip install` does for a user: an
    editable install under PYTHONDONTWRITEBYTECODE=1 would otherwise re-compile every
    module at every start, and the hook target would measure the compiler."""
    packages = [
        Path(d).resolve() / "nexpay_scan" for d in (args.checkout, args.baseline_checkout) if d
    ]
    try:
        import nexpay_scan

        packages.append(Path(nexpay_scan.__file__).parent)
    except ImportError:
        pass
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for package in dict.fromkeys(packages):
        subprocess.run(
            [args.python or sys.executable, "-m", "compileall", "-q", str(package)],
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
    _compile_bytecode(args)
    workdir = Path(tempfile.mkdtemp(prefix="nexpay-scan-bench-"))
    ctx = Context(args, tools, workdir)
    ctx.meta["started"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    ctx.meta["cpus"] = os.cpu_count()
    ctx.meta["load_before"] = os.getloadavg()
    if tools.scanner is None:
        ctx.notes.append(f"nexpay-scan not available ({tools.scanner_note})")
    steps: list[tuple[str, Callable[[], None]]] = []
    if "staged" in (args.only or ALL_TARGETS):
        for staged in STAGED_SIZES:
            section = f"pre-commit hook (temporary repository, {staged} staged files)"
            steps.append((section, functools.partial(target_staged, ctx, section, staged)))
    try:
        for section, step in steps:
            progress(section, "staged")
            step()
            ours = [m for m in ctx.measurements if m.section == section]
            target_memory(ctx, section, [m for m in ours if m.label == "nexpay-scan staged"])
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
