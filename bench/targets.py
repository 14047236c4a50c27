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
from peers import OLD, gitleaks_cmd, kingfisher_cmd, scanner_cmds
from repos import WORDS, code_text, git, missing_objects, mutate, nexpay_secret

# The limits of issue 16, by key; `--limit KEY=VALUE` overrides one (see bench/README.md).
LIMITS: dict[str, float] = {
    "history": 0.4,  # a large history (>= LARGE_HISTORY commits over all refs)
    "history-small": 0.7,  # a smaller one, where fixed costs weigh more (flask)
    "selection": 0.6,  # each selection, over `git log -p -U0` of the same selection
    "staged-5": 3.0,
    "staged-10": 4.0,
    "staged-50": 4.0,
    "files": 2.0,  # over `cat` of the same files
    "rss": 150.0,  # MB, summed over the process tree
}
LARGE_HISTORY = 20_000


def limit(ctx: Context, key: str) -> float:
    """The limit of row kind `key`: `--limit KEY=VALUE` if given, else LIMITS."""
    given: dict[str, float] = getattr(ctx.args, "limits", None) or {}
    return given.get(key, LIMITS[key])


def history_limit(ctx: Context, repo: Path) -> tuple[float, str]:
    """0.4 for a history of >= 20,000 commits over all refs (celery, ipython), else 0.7
    (flask); `--limit history=X` sets it whatever the size."""
    given: dict[str, float] = getattr(ctx.args, "limits", None) or {}
    if "history" in given:
        return given["history"], "limit from --limit history"
    count = git("-C", str(repo), "rev-list", "--count", "--all").strip()
    commits = int(count) if count.isdigit() else 0
    key = "history" if commits >= LARGE_HISTORY else "history-small"
    sign = ">=" if key == "history" else "<"
    return limit(ctx, key), f"{commits} commits {sign} {LARGE_HISTORY}"


