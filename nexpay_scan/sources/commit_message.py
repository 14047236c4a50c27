"""The message of the commit being made, as git's `commit-msg` hook is given it (a file):
a key pasted into it is blocked before the commit exists, as a staged one is.

What git keeps of the file is scanned: all of it, comment lines included (git may keep
them: `git commit -m` cleans up whitespace only), up to the scissors line git writes
above the diff of `git commit -v` (the diff's staged keys are the pre-commit hook's, and
git drops it). A scissors line is git's only when git's own warning follows it: a message
that merely holds one is scanned whole.
"""

from __future__ import annotations

import os

from nexpay_scan.errors import FatalError
from nexpay_scan.sources.base import Target
from nexpay_scan.stats import Stats

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.findings import Finding
    from nexpay_scan.paths import StrPath
    from nexpay_scan.scan import Scanner

# where a finding in a commit's message is shown (as history shows a commit's message)
MESSAGE_PLACE = "(commit message)"
# git's cut line (wt-status.c), after the comment character and a space, and the warning
# git writes on the next line
_CUT = b" ------------------------ >8 ------------------------"
_WARNING = b" Do not modify or remove the line above."


class CommitMessageSource:
    """Source: the commit message in the file at `path` (of the repository at `root`,
    whose config and ignore file apply)."""

    mode = "commit-msg"
    ranges = ()

    def __init__(self, path: StrPath, root: StrPath) -> None:
        self.path, self.root = path, root
        self.stats = Stats()

    def target(self) -> Target:
        return Target(self.root)

    def findings(self, scanner: Scanner) -> list[Finding]:
        """Findings in what git keeps of the message; a message over the size limit (with
        no scissors line before it) searched a window at a time (`windows`)."""
        limit = scanner.settings.max_file_size
        try:
            with open(self.path, "rb") as stream:
                head = stream.read(limit + 1)  # (enough to tell it is too big)
                kept = kept_message(head)
                if len(kept) > limit:  # all of it, as git keeps a message with no scissors
                    from nexpay_scan.windows import read_pieces, scan_in_windows

                    pieces = read_pieces(stream, head)
                    return scan_in_windows(scanner, pieces, MESSAGE_PLACE, stats=self.stats)
        except OSError as error:
            raise FatalError(
                f"{os.fspath(self.path)}: cannot read the commit message ({error.strerror})"
            ) from None
        self.stats.files_scanned += 1
        return scanner.scan(kept, MESSAGE_PLACE, stats=self.stats)


def kept_message(data: bytes) -> bytes:
    """`data` up to git's scissors line: one line of a comment character (or string), then
    _CUT, followed by a line of the same comment and _WARNING; else all of it."""
    at = data.find(_CUT)
    while at >= 0:
        start = data.rfind(b"\n", 0, at) + 1
        comment = data[start:at]
        end = at + len(_CUT)
        newline = b"\r\n" if data.startswith(b"\r\n", end) else b"\n"  # (an editor's CRLF)
        next_line = end + len(newline)
        git_wrote = comment and not comment.isspace() and data.startswith(newline, end)
        if git_wrote and data.startswith(comment + _WARNING, next_line):
            return data[:start]
        at = data.find(_CUT, end)
    return data
