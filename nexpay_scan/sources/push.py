"""Which commits a push sends: from git's pre-push input or pre-commit's environment."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from nexpay_scan.errors import FatalError
from nexpay_scan.findings import Finding
from nexpay_scan.progress import Progress
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.base import Target
from nexpay_scan.sources.blob_reader import BlobReader
from nexpay_scan.sources.changes import scan_blob
from nexpay_scan.sources.git import (
    decode_path,
    fit_on_a_line,
    in_parts,
    missing_objects_error,
    objects_named,
    run_git,
    streamed,
)
from nexpay_scan.stats import Stats

_ZERO = frozenset("0")


class PushSource:
    """Source: what a push sends (pre-push), from git's hook input or pre-commit's
    environment: its new commits (`pushed_revisions`), the annotated tags it names, and
    blobs or trees pushed without a commit (`objects_outside_commits`)."""

    mode = "pre-push"

    def __init__(
        self,
        root: Path,
        remote: str | None,
        environ: Mapping[str, str],
        read_stdin: Callable[[], Sequence[str]],
        progress: Progress | None = None,
    ) -> None:
        self.root, self.remote, self.environ = root, remote, environ
        self.read_stdin, self.progress = read_stdin, progress
        self.stats = Stats()
        self.ranges: list[list[str]] = []

    def target(self) -> Target:
        """The repository pushed from; its own config and suppressions apply."""
        return Target(self.root)

    def findings(self, scanner: Scanner) -> list[Finding]:
        """Each key the push adds, once, where it came in."""
        from nexpay_scan.sources.blob_engine import default_workers, scan_by
        from nexpay_scan.sources.history import HistoryScan

        scan = HistoryScan(self.root, scanner, progress=self.progress)
        scan.tags_of_range = False  # the tags pushed are named in the hook's input
        lines: list[str] = []  # git's hook input, when it is read (not under pre-commit)

        def read_lines() -> list[str]:
            lines.extend(self.read_stdin())
            return lines

        self.ranges = list(pushed_revisions(self.root, self.remote, self.environ, read_lines))
        for revisions in self.ranges:
            scan_by("auto", scan, revisions, default_workers())
        refs, had = pushed_objects(self.root, self.remote, lines)
        scan.scan_tags([(tag_name(ref), sha) for ref, sha in refs])
        extra = objects_outside_commits(self.root, scanner, refs, had, self.stats)
        self.stats.merge(scan.stats)
        return scan.findings() + extra


def tag_name(ref: str) -> str:
    """A pushed ref's name as a tag is named (`refs/tags/v1` -> `v1`)."""
    return ref.removeprefix("refs/tags/")


def _is_null(sha: str) -> bool:
    return set(sha) <= _ZERO


def _new_commits(local: str, remote: str | None) -> list[str]:
    """`git log` arguments for commits of `local` that no remote-tracking ref has."""
    return [local, "--not", f"--remotes={remote}" if remote else "--remotes"]


def _unpushed_everywhere(remote: str | None) -> list[str]:
    """The commits of every local branch and tag that the remote does not have. pre-commit
    tells a hook about the first pushed ref only (`git push origin a b` names `a`): what
    else is pushed cannot be known, so all that could be is scanned."""
    return ["--branches", "--tags", "--not", f"--remotes={remote}" if remote else "--remotes"]


