"""What every scanning command does after its scan: the settings in force, suppressions
(trusted side in a range scan), verification, the report, and the exit code."""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Collection, Iterable, Sequence

from nexpay_scan.config import CONFIG_NAME, Settings, load_settings, settings_from
from nexpay_scan.errors import FatalError
from nexpay_scan.findings import (
    LIVE,
    SECRET,
    SUPPRESSION,
    UNKNOWN,
    Finding,
    status_rank,
)
from nexpay_scan.reporters import Report, get_writer
from nexpay_scan.scan import Scanner, Summary

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from typing import TextIO

    from nexpay_scan.commands.options import ScanOptions, VerifyRequest
    from nexpay_scan.paths import StrPath
    from nexpay_scan.progress import Progress
    from nexpay_scan.sources.base import Source, Target
    from nexpay_scan.trust import TrustedSide

EXIT_CLEAN, EXIT_FINDINGS = 0, 1


def make_scanner(
    options: ScanOptions, root: StrPath | None, trusted: TrustedSide | None = None
) -> Scanner:
    """A scanner with the settings in force (see `_settings`)."""
    return Scanner(_settings(options, root, trusted))


def progress_for(options: ScanOptions) -> Progress:
    """A source's progress display: drawn on a terminal unless `--quiet`."""
    from nexpay_scan.progress import Progress  # (a thread: not on the hook's path)

    return Progress("commits", enabled=sys.stderr.isatty() and not options.quiet)


def _settings(options: ScanOptions, root: StrPath | None, trusted: TrustedSide | None) -> Settings:
    """The rules and allowlists in force: the config named or found in the checkout; in a
    range scan, the config as the trusted side has it (see `nexpay_scan.trust`)."""
    config = options.config
    if config is not None and not os.path.isfile(config):
        raise FatalError(f"{config}: config file not found")
    redact = not options.no_redact
    in_repo = _tree_path(root, config, trusted) if config else CONFIG_NAME
    if trusted is None or root is None or in_repo is None:
        return load_settings(root, config, redact=redact)
    from pathlib import Path

    from nexpay_scan.rules import parse_toml_bytes
    from nexpay_scan.suppressions import IGNORE_NAME
    from nexpay_scan.trust import file_at

    raw = file_at(Path(root), trusted, in_repo, also=[IGNORE_NAME])
    source = f"{in_repo} at {trusted.describe()}"
    return settings_from(
        None if raw is None else parse_toml_bytes(raw, source), source, redact=redact
    )


def _tree_path(root: StrPath | None, given: str | None, trusted: TrustedSide | None) -> str | None:
    """Where a file named on the command line sits in the work tree, if it does and the
    scan is a range scan with a work tree: its content is then the change's to decide."""
    if trusted is None or root is None or not given or trusted.bare:
        return None
    from pathlib import Path

    from nexpay_scan.trust import in_tree

    return in_tree(Path(root), given)


def run_scan(source: Source, options: ScanOptions) -> int:
    """What every scanning command does, in this order: the settings in force where the
    source reads, the source's findings, suppressions (`.nexpayscanignore`, `--baseline`),
    verification (`--verify`), the report, and the exit code (`--fail-on`)."""
    started = time.monotonic()
    check_destinations(options.output, options.report)
    target = source.target()
    root, trusted = target.root, target.trusted
    scanner = make_scanner(options, root, trusted)
    gc.enable()  # (off while a hook loads the tool: see `cli.main`)
    findings = source.findings(scanner)
    summary = summarize(source, scanner, started)
    notes: list[str] = []
    _mark_suppressed(options, findings, root, trusted, notes)
    active = [f for f in findings if f.suppression is None]
    suppressed = [f for f in findings if f.suppression is not None]
    summary.suppressed = len(suppressed)
    active.sort(key=lambda f: (f.file, f.line, f.column))
    suppressed.sort(key=lambda f: (f.file, f.line, f.column))
    if options.verify is not None:
        _verify(options.verify, active, scanner, root, source.ranges)
    if scanner.settings.redact:
        redact_names(active + suppressed, scanner.settings, summary)
    report = Report(
        findings=active,
        summary=summary,
        redact=scanner.settings.redact,
        color=_use_color(options),
        quiet=options.quiet,
        rules=scanner.settings.rules,
        suppressed=suppressed,
        notes=notes,
    )
    _write_report(report, options, root)
    code = exit_code(active, options.fail_on, summary)
    _after_blocked(options, summary.mode, active, target, code)
    return code


