"""The hooks' command lines, read without argparse.

`staged`, `hook` and `commit-msg` run on every commit, `pre-push` on every push, and
argparse (with the `re`, `gettext` and `warnings` it loads, and the parser it builds)
costs them milliseconds each time. A command line in the plain forms a hook is given
(`staged --repo PATH --quiet`, `hook --format json FILE...`, `pre-push REMOTE URL`,
`commit-msg FILE`) is read here into the namespace argparse would make of it; so is
`files PATH... --format json --output FILE` (its flags before its paths or after them:
6-8 ms of a scan of a tree's 200), and the git scans a CI job or a server runs on every
change (`history [REV...]`, `ci`, `pre-receive`: argparse and the arguments' module are
7-9 ms of a range's 130-200). Anything else (an abbreviation, `--help`, a flag not
listed here, a value that is not one of the choices, a file named like a flag) is left
to argparse, which reads it or says what is wrong: this never rejects a command line.
tests/test_cli_plain.py checks that both readings give the same records.
"""

from __future__ import annotations

import os

from nexpay_scan.formats import FORMATS

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

# the commands read here, and the words each takes after its flags: any number (`hook
# FILE...`, `files PATH...`, `history REV...`), at most two (`pre-push [REMOTE [URL]]`,
# as git calls the hook), one (`commit-msg FILE`), or none
_WORDS_AFTER = {
    "staged": 0,
    "hook": -1,
    "pre-push": 2,
    "files": -1,
    "commit-msg": 1,
    "history": -1,
    "ci": 0,
    "pre-receive": 0,
}
# the commands whose flags may also come after their words (argparse reads them there
# too, once: a word after such a flag is its error)
_FLAGS_AFTER = ("files", "history")
_VALUES = {
    "--repo": "repo",
    "--config": "config",
    "--format": "format",
    "--output": "output",
    "--baseline": "baseline",
}
_SWITCHES = {"--no-redact": "no_redact", "--quiet": "quiet", "-q": "quiet"}
# the history scans' own flags (`arguments.history_options`), and `ci`'s: what each sets
# when not given is in `_defaults`
_HISTORY_VALUES = {"--report": "report", "--jobs": "jobs"}
_RANGE_VALUES = {"--engine": "engine", "--since": "since", "--until": "until"}
_OWN_VALUES = {
    "history": {**_HISTORY_VALUES, **_RANGE_VALUES, "--branch": "branch"},
    "ci": {**_HISTORY_VALUES, "--base": "base"},
}
_OWN_SWITCHES = {
    "history": {"--all-occurrences": "all_occurrences"},
    "ci": {"--all-occurrences": "all_occurrences", "--deepen": "deepen"},
}
_ENGINES = ("auto", "blob", "diff")
_JOBS_MOST = 256  # as `arguments.positive_int`


def default_jobs() -> int:
    """Parallel workers by default: the cores, at most 4."""
    return max(1, min(os.cpu_count() or 1, 4))


class Namespace:
    """Attributes by name, as argparse's `Namespace` holds them (`types.SimpleNamespace`
    would load `types`)."""

    def __init__(self, **given: object) -> None:
        self.__dict__.update(given)

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...


def plain_namespace(args: Sequence[str]) -> Namespace | None:
    """The namespace argparse would make of `args` (the command first, its flags, then
    for `hook` its files, for `pre-push` git's remote and URL), for the flags it sets; None
    for any other command line."""
    if not args or args[0] not in _WORDS_AFTER:
        return None
    command = args[0]
    most = _WORDS_AFTER[command]
    given: dict[str, object] = {"command": command}
    words: list[str] = []
    flags_after = False  # a flag read after the words: no word may follow
    values = {**_VALUES, **_OWN_VALUES.get(command, {})}
    switches = {**_SWITCHES, **_OWN_SWITCHES.get(command, {})}
    branches: list[str] = []
    rest = iter(args[1:])
    for arg in rest:
        if not arg.startswith("-"):  # a word
            if flags_after or len(words) == most:
                return None
            words.append(arg)
            continue
        if words:  # a flag after the words: `files` and `history` only
            if command not in _FLAGS_AFTER:
                return None
            flags_after = True
        name, equals, value = arg.partition("=")
        if name in switches and not equals:
            given[switches[name]] = True
            continue
        if name not in values:
            return None
        if not equals:  # `--repo PATH`: a value that looks like a flag is argparse's error
            following = next(rest, None)
            if following is None or following.startswith("-"):
                return None
            value = following
        read = _value(name, value)
        if read is None:  # (not one argparse takes as it is: it reads it, or says why not)
            return None
        if name == "--branch":
            branches.append(value)
            continue
        given[values[name]] = read
    if command == "hook":
        given.update(filenames=words, jobs=default_jobs())
    elif command == "files":
        given.update(paths=words or ["."], jobs=default_jobs())
    elif command == "pre-push":
        remote, url = [*words, None, None][:2]
        given.update(remote=remote, url=url)
    elif command == "commit-msg":
        if not words:  # (argparse says what is missing)
            return None
        given.update(message=words[0])
    elif command in _OWN_VALUES:  # history, ci: what argparse sets for a flag not given
        given = {**_defaults(command), **given}
        if command == "history":
            given.update(revisions=words, branch=branches)
    return Namespace(**given)


def _value(flag: str, value: str) -> object:
    """What argparse makes of `value` given to `flag`, when it takes it as it is; None for
    a value it refuses or converts otherwise (a format or an engine that is no choice, a
    count that is not 1 to 256 in plain digits)."""
    if flag == "--format":
        return value if value in FORMATS else None
    if flag == "--engine":
        return value if value in _ENGINES else None
    if flag == "--jobs":
        plain = value.isascii() and value.isdigit() and 1 <= int(value) <= _JOBS_MOST
        return int(value) if plain else None
    return value


def _defaults(command: str) -> dict[str, object]:
    """The attributes argparse gives `history` or `ci` for the flags not given."""
    defaults: dict[str, object] = {"report": None, "jobs": default_jobs(), "all_occurrences": False}
    if command == "history":
        defaults.update(engine="auto", since=None, until=None)
    else:
        defaults.update(base=None, deepen=False)
    return defaults
