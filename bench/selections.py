"""The selections of history that the CI gate and the hooks scan (issue 16): `--branch`,
ranges, `--since`/`--until`, `ci --base`, `pre-push` and `pre-receive`. Each is measured
against `git log -p -U0` of the same selection and against kingfisher on the same
selection (or the nearest one it can make), in the same interleaved rounds."""

from __future__ import annotations

from pathlib import Path

from measure import Command, Context, Measurement, Target, find, measure, present, ratio_detail
from peers import gitleaks_cmd, kingfisher_cmd, scanner_cmds, scanner_plain
from repos import git
from targets import limit, new_vs_old, progress, ratio_target

PUSH_URL = "https://git.example.invalid/bench.git"  # pre-push's second argument; never used


def target_selections(ctx: Context, section: str, repo: Path, out_dir: Path) -> None:
    """Every selection of issue 16 on `repo`; see bench/README.md for the rows."""
    head = _commit(repo, "HEAD")
    branch = git("-C", str(repo), "symbolic-ref", "--short", "-q", "HEAD", check=False).strip()
    if head is None or not branch:
        _missing(ctx, section, "selections", "repository has no HEAD on a branch")
        return
    progress(section, f"--branch {branch}")
    target_branch(ctx, section, repo, out_dir, branch)
    for depth in ctx.args.range_depth:
        progress(section, f"HEAD~{depth}..HEAD: history, ci --base, pre-push, pre-receive")
        target_range(ctx, section, repo, out_dir, branch, depth)
    progress(section, f"--since/--until {ctx.args.year}")
    target_dates(ctx, section, repo, out_dir, ctx.args.year)


def _commit(repo: Path, rev: str) -> str | None:
    sha = git("-C", str(repo), "rev-parse", "--verify", "-q", f"{rev}^{{commit}}", check=False)
    return sha.strip() or None


def _missing(ctx: Context, section: str, name: str, why: str) -> None:
    ctx.targets.append(Target(section, name, None, "x", limit(ctx, "selection"), "<=", why))


def git_log(repo: Path, cwd: str, name: str, *selection: str) -> Command:
    """The floor: `git log -p -U0` of the selection (labelled "git log -p NAME")."""
    argv = ["git", "-C", str(repo), "log", "-p", "-U0", *selection]
    return Command(f"git log -p {name}", argv, cwd)


def _first(ms: list[Measurement], prefix: str) -> Measurement | None:
    """The measurement whose label starts with `prefix` (one per group)."""
    return next((m for m in ms if m.label.startswith(prefix)), None)


def selection_rows(
    ctx: Context,
    section: str,
    name: str,
    ms: list[Measurement],
    ours_label: str,
    kf_note: str = "",
    kf_ours_label: str = "",
) -> None:
    """The rows of one selection: nexpay-scan over `git log -p` (<= 0.6), nexpay-scan over
    kingfisher (< 1; nexpay-scan's run `kf_ours_label`, where kingfisher cannot make the
    same selection and is given other commits), and kingfisher over `git log -p` (info)."""
    ours = find(ms, ours_label)
    base = _first(ms, "git log -p")
    kf = _first(ms, "kingfisher")
    add = ctx.targets.append
    add(
        ratio_target(
            section, f"{name}: nexpay-scan / git log -p", ours, base, limit(ctx, "selection")
        )
    )
    if kf is not None:
        same = find(ms, kf_ours_label) if kf_ours_label else ours
        row = ratio_target(section, f"{name}: nexpay-scan / kingfisher", same, kf, 1.0, "<")
        row.detail = f"{row.detail}{kf_note}"
        add(row)
        if name.startswith(("--", "history")):  # once per selection, not per command
            what = name.removeprefix("history ")
            add(ratio_target(section, f"{what}: kingfisher / git log -p", kf, base))