def redact_names(
    findings: list[Finding], settings: Settings, summary: Summary | None = None
) -> None:
    """The keys in the names that the report, the notes, a baseline and the `last-found`
    cache show, redacted (see `shown_names`): in the findings and in what `summary`
    names as passed over."""
    if not findings and (summary is None or not summary.skipped_items):  # (as a rule)
        return
    from nexpay_scan.rules import rule_prefixes
    from nexpay_scan.shown_names import NameRedactor

    redactor = NameRedactor(rule_prefixes(settings.rules))
    redactor.findings(findings)
    if summary is not None:
        redactor.skipped(summary)


def summarize(source: Source, scanner: Scanner, started: float) -> Summary:
    """The run's summary: the source's counts, the patterns the detector had to stop, and
    the run's mode and start."""
    summary = Summary(source.mode, source.stats, started=started)
    summary.rule_timeouts.update(scanner.detector.timeouts)
    return summary


def _write_report(report: Report, options: ScanOptions, root: StrPath | None) -> None:
    """The report in `--format` to `--output` or standard output (then a text summary on
    standard error), the audit report (`--report`), and in a CI job that asks for them
    (`ci`) GitHub Actions annotations and the job summary."""
    text = get_writer(options.format)(report)
    if options.output:
        write_atomically(options.output, text)
        if options.format != "text" and not options.quiet:
            report.color = _use_color(options)
            _write_to(sys.stderr, get_writer("text")(report))
    else:
        _write_to(sys.stdout, text)
        sys.stdout.flush()
    if options.report:
        _write_audit(options.report, report, root)
    if options.ci_annotations:
        from nexpay_scan.reporters.github import write_to_actions

        report.color = False
        beside = sys.stdout if options.output or options.format == "text" else sys.stderr
        write_to_actions(report, os.environ, beside)


def _after_blocked(
    options: ScanOptions, mode: str, active: list[Finding], target: Target, code: int
) -> None:
    """A run that found something remembers its fingerprints for `ignore --last-found`;
    a blocking one at commit or push time ends with how to go ahead knowingly."""
    secrets = [f for f in active if f.kind != SUPPRESSION]
    if secrets and target.root is not None and options.remember_found:
        from nexpay_scan.known import remember

        remember(target.root, secrets, mode, target.git_dir)
    if code == EXIT_CLEAN:
        return
    from nexpay_scan.reporters.remediation import bypass

    line = bypass(mode, framework="PRE_COMMIT" in os.environ)
    if line:
        print(f"nexpay-scan: {line}", file=sys.stderr)


def _mark_suppressed(
    options: ScanOptions,
    findings: list[Finding],
    root: StrPath | None,
    trusted: TrustedSide | None,
    notes: list[str],
) -> None:
    """Marks findings listed in `.nexpayscanignore` or in the `--baseline` file; in a range
    scan both are read as the trusted side has them."""
    from nexpay_scan.suppressions import (
        IGNORE_NAME,
        mark_known,
        parse_baseline,
        parse_ignore,
        read_baseline,
        read_ignore_file,
    )

    if trusted is None or root is None:
        known = read_ignore_file(root)
        if options.baseline:
            known.update(read_baseline(options.baseline))
        mark_known(findings, known)
        return
    from pathlib import Path

    from nexpay_scan.trust import file_at

    where = trusted.describe()
    _disobey_added_allow_comments(findings, where)
    raw = file_at(Path(root), trusted, IGNORE_NAME)
    known = parse_ignore(raw, f"{IGNORE_NAME} at {where}") if raw is not None else {}
    baseline = options.baseline
    in_repo = _tree_path(root, baseline, trusted)
    if baseline and in_repo is None:
        known.update(read_baseline(baseline))
    elif baseline and in_repo is not None:
        raw = file_at(Path(root), trusted, in_repo)
        if raw is None:
            notes.append(
                f"baseline {in_repo} is not in {where}: not used (a change cannot bring "
                "its own baseline)"
            )
        else:
            known.update(parse_baseline(raw, f"{in_repo} at {where}"))
    mark_known(findings, known)


def _disobey_added_allow_comments(findings: list[Finding], where: str) -> None:
    """A range scan reports keys on the lines its change adds, so an allow comment on such
    a line is the change's own: it is not obeyed (the finding fails the gate, and says so)."""
    for finding in findings:
        if finding.suppression is not None and finding.suppression.kind == "inSource":
            finding.notes.append(
                f"{finding.suppression.justification}: added by the change under scan, so "
                "not obeyed by a range scan; a reviewer must approve it (its fingerprint in "
                f".nexpayscanignore on {where})"
            )
            finding.suppression = None


def suppression_files(options: ScanOptions, root: StrPath, trusted: TrustedSide) -> list[str]:
    """The files in the tree that say what a scan suppresses: a change to one is a finding."""
    from nexpay_scan.suppressions import IGNORE_NAME

    named = (_tree_path(root, given, trusted) for given in (options.config, options.baseline))
    wanted = [CONFIG_NAME, IGNORE_NAME, *(p for p in named if p)]
    return list(dict.fromkeys(wanted))


