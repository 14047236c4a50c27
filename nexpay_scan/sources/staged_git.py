"""The git processes a staged scan reads, which the command line starts before it has
loaded the rest of the tool.

The hook runs on every commit, and its git calls (the work tree's root, the staged diff,
a blob reader) take about as long as loading the tool's modules. `start_early` starts them
as soon as the command line names a staged scan, so that git works while Python imports;
`take` hands them to the scan if it reads the same repository (else they are stopped and
new ones start). Only this module, `git`, `blob_reader` and `spawn` are loaded for that.
"""

from __future__ import annotations

from nexpay_scan.errors import FatalError
from nexpay_scan.sources.blob_reader import BlobReader
from nexpay_scan.sources.git import GitCall, check_explicit_repo

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.paths import StrPath

# No rename detection: an allowlist applies to where a key is now, so a file moved out of an
# allowed path adds all of its content at the new one (as in history).
DIFF = ("--raw", "-z", "-p", "-U0", "--no-renames", "--no-ext-diff", "--no-abbrev", "--no-color")
# Git shows a blob over the default size limit as binary, without reading it whole; the
# scan then searches it a window at a time (`windows`; the limit a repository sets is
# known only later).
# (config.DEFAULT_MAX_FILE_SIZE: config is not loaded yet when these calls start)
LEAN = ("-c", "core.bigFileThreshold=52428800")


class StagedGit:
    """`git rev-parse` (the work tree's root and git dir), `git diff --cached` against HEAD
    and a blob reader for the new contents, all started at once."""

    def __init__(self, repo: StrPath) -> None:
        self.repo = repo
        check_explicit_repo(repo)
        self.root = GitCall(repo, "rev-parse", "--show-toplevel", "--absolute-git-dir")
        self.diff = GitCall(repo, "diff", "--cached", *DIFF, "HEAD", "--", config=LEAN)
        try:
            self.blobs = BlobReader(repo)
        except BaseException:
            self.root.cancel()
            self.diff.cancel()
            raise

    def close(self) -> None:
        """Ends the git processes, whether or not their output was read."""
        self.root.cancel()
        self.diff.cancel()
        self.blobs.close()


_early: list[StagedGit] = []  # started by `start_early`, not taken yet


def start_early(repo: str) -> None:
    """Starts the calls for `repo` now; whatever goes wrong is left for the scan to meet
    again, in its order (a bad flag is still reported first)."""
    discard_early()
    try:  # noqa: SIM105 - contextlib is not loaded on the hook's path
        _early.append(StagedGit(repo))
    except FatalError:
        pass


def take(repo: StrPath) -> StagedGit:
    """The calls started early for `repo`, or new ones; calls started for another
    repository are stopped."""
    if _early and _early[0].repo == repo:
        return _early.pop()
    discard_early()
    return StagedGit(repo)


def discard_early() -> None:
    """Stops calls started early that no scan took (the command line was wrong, or named
    another repository)."""
    while _early:
        _early.pop().close()