def pushed_objects(
    repo: Path, remote: str | None, lines: Sequence[str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """From git's pre-push input: (remote ref, object) per ref pushed (deletions send
    nothing), and revisions for what the remote already has (its remote-tracking refs,
    and the old values of the pushed refs that are known here)."""
    refs: list[tuple[str, str]] = []
    olds: list[str] = []
    for line in lines:
        parts = line.split()
        if len(parts) != 4 or _is_null(parts[1]):
            continue
        refs.append((parts[2], parts[1]))
        if not _is_null(parts[3]):
            olds.append(parts[3])
    known = _present(repo, olds, "object")
    had = [f"--remotes={remote}" if remote else "--remotes"]
    return refs, had + [sha for sha in dict.fromkeys(olds) if sha in known]


def _present(repo: Path, shas: Sequence[str], kind: str) -> set[str]:
    """Those of `shas` this repository has as a `kind` (`commit`: a commit, or a tag
    peeled to one; `object`: anything), in one git call however many refs a push names."""
    found = objects_named(repo, [f"{sha}^{{{kind}}}" for sha in shas])
    return {sha for sha, (_, what) in zip(shas, found, strict=True) if what != "missing"}


def pushed_revisions(
    repo: Path,
    remote: str | None,
    environ: Mapping[str, str],
    read_stdin: Callable[[], Sequence[str]],
) -> Iterator[list[str]]:
    """`git log` arguments, one list per pushed ref, covering exactly the new commits.

    pre-commit gives a range in PRE_COMMIT_FROM_REF/TO_REF; for a new branch that starts at
    a root commit it gives none, and then the branch's commits missing from the remote are
    scanned. Git's own hook input has one line per ref: deletions send nothing. With no
    input at all (run by hand), the commits of HEAD that no remote has are scanned.
    """
    remote = remote or environ.get("PRE_COMMIT_REMOTE_NAME")
    start, end = environ.get("PRE_COMMIT_FROM_REF"), environ.get("PRE_COMMIT_TO_REF")
    if start and end:
        yield [f"{start}..{end}"]
        yield _unpushed_everywhere(remote)
        return
    if environ.get("PRE_COMMIT_LOCAL_BRANCH"):
        yield _new_commits(environ["PRE_COMMIT_LOCAL_BRANCH"], remote)
        yield _unpushed_everywhere(remote)
        return
    stdin_lines = read_stdin()
    if not stdin_lines:  # run by hand: the commits not on any remote yet
        yield _new_commits("HEAD", remote)
        return
    pushed: list[tuple[str, str]] = []
    for line in stdin_lines:
        parts = line.split()
        if len(parts) != 4:
            raise FatalError(f"unexpected pre-push input line: {line[:80]!r}")
        _, local_sha, _, remote_sha = parts
        if not _is_null(local_sha):
            pushed.append((local_sha, remote_sha))
    if pushed:
        yield from _sent(repo, remote, pushed)


def _sent(repo: Path, remote: str | None, pushed: Sequence[tuple[str, str]]) -> Iterator[list[str]]:
    """`git log` argument lists for every ref a push sends, (new, old on the remote) each:
    the new commits that none of the old values reaches. The remote has whatever its old
    values reach, whichever ref it came by, so the refs whose old value this clone has go
    in one list; the refs that are new (or whose old value is unknown here) in another,
    which the remote-tracking refs also narrow, as they narrowed such a ref alone (and
    the first list's new commits: each commit is scanned once). A push of thousands of
    refs (`--mirror`) is then two scans, not thousands, each walking what the others
    do. Past what a command line holds (IDS_AT_ONCE), the new commits go a part at a
    time, and the remote-tracking refs stand for the old values (a wider selection:
    never a commit less)."""
    olds = [old for _, old in pushed if not _is_null(old)]
    known = _present(repo, olds, "commit")
    had = list(dict.fromkeys(old for old in olds if old in known))
    tracking = [f"--remotes={remote}" if remote else "--remotes"]
    followed = list(dict.fromkeys(new for new, old in pushed if old in known))
    started = list(dict.fromkeys(new for new, old in pushed if old not in known))
    # (the new refs' list leaves out what the first list scans, when that fits too)
    scanned = followed if fit_on_a_line([*had, *followed]) else []
    if fit_on_a_line(had):
        lists = ((followed, had), (started, [*had, *scanned, *tracking]))
    else:
        lists = ((followed, tracking), (started, tracking))
    for news, exclude in lists:
        for part in in_parts(news) if news else []:
            yield [*part, "--not", *exclude]


def objects_outside_commits(
    repo: Path,
    scanner: Scanner,
    refs: Sequence[tuple[str, str]],
    exclude: Sequence[str],
    stats: Stats,
) -> list[Finding]:
    """Findings in the blobs of pushed refs that point (tags peeled) at a blob or a tree:
    `git push origin $BLOB:refs/tags/x` sends content that no commit holds and `git log`
    walks past. `refs`: (ref name, object); `exclude`: revisions whose objects the other
    side has, or that the commit scan covers. A blob pushed as such is shown under its ref
    name; a tree's blobs under their paths in it (so that allowlists apply as elsewhere)."""
    return scan_outside_commits(repo, scanner, blobs_outside_commits(repo, refs, exclude), stats)


def scan_outside_commits(
    repo: Path, scanner: Scanner, loose: Sequence[tuple[str, str, str]], stats: Stats
) -> list[Finding]:
    """Findings in `loose` (see `blobs_outside_commits`), each named by its ref, or by its
    path in the tree its ref points at."""
    findings: list[Finding] = []
    if not loose:
        return findings
    with BlobReader(repo) as blobs:
        for ref, obj, path in loose:
            shown = path or ref
            found = scan_blob(blobs, obj, shown, scanner, stats=stats)
            if found is None:
                raise missing_objects_error(1)
            for finding in found:
                where = f"the tree that {ref} points at" if path else ref
                finding.notes.append(f"in no commit (git log walks past it): in {where}")
                findings.append(finding)
    return findings


def blobs_outside_commits(
    repo: Path, refs: Sequence[tuple[str, str]], exclude: Sequence[str]
) -> list[tuple[str, str, str]]:
    """(ref, blob, its path in the tree the ref points at, or "" for a blob itself) of the
    blobs that `refs` pointing (tags peeled) at a blob or a tree reach, and that neither
    `exclude` nor the commits among `refs` do. One `rev-list` for them all, whatever
    their number (thousands of tags on trees took a call each), its revisions on its
    standard input (as many commits to exclude as a repository has refs: past what a
    command line holds). A blob two such refs reach is listed once, under the first."""
    if not refs:
        return []
    peeled = _peeled(repo, refs)
    loose = [
        (ref, sha, top)
        for (ref, sha), (top, kind) in zip(refs, peeled, strict=False)
        if kind in ("tree", "blob")
    ]
    if not loose:
        return []
    roots: dict[str, str] = {}  # a root object (as given, and peeled) -> its ref
    for ref, sha, top in loose:
        roots.setdefault(sha, ref)
        roots.setdefault(top, ref)
    options = [revision for revision in exclude if revision.startswith("-")]
    excluded = [revision for revision in exclude if not revision.startswith("-")]
    excluded += [sha for (_, sha), (_, kind) in zip(refs, peeled, strict=False) if kind == "commit"]
    asked = [*dict.fromkeys(sha for _, sha, _ in loose), *(f"^{sha}" for sha in excluded)]
    with streamed(
        repo,
        "rev-list",
        "--objects",
        "--stdin",
        *(["--not", *options] if options else []),
        stdin=asked,
    ) as output:
        listed = output.read()
    found: list[tuple[str, str]] = []
    owners: list[str] = []
    ref = loose[0][0]
    tags = {sha for _, sha, top in loose if sha != top}  # (git lists a tag by its name)
    for obj, path in _objects_listed(listed):
        if obj in roots and (not path or obj in tags):  # a root: its objects follow it
            ref = roots[obj]
        found.append((obj, path))
        owners.append(ref)
    blobs = set(_blobs_of(repo, found))
    return [
        (owner, obj, path)
        for owner, (obj, path) in zip(owners, found, strict=True)
        if (obj, path) in blobs
    ]


def every_ref(repo: Path) -> list[tuple[str, str]]:
    """(name, object) of every ref of the repository (the objects a whole history's
    scan covers beyond its commits: see `blobs_outside_commits`)."""
    listed = run_git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    refs = []
    for line in listed.decode("utf-8", "surrogateescape").splitlines():
        name, _, sha = line.rpartition(" ")
        refs.append((name, sha))
    return refs


def _peeled(repo: Path, refs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(object, type) each ref points at once tags are peeled (("", "missing") if git has
    none)."""
    return objects_named(repo, [f"{sha}^{{}}" for _, sha in refs])


def _objects_listed(listed: bytes) -> list[tuple[str, str]]:
    """(object, path) from `rev-list --objects` output. Git writes a path with a newline in
    it as is: a line that does not start with an object id continues the previous path."""
    objects: list[tuple[str, str]] = []
    for line in listed.split(b"\n"):
        sha, _, path = line.partition(b" ")
        if _is_object_id(sha):
            objects.append((sha.decode(), decode_path(path)))
        elif objects and line:
            last, before = objects[-1]
            objects[-1] = (last, before + "\n" + decode_path(line))
    return objects


def _is_object_id(text: bytes) -> bool:
    return len(text) in (40, 64) and not text.strip(b"0123456789abcdef")


def _blobs_of(repo: Path, objects: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The blobs among `objects`."""
    if not objects:
        return []
    asked = [sha for sha, _ in objects]
    with streamed(repo, "cat-file", "--batch-check=%(objecttype)", stdin=asked) as output:
        kinds = output.read().decode("ascii", "replace").split("\n")
    return [obj for obj, kind in zip(objects, kinds, strict=False) if kind == "blob"]
