"""One function per subcommand: pick a source, scan, report, return the exit code."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from nexpay_scan.config import load_settings
from nexpay_scan.errors import FatalError
from nexpay_scan.findings import Finding
from nexpay_scan.reporters import Report, get_writer
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.git import repo_root

EXIT_CLEAN, EXIT_FINDINGS = 0, 1


def _scanner(args: argparse.Namespace, root: Path | None, mode: str) -> Scanner:
    config = Path(args.config) if args.config else None
    if config is not None and not config.is_file():
        raise FatalError(f"{config}: config file not found")
    scanner = Scanner(load_settings(root, config, redact=not args.no_redact))
    scanner.summary.mode = mode
    return scanner


def _config_root(start: Path) -> Path:
    """Where `.nexpay-scan.toml` is looked for: the enclosing repository, else `start`."""
    if not start.is_dir():
        return Path.cwd()
    try:
        return repo_root(start)
    except FatalError:
        return start


def _finish(args: argparse.Namespace, scanner: Scanner, findings: list[Finding]) -> int:
    findings.sort(key=lambda f: (f.file, f.line, f.column))
    if args.verify:
        _verify(args, findings)
    report = Report(
        findings=findings,
        summary=scanner.summary,
        redact=scanner.settings.redact,
        color=_use_color(args),
        quiet=args.quiet,
    )
    text = get_writer(args.format)(report)
    if args.output:
        write_atomically(Path(args.output), text)
        if args.format != "text" and not args.quiet:
            report.color = _use_color(args)
            sys.stderr.write(get_writer("text")(report))
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return exit_code(findings, args.fail_on)


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
    findings.sort(key=lambda f: order.get(f.status, 2))


def _use_color(args: argparse.Namespace) -> bool:
    stream = sys.stderr if args.output else sys.stdout
    return args.format == "text" and stream.isatty() and "NO_COLOR" not in os.environ


def write_atomically(path: Path, text: str) -> None:
    """Writes `text` to `path` whole or not at all (temp file, then rename)."""
    folder = path.parent if str(path.parent) else Path()
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as error:
        raise FatalError(f"{path}: cannot write the report ({error.strerror})") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temp, path)
    except BaseException as error:
        Path(temp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise FatalError(f"{path}: cannot write the report ({error.strerror})") from None
        raise


def staged(args: argparse.Namespace) -> int:
    """`nexpay-scan staged`: the lines the next commit adds."""
    from nexpay_scan.sources.staged import scan_staged

    root = repo_root(Path(args.repo))
    scanner = _scanner(args, root, "staged")
    return _finish(args, scanner, scan_staged(root, scanner))


def files(args: argparse.Namespace) -> int:
    """`nexpay-scan files PATH...`: files and folders as they are on disk."""
    from nexpay_scan.sources.files import scan_paths

    first = Path(next((p for p in args.paths if p != "-"), "."))
    scanner = _scanner(args, _config_root(first if first.is_dir() else first.parent), "files")
    return _finish(args, scanner, scan_paths(args.paths, scanner))


def history(args: argparse.Namespace) -> int:
    """`nexpay-scan history [REV...]`: each secret once, where it came in."""
    from nexpay_scan.sources.history import HistoryScan, log_revisions

    root = repo_root(Path(args.repo))
    scanner = _scanner(args, root, "history")
    scan = HistoryScan(root, scanner, all_occurrences=args.all_occurrences)
    rev_args = log_revisions(args.revisions)
    engine = args.engine
    if engine == "auto":
        engine = "diff" if args.revisions else "blob"
    if engine == "blob":
        return _finish(args, scanner, scan.run_blobs(rev_args, args.jobs))
    return _finish(args, scanner, scan.run(rev_args))


def pre_push(args: argparse.Namespace) -> int:
    """`nexpay-scan pre-push`: the commits a push would send."""
    from nexpay_scan.sources.history import HistoryScan
    from nexpay_scan.sources.push import pushed_revisions

    root = repo_root(Path(args.repo))
    scanner = _scanner(args, root, "pre-push")
    scan = HistoryScan(root, scanner)
    for revisions in pushed_revisions(root, args.remote, os.environ, _stdin_lines):
        scan.run(revisions)
    return _finish(args, scanner, scan.findings())


def _stdin_lines() -> list[str]:
    if sys.stdin is None or sys.stdin.isatty():
        return []
    return sys.stdin.read().splitlines()


def hook(args: argparse.Namespace) -> int:
    """Entry for the pre-commit framework: staged lines in a commit, else the files given."""
    root = repo_root(Path(args.repo))
    scanner = _scanner(args, root, "staged")
    if "GIT_INDEX_FILE" in os.environ:  # git sets it for the hooks of a commit
        from nexpay_scan.sources.staged import scan_staged

        only = set(args.filenames) if args.filenames else None
        return _finish(args, scanner, scan_staged(root, scanner, only))
    from nexpay_scan.sources.files import scan_paths

    scanner.summary.mode = "files"
    return _finish(args, scanner, scan_paths(args.filenames, scanner) if args.filenames else [])


def install_hook(args: argparse.Namespace) -> int:
    """`nexpay-scan install-hook`: plain git hooks for teams without the framework."""
    from nexpay_scan.install import install_hooks

    for line in install_hooks(repo_root(Path(args.repo)), pre_push=args.pre_push, force=args.force):
        print(line)
    return EXIT_CLEAN