def target_history(ctx: Context, section: str, repo: Path, out_dir: Path) -> None:
    """1. Full history: nexpay-scan history vs git log -p (all refs), peers."""
    cwd = str(out_dir)
    r = str(repo)
    cmds = present(
        Command("git log -p", ["git", "-C", r, "log", "-p", "-U0", "--all", "--full-history"], cwd),
        *scanner_cmds(
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
    lim, why = history_limit(ctx, repo)
    row = ratio_target(section, "history: nexpay-scan / git log -p", ours, base, lim, "<=")
    row.detail = f"{row.detail} (limit: {why})"
    add(row)
    new_vs_old(ctx, section, ms)
    peers = {"gitleaks": gl, "kingfisher": kf, "kingfisher --turbo": kft}
    peer_ratios(ctx, section, "history", base, peers)
    if gl is not None:
        add(ratio_target(section, "history: nexpay-scan / gitleaks", ours, gl))
    if kf is not None:
        add(ratio_target(section, "faster than kingfisher (history)", ours, kf, 1.0, "<"))
    if kft is not None:
        add(ratio_target(section, "history: nexpay-scan / kingfisher --turbo", ours, kft))


def new_vs_old(ctx: Context, section: str, ms: Sequence[Measurement]) -> None:
    """With --baseline-scanner: an informational row "LABEL: new / old" per nexpay-scan
    command that both codes ran in the same interleaved rounds."""
    for m in ms:
        old = find(ms, OLD + m.label)
        if m.label.startswith("nexpay-scan") and old is not None:
            ctx.targets.append(ratio_target(section, f"{m.label}: new / old", m, old))


def ratio_target(
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


def peer_ratios(
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
            ctx.targets.append(ratio_target(section, row, measured, base))


def make_staged_repo(root: Path, rng: random.Random, staged: int = 10) -> Path:
    """A repository with an initial commit (40 files, or as many as staged) and `staged`
    staged files of ~100 lines: half of them edited, half new, one new one with a key."""
    repo = root / f"staged-repo-{staged}"
    repo.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=repo)
    for key, value in (
        ("user.name", "Bench"),
        ("user.email", "bench@example.invalid"),
        ("commit.gpgsign", "false"),
        ("core.hooksPath", "/dev/null"),
    ):
        git("config", key, value, cwd=repo)
    tracked = [f"app/{rng.choice(WORDS)}_{i}.py" for i in range(max(40, staged))]
    for path in tracked:
        f = repo / path
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("\n".join(code_text(rng, 100)) + "\n")
    git("add", "-A", cwd=repo)
    git("commit", "--quiet", "-m", "initial commit", cwd=repo)
    for path in rng.sample(tracked, staged // 2):
        f = repo / path
        lines = f.read_text().splitlines()
        for _ in range(8):
            mutate(rng, lines)
        f.write_text("\n".join(lines) + "\n")
    for i in range(staged - staged // 2):
        f = repo / "app" / f"new_{rng.choice(WORDS)}_{i}.py"
        lines = code_text(rng, 100)
        if i == 0:  # one real-looking leak, so every tool has something to find
            lines[50] = f'NEXPAY_SECRET = "{nexpay_secret(rng)}"'
        f.write_text("\n".join(lines) + "\n")
    git("add", "-A", cwd=repo)
    listed = git("diff", "--cached", "--name-only", cwd=repo).split()
    if len(listed) != staged:
        raise RuntimeError(f"expected {staged} staged files, got {len(listed)}")
    return repo


STAGED_SIZES = (5, 10, 50)  # issue 16: <= 3x on 5 files, <= 4x on 50; 10: the older row


def target_staged(ctx: Context, section: str, staged: int) -> None:
    """2. Pre-commit hook latency on a staged change of `staged` files vs `python3 -c
    pass` (the interpreter that runs nexpay-scan)."""
    repo = make_staged_repo(ctx.workdir, random.Random(ctx.args.seed), staged)
    cwd = str(repo)
    cmds = present(
        Command("python3 -c pass", [ctx.tools.python, "-c", "pass"], cwd),
        *scanner_cmds(ctx, "nexpay-scan staged", ["staged", "--repo", cwd], cwd),
        gitleaks_cmd(ctx, "gitleaks git --staged", ["git", "--staged", cwd], cwd),
        kingfisher_cmd(ctx, "kingfisher scan --staged", [cwd, "--staged"], cwd),
    )
    ms = measure(ctx, section, cmds, ctx.args.hook_runs)
    base = find(ms, "python3 -c pass")
    ours = find(ms, "nexpay-scan staged")
    gl = find(ms, "gitleaks git --staged")
    kf = find(ms, "kingfisher scan --staged")
    add = ctx.targets.append
    lim = limit(ctx, f"staged-{staged}")
    add(ratio_target(section, "staged: nexpay-scan / python3 -c pass", ours, base, lim, "<="))
    new_vs_old(ctx, section, ms)
    peer_ratios(ctx, section, "staged", base, {"gitleaks": gl, "kingfisher": kf})
    check_found(ctx, section, [m for m in (ours, gl, kf) if m], "the staged change")


def check_found(ctx: Context, section: str, ms: Sequence[Measurement], where: str) -> None:
    """Note every tool that exited 0 ("no findings") where a valid key was planted."""
    for m in ms:
        if m.ok and 0 in m.returncodes:
            ctx.notes.append(f"{section}: {m.label} exited 0: it missed the key in {where}")


def _tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            p = Path(dirpath, name)
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
    return total


def python_stdlib(python: str) -> Path:
    """The standard library folder of the interpreter `python`."""
    code = "import sysconfig; print(sysconfig.get_path('stdlib'))"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


# Installed packages and bytecode are not the standard library's source.
_NOT_STDLIB = shutil.ignore_patterns("site-packages", "dist-packages", "__pycache__")


def make_tree(
    repo: Path, dest: Path, min_bytes: int, rng: random.Random, stdlib: Path
) -> tuple[int, int]:
    """A checkout of `repo`'s HEAD (git archive) plus a copy of the Python standard library
    `stdlib` (and one file with a valid key), the checkout copied again until the tree
    is >= min_bytes. Returns its size and the number of checkouts in it."""
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
    shutil.copytree(stdlib, dest / "python-stdlib", symlinks=True, ignore=_NOT_STDLIB)
    size = _tree_bytes(first)
    if size == 0:
        raise RuntimeError("HEAD has no content")
    extra = _tree_bytes(dest / "python-stdlib")
    copies = 1
    while extra + size * copies < min_bytes:
        shutil.copytree(first, dest / f"copy-{copies:03d}", symlinks=True)
        copies += 1
    return extra + size * copies, copies


def list_files(tree: Path, dest: Path) -> int:
    """Write the regular files of `tree` to `dest`, NUL-separated (for `xargs -0 cat`)."""
    names = [
        os.path.join(dirpath, name)
        for dirpath, _dirs, files in os.walk(tree)
        for name in sorted(files)
        if os.path.isfile(os.path.join(dirpath, name))
        and not os.path.islink(os.path.join(dirpath, name))
    ]
    dest.write_bytes(b"".join(os.fsencode(n) + b"\0" for n in names))
    return len(names)


# What a Nexpay client's files hold: the name, on a line of their own (an import, a config
# key), in every source and text file. Each rule then searches the whole file.
_NAMED_SUFFIXES = (".py", ".rst", ".md", ".txt", ".toml", ".cfg", ".ini", ".html", ".json")


def name_nexpay(tree: Path) -> int:
    """Prepends a line naming Nexpay to every source and text file of `tree`; the count."""
    named = 0
    for dirpath, _dirs, names in os.walk(tree):
        for name in names:
            path = Path(dirpath, name)
            if name.endswith(_NAMED_SUFFIXES) and path.is_file() and not path.is_symlink():
                path.write_bytes(b"# nexpay client\n" + path.read_bytes())
                named += 1
    return named


def target_files(
    ctx: Context, section: str, repo: Path, out_dir: Path, *, named: bool = False
) -> None:
    """4. Files: nexpay-scan files on a checkout plus the Python standard library vs `cat`
    of the same files, gitleaks dir, kingfisher. `named`: every source and text file of
    the tree names Nexpay (a Nexpay client's tree): the rules search all of them."""
    kind = "files-named" if named else "files"
    tree = ctx.workdir / f"tree-{out_dir.name}{'-named' if named else ''}"
    try:
        stdlib = python_stdlib(ctx.tools.python)
        built = make_tree(repo, tree, ctx.args.tree_mb * MB, random.Random(ctx.args.seed), stdlib)
    except (RuntimeError, OSError, tarfile.TarError, subprocess.CalledProcessError) as exc:
        ctx.targets.append(Target(section, f"{kind}: tree", None, "x", None, "<=", str(exc)))
        return
    size, copies = built
    naming = name_nexpay(tree) if named else 0
    listing = out_dir / f"{kind}.list"
    count = list_files(tree, listing)
    ctx.meta[f"tree: {section}{' (naming Nexpay)' if named else ''}"] = {
        "path": str(tree),
        "bytes": size,
        "files": count,
        "files_naming_nexpay": naming,
        "copies_of_head": copies,
        "stdlib": str(stdlib),
    }
    cwd = str(out_dir)
    where = str(tree)
    tail = " (naming Nexpay)" if named else ""
    cat_label, our_label = f"cat (same files){tail}", f"nexpay-scan files{tail}"
    gl_label, kf_label = f"gitleaks dir{tail}", f"kingfisher scan (dir){tail}"
    # the same files each named on the command line, as `pre-commit run --all-files` gives
    # them (one command: a few hundred KB of arguments)
    listed_label = "nexpay-scan files (each file named)"
    names = [os.fsdecode(n) for n in listing.read_bytes().split(b"\0") if n]
    report = out_dir / "files-listed.json"
    listed = [] if named else scanner_cmds(ctx, listed_label, ["files", *names], cwd, report)
    cmds = present(
        Command(cat_label, ["xargs", "-0", "-a", str(listing), "cat"], cwd),
        *scanner_cmds(ctx, our_label, ["files", where], cwd, out_dir / f"{kind}.json"),
        *listed,
        gitleaks_cmd(ctx, gl_label, ["dir", where], cwd, out_dir / f"gitleaks-{kind}.json"),
        kingfisher_cmd(ctx, kf_label, [where], cwd, out_dir / f"kf-{kind}.json"),
    )
    ms = measure(ctx, section, cmds, ctx.args.runs)
    check_found(ctx, section, [m for m in ms if m.label != cat_label], f"the {kind} tree")
    ours = find(ms, our_label)
    gl = find(ms, gl_label)
    kf = find(ms, kf_label)
    mb = f"{size / MB:.0f} MB, {count} files: {copies} checkout(s) + {stdlib}"
    if named:
        mb += f"; {naming} of them name Nexpay"
    cat = ratio_target(
        section,
        f"{kind}: nexpay-scan / cat",
        ours,
        find(ms, cat_label),
        limit(ctx, "files"),
        "<=",
    )
    cat.detail = f"{cat.detail} ({mb})"
    ctx.targets.append(cat)
    listed_ms = find(ms, listed_label)
    if listed_ms is not None:
        name = "files, each file named: nexpay-scan / cat"
        ctx.targets.append(ratio_target(section, name, listed_ms, find(ms, cat_label)))
    new_vs_old(ctx, section, ms)
    for peer, name in (
        (gl, f"{kind}: nexpay-scan / gitleaks dir"),
        (kf, f"{kind}: nexpay-scan / kingfisher"),
    ):
        if peer is not None:
            ctx.targets.append(ratio_target(section, name, ours, peer, 1.0, "<"))


def target_memory(ctx: Context, section: str, ms: Sequence[Measurement]) -> None:
    """5. Memory: peak RSS of every nexpay-scan run < 150 MB, summed over its process tree
    (nexpay-scan and every git it starts)."""
    ours = [m for m in ms if m.label.startswith("nexpay-scan")]
    lim = limit(ctx, "rss")
    if not ours:
        if ctx.tools.scanner is None:
            row = Target(section, "peak RSS: nexpay-scan", None, "MB", lim, "<")
            row.detail = "nexpay-scan not available"
            ctx.targets.append(row)
        return
    for m in ours:
        if not m.ok:
            ctx.targets.append(
                Target(section, f"peak RSS: {m.label}", None, "MB", lim, "<", str(m.error))
            )
            continue
        ctx.targets.append(_memory_row(section, m, lim))


def _memory_row(section: str, m: Measurement, lim: float) -> Target:
    """The tree's summed peak when it was sampled, else the largest process's peak."""
    own = m.peak_own_mb
    own_text = f"its own process {own:.0f} MB" if own else "its own process not sampled"
    single = f"{'<=' if m.rss_is_floor else ''}{m.peak_rss_mb:.0f} MB"
    tree = m.peak_tree_mb
    if tree is not None:
        pss = m.peak_tree_pss_mb
        pss_text = f"; summed PSS {pss:.0f} MB (shared pages counted once)" if pss else ""
        detail = f"summed over its process tree; largest process {single}, {own_text}{pss_text}"
        return Target(section, f"peak RSS: {m.label}", tree, "MB", lim, "<", detail)
    if m.rss_is_floor:
        detail = f"an upper bound: the bench's own peak; {own_text}"
    elif own is not None and m.peak_rss_mb - own > 1:
        detail = f"largest process of its tree: a child; {own_text}"
    else:
        detail = "largest process of its tree: nexpay-scan itself"
    return Target(section, f"peak RSS: {m.label}", m.peak_rss_mb, "MB", lim, "<", detail)


# --------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------


ALL_TARGETS = ("history", "staged", "range", "files")


def run_repo_section(ctx: Context, section: str, repo: Path) -> None:
    """Every target of one repository: full history, the selections, files, memory."""
    from selections import target_selections  # it imports this module's helpers

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
            target_selections(ctx, section, repo, out_dir)
    if "files" in wanted:
        progress(
            section, f"files (a checkout + the Python standard library, >= {ctx.args.tree_mb} MB)"
        )
        target_files(ctx, section, repo, out_dir)
        progress(section, "files again, every source and text file naming Nexpay")
        target_files(ctx, section, repo, out_dir, named=True)
    target_memory(ctx, section, ctx.measurements[before:])


def progress(section: str, what: str) -> None:
    """One line on stderr: where the bench is."""
    print(f"[{time.strftime('%H:%M:%S')}] {section}: {what}", file=sys.stderr)
