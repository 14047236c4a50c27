"""One function per subcommand: pick a source, scan, report, return the exit code."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Collection, Sequence

from nexpay_scan.config import CONFIG_NAME, Settings, builtin_rules, load_settings, settings_from
from nexpay_scan.errors import FatalError
from nexpay_scan.findings import LIVE, STATUS_ORDER, UNKNOWN, UNVERIFIED, Finding
from nexpay_scan.progress import Progress
from nexpay_scan.records import Record
from nexpay_scan.reporters import Report, get_writer
from nexpay_scan.scan import Scanner, Summary
from nexpay_scan.sources.git import repo_root

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from pathlib import Path

    from nexpay_scan.paths import StrPath
    from nexpay_scan.trust import TrustedSide

EXIT_CLEAN, EXIT_FINDINGS = 0, 1


def _scanner(
    args: argparse.Namespace,
    root: StrPath | None,
    mode: str,
    trusted: TrustedSide | None = None,
) -> Scanner:
    scanner = Scanner(_settings(args, root, trusted))
    scanner.summary.mode = mode
    quiet = getattr(args, "quiet", False)
    scanner.progress = Progress("commits", enabled=sys.stderr.isatty() and not quiet)
    return scanner


def _settings(
    args: argparse.Namespace, root: StrPath | None, trusted: TrustedSide | None
) -> Settings:
    """The rules and allowlists in force: the config named or found in the checkout; in a
    range scan, the config as the trusted side has it (see `nexpay_scan.trust`)."""
    config = args.config
    if config is not None and not os.path.isfile(config):
        raise FatalError(f"{config}: config file not found")
    redact = not args.no_redact
    in_repo = _tree_path(root, config, trusted) if config else CONFIG_NAME
    if trusted is None or root is None or in_repo is None:
        return load_settings(root, config, redact=redact)
    from pathlib import Path

    from nexpay_scan.rules import parse_toml_bytes
    from nexpay_scan.trust import file_at

    raw = file_at(Path(root), trusted, in_repo)
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


def _config_root(start: str) -> StrPath:
    """Where `.nexpay-scan.toml` is looked for: the enclosing repository, else `start`."""
    if not os.path.isdir(start):
        return os.getcwd()
    try:
        return repo_root(start)
    except FatalError:
        return start


def _finish(
    args: argparse.Namespace,
    scanner: Scanner,
    findings: list[Finding],
    root: StrPath | None,
    trusted: TrustedSide | None = None,
    ranges: Sequence[Sequence[str]] = (),  # a range scan's revisions: its heads' client IDs
) -> int:
    """Suppressions, verification, the report, and the exit code."""
    notes: list[str] = []
    _mark_suppressed(args, findings, root, trusted, notes)
    active = [f for f in findings if f.suppression is None]
    suppressed = [f for f in findings if f.suppression is not None]
    scanner.summary.suppressed = len(suppressed)
    active.sort(key=lambda f: (f.file, f.line, f.column))
    suppressed.sort(key=lambda f: (f.file, f.line, f.column))
    if args.verify:
        _verify(args, active, scanner, root, ranges)
    report = Report(
        findings=active,
        summary=scanner.summary,
        redact=scanner.settings.redact,
        color=_use_color(args),
        quiet=args.quiet,
        rules=scanner.settings.rules,
        suppressed=suppressed,
        notes=notes,
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
    if getattr(args, "command", "") == "ci":
        from nexpay_scan.reporters.github import write_to_actions

        report.color = False
        beside = sys.stdout if args.output or args.format == "text" else sys.stderr
        write_to_actions(report, os.environ, beside)
    code = exit_code(active, args.fail_on, scanner.summary)
    _after_blocked(args, scanner.summary.mode, active, root, code)
    return code


def _after_blocked(
    args: argparse.Namespace, mode: str, active: list[Finding], root: StrPath | None, code: int
) -> None:
    """A run that found something remembers its fingerprints for `ignore --last-found`;
    a blocking one at commit or push time ends with how to go ahead knowingly."""
    secrets = [f for f in active if f.kind != "suppression"]
    if secrets and root is not None and getattr(args, "command", "") != "pre-receive":
        from nexpay_scan.known import remember

        remember(root, secrets, mode)
    if code == EXIT_CLEAN:
        return
    from nexpay_scan.reporters.remediation import bypass

    line = bypass(mode, framework="PRE_COMMIT" in os.environ)
    if line:
        print(f"nexpay-scan: {line}", file=sys.stderr)


def _mark_suppressed(
    args: argparse.Namespace,
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
        if args.baseline:
            known.update(read_baseline(args.baseline))
        mark_known(findings, known)
        return
    from pathlib import Path

    from nexpay_scan.trust import file_at

    where = trusted.describe()
    _disobey_added_allow_comments(findings, where)
    raw = file_at(Path(root), trusted, IGNORE_NAME)
    known = parse_ignore(raw, f"{IGNORE_NAME} at {where}") if raw is not None else {}
    baseline = getattr(args, "baseline", None)
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


def _suppression_files(args: argparse.Namespace, root: StrPath, trusted: TrustedSide) -> list[str]:
    """The files in the tree that say what a scan suppresses: a change to one is a finding."""
    from nexpay_scan.suppressions import IGNORE_NAME

    named = (
        _tree_path(root, getattr(args, name, None), trusted) for name in ("config", "baseline")
    )
    wanted = [CONFIG_NAME, IGNORE_NAME, *(p for p in named if p)]
    return list(dict.fromkeys(wanted))


def _write_audit(args: argparse.Namespace, report: Report, root: StrPath | None) -> None:
    from pathlib import Path

    from nexpay_scan.reporters.audit import render_audit

    suffix = os.path.splitext(args.report)[1].lower()
    folder = Path(root) if root is not None else None
    write_atomically(args.report, render_audit(report, suffix, folder))


def exit_code(
    findings: list[Finding], fail_on: frozenset[str], summary: Summary | None = None
) -> int:
    """1 when the run has something `--fail-on` fails on, else 0."""
    if "any" in fail_on and findings:
        return EXIT_FINDINGS
    if "live" in fail_on and any(f.status == LIVE for f in findings):
        return EXIT_FINDINGS
    if "unknown" in fail_on and any(f.status == UNKNOWN for f in findings):
        return EXIT_FINDINGS
    if "skipped" in fail_on and summary is not None and summary.gaps:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _verify(
    args: argparse.Namespace,
    findings: list[Finding],
    scanner: Scanner,
    root: StrPath | None,
    ranges: Sequence[Sequence[str]],
) -> None:
    from nexpay_scan.sources.tree_ids import client_ids_at_heads
    from nexpay_scan.verifier.endpoint import DEFAULT_API_BASE
    from nexpay_scan.verifier.verify import VerifyOptions, verify_findings

    options = VerifyOptions(
        api_base=args.api_base or os.environ.get("NEXPAY_API_BASE") or DEFAULT_API_BASE,
        concurrency=args.verify_concurrency,
        timeout=args.verify_timeout,
        deadline=args.verify_deadline,
    )
    tree_ids = client_ids_at_heads(root, ranges, scanner) if root is not None else []
    verify_findings(findings, options, tree_client_ids=tree_ids)
    order = {status: rank for rank, status in enumerate(STATUS_ORDER)}
    findings.sort(key=lambda f: (order.get(f.status, order[UNVERIFIED]), f.kind != "secret"))


def _use_color(args: argparse.Namespace) -> bool:
    stream = sys.stderr if args.output else sys.stdout
    return args.format == "text" and stream.isatty() and "NO_COLOR" not in os.environ


def write_atomically(path: str, text: str) -> None:
    """Writes `text` to `path` whole or not at all (temp file, then rename). A device or a
    pipe (`/dev/stdout`, a FIFO) is written to directly: it cannot be replaced."""

    if os.path.exists(path) and not os.path.isfile(path):
        try:
            with open(path, "w", encoding="utf-8") as stream:
                stream.write(text)
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
            stream.write(text)
        os.replace(temp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
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
    base = os.fspath(root) if _in_repository(root) else None  # else the current folder
    return _finish(args, scanner, scan_paths(args.paths, scanner, args.jobs, base), root)


def _in_repository(folder: StrPath) -> bool:
    try:
        return os.path.samefile(repo_root(folder), folder)
    except (FatalError, OSError):
        return False


def history(args: argparse.Namespace) -> int:
    """`nexpay-scan history [REV...]`: each secret once, where it came in."""
    from nexpay_scan.trust import range_base

    root = repo_root(args.repo)
    _check_report_name(args)
    _check_dates(root, args.since, args.until)
    trusted = range_base(root, args.revisions)
    scanner = _scanner(args, root, "history", trusted)
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
    findings = _history_findings(wanted, root, scanner)
    _link_findings(root, findings)
    findings += _suppression_changes(args, root, wanted.revisions, trusted)
    return _finish(args, scanner, findings, root, trusted, [wanted.revisions])


def _suppression_changes(
    args: argparse.Namespace, root: Path, revisions: Sequence[str], trusted: TrustedSide | None
) -> list[Finding]:
    """In a range scan, a finding for each suppression file the range edits."""
    if trusted is None:
        return []
    from nexpay_scan.sources.history import log_revisions
    from nexpay_scan.trust import suppression_changes

    files = _suppression_files(args, root, trusted)
    return suppression_changes(root, log_revisions(revisions), files, trusted)


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
    from nexpay_scan.sources.history import WHOLE_HISTORY, HistoryScan, log_revisions

    scan = HistoryScan(root, scanner, all_occurrences=wanted.all_occurrences)
    scan.track_places = wanted.track_places
    branches = [f"refs/heads/{b}" for b in wanted.branches]
    rev_args = log_revisions([*branches, *wanted.revisions])
    dates = (("since", wanted.since), ("until", wanted.until))
    filters = [f"--{name}={value}" for name, value in dates if value]
    engine = wanted.engine
    if engine == "auto":  # the blob route covers whole histories only
        engine = "blob" if rev_args == list(WHOLE_HISTORY) and not filters else "diff"
    elif engine == "blob" and (rev_args != list(WHOLE_HISTORY) or filters):
        raise FatalError(
            "--engine blob scans the whole history: drop REV, --branch, --since, --until"
        )
    if engine == "blob":
        _expect_blob_bytes(root, scanner)
        findings = scan.run_blobs(rev_args, wanted.jobs)
    else:
        findings = scan.run([*filters, *rev_args])
    if scan.track_places:
        scan.mark_at_head(findings)
        _mark_at_tips(root, findings)
        from nexpay_scan.sources.removals import mark_left

        mark_left(root, findings)
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
    scan.tags_of_range = False  # the tags pushed are named in the hook's input
    lines: list[str] = []  # git's hook input, when it is read (not under pre-commit)

    def read_lines() -> list[str]:
        lines.extend(_stdin_lines())
        return lines

    pushed = list(pushed_revisions(root, args.remote, os.environ, read_lines))
    for revisions in pushed:
        scan.run(revisions)
    refs, had = pushed_objects(root, args.remote, lines)
    scan.scan_tags([(_tag_name(ref), sha) for ref, sha in refs])
    extra = objects_outside_commits(root, scanner, refs, had)
    return _finish(args, scanner, scan.findings() + extra, root, None, pushed)


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
    from nexpay_scan.trust import receiving_side, suppression_changes

    root = repo_root(args.repo)
    lines = _stdin_lines()
    trusted = receiving_side(root, [line.split(" ", 1)[0] for line in lines])
    scanner = _scanner(args, root, "pre-receive", trusted)
    scan = HistoryScan(root, scanner)
    scan.tags_of_range = False  # a pushed tag is no ref yet: named in the hook's input
    changes: list[Finding] = []
    received = list(received_revisions(lines))
    for revisions in received:
        scan.run(revisions)
        if trusted is not None:
            files = _suppression_files(args, root, trusted)
            changes += suppression_changes(root, revisions, files, trusted)
    scan.scan_tags([(_tag_name(ref), sha) for ref, sha in received_refs(lines)])
    extra = objects_outside_commits(root, scanner, received_refs(lines), ["--all"])
    findings = scan.findings() + extra + list({f.file: f for f in changes}.values())
    code = _finish(args, scanner, findings, root, trusted, received)
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


def _tag_name(ref: str) -> str:
    return ref.removeprefix("refs/tags/")


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
    found = (
        scan_paths(args.filenames, scanner, args.jobs, os.fspath(root)) if args.filenames else []
    )
    return _finish(args, scanner, found, root)


def install_hook(args: argparse.Namespace) -> int:
    """`nexpay-scan install-hook`: plain git hooks for teams without the framework."""
    from nexpay_scan.install import install_hooks

    if args.uninstall:
        from nexpay_scan.install import uninstall_hooks

        lines = uninstall_hooks(repo_root(args.repo))
    else:
        lines = install_hooks(repo_root(args.repo), pre_push=args.pre_push, force=args.force)
    for line in lines:
        print(line)
    return EXIT_CLEAN


def ci(args: argparse.Namespace) -> int:
    """`nexpay-scan ci`: the commits of this pull/merge request or push, from the CI's
    environment (GitHub Actions, GitLab CI)."""
    from nexpay_scan.ci import ci_range
    from nexpay_scan.trust import range_base

    root = repo_root(args.repo)
    _check_report_name(args)
    planned = ci_range(root, os.environ, deepen=args.deepen, base=args.base)
    revisions = planned.revisions
    if not args.quiet:
        print(f"nexpay-scan: {planned.described}", file=sys.stderr)
    if not revisions:
        return EXIT_CLEAN
    trusted = range_base(root, revisions)
    scanner = _scanner(args, root, "history", trusted)
    wanted = HistoryRequest(
        revisions=tuple(revisions),
        engine="diff",
        jobs=args.jobs,
        all_occurrences=args.all_occurrences,
        track_places=bool(args.report),
    )
    findings = _history_findings(wanted, root, scanner)
    _link_findings(root, findings)
    findings += _suppression_changes(args, root, wanted.revisions, trusted)
    return _finish(args, scanner, findings, root, trusted, [revisions])


def _link_findings(root: Path, findings: list[Finding]) -> None:
    """A note on each finding with its commit and line on the hosting platform, when the
    CI's variables or the `origin` URL say which."""
    from nexpay_scan.ci import web_links

    links = web_links(root, os.environ)
    if links is None:
        return
    for finding in findings:
        if finding.commit and not finding.unreachable:
            sha = finding.commit.sha
            finding.notes.append(
                f"on {links.platform}: {links.file_url(sha, finding.file, finding.line)} "
                f"(commit {links.commit_url(sha)})"
            )


