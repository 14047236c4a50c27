"""The hooks' command lines, read without argparse.

`staged`, `hook` and `commit-msg` run on every commit, `pre-push` on every push, and
argparse (with the `re`, `gettext` and `warnings` it loads, and the parser it builds)
costs them milliseconds each time. A command line in the plain forms a hook is given
(`staged --repo PATH --quiet`, `hook --format json FILE...`, `pre-push REMOTE URL`,
`commit-msg FILE`) is read here into the namespace argparse would make of it; so is
`files PATH... --format json --output FILE` (its flags before its paths or after them:
6-8 ms of a scan of a tree's 200). Anything else (an abbreviation, `--help`, a flag not
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

# the commands read here, and the words each takes after its flags: files (`hook
# FILE...`, `files PATH...`), at most two (`pre-push [REMOTE [URL]]`, as git calls the
# hook), one (`commit-msg FILE`), or none
_WORDS_AFTER = {"staged": 0, "hook": -1, "pre-push": 2, "files": -1, "commit-msg": 1}
# the commands whose flags may also come after their words (argparse reads them there
# too, once: a word after such a flag is its error)
_FLAGS_AFTER = ("files",)
_VALUES = {
    "--repo": "repo",
    "--config": "config",
    "--format": "format",
    "--output": "output",
    "--baseline": "baseline",
}
_SWITCHES = {"--no-redact": "no_redact", "--quiet": "quiet", "-q": "quiet"}


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
    rest = iter(args[1:])
    for arg in rest:
        if not arg.startswith("-"):  # a word
            if flags_after or len(words) == most:
                return None
            words.append(arg)
            continue
        if words:  # a flag after the words: `files` only
            if command not in _FLAGS_AFTER:
                return None
            flags_after = True
        name, equals, value = arg.partition("=")
        if name in _SWITCHES and not equals:
            given[_SWITCHES[name]] = True
            continue
        if name not in _VALUES:
            return None
        if not equals:  # `--repo PATH`: a value that looks like a flag is argparse's error
            following = next(rest, None)
            if following is None or following.startswith("-"):
                return None
            value = following
        if name == "--format" and value not in FORMATS:
            return None
        given[_VALUES[name]] = value
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
    return Namespace(**given)
