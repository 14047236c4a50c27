"""The blob engine through history: each blob read and searched once, then only the commits
that add a blob with a hit go through the diff engine.

Whole history: every blob in the store is read in pack order (`blobs.BlobListing`), then,
only if one has a hit, the trees are walked (`git log --raw`, no content) to find the
commits adding it. A selection (a range, a branch, dates, a push): the walk over the same
selection comes first, and lists the blobs its commits add (what the diff engine would read
as patches: a blob re-added by a revert or a copy is there too); those blobs are read.
Either way the commits adding a hit blob go through the diff engine (`HistoryScan.run`), so
a finding is exactly what `git log -p` would give: each secret at the commit that adds it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from nexpay_scan.errors import FatalError
from nexpay_scan.findings import Finding, Suppression
from nexpay_scan.sources import object_store
from nexpay_scan.sources.arenas import one_malloc_arena
from nexpay_scan.sources.blob_reader import BlobReader
from nexpay_scan.sources.blobs import (
    WALK_GIT,
    BlobListing,
    blobs_with_candidates,
    store_listing,
)
from nexpay_scan.sources.changes import scan_blob
from nexpay_scan.sources.git import (
    SpooledGit,
    check_objects_present,
    git_command,
    git_error,
    piped,
    run_git,
    streamed,
    unlinked_file,
)
from nexpay_scan.sources.gitlog import (
    MARKER,
    RawChange,
    added_blobs,
    commit_records,
    commits_in,
    is_whole_history,
    marked_blocks,
    parse_commit,
    raw_changes,
    raw_fields,
    record_body,
    walk_command,
)
from nexpay_scan.sources.history import HistoryScan
from nexpay_scan.sources.messages import Background, messages_beside, read_messages

LOCAL_ONLY = (
    "local only, never pushed: an object in this clone's .git/objects that no ref or "
    "reflog reaches (a commit the hook blocked, a `git add` undone); `git gc --prune=now` "
    "drops it"
)
# The diff engine is given the commits to parse on its standard input, in walk order.
_LISTED_COMMITS = ("--no-walk=unsorted", "--stdin")


ENGINES = ("auto", "diff", "blob")


def scan_by(engine: str, scan: HistoryScan, rev_args: Sequence[str], workers: int) -> list[Finding]:
    """The findings in the history `rev_args` select, by `engine` (ENGINES): the diff
    engine (`scan.run`), the blob engine (`run_blob_engine`), or for "auto" the faster
    one for this selection (see `pick_engine`). Both give the same findings."""
    if pick_engine(engine, rev_args) == "blob":
        return run_blob_engine(scan, rev_args, workers)
    findings = scan.run(rev_args)
    if is_whole_history(rev_args):
        findings += outside_commits(scan, findings, _held_by_refs(scan.repo))
    return findings


def outside_commits(
    scan: HistoryScan, findings: Sequence[Finding], loose: Sequence[tuple[str, str, str]]
) -> list[Finding]:
    """What refs pointing at a blob or a tree hold (`git tag backup $BLOB`, a tag on a
    tree), `loose` (see `_held_by_refs`): content no commit holds, which no walk of
    commits meets. One finding a key, as for the commits' (a tree a tag points at often
    holds a commit's files too): a key among `findings` is not listed again."""
    from nexpay_scan.sources.push import scan_outside_commits

    known = {f.secret.reveal() for f in findings}
    found: list[Finding] = []
    for finding in scan_outside_commits(scan.repo, scan.scanner, loose, scan.stats):
        if scan.all_occurrences or finding.secret.reveal() not in known:
            known.add(finding.secret.reveal())
            found.append(finding)
    return found


def default_workers() -> int:
    """Blob readers for a command without `--jobs` (pre-push, pre-receive): as `--jobs`
    defaults, one per core, at most 4."""
    return max(1, min(os.cpu_count() or 1, 4))