def baseline(args: argparse.Namespace) -> int:
    """`nexpay-scan baseline create`: today's findings as known, so only new ones fail."""
    from nexpay_scan.suppressions import baseline_text

    root = repo_root(args.repo)
    if args.action in ("update", "prune"):
        return _baseline_edit(args, root)
    found = _baseline_findings(args, root)
    write_atomically(args.output, baseline_text(found))
    if not args.quiet:
        print(f"nexpay-scan: wrote {len(found)} known findings to {args.output} (no secrets in it)")
    return EXIT_CLEAN


def _baseline_findings(args: argparse.Namespace, root: Path) -> list[Finding]:
    """Today's findings, as `baseline create` takes them in."""
    from nexpay_scan.sources.files import scan_paths

    scanner = _scanner(args, root, args.scan)
    if args.scan == "files":
        return scan_paths([str(root)], scanner, args.jobs, str(root))
    return _history_findings(HistoryRequest(jobs=args.jobs, all_occurrences=True), root, scanner)


def _baseline_edit(args: argparse.Namespace, root: Path) -> int:
    """`baseline update` adds today's new findings; `baseline prune` drops the entries no
    longer found. Either way only fingerprints and digests are written."""
    from nexpay_scan.known import merged_baseline

    try:
        with open(args.output, "rb") as stream:
            raw = stream.read()
    except FileNotFoundError:
        raise FatalError(
            f"{args.output}: baseline not found (create one: nexpay-scan baseline create)"
        ) from None
    except OSError as error:
        raise FatalError(f"{args.output}: cannot read ({error.strerror})") from None
    found = _baseline_findings(args, root)
    text, added, dropped = merged_baseline(raw, args.output, found, prune=args.action == "prune")
    write_atomically(args.output, text)
    if not args.quiet:
        what = f"added {added} new" if args.action == "update" else f"dropped {dropped}"
        print(f"nexpay-scan: {what} findings in {args.output} (no secrets in it)")
    return EXIT_CLEAN


