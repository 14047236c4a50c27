"""The command line: argparse subcommands behind one error handler (exit 0, 1 or 2)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence
from operator import attrgetter

from nexpay_scan import __version__
from nexpay_scan.commands.options import (
    CiRequest,
    HistoryRequest,
    OrgRequest,
    ScanOptions,
    VerifyRequest,
)
from nexpay_scan.errors import FatalError
from nexpay_scan.formats import FORMATS
from nexpay_scan.records import Record

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from typing import NoReturn

EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED = 2, 130, 143
BYPASS = "To commit anyway, knowingly: git commit --no-verify"
PUSH_BYPASS = "To push anyway, knowingly: git push --no-verify"


class Terminated(BaseException):
    """SIGTERM, raised where the program is, so that every `finally` and clean-up runs
    (a half-written report's temp file is removed) as it does for Ctrl-C."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line and exit 2, like every other error."""

    def error(self, message: str) -> NoReturn:
        raise FatalError(f"{message} (see `{self.prog} --help`)")


_WIDTH: list[int] = []


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, told the terminal width: left to itself it imports `shutil`
    to ask, on every parser set up, and the hook would pay for that at each commit."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_terminal_width())


def _terminal_width() -> int:
    if not _WIDTH:
        try:
            columns = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size().columns
        except (ValueError, OSError):
            columns = 80
        _WIDTH.append(max(columns, 40) - 2)
    return _WIDTH[0]


def _scan_options(parser: argparse.ArgumentParser, *, git: bool = True) -> None:
    if git:
        parser.add_argument("--repo", default=".", metavar="PATH", help="the git repository")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="rules/config file (default: .nexpay-scan.toml at the repository root)",
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format")
    parser.add_argument("--output", metavar="FILE", help="write the report here, not stdout")
    parser.add_argument(
        "--no-redact",
        action="store_true",
        help="show full credentials in the output (never the default)",
    )
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="print only findings (nothing on a clean scan)"
    )
    parser.add_argument(
        "--baseline",
        metavar="FILE",
        help="report only findings not in this baseline (nexpay-scan baseline create)",
    )
    parser.add_argument(
        "--fail-on",
        type=_fail_on,
        default=frozenset({"any"}),
        metavar="WHAT[,WHAT]",
        help="exit 1 on: any finding (default), live (a live key), unknown (a key that could "
        "not be checked), skipped (content not scanned whole); a comma list combines them; "
        "none: never",
    )
    verify = parser.add_argument_group("verification (opt-in: sends found keys to the API)")
    verify.add_argument(
        "--verify",
        action="store_true",
        help="check each found secret with the read-only GET /v2/users/me",
    )
    verify.add_argument(
        "--api-base",
        metavar="URL",
        help="API base URL (default: $NEXPAY_API_BASE or https://api.nexpay.com)",
    )
    verify.add_argument(
        "--verify-concurrency",
        type=_positive_int,
        default=8,
        metavar="N",
        help="requests in flight at once (default 8)",
    )
    verify.add_argument(
        "--verify-timeout",
        type=_positive_float,
        default=5.0,
        metavar="SECONDS",
        help="time-out of one request (default 5)",
    )
    verify.add_argument(
        "--verify-deadline",
        type=_positive_float,
        default=60.0,
        metavar="SECONDS",
        help="time for the whole verification (default 60); keys not checked by then are 'unknown'",
    )


FAIL_ON = ("any", "live", "unknown", "skipped")


def _fail_on(text: str) -> frozenset[str]:
    """`--fail-on live,unknown` as a set; `none` alone is the empty set (never fail)."""
    wanted = {part.strip() for part in text.split(",") if part.strip()}
    if wanted == {"none"}:
        return frozenset()
    unknown = sorted(wanted - set(FAIL_ON))
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(
            f"{text!r}: choose from {', '.join(FAIL_ON)} (comma-separated), or none"
        )
    return frozenset(wanted)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1 or value > 256:
        raise argparse.ArgumentTypeError(f"{text} is not between 1 and 256")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds in (0, 3600]")
    return value


