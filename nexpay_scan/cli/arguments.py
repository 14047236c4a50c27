"""The command line's arguments: argparse set up one subcommand at a time, the value types
of its flags, and the groups of flags commands share (scan, history, jobs). Each function
named after a command adds that command's arguments; `registry.COMMANDS` lists them."""

from __future__ import annotations

import argparse
import os

from nexpay_scan.cli.plain import default_jobs
from nexpay_scan.errors import FatalError
from nexpay_scan.formats import FORMATS

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line and exit 2, like every other error."""

    def error(self, message: str) -> NoReturn:
        raise FatalError(f"{message} (see `{self.prog} --help`)")


_WIDTH: list[int] = []


class Formatter(argparse.HelpFormatter):
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


def scan_options(parser: argparse.ArgumentParser, *, git: bool = True) -> None:
    """The flags of every scanning command: repository, config, output, suppressions,
    `--fail-on` and verification (`git=False`: no `--repo`, for `org`)."""
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
        type=fail_on,
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
        type=positive_int,
        default=8,
        metavar="N",
        help="requests in flight at once (default 8)",
    )
    verify.add_argument(
        "--verify-timeout",
        type=positive_float,
        default=5.0,
        metavar="SECONDS",
        help="time-out of one request (default 5)",
    )
    verify.add_argument(
        "--verify-deadline",
        type=positive_float,
        default=60.0,
        metavar="SECONDS",
        help="time for the whole verification (default 60); keys not checked by then are 'unknown'",
    )


FAIL_ON = ("any", "live", "unknown", "skipped")


def fail_on(text: str) -> frozenset[str]:
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


def positive_int(text: str) -> int:
    """A count flag (`--jobs`, `--workers`): 1 to 256, else a one-line error."""
    value = int(text)
    if value < 1 or value > 256:
        raise argparse.ArgumentTypeError(f"{text} is not between 1 and 256")
    return value


def positive_float(text: str) -> float:
    """A time flag in seconds: in (0, 3600], else a one-line error."""
    value = float(text)
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds in (0, 3600]")
    return value


def jobs_option(parser: argparse.ArgumentParser, text: str) -> None:
    """`--jobs N`, described by `text`."""
    parser.add_argument("--jobs", type=positive_int, default=default_jobs(), metavar="N", help=text)


def history_options(parser: argparse.ArgumentParser, *, ranges: bool = True) -> None:
    """The flags of a history scan: occurrences, the audit report, jobs; with `ranges`,
    the engine and what part of the history (dates, branches)."""
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
    jobs_option(parser, "parallel blob readers for the blob engine (default: cores, at most 4)")
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
    parser.add_argument(
        "--since",
        metavar="DATE",
        help="only commits after DATE (git dates; a bare YYYY-MM-DD is that day's start)",
    )
    parser.add_argument(
        "--until",
        metavar="DATE",
        help="only commits before DATE (a bare YYYY-MM-DD: through that day's end)",
    )
    parser.add_argument(
        "--branch",
        action="append",
        default=[],
        metavar="NAME",
        help="only this branch (repeatable); default: all refs",
    )


def staged(parser: argparse.ArgumentParser) -> None:
    """`staged` (and `pre-receive`): the scan flags alone."""
    scan_options(parser)


def files(parser: argparse.ArgumentParser) -> None:
    """`files PATH...`."""
    parser.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    jobs_option(parser, "processes scanning a big tree (default: cores, at most 4)")
    scan_options(parser)


def history(parser: argparse.ArgumentParser) -> None:
    """`history [REV...]`."""
    parser.add_argument(
        "revisions", nargs="*", metavar="REV", help="revisions or ranges, e.g. origin/main..HEAD"
    )
    history_options(parser)
    scan_options(parser)


def ci(parser: argparse.ArgumentParser) -> None:
    """`ci`: the range comes from the CI's variables, or `--base`."""
    parser.add_argument("--deepen", action="store_true", help="fetch more history if too shallow")
    parser.add_argument(
        "--base",
        metavar="REF",
        help="scan REF..HEAD, whatever the CI variables say (any other CI system)",
    )
    history_options(parser, ranges=False)
    scan_options(parser)


def baseline(parser: argparse.ArgumentParser) -> None:
    """`baseline create|update|prune`."""
    actions = parser.add_subparsers(dest="action", required=True, parser_class=Parser)
    create = actions.add_parser(
        "create", help="write today's findings to a baseline", formatter_class=Formatter
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
    create.add_argument("--jobs", type=positive_int, default=default_jobs(), metavar="N")
    create.set_defaults(no_redact=False, report=None)
    for name, summary in (
        ("update", "add today's new findings to a baseline"),
        ("prune", "drop the baseline's entries that are no longer found"),
    ):
        edit = actions.add_parser(name, help=summary, formatter_class=Formatter)
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
        edit.add_argument("--jobs", type=positive_int, default=default_jobs(), metavar="N")
        edit.set_defaults(no_redact=False, report=None)


def ignore(parser: argparse.ArgumentParser) -> None:
    """`ignore --last-found --reason TEXT`."""
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


def pre_push(parser: argparse.ArgumentParser) -> None:
    """`pre-push [REMOTE [URL]]`, as git calls the hook."""
    parser.add_argument("remote", nargs="?", help="remote name (git passes it to the hook)")
    parser.add_argument("url", nargs="?", help="remote URL (git passes it to the hook)")
    scan_options(parser)


def hook(parser: argparse.ArgumentParser) -> None:
    """`hook FILE...`, as the pre-commit framework calls it."""
    parser.add_argument("filenames", nargs="*", metavar="FILE")
    jobs_option(parser, "processes scanning the files given, if many (default: cores, at most 4)")
    scan_options(parser)


def commit_msg(parser: argparse.ArgumentParser) -> None:
    """`commit-msg FILE`, as git calls the hook."""
    parser.add_argument(
        "message", metavar="FILE", help="the file holding the commit message (git passes it)"
    )
    scan_options(parser)


def install_hook(parser: argparse.ArgumentParser) -> None:
    """`install-hook`."""
    parser.add_argument("--repo", default=".", metavar="PATH")
    parser.add_argument("--pre-push", action="store_true", help="also a pre-push hook")
    parser.add_argument(
        "--commit-msg",
        action="store_true",
        help="also a commit-msg hook (a key in the commit message)",
    )
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


def org(parser: argparse.ArgumentParser) -> None:
    """`org`: which repositories, where to keep mirrors, where to run, and the scan flags."""
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
        type=positive_int,
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
    scan_options(parser, git=False)