def ignore(args: argparse.Namespace) -> int:
    """`nexpay-scan ignore --last-found --reason TEXT`: lists the findings of the last run
    that found something in `.nexpayscanignore`, each with the reason and the date."""
    from nexpay_scan.known import add_to_ignore, read_last_found
    from nexpay_scan.suppressions import IGNORE_NAME

    root = repo_root(args.repo)
    entries = read_last_found(root)
    added = add_to_ignore(root, entries, args.reason)
    print(
        f"nexpay-scan: added {added} of {len(entries)} findings to {IGNORE_NAME} "
        f"({len(entries) - added} already listed); commit it for review"
    )
    return EXIT_CLEAN


def org(args: argparse.Namespace) -> int:
    """`nexpay-scan org`: the history of every repository of an organization, merged."""
    if args.format not in ("text", "json", "sarif"):
        raise FatalError(f"org: --format {args.format} is not supported (text, json or sarif)")
    if args.baseline:
        raise FatalError("org: --baseline is not supported (each repository has its own)")
    from nexpay_scan.org.audit import run_org

    return run_org(args)


def _check_report_name(args: argparse.Namespace) -> None:
    """`--report x.txt` fails before the scan, not after it."""
    from nexpay_scan.formats import check_report_suffix

    name = getattr(args, "report", None)
    if name:
        check_report_suffix(os.path.splitext(name)[1], name)