def pick_engine(engine: str, rev_args: Sequence[str]) -> str:
    """`engine`, or for "auto" the engine that is faster on such a selection: the blob
    engine, for every selection measured (the whole history, a branch, dates, a range of
    2,000 commits; on 50 commits both take the same time, mostly start-up)."""
    if engine != "auto":
        return engine
    return "blob"


def run_blob_engine(scan: HistoryScan, rev_args: Sequence[str], workers: int) -> list[Finding]:
    """The findings the diff engine gives for `rev_args` (`scan.findings()`, then those
    of `scan.run`), by the blob engine; for the whole history, plus findings in blobs no
    single-parent commit adds (dangling or merge-only)."""
    if is_whole_history(rev_args):
        return _whole_history(scan, rev_args, workers)
    _selection(scan, rev_args, workers)
    return scan.findings()


def _whole_history(scan: HistoryScan, rev_args: Sequence[str], workers: int) -> list[Finding]:
    repo, scanner = scan.repo, scan.scanner
    check_objects_present(repo, rev_args)
    one_malloc_arena()  # (before any thread: see there)
    walks: list[TreeWalk] = []

    def walk() -> None:
        walks.append(TreeWalk(repo, rev_args))

    store = store_listing(repo)
    object_store.load_beside()  # (while the messages are read: see there)
    try:
        scanner.warm_up()  # (while git lists the store: the readers start sooner after it)
        # read while git lists the store: both are short, and neither runs beside the
        # blob readers (`git log` holds every message it has shown: tens of MB)
        listed, suspects, tags = read_messages(repo, rev_args, scanner, tags=scan.tags_of_range)
        commits = len(listed)  # every commit of the selection: its count is enough here
        del listed  # (every tag is scanned in a whole history: not the commits' ids)
        listing = BlobListing(spool=store.output())
        scan.progress.start(0, "bytes")
        oversized: list[tuple[bytes, int]] = []
        hits = blobs_with_candidates(
            repo,
            scanner,
            workers,
            on_first=walk,
            oversized=oversized,
            listing=listing,
            stats=scan.stats,
            progress=scan.progress,
            in_process=True,
        )
        extra: list[Finding] = []
        loose: list[tuple[str, str, str]] = []
        # blobs over the size limit are searched a window at a time by the commits that
        # add them (`changes.scan_change`): never read whole here
        hits |= {sha for sha, _ in oversized}
        if hits and not walks:
            walk()
        if hits:
            found = walks[0].introductions(hits)
            if found.commits:
                scan.run(_LISTED_COMMITS, found.commits, prefilter=False)
            scan.walked(found.walked, shown=False)
            if found.unattributed:  # (as a rule, none: the refs are not asked about)
                held = _held_by_refs(repo)
                by_refs = {obj.encode() for _, obj, _ in held}
                if found.unattributed & by_refs:
                    loose = held
                extra = unattributed_findings(scan, found.unattributed - by_refs, rev_args)
    finally:
        store.close()
        for tree_walk in walks:
            tree_walk.close()
    if not walks:  # the message reader listed every commit of the selection
        scan.walked(commits, shown=False)
    scan.scan_messages_read((set(), suspects, tags, []), rev_args)
    findings = scan.findings()
    if loose:  # (as the diff engine lists them, after the same findings)
        findings += outside_commits(scan, findings, loose)
    return findings + extra


def _held_by_refs(repo: Path) -> list[tuple[str, str, str]]:
    """(ref, blob, path in its tree or "") of the blobs refs pointing at a blob or a tree
    reach without a commit (`push.blobs_outside_commits`, over every ref)."""
    from nexpay_scan.sources.push import blobs_outside_commits, every_ref

    return blobs_outside_commits(repo, every_ref(repo), [])