def _write_audit(name: str, report: Report, root: StrPath | None) -> None:
    from pathlib import Path

    from nexpay_scan.reporters.audit import render_audit

    suffix = os.path.splitext(name)[1].lower()
    folder = Path(root) if root is not None else None
    write_atomically(name, render_audit(report, suffix, folder))


def exit_code(
    findings: list[Finding], fail_on: frozenset[str], summary: Summary | None = None
) -> int:
    """1 when the run has something `--fail-on` fails on, else 0."""
    gaps = summary is not None and bool(summary.gaps)
    statuses = {f.status for f in findings}
    return EXIT_FINDINGS if fails(fail_on, bool(findings), statuses, gaps) else EXIT_CLEAN


def fails(fail_on: frozenset[str], found: bool, statuses: Collection[str], gaps: bool) -> bool:
    """Whether `--fail-on` fails a run (one repository's, or an organization's) that
    `found` something, found keys of `statuses`, and could not read something whole."""
    return (
        ("any" in fail_on and found)
        or (LIVE in fail_on and LIVE in statuses)
        or (UNKNOWN in fail_on and UNKNOWN in statuses)
        or ("skipped" in fail_on and gaps)
    )


def _verify(
    wanted: VerifyRequest,
    findings: list[Finding],
    scanner: Scanner,
    root: StrPath | None,
    ranges: Sequence[Sequence[str]],
) -> None:
    from nexpay_scan.sources.tree_ids import client_ids_at_heads
    from nexpay_scan.verifier.endpoint import DEFAULT_API_BASE
    from nexpay_scan.verifier.verify import VerifyOptions, verify_findings

    options = VerifyOptions(
        api_base=wanted.api_base or os.environ.get("NEXPAY_API_BASE") or DEFAULT_API_BASE,
        concurrency=wanted.concurrency,
        timeout=wanted.timeout,
        deadline=wanted.deadline,
    )
    tree_ids = client_ids_at_heads(root, ranges, scanner) if root is not None else []
    verify_findings(findings, options, tree_client_ids=tree_ids)
    findings.sort(key=lambda f: (status_rank(f.status), f.kind != SECRET))


def _use_color(options: ScanOptions) -> bool:
    stream = sys.stderr if options.output else sys.stdout
    return options.format == "text" and stream.isatty() and "NO_COLOR" not in os.environ


def _write_to(stream: TextIO, text: str | Iterable[str]) -> None:
    """Writes `text`, whole or in pieces (a long report: each piece as it is made)."""
    if isinstance(text, str):
        stream.write(text)
    else:
        stream.writelines(text)


def write_atomically(path: str, text: str | Iterable[str]) -> None:
    """Writes `text` (whole, or in pieces as they are made) to `path` whole or not at all
    (temp file, then rename). A device or a pipe (`/dev/stdout`, a FIFO) is written to
    directly: it cannot be replaced."""

    if os.path.exists(path) and not os.path.isfile(path):
        try:
            with open(path, "w", encoding="utf-8") as stream:
                _write_to(stream, text)
        except OSError as error:
            raise FatalError(f"{path}: cannot write the report ({error.strerror})") from None
        return

    folder, name = os.path.split(path)
    # named before it exists, so that however the write ends (an error, Ctrl-C, SIGTERM
    # arriving anywhere, even inside the call that creates it) the clean-up knows its name
    temp = os.path.join(folder or ".", f".{name}.{os.getpid()}.{os.urandom(4).hex()}")
    try:
        handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            _write_to(stream, text)
        os.replace(temp, path)
    except BaseException as error:
        try:  # noqa: SIM105 - contextlib is not loaded on the hook's path
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise FatalError(f"{path}: cannot write the report ({error.strerror})") from None
        raise


def check_destinations(*paths: str | None) -> None:
    """A report that cannot be written (`--output`, `--report`) fails before the scan, not
    after it: an audit of a long history is not run for nothing. Its folder must exist,
    and it must not be a folder itself."""
    for path in paths:
        if not path:
            continue
        folder = os.path.dirname(path) or "."
        if os.path.isdir(path):
            raise FatalError(f"{path}: cannot write the report (it is a folder: name a file)")
        if not os.path.isdir(folder):
            raise FatalError(
                f"{path}: cannot write the report (no folder {folder}: create it first)"
            )


def stdin_lines() -> list[str]:
    if sys.stdin is None or sys.stdin.isatty():
        return []
    return sys.stdin.read().splitlines()


def check_report_name(options: ScanOptions) -> None:
    """`--report x.txt` fails before the scan, not after it."""
    from nexpay_scan.formats import check_report_suffix

    name = options.report
    if name:
        check_report_suffix(os.path.splitext(name)[1], name)