# approxidate's words (git's date.c): anything else in a date is ignored by git, silently
def _words(text: str) -> list[str]:
    return text.split()


_DATE_WORDS = frozenset(
    _words(
        "now today yesterday noon midnight tea am pm ago last never at and of the a an "
        "second seconds minute minutes hour hours day days week weeks fortnight fortnights "
        "month months year years zero one two three four five six seven eight nine ten "
        "utc gmt ut z t cet cest est edt cst cdt mst mdt pst pdt bst ist jst"
    )
)
_DATE_NAMES = _words(
    "january february march april may june july august september october november december "
    "sunday monday tuesday wednesday thursday friday saturday"
)


def _check_dates(root: Path, *dates: str | None) -> None:
    """`--since`/`--until` that git would read as "now" (a word it does not know) is an
    error, not a scan of nothing that passes."""
    import re

    for value in dates:
        if value is None:
            continue
        words = [w.lower() for w in re.findall(r"[A-Za-z]+", value)]
        unknown = [w for w in words if w not in _DATE_WORDS and not _is_date_name(w)]
        if unknown or not value.strip() or not (words or re.search(r"\d", value)):
            raise FatalError(
                f"{value!r} is not a date git understands ({', '.join(unknown) or 'empty'}): "
                "use e.g. 2024-05-01, '2 weeks ago', yesterday"
            )