def _selection(scan: HistoryScan, rev_args: Sequence[str], workers: int) -> None:
    """The blobs the selection's commits add, read as they are listed (by the tree walk, or
    for branches alone by `git rev-list`: see `ReachableBlobs`); the commits adding one
    with a hit or one over the size limit (which the diff engine then searches a window
    at a time) parsed."""
    repo = scan.repo
    check_objects_present(repo, rev_args)
    branches = names_branches_only(rev_args) and _filters_blobs(repo)
    lister = ReachableBlobs(repo, rev_args) if branches else SelectionWalk(repo, rev_args)
    messages: list[Background] = []
    try:
        try:
            listing = BlobListing(lister.ids())
            hits, oversized = _searched(scan, rev_args, workers, listing, messages)
            found = lister.introductions(hits | {sha for sha, _ in oversized})
        finally:
            lister.close()
        if found.commits:
            scan.run(_LISTED_COMMITS, found.commits, prefilter=False)
        read = messages[0].result()
    except BaseException:  # (the messages' git is not left running)
        for background in messages:
            background.cancel()
        raise
    # every commit of the selection: the messages' log listed the walk's commits (walked
    # or not: see `ReachableBlobs`)
    scan.walked(len(read[0]), shown=False)
    scan.scan_messages_read(read, rev_args)


def _searched(
    scan: HistoryScan,
    rev_args: Sequence[str],
    workers: int,
    listing: BlobListing,
    messages: list[Background],
) -> tuple[set[bytes], list[tuple[bytes, int]]]:
    """The blobs `listing` names read and searched (`blobs_with_candidates`), the messages'
    log of `rev_args` started beside them once the readers are up (into `messages`): the
    blobs with a hit, and those over the size limit (id, size), unread."""
    scan.progress.start(0, "bytes")
    oversized: list[tuple[bytes, int]] = []
    hits = blobs_with_candidates(
        scan.repo,
        scan.scanner,
        workers,
        oversized=oversized,
        listing=listing,
        stats=scan.stats,
        progress=scan.progress,
        started=lambda: messages.append(
            messages_beside(scan.repo, rev_args, scan.scanner, tags=scan.tags_of_range)
        ),
    )
    return hits, oversized


def names_branches_only(rev_args: Sequence[str]) -> bool:
    """Whether `rev_args` are branches (`--branch`: `refs/heads/NAME`, as `log_revisions`
    gives them) and nothing else: no range, no negation, no date or other limit. A ref's
    name holds none of the characters that would make more of it (git refuses them)."""
    if len(rev_args) < 2 or rev_args[0] != "--end-of-options":
        return False
    return all(
        arg.startswith("refs/heads/") and not any(c in arg for c in ("^", "~", ":", "..", "@{"))
        for arg in rev_args[1:]
    )


def _filters_blobs(repo: Path) -> bool:
    """Whether this git lists objects of one type (`rev-list --filter=object:type=`, git
    2.32): listing the trees too would cost more than the walk saves."""
    # "git version 2.39.5", "git version 2.39.3 (Apple Git-145)", "… 2.41.0.windows.1"
    version = (run_git(repo, "version").split() + [b""] * 3)[2].split(b".")
    try:
        return (int(version[0]), int(version[1])) >= (2, 32)
    except (ValueError, IndexError):
        return False