def target_branch(ctx: Context, section: str, repo: Path, out_dir: Path, branch: str) -> None:
    """`history --branch <default>` vs `git log -p -U0 refs/heads/<default>`."""
    cwd = str(out_dir)
    r = str(repo)
    label = f"nexpay-scan history --branch {branch}"
    cmds = present(
        git_log(repo, cwd, f"--branch {branch}", f"refs/heads/{branch}"),
        *scanner_cmds(
            ctx, label, ["history", "--branch", branch, "--repo", r], cwd, out_dir / "branch.json"
        ),
        kingfisher_cmd(
            ctx,
            f"kingfisher --branch {branch}",
            [r, "--branch", branch],
            cwd,
            out_dir / "kf-branch.json",
        ),
    )
    ms = measure(ctx, section, cmds, ctx.args.runs)
    selection_rows(ctx, section, f"--branch {branch}", ms, label)
    new_vs_old(ctx, section, ms)


def make_server(workdir: Path, repo: Path, branch: str, old: str) -> Path:
    """A bare repository as a git server sees it in pre-receive: it borrows `repo`'s
    objects (objects/info/alternates: nothing is written into `repo`), has one branch,
    `branch` at `old`, and `repo`'s replace refs (placeholders, see --make-copy). The
    commits old..HEAD of `repo` are then what a push of HEAD to `branch` adds."""
    server = workdir / f"server-{old[:12]}.git"
    if server.exists():
        return server
    git("init", "--quiet", "--bare", str(server))
    objects = Path(git("-C", str(repo), "rev-parse", "--absolute-git-dir").strip()) / "objects"
    (server / "objects" / "info" / "alternates").write_text(f"{objects}\n")
    replaced = git(
        "-C", str(repo), "for-each-ref", "--format=%(objectname) %(refname)", "refs/replace/"
    )
    for line in replaced.splitlines():
        sha, ref = line.split(" ", 1)
        git("-C", str(server), "update-ref", ref, sha)
    git("-C", str(server), "update-ref", f"refs/heads/{branch}", old)
    git("-C", str(server), "symbolic-ref", "HEAD", f"refs/heads/{branch}")
    return server


def target_range(
    ctx: Context, section: str, repo: Path, out_dir: Path, branch: str, depth: int
) -> None:
    """HEAD~depth..HEAD as `history A..B`, `ci --base A`, `pre-push` (git's input line for
    a push of HEAD over A) and `pre-receive` (a server at A receiving HEAD), each against
    `git log -p -U0 A..B` and kingfisher `--branch B --since-commit A` (the same commits)."""
    name = f"HEAD~{depth}..HEAD"
    old, new = _commit(repo, f"HEAD~{depth}"), _commit(repo, "HEAD")
    if old is None or new is None:
        _missing(ctx, section, f"{name}: nexpay-scan / git log -p", f"repository has no {name}")
        return
    cwd = str(out_dir)
    r = str(repo)
    server = make_server(ctx.workdir, repo, branch, old)
    ref = f"refs/heads/{branch}"
    push_line = f"{ref} {new} {ref} {old}\n".encode()
    receive_line = f"{old} {new} {ref}\n".encode()
    tag = f"{depth}"
    labels = {
        f"history {name}": (["history", f"{old}..{new}", "--repo", r], None),
        f"ci --base HEAD~{depth}": (["ci", "--base", old, "--repo", r], None),
        f"pre-push {name}": (["pre-push", "--repo", r, "origin", PUSH_URL], push_line),
        f"pre-receive {name}": (["pre-receive", "--repo", str(server)], receive_line),
    }
    ours: list[Command | None] = []
    for what, (args, stdin) in labels.items():
        report = out_dir / f"{what.split()[0]}-{tag}.json"
        ours += scanner_cmds(ctx, f"nexpay-scan {what}", args, cwd, report, stdin=stdin)
    short = depth <= 100  # a short range: its start-up matters, measure it as before
    since = [r, "--branch", new, "--since-commit", old]
    cmds = present(
        scanner_plain(ctx, "nexpay-scan --version", ["--version"], cwd) if short else None,
        git_log(repo, cwd, name, f"{old}..{new}"),
        *ours,
        kingfisher_cmd(ctx, f"kingfisher {name}", since, cwd, out_dir / f"kf-range-{tag}.json"),
        gitleaks_cmd(
            ctx,
            f"gitleaks git {name}",
            ["git", r, f"--log-opts={old}..{new}"],
            cwd,
            out_dir / f"gitleaks-range-{tag}.json",
        )
        if short
        else None,
    )
    ms = measure(ctx, section, cmds, ctx.args.hook_runs if short else ctx.args.runs)
    for what in labels:
        selection_rows(ctx, section, what, ms, f"nexpay-scan {what}")
    new_vs_old(ctx, section, ms)
    if short:
        _startup_row(ctx, section, name, ms)


