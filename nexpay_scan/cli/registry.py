"""Every subcommand in one table (`COMMANDS`): its help line, what adds its arguments, the
function that runs it ("module:function", imported only when it runs) and the typed records
that function is given, built here from the parsed command line."""

from __future__ import annotations

from operator import attrgetter

from nexpay_scan.commands.options import (
    CiRequest,
    HistoryRequest,
    OrgRequest,
    ScanOptions,
    VerifyRequest,
)
from nexpay_scan.records import Record

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from nexpay_scan.cli.plain import Namespace

    # a command line read by argparse, or by `cli.plain` (a hook's, in its plain forms)
    Parsed = argparse.Namespace | Namespace


def scan_options(args: Parsed) -> ScanOptions:
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


def history_request(args: Parsed) -> HistoryRequest:
    """`history`'s revisions, engine and filters."""
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


def ci_request(args: Parsed) -> CiRequest:
    """`ci`'s own flags."""
    return CiRequest(deepen=args.deepen, base=args.base, all_occurrences=args.all_occurrences)


def org_request(args: Parsed) -> OrgRequest:
    """`org`'s own flags."""
    return OrgRequest(**{name: getattr(args, name) for name in OrgRequest._fields})


class Command(Record):
    """A subcommand: its one-line help, the function of `cli.arguments` that adds its
    arguments (by name: argparse is loaded only when a parser is built), its function
    ("module:function"), and what that function is given, built from the parsed line."""

    summary: str
    add_arguments: str
    handler: str
    given: tuple[Callable[[Parsed], object], ...] = ()


_HOOK_ARGUMENTS = ("repo", "pre_push", "commit_msg", "force", "uninstall")

# Every subcommand, in the order of the help.
COMMANDS: dict[str, Command] = {
    "staged": Command(
        "scan what the next commit adds",
        "staged",
        "nexpay_scan.commands.staged:staged",
        (scan_options,),
    ),
    "files": Command(
        "scan files and folders on disk (- for stdin)",
        "files",
        "nexpay_scan.commands.files:files",
        (scan_options, attrgetter("paths")),
    ),
    "history": Command(
        "scan git history (all refs by default)",
        "history",
        "nexpay_scan.commands.history:history",
        (scan_options, history_request),
    ),
    "ci": Command(
        "scan this pull/merge request or push, from the CI's variables",
        "ci",
        "nexpay_scan.commands.ci:ci",
        (scan_options, ci_request),
    ),
    "baseline": Command(
        "record known findings (no secrets)",
        "baseline",
        "nexpay_scan.commands.baseline:baseline",
        (scan_options, attrgetter("action"), attrgetter("scan"), attrgetter("output")),
    ),
    "pre-push": Command(
        "scan the commits being pushed",
        "pre_push",
        "nexpay_scan.commands.push:pre_push",
        (scan_options, attrgetter("remote")),
    ),
    "pre-receive": Command(
        "server-side hook: reject a push whose new commits add a key",
        "staged",
        "nexpay_scan.commands.push:pre_receive",
        (scan_options,),
    ),
    "hook": Command(
        "entry point for the pre-commit framework",
        "hook",
        "nexpay_scan.commands.hook:hook",
        (scan_options, attrgetter("filenames")),
    ),
    "commit-msg": Command(
        "scan the message of the commit being made (git's commit-msg hook)",
        "commit_msg",
        "nexpay_scan.commands.commit_msg:commit_msg",
        (scan_options, attrgetter("message")),
    ),
    "install-hook": Command(
        "write plain git hooks (pre-commit; pre-push, commit-msg if asked)",
        "install_hook",
        "nexpay_scan.commands.install:install_hook",
        tuple(attrgetter(name) for name in _HOOK_ARGUMENTS),
    ),
    "ignore": Command(
        "list the last blocked run's findings in .nexpayscanignore",
        "ignore",
        "nexpay_scan.commands.ignore:ignore",
        (attrgetter("repo"), attrgetter("reason")),
    ),
    "org": Command(
        "audit every repository of an organization (list, GitHub, GitLab)",
        "org",
        "nexpay_scan.commands.org:org",
        (scan_options, org_request),
    ),
}