def _default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def _jobs_option(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument(
        "--jobs", type=_positive_int, default=_default_jobs(), metavar="N", help=text
    )


def _history_options(parser: argparse.ArgumentParser, *, ranges: bool = True) -> None:
    parser.add_argument(
        "--all-occurrences",
        action="store_true",
        help="list every occurrence, not only where each key came in",
    )
    parser.add_argument(
        "--report",
        metavar="FILE",
        help="also write an audit report for people: FILE.html or FILE.md",
    )
    _jobs_option(parser, "parallel blob readers for the blob engine (default: cores, at most 4)")
    if not ranges:
        return
    parser.add_argument(
        "--engine",
        choices=("auto", "blob", "diff"),
        default="auto",
        help="how history is read (same findings either way): blob reads each blob the "
        "selection adds once, then parses only the commits adding a key; diff parses "
        "`git log -p`; auto (default) picks the faster for the selection",
    )
    parser.add_argument("--since", metavar="DATE", help="only commits after DATE (git dates)")
    parser.add_argument("--until", metavar="DATE", help="only commits before DATE")
    parser.add_argument(
        "--branch",
        action="append",
        default=[],
        metavar="NAME",
        help="only this branch (repeatable); default: all refs",
    )


def _staged(parser: argparse.ArgumentParser) -> None:
    _scan_options(parser)


def _files(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    _jobs_option(parser, "processes scanning a big tree (default: cores, at most 4)")
    _scan_options(parser)


def _history(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "revisions", nargs="*", metavar="REV", help="revisions or ranges, e.g. origin/main..HEAD"
    )
    _history_options(parser)
    _scan_options(parser)


def _ci(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--deepen", action="store_true", help="fetch more history if too shallow")
    parser.add_argument(
        "--base",
        metavar="REF",
        help="scan REF..HEAD, whatever the CI variables say (any other CI system)",
    )
    _history_options(parser, ranges=False)
    _scan_options(parser)


def _baseline(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, parser_class=_Parser)
    create = actions.add_parser(
        "create", help="write today's findings to a baseline", formatter_class=_Formatter
    )
    create.add_argument(
        "--scan",
        choices=("history", "files"),
        default="history",
        help="what to take in: the whole history (default) or the work tree",
    )
    create.add_argument("--output", default=".nexpay-scan-baseline.json", metavar="FILE")
    create.add_argument("--repo", default=".", metavar="PATH")
    create.add_argument("--config", metavar="FILE")
    create.add_argument("--quiet", "-q", action="store_true")
    create.add_argument("--jobs", type=_positive_int, default=_default_jobs(), metavar="N")
    create.set_defaults(no_redact=False, report=None)
    for name, summary in (
        ("update", "add today's new findings to a baseline"),
        ("prune", "drop the baseline's entries that are no longer found"),
    ):
        edit = actions.add_parser(name, help=summary, formatter_class=_Formatter)
        edit.add_argument(
            "--scan",
            choices=("history", "files"),
            default="history",
            help="what to take in: the whole history (default) or the work tree",
        )
        edit.add_argument(
            "--output", default=".nexpay-scan-baseline.json", metavar="FILE", help="the baseline"
        )
        edit.add_argument("--repo", default=".", metavar="PATH")
        edit.add_argument("--config", metavar="FILE")
        edit.add_argument("--quiet", "-q", action="store_true")
        edit.add_argument("--jobs", type=_positive_int, default=_default_jobs(), metavar="N")
        edit.set_defaults(no_redact=False, report=None)


def _ignore(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--last-found",
        action="store_true",
        required=True,
        help="the findings of the last run that found something in this repository",
    )
    parser.add_argument(
        "--reason", required=True, metavar="TEXT", help="why they may stay (kept beside each)"
    )
    parser.add_argument("--repo", default=".", metavar="PATH")


def _pre_push(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("remote", nargs="?", help="remote name (git passes it to the hook)")
    parser.add_argument("url", nargs="?", help="remote URL (git passes it to the hook)")
    _scan_options(parser)


def _hook(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("filenames", nargs="*", metavar="FILE")
    _jobs_option(parser, "processes scanning the files given, if many (default: cores, at most 4)")
    _scan_options(parser)


def _install_hook(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", default=".", metavar="PATH")
    parser.add_argument("--pre-push", action="store_true", help="also a pre-push hook")
    parser.add_argument(
        "--force",
        action="store_true",
        help="take the place of a foreign hook, which is kept as NAME.legacy and still runs first",
    )
    parser.add_argument(
        "--uninstall",
        action="store_true",
        help="remove nexpay-scan's hooks and put back the ones they replaced",
    )


def _org(parser: argparse.ArgumentParser) -> None:
    which = parser.add_argument_group("repositories (one of)")
    which.add_argument("--repos", metavar="FILE", help="one clone URL or local path per line")
    which.add_argument("--github", metavar="ORG", help="a GitHub organization (GITHUB_TOKEN)")
    which.add_argument(
        "--gitlab", metavar="GROUP", help="a GitLab group, subgroups included (GITLAB_TOKEN)"
    )
    parser.add_argument("--github-api", metavar="URL", help="GitHub Enterprise's API base")
    parser.add_argument("--gitlab-url", metavar="URL", help="a GitLab server (default gitlab.com)")
    parser.add_argument("--include-archived", action="store_true", help="archived ones too")
    parser.add_argument("--include-forks", action="store_true", help="forks too")
    parser.add_argument("--cache", metavar="DIR", help="mirrors and journal (default: user cache)")
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="local processes (default: cores)",
    )
    parser.add_argument(
        "--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask distributed cluster"
    )
    parser.add_argument(
        "--report", metavar="FILE", help="also write the audit report: FILE.html or FILE.md"
    )
    _scan_options(parser, git=False)


def build_parser(command: str = "") -> argparse.ArgumentParser:
    """The command line; given a known `command`, only that subcommand's arguments are set
    up (the hook runs on every commit, and building all of them costs milliseconds)."""
    parser = _Parser(
        prog="nexpay-scan",
        description="Find Nexpay API credentials in git.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"nexpay-scan {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    wanted = [command] if command in COMMANDS else list(COMMANDS)
    for name, entry in COMMANDS.items():
        if name in wanted:
            entry.add_arguments(
                commands.add_parser(name, help=entry.summary, formatter_class=_Formatter)
            )
        else:  # listed in the help and in the choices of an error, not set up
            commands.add_parser(name, help=entry.summary, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; every error becomes a one-line message and an exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args_list if not a.startswith("-")), "")
    if argv is None:  # a real run (not a test calling main): SIGTERM cleans up like Ctrl-C
        signal.signal(signal.SIGTERM, _terminated)
    try:
        args = build_parser(command).parse_args(args_list)
        return _dispatch(args)
    except FatalError as error:
        _print_error(str(error), command)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("nexpay-scan: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("nexpay-scan: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as error:
        if os.environ.get("NEXPAY_SCAN_DEBUG"):
            raise
        _print_error(
            f"internal error ({type(error).__name__}); rerun with NEXPAY_SCAN_DEBUG=1 "
            "to see where (the traceback may show file contents)",
            command,
        )
        return EXIT_ERROR


def _print_error(message: str, command: str) -> None:
    print(f"nexpay-scan: error: {message}", file=sys.stderr)
    if command in ("staged", "hook"):
        print(
            f"nexpay-scan: commit blocked because the scan could not run. {BYPASS}", file=sys.stderr
        )
    elif command == "pre-receive":
        print(
            "nexpay-scan: push rejected because the scan could not run (server-side check); "
            "tell the repository's administrators",
            file=sys.stderr,
        )
    elif command == "pre-push":
        print(
            f"nexpay-scan: push blocked because the scan could not run. {PUSH_BYPASS}",
            file=sys.stderr,
        )


def _dispatch(args: argparse.Namespace) -> int:
    """Runs the command's function, given the records it takes; only its module is
    imported (not importlib either: the hook's path stays light)."""
    entry = COMMANDS[args.command]
    module, function = entry.handler.split(":")
    __import__(module)
    handler: Callable[..., int] = getattr(sys.modules[module], function)
    return handler(*(build(args) for build in entry.given))


def _options(args: argparse.Namespace) -> ScanOptions:
    """The options every scanning command shares, from the command line (a command
    without some of the flags has the defaults: never verify, always redact, ...)."""
    given = vars(args)
    verify = None
    if given.get("verify"):
        verify = VerifyRequest(
            api_base=args.api_base,
            concurrency=args.verify_concurrency,
            timeout=args.verify_timeout,
            deadline=args.verify_deadline,
        )
    fields = {name: given[name] for name in ScanOptions._fields if name in given}
    fields.update(verify=verify)
    return ScanOptions(**fields)


def _history_request(args: argparse.Namespace) -> HistoryRequest:
    return HistoryRequest(
        revisions=tuple(args.revisions),
        engine=args.engine,
        branches=tuple(args.branch),
        since=args.since,
        until=args.until,
        jobs=args.jobs,
        all_occurrences=args.all_occurrences,
        track_places=bool(args.report),
    )


def _ci_request(args: argparse.Namespace) -> CiRequest:
    return CiRequest(deepen=args.deepen, base=args.base, all_occurrences=args.all_occurrences)


def _org_request(args: argparse.Namespace) -> OrgRequest:
    return OrgRequest(**{name: getattr(args, name) for name in OrgRequest._fields})


class Command(Record):
    """A subcommand: its one-line help, what adds its arguments, its function
    ("module:function"), and what that function is given, built from the parsed line."""

    summary: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    handler: str
    given: tuple[Callable[[argparse.Namespace], object], ...] = ()


_HOOK_ARGUMENTS = ("repo", "pre_push", "force", "uninstall")

# Every subcommand, in the order of the help.
COMMANDS: dict[str, Command] = {
    "staged": Command(
        "scan what the next commit adds",
        _staged,
        "nexpay_scan.commands.staged:staged",
        (_options,),
    ),
    "files": Command(
        "scan files and folders on disk (- for stdin)",
        _files,
        "nexpay_scan.commands.files:files",
        (_options, attrgetter("paths")),
    ),
    "history": Command(
        "scan git history (all refs by default)",
        _history,
        "nexpay_scan.commands.history:history",
        (_options, _history_request),
    ),
    "ci": Command(
        "scan this pull/merge request or push, from the CI's variables",
        _ci,
        "nexpay_scan.commands.ci:ci",
        (_options, _ci_request),
    ),
    "baseline": Command(
        "record known findings (no secrets)",
        _baseline,
        "nexpay_scan.commands.baseline:baseline",
        (_options, attrgetter("action"), attrgetter("scan"), attrgetter("output")),
    ),
    "pre-push": Command(
        "scan the commits being pushed",
        _pre_push,
        "nexpay_scan.commands.push:pre_push",
        (_options, attrgetter("remote")),
    ),
    "pre-receive": Command(
        "server-side hook: reject a push whose new commits add a key",
        _staged,
        "nexpay_scan.commands.push:pre_receive",
        (_options,),
    ),
    "hook": Command(
        "entry point for the pre-commit framework",
        _hook,
        "nexpay_scan.commands.hook:hook",
        (_options, attrgetter("filenames")),
    ),
    "install-hook": Command(
        "write a plain git pre-commit hook",
        _install_hook,
        "nexpay_scan.commands.install:install_hook",
        tuple(attrgetter(name) for name in _HOOK_ARGUMENTS),
    ),
    "ignore": Command(
        "list the last blocked run's findings in .nexpayscanignore",
        _ignore,
        "nexpay_scan.commands.ignore:ignore",
        (attrgetter("repo"), attrgetter("reason")),
    ),
    "org": Command(
        "audit every repository of an organization (list, GitHub, GitLab)",
        _org,
        "nexpay_scan.commands.org:org",
        (_options, _org_request),
    ),
}
