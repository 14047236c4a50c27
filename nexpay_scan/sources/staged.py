"""The staged diff: what the next commit adds (the index against HEAD)."""

from __future__ import annotations

import os
from collections.abc import Collection

from nexpay_scan.errors import FatalError
from nexpay_scan.findings import Finding
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.base import Target
from nexpay_scan.sources.changes import paired_sections, scan_change
from nexpay_scan.sources.git import GitCall, empty_tree, has_commits, run_git, work_tree_root
from nexpay_scan.sources.gitlog import RawChange, parse_raw_z
from nexpay_scan.sources.staged_git import DIFF, LEAN, take
from nexpay_scan.stats import Stats

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.paths import StrPath

# A staged diff longer than this is not held: each change is scanned from its blobs.
PATCH_CAP = 16 << 20


class StagedDiff:
    """The staged changes of the repository holding `repo`. Git is asked everything at once
    (the work tree's root, the diff, a blob reader for the new contents: `StagedGit`), so
    that the caller loads the tool while git works: the hook waits for git once, not three
    times. The command line starts those calls before it loads the tool (`start_early`).
    """

    def __init__(self, repo: StrPath) -> None:
        self.repo = repo
        self._git = take(repo)
        self._root, self._diff, self._blobs = self._git.root, self._git.diff, self._git.blobs
        self.stats = Stats()  # what the scan reads and passes over

    def target(self) -> Target:
        """The top folder of the work tree and its git dir; a bare repository or no
        repository is an error. git's answer is two lines: when a path holds a newline
        (or git failed), the top folder is asked for alone (and the git dir when needed),
        which also says why it failed."""
        try:
            top, git_dir, rest = self._root.output().split(b"\n", 2)
        except (FatalError, ValueError):
            top, git_dir, rest = b"", b"", b""
        if not top or not git_dir or rest:
            return Target(work_tree_root(self.repo))
        return Target(os.fsdecode(top), git_dir=os.fsdecode(git_dir))

    def changes(self) -> list[tuple[RawChange, bytes | None]]:
        """Each staged file change with its patch section (index against HEAD, or against
        the empty tree before the first commit); with None for a section when the whole
        patch is over PATCH_CAP (see `scan_change`)."""
        base = "HEAD"
        try:
            output = self._diff.output_within(PATCH_CAP)
        except FatalError:
            if has_commits(self.repo):
                raise
            # no commit yet: what the first commit adds, against the empty tree
            base = empty_tree(self.repo)
            output = GitCall(
                self.repo, "diff", "--cached", *DIFF, base, "--", config=LEAN
            ).output_within(PATCH_CAP)
        if output is None:
            return [(change, None) for change in self._raw_changes(base)]
        raw, _, patch = output.partition(b"\0\0")
        paired = paired_sections(list(parse_raw_z(raw.split(b"\0"))), patch)
        return [(change, section) for change, section in paired]

    def _raw_changes(self, base: str) -> list[RawChange]:
        """The staged changes without their patch: a line of about 100 bytes each."""
        raw = ("--raw", "-z", "--no-renames", "--no-abbrev")
        output = run_git(self.repo, "diff", "--cached", *raw, base, "--")
        return list(parse_raw_z(output.split(b"\0")))

    def scan(self, scanner: Scanner, only: Collection[str] | None = None) -> list[Finding]:
        """Findings on the lines the index adds; `only` limits the scan to those paths."""
        findings: list[Finding] = []
        wanted = [(c, s) for c, s in self.changes() if only is None or c.path in only]
        # every new blob asked for at once: git reads the next while this one is scanned
        self._blobs.ask_ahead(c.new_sha for c, _ in wanted if c.adds_content)
        for change, section in wanted:
            findings.extend(scan_change(change, section, self._blobs, scanner, stats=self.stats))
        return findings

    def close(self) -> None:
        """Ends the git processes, whether or not their output was read."""
        self._git.close()

    def __enter__(self) -> StagedDiff:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StagedSource:
    """Source: the lines the index adds (of the files in `only`, if given)."""

    mode = "staged"
    ranges = ()

    def __init__(self, diff: StagedDiff, only: Collection[str] | None) -> None:
        self.diff, self.only = diff, only

    @property
    def stats(self) -> Stats:
        return self.diff.stats

    def target(self) -> Target:
        """The work tree's repository (git is asked once, see `StagedDiff`)."""
        return self.diff.target()

    def findings(self, scanner: Scanner) -> list[Finding]:
        """Findings on the lines the index adds."""
        return self.diff.scan(scanner, self.only)