def _startup_row(ctx: Context, section: str, name: str, ms: list[Measurement]) -> None:
    """The older row: a short range's time minus the scanner's start-up (--version)."""
    start = find(ms, "nexpay-scan --version")
    ours = find(ms, f"nexpay-scan history {name}")
    value = None
    detail = "nexpay-scan not available"
    if ours is not None and start is not None:
        detail = ratio_detail(ours, start).replace(" / ", " - ")
        if ours.ok and start.ok:
            value = ours.median_s - start.median_s
    row = f"range {name}: time - start-up"
    ctx.targets.append(Target(section, row, value, "s", 0.2, "<=", detail))
    gl = find(ms, f"gitleaks git {name}")
    if gl is not None:
        v = gl.median_s if gl.ok else None
        err = "" if gl.ok else str(gl.error)
        ctx.targets.append(Target(section, f"range {name}: gitleaks time", v, "s", None, "<=", err))


def target_dates(ctx: Context, section: str, repo: Path, out_dir: Path, year: int) -> None:
    """`history --since YEAR-01-01 --until YEAR+1-01-01` (all refs) vs `git log -p -U0
    --all` of the same dates. kingfisher cannot select by date (--since-hours counts back
    from now, with no end): it scans HEAD's commits of that year (--branch B --since-commit
    A, B and A HEAD's last commits before the end and the start), fewer than all refs'.
    So it is compared with nexpay-scan on those same commits (`history A..B`): the same
    selection, as every other kingfisher row."""
    since, until = f"{year}-01-01", f"{year + 1}-01-01"
    dates = [f"--since={since}", f"--until={until}"]
    cwd = str(out_dir)
    r = str(repo)
    name = f"--since {since} --until {until}"
    label = f"nexpay-scan history {name}"
    start = git("-C", r, "rev-list", "-1", f"--until={since}", "HEAD", check=False).strip()
    end = git("-C", r, "rev-list", "-1", f"--until={until}", "HEAD", check=False).strip()
    kf_args = [r, "--branch", end] + (["--since-commit", start] if start else [])
    kf = (
        kingfisher_cmd(ctx, f"kingfisher {year}", kf_args, cwd, out_dir / "kf-dates.json")
        if end
        else None
    )
    same_label = f"nexpay-scan history (kingfisher's commits of {year})"
    same = [f"{start}..{end}" if start else end, "--repo", r]
    cmds = present(
        git_log(repo, cwd, name, "--all", "--full-history", *dates),
        *scanner_cmds(ctx, label, ["history", *dates, "--repo", r], cwd, out_dir / "dates.json"),
        kf,
        *(scanner_cmds(ctx, same_label, ["history", *same], cwd) if kf is not None else []),
    )
    ms = measure(ctx, section, cmds, ctx.args.runs)
    shown = f"{(start or 'root')[:10]}..{end[:10]}"
    note = f" (both on HEAD's commits of {year}, {shown}; the row above scans every ref's)"
    selection_rows(ctx, section, name, ms, label, note, same_label)
    new_vs_old(ctx, section, ms)
