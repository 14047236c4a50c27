"""The rows of the result table: each target runs its commands (nexpay-scan, its baseline,
the peers) and turns their medians into ratios with their limits."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path

from measure import (
    MB,
    Command,
    Context,
    Measurement,
    Target,
    find,
    measure,
    present,
    ratio,
    ratio_detail,
)
from peers import gitleaks_cmd, kingfisher_cmd, scanner_cmd, scanner_plain
from repos import WORDS, code_text, git, missing_objects, mutate, nexpay_secret


def target_history(ctx: Context, section: str, repo: Path, out_dir: Path) -> None:
    """1. Full history: nexpay-scan history vs git log -p (all refs), peers."""
    cwd = str(out_dir)
    r = str(repo)
    cmds = present(
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
    base = find(ms, "git log -p")
    ours = find(ms, "nexpay-scan history")
    gl = find(ms, "gitleaks git")
    kf = find(ms, "kingfisher scan")
    kft = find(ms, "kingfisher scan --turbo")
    add = ctx.targets.append
    add(_ratio_target(section, "history: nexpay-scan / git log -p", ours, base, 0.6, "<="))
    peers = {"gitleaks": gl, "kingfisher": kf, "kingfisher --turbo": kft}
    _peer_ratios(ctx, section, "history", base, peers)
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


def _peer_ratios(
    ctx: Context,
    section: str,
    what: str,
    base: Measurement | None,
    peers: dict[str, Measurement | None],
) -> None:
    """An informational row per peer that ran: "WHAT: PEER / BASE", its time as a ratio to
    the baseline's."""
    for name, measured in peers.items():
        if measured is not None and base is not None:
            row = f"{what}: {name} / {base.label}"
            ctx.targets.append(_ratio_target(section, row, measured, base))


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
    tracked = [f"app/{rng.choice(WORDS)}_{i}.py" for i in range(40)]
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
        f = repo / "app" / f"new_{rng.choice(WORDS)}_{i}.py"
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
    cmds = present(
        Command("python3 -c pass", [ctx.tools.python, "-c", "pass"], cwd),
        scanner_cmd(ctx, "nexpay-scan staged", ["staged", "--repo", cwd], cwd),
        gitleaks_cmd(ctx, "gitleaks git --staged", ["git", "--staged", cwd], cwd),
        kingfisher_cmd(ctx, "kingfisher scan --staged", [cwd, "--staged"], cwd),
    )
    ms = measure(ctx, section, cmds, ctx.args.hook_runs)
    base = find(ms, "python3 -c pass")
    ours = find(ms, "nexpay-scan staged")
    gl = find(ms, "gitleaks git --staged")
    kf = find(ms, "kingfisher scan --staged")
    add = ctx.targets.append
    add(_ratio_target(section, "staged: nexpay-scan / python3 -c pass", ours, base, 4.0, "<="))
    _peer_ratios(ctx, section, "staged", base, {"gitleaks": gl, "kingfisher": kf})
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
    cmds = present(
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
    start = find(ms, "nexpay-scan --version")
    ours = find(ms, "nexpay-scan history HEAD~50..HEAD")
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
        m = find(ms, label)
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
    cmds = present(
        scanner_cmd(ctx, "nexpay-scan files", ["files", where], cwd, out_dir / "files.json"),
        gitleaks_cmd(ctx, "gitleaks dir", ["dir", where], cwd, out_dir / "gitleaks-dir.json"),
        kingfisher_cmd(ctx, "kingfisher scan (dir)", [where], cwd, out_dir / "kf-dir.json"),
    )
    ms = measure(ctx, section, cmds, ctx.args.runs)
    _check_found(ctx, section, ms, "the files tree")
    ours = find(ms, "nexpay-scan files")
    gl = find(ms, "gitleaks dir")
    kf = find(ms, "kingfisher scan (dir)")
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
            progress(section, "full history")
            target_history(ctx, section, repo, out_dir)
        if "range" in wanted:
            progress(section, "range of 50 commits")
            target_range(ctx, section, repo, out_dir)
    if "files" in wanted:
        progress(section, f"files (tree of >= {ctx.args.tree_mb} MB)")
        target_files(ctx, section, repo, out_dir)
    target_memory(ctx, section, ctx.measurements[before:])


def progress(section: str, what: str) -> None:
    """One line on stderr: where the bench is."""
    print(f"[{time.strftime('%H:%M:%S')}] {section}: {what}", file=sys.stderr)