def _is_date_name(word: str) -> bool:
    """A month or weekday, whole or cut to three letters or more (as git reads them)."""
    return len(word) >= 3 and any(name.startswith(word) for name in _DATE_NAMES)


def _expect_blob_bytes(root: Path, scanner: Scanner) -> None:
    """The progress display's total for the blob route, known before it starts: the
    bytes of every blob it will read (the same listing it makes, counted first)."""
    progress = scanner.progress
    if not progress.enabled:
        return
    from nexpay_scan.sources.git import run_git

    listing = run_git(
        root,
        "cat-file",
        "--batch-all-objects",
        "--unordered",
        "--batch-check=%(objecttype) %(objectsize)",
    )
    limit = scanner.settings.max_file_size
    total = 0
    for line in listing.split(b"\n"):
        if line.startswith(b"blob "):
            size = int(line[5:])
            total += size if size <= limit else 0
    progress.expect(total, "bytes")


def _mark_at_tips(root: Path, findings: list[Finding]) -> None:
    """For the audit report: every branch and tag tip whose files still hold the key,
    named (a key removed at HEAD but still at the tip of `feature` is not gone)."""
    from nexpay_scan.sources.git import BlobReader, run_git

    listed = run_git(
        root,
        "for-each-ref",
        "--format=%(objectname) %(*objectname) %(refname:short)",
        "refs/heads",
        "refs/tags",
    ).decode(errors="replace")
    tips: list[tuple[str, str]] = []
    for line in listed.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            tips.append((parts[1] or parts[0], parts[2]))
    with BlobReader(root) as blobs:
        for finding in findings:
            if finding.unreachable:
                continue
            paths = sorted({p for _, p, _ in finding.places} or {finding.file})
            value = finding.secret.reveal().encode()
            where = [
                name
                for commit, name in tips
                if any(
                    value in (blobs.read(f"{commit}:{path}") or b"")
                    for path in paths
                    if "\n" not in path
                )
            ]
            finding.present_at = where
