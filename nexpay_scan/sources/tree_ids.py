"""Client IDs in the tree at a revision: for a range scan, the client IDs a new secret may
belong with even though they came in before the range (credentials.md counts them as its
own for "revoked"). Cheap and bounded: `git grep` names the few files that can hold one,
and only those are read and scanned, with the repository's own rules and filters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from nexpay_scan.findings import CLIENT_ID, Finding
from nexpay_scan.records import Record
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.blob_reader import BlobReader
from nexpay_scan.sources.git import decode_path, in_parts, name_at, objects_named, run_git
from nexpay_scan.stats import Stats

TYPE_CHECKING = False
if TYPE_CHECKING:
    from nexpay_scan.paths import StrPath

# What git grep looks for: a prefixed client ID; a UUID in a file that names Nexpay (the
# legacy client-ID rule needs that context, and the Scanner then checks the rest of it).
_PREFIXED = "nxp_cid_[0-9A-Za-z]{24}"
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
MAX_FILES = 200  # per revision: a tree full of fixtures cannot make verification crawl
MAX_IDS = 100  # per run, over all revisions


class TreeClientId(Record):
    """A client ID in the tree at a range's head commit, and the file that holds it."""

    value: str
    path: str


def range_heads(revision_lists: Iterable[Sequence[str]]) -> list[str]:
    """The head revisions of the ranges that `git log` is given (one argument list each):
    `A..B` and `A...B` give B (HEAD when empty); a list with an exclusion (`^A`, `--not`)
    gives its positive revisions. A list without an exclusion is a whole history, which
    has no head tree beyond what its scan finds: it gives nothing."""
    heads: list[str] = []
    for revisions in revision_lists:
        heads.extend(_heads(list(revisions)))
    return list(dict.fromkeys(heads))


def _heads(revisions: list[str]) -> list[str]:
    positive: list[str] = []
    excluded = negated = options_over = False
    for item in revisions:
        if not options_over and item == "--end-of-options":
            options_over = True
        elif not options_over and item == "--not":
            negated = excluded = True
        elif not options_over and item.startswith("-"):
            continue
        elif ".." in item:
            excluded = True
            head = item.split("...", 1)[1] if "..." in item else item.split("..", 1)[1]
            positive.append(head or "HEAD")
        elif item.startswith("^"):
            excluded = True
        elif not negated:
            positive.append(item)
    return positive if excluded else []


def client_ids_at_heads(
    repo: StrPath, revision_lists: Iterable[Sequence[str]], scanner: Scanner
) -> list[TreeClientId]:
    """Client IDs in the trees at the heads of these ranges (none for whole histories)."""
    heads = range_heads(revision_lists)
    return client_ids_at(repo, heads, scanner) if heads else []


def client_ids_at(repo: StrPath, heads: Sequence[str], scanner: Scanner) -> list[TreeClientId]:
    """Client IDs in the tree at each of `heads`, as the scan's rules find them: at most
    MAX_FILES files per head are read (files with a prefixed client ID first) and at most
    MAX_IDS client IDs are returned. A revision git cannot resolve gives none. The heads
    are resolved in one git call and searched in two, however many there are (a push of
    thousands of refs made three calls a ref)."""
    probe = Scanner(scanner.settings)  # its own counts: the report's stay the scan's
    commits = _commits(repo, heads)
    if not commits:
        return []
    prefixed = _grep(repo, commits, "-e", _PREFIXED)
    legacy = _grep(repo, commits, "-i", "--all-match", "-e", "nexpay", "-e", _UUID)
    found: dict[str, TreeClientId] = {}
    with BlobReader(repo) as blobs:
        for commit in commits:
            paths = list(dict.fromkeys([*prefixed.get(commit, []), *legacy.get(commit, [])]))
            for path in paths[:MAX_FILES]:
                for finding in _client_ids_in(probe, blobs, repo, commit, path):
                    found.setdefault(
                        finding.secret.reveal(), TreeClientId(finding.secret.reveal(), path)
                    )
                if len(found) >= MAX_IDS:
                    return list(found.values())[:MAX_IDS]
    return list(found.values())


def _commits(repo: StrPath, revisions: Sequence[str]) -> list[str]:
    """The distinct commits `revisions` name, in their order (one that git cannot resolve
    names none), in one git call."""
    found = objects_named(repo, [f"{revision}^{{commit}}" for revision in revisions])
    return list(dict.fromkeys(sha for sha, kind in found if kind == "commit"))


def _grep(repo: StrPath, commits: Sequence[str], *patterns: str) -> dict[str, list[str]]:
    """For each of `commits`, the paths in its tree (text files only) with lines matching
    `patterns`: one `git grep` of every tree."""
    out = b"\0".join(
        run_git(
            repo,
            "grep",
            "-I",
            "-l",
            "-z",
            "-E",
            "--no-color",
            "--no-textconv",
            *patterns,
            *part,
            "--",
            ok_codes=(0, 1),
        )
        for part in in_parts(commits)
    )
    found: dict[str, list[str]] = {}
    for entry in out.split(b"\0"):
        commit, sep, path = entry.partition(b":")
        if sep and path:
            found.setdefault(commit.decode(), []).append(decode_path(path))
    return found


def _client_ids_in(
    scanner: Scanner, blobs: BlobReader, repo: StrPath, commit: str, path: str
) -> list[Finding]:
    name = name_at(repo, commit, path)
    if name is None:
        return []
    from nexpay_scan.windows import scan_read

    data = blobs.read_or_stream(name, scanner.settings.max_file_size)
    if data is None:
        return []
    return [f for f in scan_read(scanner, data, path, stats=Stats()) if f.kind == CLIENT_ID]
