"""Where a range scan takes what it obeys from: the trusted side, never the change.

A pull request or a push decides the content of its own commits, its `.nexpay-scan.toml`,
`.nexpayscanignore` and committed baseline included. A gate that read those from the change
would let the change allowlist its own key. So a range scan (`history BASE..HEAD`, `ci`,
`pre-receive`) reads them at the base revision (the receiving side's HEAD for a server),
and a change that edits one of them is itself a finding that a reviewer must approve.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from nexpay_scan.errors import FatalError
from nexpay_scan.findings import SUPPRESSION, Commit, Finding, Secret
from nexpay_scan.records import Record
from nexpay_scan.sources.git import GitCall, commit_named, run_git

TYPE_CHECKING = False
if TYPE_CHECKING:
    from nexpay_scan.sources.gitlog import Named

SUPPRESSION_CHANGE_RULE = "nexpay-suppression-change"
_LOG_MARKER = "\x01nexpay-scan-trust\x01"


class TrustedSide(Record):
    """The revision whose files a range scan obeys, and how to name it to a person."""

    revision: str  # a commit id
    name: str  # what the user gave (`origin/main`), or what it stands for
    bare: bool = False  # a server's repository: no work tree, its own files are trusted

    def describe(self) -> str:
        """`origin/main (0123abcd4567)`, for notes and errors."""
        short = self.revision[:12]
        return short if self.name in (self.revision, short) else f"{self.name} ({short})"


def range_base(
    repo: Path, revisions: Sequence[str], known: Mapping[str, Named] | None = None
) -> TrustedSide | None:
    """The trusted side of a single range `A..B` (A) or `A...B` (their merge base); None
    when the revisions are not one such range (a whole history: the checkout is trusted).
    `known`: what git already answered of some of the sides (see `commits_named_by`)."""
    from nexpay_scan.sources.gitlog import commits_named_by

    if len(revisions) != 1:
        commits_named_by(repo, revisions, known)
        return None
    text = revisions[0]
    symmetric = "..." in text
    base, sep, head = text.partition("..." if symmetric else "..")
    if not sep or text.startswith("-"):
        commits_named_by(repo, revisions, known)
        return None
    base, head = base or "HEAD", head or "HEAD"
    for side in (base, head) if symmetric else (base,):
        refuse_found_by_message(side)
    commits = commits_named_by(repo, revisions, known)
    if symmetric:
        found = run_git(repo, "merge-base", "--end-of-options", base, head, ok_codes=(0, 1))
        commit = found.decode().strip()
        if not commit:
            raise FatalError(f"{base} and {head} have no common commit to read the config from")
        return TrustedSide(commit, f"merge base of {base} and {head}")
    return TrustedSide(commits.get(base) or commit_of(repo, base), base)


def refuse_found_by_message(revision: str) -> None:
    """A one-line error for a range's base found by a commit message: `:/text` (the
    youngest commit of any ref whose message matches) or `REV^{/text}` (the youngest one
    reachable from REV). Whoever writes a commit message picks it, the change under scan
    too, and the trusted side's files are read there."""
    if revision.startswith(":/") or "^{/" in revision:
        raise FatalError(
            f"{revision}: a revision found by a commit message can name a commit the change "
            "under scan wrote, and the config, allow list and baseline are read there: "
            "name the base by a branch, a tag or a commit id"
        )


def receiving_side(repo: Path, old_shas: Sequence[str] = ()) -> TrustedSide | None:
    """A server's trusted side: what its HEAD holds before the push, or (HEAD unborn) the
    first updated ref as the server has it; None for an empty repository."""
    found = run_git(repo, "rev-parse", "-q", "--verify", "HEAD^{commit}", ok_codes=(0, 1, 128))
    commit = found.decode().strip()
    if commit:
        return TrustedSide(commit, "the receiving repository's HEAD", bare=True)
    for old in old_shas:
        if old.strip("0"):
            return TrustedSide(old, "the receiving repository's branch", bare=True)
    return None


def commit_of(repo: Path, revision: str) -> str:
    """The commit id `revision` names; a one-line error when it names none."""
    commit = commit_named(repo, revision)
    if not commit:
        raise FatalError(
            f"git rev-parse: bad revision {revision!r} (check the revision or range; fetch "
            "it first if it is remote)"
        )
    return commit


_READ: dict[tuple[str, str, str], bytes | None] = {}  # (repository, commit, path) -> file