class ListedByGit:
    """A git call whose output is read on git's feeding thread (see `BlobListing`), as
    git writes it: what goes wrong there ends the list, is kept, and is raised by `check`
    (a list cut short would leave blobs unread)."""

    def __init__(self, repo: Path, args: Sequence[str]) -> None:
        self.args = args
        self.process = piped(
            git_command(repo, *WALK_GIT, *args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._error: BaseException | None = None

    def check(self) -> None:
        """Waits for git; raises what cut the list short: an error reading it, or git's
        failure."""
        _, error = self.process.communicate()
        if self._error is not None:
            raise self._error
        if self.process.returncode != 0:
            raise FatalError(git_error(error, self.args, self.process.returncode))

    def close(self) -> None:
        """Stops git if it still runs, and closes its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError, ValueError):
                    pipe.close()


class ReachableBlobs(ListedByGit):
    """The blobs the tips of `rev_args`, branches alone (`names_branches_only`), reach
    (`git rev-list --objects`, blobs only). Every commit the tips reach is in such a
    selection, so these are the blobs its commits add, listed in half the tree walk's
    time: each tree is read once, where the walk compares every commit's with its
    parents' (flask's main branch: 0.1 CPU-s against 0.2, and no record to parse). The
    walk runs only for blobs with a hit or over the size limit (as a rule, none)."""

    def __init__(self, repo: Path, rev_args: Sequence[str]) -> None:
        args = ("rev-list", "--objects", "--no-object-names", "--filter=object:type=blob")
        super().__init__(repo, (*args, *rev_args, "--"))
        self.repo, self.rev_args = repo, rev_args

    def introductions(self, hits: set[bytes]) -> Introductions:
        """The commits that add one of `hits`, found by the tree walk, run now if there
        is any; the listing checked first (see `check`)."""
        self.check()
        if not hits:
            return Introductions([], set(), 0)
        walk = TreeWalk(self.repo, self.rev_args)
        try:
            return walk.introductions(hits)
        finally:
            walk.close()

    def ids(self) -> Iterator[bytes]:
        """The blobs' ids (and the tips' commits, which the listing leaves out), as they
        come."""
        try:
            assert self.process.stdout is not None
            pending = b""
            while block := self.process.stdout.read(1 << 16):
                lines = (pending + block).split(b"\n")
                pending = lines.pop()
                yield from lines
            if pending:
                yield pending
        except Exception as error:
            self._error = error


class Introductions:
    """What the tree walk found: commits adding a hit blob, hit blobs no commit adds, and
    how many commits it went through."""

    def __init__(self, commits: list[str], unattributed: set[bytes], walked: int) -> None:
        self.commits, self.unattributed, self.walked = commits, unattributed, walked


class _Walk:
    """`git log --raw` over a selection (trees only, no content; see `gitlog`): its
    records (`_blocks`) once the hits are known, read for the commits that add them."""

    def _blocks(self) -> Iterator[bytes]:
        raise NotImplementedError

    def introductions(self, hits: set[bytes]) -> Introductions:
        """The commits (in `git log` order) whose changes add one of `hits`."""
        commits: list[str] = []
        seen: set[bytes] = set()
        walked = 0
        for block in self._blocks():
            walked += commits_in(block)
            for sha, changes in _records_naming(block, hits):
                new = {_added(change) for change in changes} & hits
                if new:
                    commits.append(sha)
                    seen |= new
        return Introductions(commits, hits - seen, walked)


class TreeWalk(_Walk):
    """The tree walk spooled to an unlinked temporary file: for the whole history it
    starts as soon as the blob scan finds a first hit and runs beside the rest of that
    scan. If the spool fails (a full disk), the walk runs again, read from git."""

    def __init__(self, repo: Path, rev_args: Sequence[str]) -> None:
        self.repo = repo
        self.args = walk_command(rev_args)
        self.walk = SpooledGit(repo, *self.args, config=WALK_GIT)

    def _blocks(self) -> Iterator[bytes]:
        try:
            spool = self.walk.output()
        except FatalError:
            with streamed(self.repo, *self.args, config=WALK_GIT) as output:
                yield from marked_blocks(output, MARKER)
            return
        yield from marked_blocks(spool, MARKER)

    def close(self) -> None:
        self.walk.close()


class SelectionWalk(_Walk, ListedByGit):
    """The tree walk of a selection, read as git writes it (and spooled for
    `introductions`): `added_blobs` lists the blobs to read while the walk goes on."""

    def __init__(self, repo: Path, rev_args: Sequence[str]) -> None:
        self.spool = unlinked_file()
        ListedByGit.__init__(self, repo, walk_command(rev_args))

    def ids(self) -> Iterator[bytes]:
        """The blobs the walk's changes add (each once, in walk order: about the order
        of the packs): the new side of every change with content (no deletion, no
        submodule). Run on git's feeding thread: what goes wrong ends the list, and is
        raised by `_blocks` (so `git cat-file` still sees its input end)."""
        seen: set[bytes] = set()
        try:
            assert self.process.stdout is not None
            for block in marked_blocks(self.process.stdout, MARKER):
                self.spool.write(block)
                for record in commit_records(block):
                    for sha in added_blobs(raw_fields(record_body(record))):
                        if sha not in seen:
                            seen.add(sha)
                            yield sha
        except Exception as error:
            self._error = error

    def _blocks(self) -> Iterator[bytes]:
        self.check()
        self.spool.seek(0)
        yield from marked_blocks(self.spool, MARKER)

    def close(self) -> None:
        """Stops git if it still runs, and closes its pipes and the spool."""
        ListedByGit.close(self)
        self.spool.close()


def _added(change: RawChange) -> bytes:
    return change.new_sha.encode() if change.adds_content else b""


def _records_naming(block: bytes, hits: set[bytes]) -> Iterator[tuple[str, list[RawChange]]]:
    """The commit records of `block` that name one of `hits`, in order. With a few hits,
    only the records around where they occur are parsed: most blocks name none."""
    if len(hits) > 256:
        records: Iterator[bytes] = commit_records(block)
    else:
        records = (block[start:end] for start, end in _spans_naming(block, hits))
    for record in records:
        dated, rest = parse_commit(record)
        yield dated.commit.sha, raw_changes(rest)


def _spans_naming(block: bytes, hits: set[bytes]) -> list[tuple[int, int]]:
    """(start, end) of each record of `block` in which one of `hits` occurs."""
    starts: set[int] = set()
    for sha in hits:
        position = block.find(sha)
        while position >= 0:
            starts.add(block.rfind(MARKER, 0, position))
            end = block.find(MARKER, position)
            position = block.find(sha, end) if end >= 0 else -1
    spans = []
    for start in sorted(starts):
        end = block.find(MARKER, start + len(MARKER))
        spans.append((start, end if end >= 0 else len(block)))
    return spans


def reachable_paths(repo: Path, rev_args: Sequence[str], wanted: set[bytes]) -> dict[bytes, str]:
    """For each wanted blob reachable from `rev_args`, one path it has in some tree."""
    if not wanted:
        return {}
    out = run_git(repo, "rev-list", "--objects", *rev_args, "--")
    found: dict[bytes, str] = {}
    for line in out.splitlines():
        sha, _, path = line.partition(b" ")
        if sha in wanted and sha not in found:
            found[sha] = path.decode("utf-8", "surrogateescape")
    return found


def unattributed_findings(
    scan: HistoryScan, blobs: set[bytes], rev_args: Sequence[str]
) -> list[Finding]:
    """Findings in hit blobs no single-parent commit adds: dangling objects, or blobs that
    only a merge brings in (what refs hold outside commits is `outside_commits`'s). Reported
    apart from the history findings. In a work tree's
    repository a dangling object never left the machine (a commit the hook blocked, a
    `git add` undone): its finding is listed as local only and does not fail the run; in
    a bare repository (a server, a mirror) anyone can fetch it by its id."""
    repo, scanner, stats = scan.repo, scan.scanner, scan.stats
    paths = reachable_paths(repo, rev_args, blobs)
    bare = run_git(repo, "rev-parse", "--is-bare-repository").strip() == b"true"
    findings: list[Finding] = []
    with BlobReader(repo) as reader:
        for sha in sorted(blobs):
            path = paths.get(sha)
            shown = path if path is not None else f"(unreachable blob {sha.decode()[:12]})"
            for finding in scan_blob(reader, sha.decode(), shown, scanner, stats=stats) or []:
                finding.notes.append(
                    "brought in by a merge commit, not by a single-parent change"
                    if path is not None
                    else f"in dangling object {sha.decode()}: no ref or reflog reaches it"
                )
                finding.unreachable = path is None
                if path is None and not bare and finding.suppression is None:
                    finding.suppression = Suppression("external", LOCAL_ONLY)
                findings.append(finding)
    return findings
