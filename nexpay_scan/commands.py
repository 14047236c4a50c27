"""One function per subcommand: pick a source, scan, report, return the exit code."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Collection

from nexpay_scan.config import builtin_rules, load_settings
from nexpay_scan.errors import FatalError
from nexpay_scan.findings import Finding
from nexpay_scan.progress import Progress
from nexpay_scan.records import Record
from nexpay_scan.reporters import Report, get_writer
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.git import repo_root

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from pathlib import Path

    from nexpay_scan.paths import StrPath

EXIT_CLEAN, EXIT_FINDINGS = 0, 1


def _scanner(args: argparse.Namespace, root: StrPath | None, mode: str) -> Scanner:
    config = args.config
    if config is not None and not os.path.isfile(config):
        raise FatalError(f"{config}: config file not found")
    scanner = Scanner(load_settings(root, config, redact=not args.no_redact))
    scanner.summary.mode = mode
    quiet = getattr(args, "quiet", False)
    scanner.progress = Progress("commits", enabled=sys.stderr.isatty() and not quiet)
    return scanner


def _config_root(start: str) -> StrPath:
    """Where `.nexpay-scan.toml` is looked for: the enclosing repository, else `start`."""
    if not os.path.isdir(start):
        return os.getcwd()
    try:
        return repo_root(start)
    except FatalError:
        return start


def _finish(
    args: argparse.Namespace, scanner: Scanner, findings: list[Finding], root: StrPath | None
) -> int:
    findings, scanner.summary.suppressed = _suppressed(args, findings, root)
    findings.sort(key=lambda f: (f.file, f.line, f.column))
    if args.verify:
        _verify(args, findings)
    report = Report(
        findings=findings,
        summary=scanner.summary,
        redact=scanner.settings.redact,
        color=_use_color(args),
        quiet=args.quiet,
        rules=scanner.settings.rules,
    )
    text = get_writer(args.format)(report)
    if args.output:
        write_atomically(args.output, text)
        if args.format != "text" and not args.quiet:
            report.color = _use_color(args)
            sys.stderr.write(get_writer("text")(report))
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if getattr(args, "report", None):
        _write_audit(args, report, root)
    return exit_code(findings, args.fail_on)


def _suppressed(
    args: argparse.Namespace, findings: list[Finding], root: StrPath | None
) -> tuple[list[Finding], int]:
    """Drops findings listed in `.nexpayscanignore` or in the `--baseline` file."""
    from nexpay_scan.suppressions import read_baseline, read_ignore_file, without_known

    known = read_ignore_file(root)
    if args.baseline:
        known |= read_baseline(args.baseline)
    return without_known(findings, known) if known else (findings, 0)


def _write_audit(args: argparse.Namespace, report: Report, root: StrPath | None) -> None:
    from pathlib import Path

    from nexpay_scan.reporters.audit import render_audit

    suffix = os.path.splitext(args.report)[1].lower()
    folder = Path(root) if root is not None else None
    write_atomically(args.report, render_audit(report, suffix, folder))


def exit_code(findings: list[Finding], fail_on: str) -> int:
    """1 when the findings are ones `--fail-on` fails on, else 0."""
    if fail_on == "none":
        return EXIT_CLEAN
    if fail_on == "live":
        return EXIT_FINDINGS if any(f.status == "live" for f in findings) else EXIT_CLEAN
    return EXIT_FINDINGS if findings else EXIT_CLEAN


def _verify(args: argparse.Namespace, findings: list[Finding]) -> None:
    from nexpay_scan.verifier.endpoint import DEFAULT_API_BASE
    from nexpay_scan.verifier.verify import VerifyOptions, verify_findings

    options = VerifyOptions(
        api_base=args.api_base or os.environ.get("NEXPAY_API_BASE") or DEFAULT_API_BASE,
        concurrency=args.verify_concurrency,
        timeout=args.verify_timeout,
        deadline=args.verify_deadline,
    )
    verify_findings(findings, options)
    order = {"live": 0, "unknown": 1, "unverified": 2, "revoked": 3}
    findings.sort(key=lambda f: (order.get(f.status, 2), f.kind != "secret"))


def _use_color(args: argparse.Namespace) -> bool:
    stream = sys.stderr if args.output else sys.stdout
    return args.format == "text" and stream.isatty() and "NO_COLOR" not in os.environ


def write_atomically(path: str, text: str) -> None:
    """Writes `text` to `path` whole or not at all (temp file, then rename). A device or a
    pipe (`/dev/stdout`, a FIFO) is written to directly: it cannot be replaced."""
    import tempfile

    if os.path.exists(path) and not os.path.isfile(path):
        try:
            with open(path, "w", encoding="utf-8") as stream:
                stream.write(text)
        except OSError as error:
            raise FatalError(f"{path}: cannot write the report ({error.strerror})") from None
        return

    folder, name = os.path.split(path)
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{name}.", dir=folder or ".")
    except OSError as error:
        raise FatalError(f"{path}: cannot write the report ({error.strerror})") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temp, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        if isinstance(error, OSError):
            raise FatalError(f"{path}: cannot write the report ({error.strerror})") from None
        raise


def staged(args: argparse.Namespace) -> int:
    """`nexpay-scan staged`: the lines the next commit adds."""
    return _staged(args, "staged")


def _staged(args: argparse.Namespace, mode: str, only: Collection[str] | None = None) -> int:
    from nexpay_scan.sources.staged import StagedDiff

    with StagedDiff(args.repo) as diff:
        builtin_rules()  # loaded while git starts
        root = diff.root()
        scanner = _scanner(args, root, mode)
        findings = diff.scan(scanner, only)
    return _finish(args, scanner, findings, root)


def files(args: argparse.Namespace) -> int:
    """`nexpay-scan files PATH...`: files and folders as they are on disk."""
    from nexpay_scan.sources.files import scan_paths

    first = next((p for p in args.paths if p != "-"), ".")
    root = _config_root(first if os.path.isdir(first) else os.path.dirname(first) or ".")
    scanner = _scanner(args, root, "files")
    return _finish(args, scanner, scan_paths(args.paths, scanner, args.jobs), root)


def history(args: argparse.Namespace) -> int:
    """`nexpay-scan history [REV...]`: each secret once, where it came in."""
    root = repo_root(args.repo)
    scanner = _scanner(args, root, "history")
    wanted = HistoryRequest(
        revisions=tuple(args.revisions),
        engine=args.engine,
        branches=tuple(args.branch),
        since=args.since,
        until=args.until,
        jobs=args.jobs,
        all_occurrences=args.all_occurrences,
        track_places=bool(args.report),
    )
    return _finish(args, scanner, _history_findings(wanted, root, scanner), root)


class HistoryRequest(Record):
    """What part of the history to scan, and how: `history`, `ci` and `baseline create`
    each say it explicitly."""

    revisions: tuple[str, ...] = ()
    engine: str = "auto"
    branches: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    jobs: int = 1
    all_occurrences: bool = False
    track_places: bool = False  # for the audit report: where each key is, and at HEAD


def _history_findings(wanted: HistoryRequest, root: Path, scanner: Scanner) -> list[Finding]:
    from nexpay_scan.sources.history import HistoryScan, log_revisions

    scan = HistoryScan(root, scanner, all_occurrences=wanted.all_occurrences)
    scan.track_places = wanted.track_places
    branches = [f"refs/heads/{b}" for b in wanted.branches]
    rev_args = log_revisions([*branches, *wanted.revisions])
    dates = (("since", wanted.since), ("until", wanted.until))
    filters = [f"--{name}={value}" for name, value in dates if value]
    engine = wanted.engine
    if engine == "auto":  # the blob route covers whole histories only
        engine = "blob" if rev_args == ["--all"] and not filters else "diff"
    elif engine == "blob" and (rev_args != ["--all"] or filters):
        raise FatalError(
            "--engine blob scans the whole history: drop REV, --branch, --since, --until"
        )
    if engine == "blob":
        findings = scan.run_blobs(rev_args, wanted.jobs)
    else:
        findings = scan.run([*filters, *rev_args])
    if scan.track_places:
        scan.mark_at_head(findings)
    _mark_shallow_edges(root, findings)
    return findings


def _mark_shallow_edges(root: Path, findings: list[Finding]) -> None:
    """In a shallow clone, a key "introduced" at a commit where the clone's history is cut
    may be older: say so rather than name that commit as where it came in."""
    from nexpay_scan.sources.git import shallow_edges

    edges = shallow_edges(root)
    for finding in findings:
        if finding.commit and finding.commit.sha in edges:
            finding.notes.append(
                "this clone is shallow and its history starts at this commit: the key may "
                "have come in earlier (fetch the full history: git fetch --unshallow)"
            )


def pre_push(args: argparse.Namespace) -> int:
    """`nexpay-scan pre-push`: the commits a push would send."""
    from nexpay_scan.sources.history import HistoryScan
    from nexpay_scan.sources.push import objects_outside_commits, pushed_objects, pushed_revisions

    root = repo_root(args.repo)
    scanner = _scanner(args, root, "pre-push")
    scan = HistoryScan(root, scanner)
    lines: list[str] = []  # git's hook input, when it is read (not under pre-commit)

    def read_lines() -> list[str]:
        lines.extend(_stdin_lines())
        return lines

    for revisions in pushed_revisions(root, args.remote, os.environ, read_lines):
        scan.run(revisions)
    refs, had = pushed_objects(root, args.remote, lines)
    extra = objects_outside_commits(root, scanner, refs, had)
    return _finish(args, scanner, scan.findings() + extra, root)


def pre_receive(args: argparse.Namespace) -> int:
    """`nexpay-scan pre-receive`: a server-side hook that rejects pushes adding a key."""
    from nexpay_scan.sources.history import HistoryScan
    from nexpay_scan.sources.push import objects_outside_commits
    from nexpay_scan.sources.receive import (
        break_glass_reason,
        log_break_glass,
        received_refs,
        received_revisions,
    )

    root = repo_root(args.repo)
    scanner = _scanner(args, root, "pre-push")
    scan = HistoryScan(root, scanner)
    lines = _stdin_lines()
    for revisions in received_revisions(lines):
        scan.run(revisions)
    extra = objects_outside_commits(root, scanner, received_refs(lines), ["--all"])
    code = _finish(args, scanner, scan.findings() + extra, root)
    if code == EXIT_CLEAN:
        return code
    reason = break_glass_reason(os.environ)
    if reason is not None:
        log = log_break_glass(root, os.environ, reason, lines, len(scan.findings()) + len(extra))
        print(
            f"nexpay-scan: push ACCEPTED by break-glass ({reason!r}); logged in {log}. "
            "Revoke the key now all the same.",
            file=sys.stderr,
        )
        return EXIT_CLEAN
    print(
        "nexpay-scan: push rejected: it adds Nexpay credentials (above). Remove them from "
        "the commits (rewrite them before pushing), revoke the keys, and push again. In an "
        'emergency: git push -o nexpay-scan.break-glass="REASON" (logged).',
        file=sys.stderr,
    )
    return code


def _stdin_lines() -> list[str]:
    if sys.stdin is None or sys.stdin.isatty():
        return []
    return sys.stdin.read().splitlines()


def hook(args: argparse.Namespace) -> int:
    """Entry for the pre-commit framework: staged lines in a commit, else the files given."""
    if "GIT_INDEX_FILE" in os.environ:  # git sets it for the hooks of a commit
        return _staged(args, "staged", set(args.filenames) if args.filenames else None)
    from nexpay_scan.sources.files import scan_paths

    root = repo_root(args.repo)
    scanner = _scanner(args, root, "files")
    found = scan_paths(args.filenames, scanner, args.jobs) if args.filenames else []
    return _finish(args, scanner, found, root)


def install_hook(args: argparse.Namespace) -> int:
    """`nexpay-scan install-hook`: plain git hooks for teams without the framework."""
    from nexpay_scan.install import install_hooks

    for line in install_hooks(repo_root(args.repo), pre_push=args.pre_push, force=args.force):
        print(line)
    return EXIT_CLEAN


def ci(args: argparse.Namespace) -> int:
    """`nexpay-scan ci`: the commits of this pull/merge request or push, from the CI's
    environment (GitHub Actions, GitLab CI)."""
    from nexpay_scan.ci import ci_range

    root = repo_root(args.repo)
    scanner = _scanner(args, root, "history")
    revisions = ci_range(root, os.environ, deepen=args.deepen)
    if not args.quiet:
        print(f"nexpay-scan: scanning {' '.join(revisions)}", file=sys.stderr)
    wanted = HistoryRequest(
        revisions=tuple(revisions),
        engine="diff",
        jobs=args.jobs,
        all_occurrences=args.all_occurrences,
        track_places=bool(args.report),
    )
    return _finish(args, scanner, _history_findings(wanted, root, scanner), root)


def baseline(args: argparse.Namespace) -> int:
    """`nexpay-scan baseline create`: today's findings as known, so only new ones fail."""
    from nexpay_scan.sources.files import scan_paths
    from nexpay_scan.suppressions import baseline_text

    root = repo_root(args.repo)
    scanner = _scanner(args, root, args.scan)
    if args.scan == "files":
        found = scan_paths([str(root)], scanner, args.jobs)
    else:
        wanted = HistoryRequest(jobs=args.jobs, all_occurrences=True)
        found = _history_findings(wanted, root, scanner)
    write_atomically(args.output, baseline_text(found))
    if not args.quiet:
        print(f"nexpay-scan: wrote {len(found)} known findings to {args.output} (no secrets in it)")
    return EXIT_CLEAN