def file_at(repo: Path, side: TrustedSide, path: str, also: Sequence[str] = ()) -> bytes | None:
    """The content of `path` (relative to the top of the tree) at the trusted revision,
    or None when it has no such file (or a folder there). `also`: paths read in the same
    git call, for later (the config's read brings the ignore file's: one git call less
    at the end of a range's scan). A commit's files never change: each is read once."""
    key = (str(repo), side.revision, path)
    if key not in _READ:
        wanted = [p for p in dict.fromkeys((path, *also)) if (key[0], key[1], p) not in _READ]
        for name, content in zip(wanted, _blobs_at(repo, side.revision, wanted), strict=True):
            _READ[(key[0], key[1], name)] = content
    return _READ[key]


def _blobs_at(repo: Path, revision: str, paths: Sequence[str]) -> list[bytes | None]:
    """Each of `paths` at `revision` if it is a file there, else None: one `git cat-file
    --batch` call."""
    if any("\n" in path for path in paths):  # (one name a line: never a file of ours)
        return [None] * len(paths)
    from nexpay_scan.sources.blob_reader import BlobReader

    with BlobReader(repo) as blobs:
        return [blobs.read_file(f"{revision}:{path}") for path in paths]


def in_tree(root: Path, given: str | os.PathLike[str]) -> str | None:
    """`given` relative to the top of the work tree at `root` (with `/`), when it lies in
    it: such a file is the change's to decide, so a range scan reads it at the base."""
    full = os.path.realpath(given)
    top = os.path.realpath(root)
    if full != top and full.startswith(os.path.join(top, "")):
        return os.path.relpath(full, top).replace(os.sep, "/")
    return None


class SuppressionLog:
    """The suppression files (`paths`) that the commits of `rev_args` edit: a finding for
    each (`findings`), at the first commit that does, since the gate ignores the edit and
    a reviewer must approve it. Its `git log` starts at once and is read when `findings`
    is asked: started before a range's scan, it runs beside the scan, not after it (4 ms
    of a 50-commit range's tail). `cancel` stops it if the scan ends otherwise.

    A merge edits a file when its version is none of its parents' (`--cc`, as the scan's
    own walk reads merges): a merge commit that writes an ignore file itself is named,
    one that takes a parent's version as it is (main's reviewed edit, merged into the
    change) is not. A plain `git log` shows no merge's files at all.

    Each path is matched as it is spelled (no glob) and in any case: on a filesystem that
    ignores case (macOS, Windows) a checkout's scan opens `.NexpayScanIgnore` as the
    ignore file, so a change that adds one edits the ignore file there."""

    def __init__(
        self, repo: Path, rev_args: Sequence[str], paths: Sequence[str], side: TrustedSide
    ) -> None:
        fields = "%H%x00%an%x00%ae%x00%aI"
        self._side = side
        self._call = None
        if paths:
            self._call = GitCall(
                repo,
                "log",
                "--reverse",
                "--no-renames",
                "--name-only",
                "--cc",
                "-z",
                "--full-history",
                f"--format={_LOG_MARKER}{fields}%x00",
                *rev_args,
                "--",
                *(f":(icase,literal){path}" for path in paths),
            )

    def findings(self) -> list[Finding]:
        if self._call is None:
            return []
        found: dict[str, Finding] = {}
        for commit, names in _commits_touching(self._call.output()):
            for name in names:
                if name not in found:
                    found[name] = _change_finding(name, commit, self._side)
        return list(found.values())

    def cancel(self) -> None:
        if self._call is not None:
            self._call.cancel()


def _commits_touching(out: bytes) -> Iterator[tuple[Commit, list[str]]]:
    """Oldest first: each commit the log names, and which of the files it touches."""
    for record in out.decode("utf-8", "surrogateescape").split(_LOG_MARKER)[1:]:
        parts = [p.strip("\n") for p in record.split("\0")]
        sha, author, email, date = parts[:4]
        yield Commit(sha, author, email, date), [p for p in parts[4:] if p]


def _change_finding(path: str, commit: Commit, side: TrustedSide) -> Finding:
    finding = Finding(
        rule_id=SUPPRESSION_CHANGE_RULE,
        description=(
            "This change edits a file that tells the gate what to ignore; the gate used "
            f"{side.describe()}'s version instead. A reviewer must approve the edit"
        ),
        kind=SUPPRESSION,
        severity="high",
        file=path,
        line=1,
        column=1,
        secret=Secret(""),
        commit=commit,
    )
    finding.notes.append(
        "suppressions (allow_paths, disabled rules, ignore entries, baselines, size limits) "
        "are read from the trusted side of a range scan, never from the change itself"
    )
    return finding
