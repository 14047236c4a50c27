"""The command line: argparse subcommands behind one error handler (exit 0, 1 or 2).

`registry` lists the subcommands and builds the typed records each is given; `arguments`
sets up their flags. Only this package imports argparse (tests/test_startup.py): commands
take records, never a Namespace. Start-up stays lazy: only the subcommand being run has
its arguments set up and its module imported. A staged scan's git calls start before any
of that is loaded (`_start_early`): git works while Python imports the tool."""

from __future__ import annotations

import gc
import os
import sys

from nexpay_scan import __version__, compiled
from nexpay_scan.errors import FatalError

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

    from nexpay_scan.cli.plain import Namespace
    from nexpay_scan.cli.registry import COMMANDS, Command, Parsed

__all__ = [
    "BYPASS",
    "COMMANDS",
    "PUSH_BYPASS",
    "Command",
    "Terminated",
    "build_parser",
    "main",
    "run",
]

EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED = 2, 130, 143
BYPASS = "To commit anyway, knowingly: git commit --no-verify"
# run on every commit: start-up is most of their time
HOOK_COMMANDS = ("staged", "hook", "commit-msg")
PUSH_BYPASS = "To push anyway, knowingly: git push --no-verify"


def __getattr__(name: str) -> object:
    """`COMMANDS` and `Command`, from the registry (loaded once the command line is read)."""
    if name in ("COMMANDS", "Command"):
        from nexpay_scan.cli import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Terminated(BaseException):
    """SIGTERM, raised where the program is, so that every `finally` and clean-up runs
    (a half-written report's temp file is removed) as it does for Ctrl-C."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


def build_parser(command: str = "") -> argparse.ArgumentParser:
    """The command line; given a known `command`, only that subcommand's arguments are set
    up (the hook runs on every commit, and building all of them costs milliseconds)."""
    import argparse

    from nexpay_scan.cli import arguments
    from nexpay_scan.cli.arguments import Formatter, Parser
    from nexpay_scan.cli.registry import COMMANDS

    # argparse passes each of its words and our help strings through gettext, which looks
    # for message catalogues on disk on every call (about 3 ms of the hook's start-up). The
    # tool's own text is English and Python ships no catalogue for argparse's: it speaks
    # English too.
    argparse._ = str  # type: ignore[attr-defined]
    parser = Parser(
        prog="nexpay-scan",
        description="Find Nexpay API credentials in git.",
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"nexpay-scan {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    wanted = [command] if command in COMMANDS else list(COMMANDS)
    for name, entry in COMMANDS.items():
        if name in wanted:
            getattr(arguments, entry.add_arguments)(
                commands.add_parser(name, help=entry.summary, formatter_class=Formatter)
            )
        else:  # listed in the help and in the choices of an error, not set up
            commands.add_parser(name, help=entry.summary, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; every error becomes a one-line message and an exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args_list if not a.startswith("-")), "")
    _open_missing_streams()
    if argv is None:  # a real run (not a test calling main): SIGTERM cleans up like Ctrl-C
        from nexpay_scan.signals import signals

        signals.signal(signals.SIGTERM, _terminated)
        # Loading the tool makes objects that last, never garbage: the hook does not pay
        # for collections that find nothing (about 2 ms). A hook's scan turns it back on
        # once its scanner is ready (`pipeline.run_scan`); any other command, at once.
        gc.disable()
    try:
        if command == "hook":
            _refuse_files_named_like_flags(args_list)
        plain = _plain(args_list)
        if plain is not None:
            _start_early(plain, real=argv is None)
        return _dispatch(plain or build_parser(command).parse_args(args_list))
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
    except ImportError as error:  # a broken install: say which module, and the way out
        _print_error(
            f"a module nexpay-scan needs cannot be imported ({error}): reinstall it with its "
            "dependencies (pip install --force-reinstall nexpay-scan)",
            command,
        )
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
    finally:  # git calls started early that no scan took (a bad flag, another repository)
        for started in ("staged_git", "tree_walk"):
            early = sys.modules.get(f"nexpay_scan.sources.{started}")
            if early is not None:
                early.discard_early()
        compiled.keep()  # the tool's patterns this run compiled, for the next one
        if argv is None:
            # As the interpreter ends, it looks through every object for cycles before it
            # frees them: 12-19 ms after a range or a branch, 45-60 ms after celery's whole
            # history. Frozen, they are freed all the same, without that search.
            gc.freeze()


def _open_missing_streams() -> None:
    """A standard stream the process was started without (`>&-`: Python then sets it to
    None) reads or writes the null device instead: what would be shown is lost, as asked,
    and the exit code still gives the verdict. Opened in order, each takes its own
    descriptor (0, 1, 2: the lowest free), so no pipe the scan opens lands there, where a
    git it starts would read or write."""
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, mode, encoding="utf-8"))  # noqa: SIM115


def run() -> None:
    """The console script (and `python -m nexpay_scan`, and the installed git hooks): `main`,
    then an end that skips the interpreter's clean-up where nothing needs it. Freeing every
    module and object one by one takes 2-7 ms after a scan (after `gc.freeze`, see
    `main`); a hook pays it on every commit. Skipped only when the standard streams are
    flushed, this thread is the last (none is left to finish its work) and nothing traces
    or profiles the run (coverage and cProfile write their data as the interpreter ends);
    else the usual exit."""
    code = main()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # (None: started with the descriptor closed)
                stream.flush()
    except OSError:  # (a reader that went away: what it missed is an error, as in `main`)
        code = code or EXIT_ERROR
    threading = sys.modules.get("threading")  # (not loaded: no thread was started)
    alone = threading is None or threading.active_count() == 1
    if alone and sys.gettrace() is None and sys.getprofile() is None:
        os._exit(code)
    sys.exit(code)


def _print_error(message: str, command: str) -> None:
    print(f"nexpay-scan: error: {message}", file=sys.stderr)
    if command in HOOK_COMMANDS:
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


def _refuse_files_named_like_flags(args: Sequence[str]) -> None:
    """The pre-commit framework passes the file names after the hook's arguments, as they
    are: a file the repository names `--baseline=b.json` (beside a `b.json` listing its
    key) would be read as that flag and hide the key. A word that looks like a flag and
    names a file here is refused (exit 2: the commit, or the CI job, is blocked)."""
    for arg in args:
        if arg.startswith("-") and os.path.lexists(arg):
            raise FatalError(
                f"{arg!r} is a file named like a flag: the hook cannot tell it from one "
                "(rename it, e.g. git mv -- OLD NEW)"
            )


def _start_early(plain: Namespace, *, real: bool) -> None:
    """For a staged scan (`staged`, or `hook` in a commit), starts its git calls now, before
    the tool loads; the scan takes them (see `sources.staged_git`). For `files`, in a real
    run only (`real`: not a test calling `main` in its own process), starts listing its
    folders (see `sources.tree_walk`)."""
    staged = plain.command == "staged" or (
        plain.command == "hook" and "GIT_INDEX_FILE" in os.environ
    )
    if staged:
        from nexpay_scan.sources.staged_git import start_early

        start_early(getattr(plain, "repo", "."))
    elif real and plain.command == "files":
        from nexpay_scan.sources import tree_walk

        tree_walk.start_early(plain.paths)


def _plain(args: Sequence[str]) -> Namespace | None:
    """A hook's command line in the plain forms `cli.plain` reads without argparse."""
    from nexpay_scan.cli.plain import plain_namespace

    return plain_namespace(args)


def _dispatch(args: Parsed) -> int:
    """Runs the command's function, given the records it takes; only its module is
    imported (not importlib either: the hook's path stays light)."""
    from nexpay_scan.cli.registry import COMMANDS

    entry = COMMANDS[args.command]
    if args.command not in HOOK_COMMANDS:
        gc.enable()
    module, function = entry.handler.split(":")
    __import__(module)
    handler: Callable[..., int] = getattr(sys.modules[module], function)
    return handler(*(build(args) for build in entry.given))
