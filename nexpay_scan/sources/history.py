"""The diff engine through git history: `git log -p`, streamed in large blocks and searched
block by block; and what both engines report: each secret once, where it came in."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from nexpay_scan.config import DEFAULT_MAX_FILE_SIZE
from nexpay_scan.decoders import starts_encoded
from nexpay_scan.findings import Commit, Finding
from nexpay_scan.prefilter import Prefilter, prefilter_for
from nexpay_scan.progress import Progress
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.blob_reader import BlobReader
from nexpay_scan.sources.changes import paired_sections, scan_change
from nexpay_scan.sources.commit_message import MESSAGE_PLACE
from nexpay_scan.sources.git import check_objects_present, has_commits, objects_at, streamed
from nexpay_scan.sources.gitlog import (
    BLOCK_SIZE,
    MARKER,
    RECORD_FORMAT,
    WALK_ARGS,
    DatedCommit,
    LongRecord,
    RawChange,
    commit_records,
    commits_in,
    count_commits,
    marked_records,
    parse_commit,
    parse_raw_z,
    raw_changes,
    streamed_changes,
    unmarked,
    walk_command,
)
from nexpay_scan.sources.lfs import ADDED_OID
from nexpay_scan.sources.messages import (
    MessagesRead,
    TagRead,
    messages_beside,
    object_types,
    parsed_tag,
    read_tags,
    tag_place,
    tags_pointing_at,
)
from nexpay_scan.sources.oversized import at_paths, excluding, oversized_paths
from nexpay_scan.sources.patch import adds_encoded_line, is_binary
from nexpay_scan.stats import Stats

ENCODED_HEAD_BYTES = 512  # enough for `decoders.starts_encoded` (a tar header ends at 262)
# Three lines of context around each change, so a rule's Nexpay context is in the patch.
_PATCH_ARGS = (
    "-p",
    # a deleted file's lines are no addition: not printed, and a huge one is not read
    "--irreversible-delete",
    "-U3",
    "--no-ext-diff",
    "--no-color",
    "--no-textconv",
)
# A commit's record longer than this is not held: its changes are scanned blob by blob
# (see HistoryScan._scan_long), and the rest of its patch is read and passed over.
RECORD_CAP = 16 << 20
ALSO_IN = "also in this commit: "


def stream_log(
    repo: Path,
    rev_args: Sequence[str],
    stdin: Sequence[str] = (),
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    pathspecs: Sequence[str] = (),
) -> Iterator[bytes | LongRecord]:
    """Blocks of `git log -p` output for `rev_args`, each ending on a commit boundary,
    none much over RECORD_CAP: a longer commit comes as a LongRecord. `stdin` lines go to
    git's standard input (for `--stdin`). Git shows a blob over `max_file_size` as binary
    and does not diff it (it still reads a new one whole to say so: git's own limit)."""
    config = ("-c", f"core.bigFileThreshold={max_file_size}")
    args = (*WALK_ARGS, *_PATCH_ARGS, RECORD_FORMAT, *rev_args, "--", *pathspecs)
    with streamed(repo, *args, config=config, stdin=stdin) as output:
        yield from marked_records(output, MARKER, BLOCK_SIZE, RECORD_CAP)


def _worth_parsing(prefilter: Prefilter, text: bytes) -> bool:
    """A binary change (its content is not in the patch), a line of base64 added (see
    `_makes_encoded_file`), or patch text that could hold a key as it is or decoded (see
    `nexpay_scan.prefilter`)."""
    return (
        b"\nBinary files " in text
        or ADDED_OID in text  # a Git LFS pointer changed: its content is kept apart
        or adds_encoded_line(text)
        or prefilter.suspect(text, patch=True)
    )


def _makes_encoded_file(change: RawChange, section: bytes, blobs: BlobReader) -> bool:
    """A change adding base64 lines to content that starts encoded: a wholly base64 file,
    whose keys show only decoded. The blob engine decodes the same contents (see
    `decoders.starts_encoded`), so both engines find the same keys."""
    if not change.adds_content or not adds_encoded_line(section):
        return False
    return starts_encoded(blobs.head(change.new_sha, ENCODED_HEAD_BYTES) or b"")


class HistoryScan:
    """Every added credential in the history: each secret once, where it came in."""

    def __init__(
        self,
        repo: Path,
        scanner: Scanner,
        *,
        all_occurrences: bool = False,
        progress: Progress | None = None,
    ) -> None:
        self.repo = repo
        self.scanner = scanner
        self.stats = Stats()  # what the scan reads and passes over
        self.progress = progress or Progress("commits", enabled=False)
        self.all_occurrences = all_occurrences
        self._earliest: dict[str, tuple[tuple[int, int], Finding]] = {}
        self._counts: dict[str, int] = {}
        self._every: list[Finding] = []
        self._order = 0
        self.track_places = False
        self._prefilter = True
        self._places: dict[str, list[tuple[Commit, str, int]]] = {}
        # annotated tags pointing at a scanned commit have their messages scanned too
        # (history, ci); pre-push and pre-receive name the tags they send instead
        self.tags_of_range = True
        self._tags_done: set[str] = set()
        # key -> {commit: places of the key in it, in order}: what "also in" names
        self._in_commit: dict[str, dict[str, dict[str, None]]] = {}

    def run(
        self, rev_args: Sequence[str], stdin: Sequence[str] = (), *, prefilter: bool = True
    ) -> list[Finding]:
        """Scans the commits `git log rev_args` lists (see `log_revisions`); returns findings.
        Without `prefilter`, every change is scanned, keyword or not (commits already known
        to add a blob with a finding, which may be encoded). With `stdin` (the blob engine's
        commits, listed), the commits are not counted, nor their messages read: the blob
        engine did both for its whole selection."""
        self._prefilter = prefilter
        if not stdin:  # (the blob engine's own commits: checked with its whole selection)
            check_objects_present(self.repo, rev_args)
        words = prefilter_for(self.scanner.detector.keywords)
        progress = self.progress
        if progress.enabled and not stdin:
            progress.start(count_commits(self.repo, rev_args), "commits")
        limit = self.scanner.settings.max_file_size
        # paths where a blob over the limit appears stay out of `git log -p`, which would
        # read such a blob whole: their changes are scanned from the blobs, by size
        big = oversized_paths(self.repo, rev_args, stdin, limit)
        messages = None
        if not stdin:
            messages = messages_beside(self.repo, rev_args, self.scanner, tags=self.tags_of_range)
        counted = self.stats.commits_scanned
        try:
            self._scan_log(rev_args, stdin, big, words)
        except BaseException:  # (the messages' git is not left running)
            if messages is not None:
                messages.cancel()
            raise
        if messages is not None:
            read = messages.result()
            if big:  # `git log` with the big files' paths left out lists no commit that
                # changes only those: the count is of every commit the messages' log listed
                self.stats.commits_scanned = counted + len(read[0])
            self.scan_messages_read(read, rev_args)
        progress.finish()
        return self.findings()

    def _scan_log(
        self, rev_args: Sequence[str], stdin: Sequence[str], big: list[str], words: Prefilter
    ) -> None:
        """The changes `git log -p` shows for `rev_args` (or the commits on `stdin`), each
        block parsed if it could hold a key; then the blobs over the size limit."""
        limit = self.scanner.settings.max_file_size
        with BlobReader(self.repo) as blobs:
            for block in stream_log(self.repo, rev_args, stdin, limit, excluding(big)):
                if isinstance(block, LongRecord):
                    self.walked(0 if stdin else 1)
                    self._scan_long(block, blobs)
                    continue
                self.walked(0 if stdin else commits_in(block))
                if not self._prefilter or _worth_parsing(words, unmarked(block)):
                    self._scan_block(block, blobs)
            if big:
                self._scan_oversized(rev_args, stdin, big, blobs)

    def walked(self, commits: int, *, shown: bool = True) -> None:
        """Counts `commits` as scanned: the summary's count, and unless not `shown` (the
        blob engine counts bytes), the progress display. The commits the blob engine lists
        for `run` (on its standard input) were counted by its walk: not counted again."""
        self.stats.commits_scanned += commits
        if shown:
            self.progress.advance(commits)

    def scan_messages_read(self, read: MessagesRead, rev_args: Sequence[str]) -> None:
        """Scans the messages `read_messages` found suspect and, unless `tags_of_range` is
        off, the messages of the annotated tags pointing at the commits it listed (as it
        listed them, or listed now)."""
        listed, suspects, tags, tags_read = read
        for record in suspects:
            dated, message = parse_commit(record)
            self._scan_text(message, MESSAGE_PLACE, dated)
        if self.tags_of_range:
            if tags is None:
                tags = tags_pointing_at(self.repo, listed, rev_args)
            self._scan_tags_read(tags_read)  # (read beside the scan: the first of `tags`)
            # (annotated, as listed: their types are not asked of git again)
            self._scan_tags_read(read_tags(self.repo, self._not_done(tags)))

    def scan_tags(self, tags: Sequence[tuple[str, str]]) -> None:
        """Scans the messages of the annotated tags among `tags` ((name, object id)): a
        finding's place is `tag_place(name)`, its commit the tagger and the tag's date."""
        wanted = self._not_done(tags)
        if not wanted:
            return
        kinds = object_types(self.repo, [sha for _, sha in wanted])
        annotated = [tag for tag, kind in zip(wanted, kinds, strict=True) if kind == "tag"]
        self._scan_tags_read(read_tags(self.repo, annotated))

    def _not_done(self, tags: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(name, sha) for name, sha in tags if sha not in self._tags_done]

    def _scan_tags_read(self, tags: Iterable[TagRead]) -> None:
        """`scan_tags` of tags read (each once a run)."""
        for name, sha, raw in tags:
            if sha not in self._tags_done:
                self._tags_done.add(sha)
                dated, message = parsed_tag(sha, raw)
                self._scan_text(message, tag_place(name), dated)

    def _scan_text(self, text: bytes, place: str, dated: DatedCommit) -> None:
        for finding in self.scanner.scan(text, place, commit=dated.commit, stats=self.stats):
            self._record(finding, dated)

    def _scan_block(self, block: bytes, blobs: BlobReader) -> None:
        prefilter = prefilter_for(self.scanner.detector.keywords)
        for record in commit_records(block):
            if not self._prefilter or _worth_parsing(prefilter, record[len(MARKER) :]):
                dated, rest = parse_commit(record)
                self._scan_commit(dated, rest, blobs)

    def _scan_commit(self, dated: DatedCommit, rest: bytes, blobs: BlobReader) -> None:
        raw, _, patch = rest.partition(b"\0\0")
        prefilter = prefilter_for(self.scanner.detector.keywords)
        for change, section in paired_sections(list(parse_raw_z(raw.split(b"\0"))), patch):
            if (
                not self._prefilter
                or is_binary(section)
                or ADDED_OID in section
                or prefilter.suspect(section, patch=True)
                or _makes_encoded_file(change, section, blobs)
            ):
                for finding in scan_change(
                    change, section, blobs, self.scanner, dated.commit, stats=self.stats
                ):
                    self._record(finding, dated)

    def _scan_long(self, record: LongRecord, blobs: BlobReader) -> None:
        """A commit too long to hold: each change its raw records name is scanned from its
        blobs (see `scan_change` without a section), while the raw records stream in; the
        patch after them is passed over unread. New blobs over the size limit are searched
        a window at a time."""
        dated, rest = parse_commit(record.head)
        for change in streamed_changes(rest, record.rest()):
            for finding in scan_change(
                change, None, blobs, self.scanner, dated.commit, stats=self.stats
            ):
                self._record(finding, dated)

    def _scan_oversized(
        self, rev_args: Sequence[str], stdin: Sequence[str], paths: list[str], blobs: BlobReader
    ) -> None:
        """The changes at `paths` (see `oversized_paths`), listed without content: each new
        blob scanned whole when under the limit, a window at a time when over it."""
        args = walk_command(rev_args, at_paths(paths))
        with streamed(self.repo, *args, stdin=stdin) as output:
            listing = output.read()  # a line per change: small, whatever the blobs hold
        for record in commit_records(listing):
            dated, rest = parse_commit(record)
            for change in raw_changes(rest):
                for finding in scan_change(
                    change, None, blobs, self.scanner, dated.commit, stats=self.stats
                ):
                    self._record(finding, dated)

    def _record(self, finding: Finding, dated: DatedCommit) -> None:
        key = finding.secret.reveal()
        self._counts[key] = self._counts.get(key, 0) + 1
        self._order += 1
        if self.all_occurrences:
            self._every.append(finding)
        if self.track_places and finding.commit:
            self._places.setdefault(key, []).append((finding.commit, finding.file, finding.line))
        held = self._earliest.get(key)
        sha = finding.commit.sha if finding.commit else ""
        seen = self._in_commit.setdefault(key, {})
        if held is None or dated.timestamp <= held[0][0]:  # a commit that may be named
            seen.setdefault(sha, {}).setdefault(_place_label(finding), None)
        # Earliest commit time first; git log lists older commits later, so later wins
        # ties; within one commit, a key as it is in a file before a decoded copy of it
        # (then a message), so a reader finds it in plain text where they look first.
        rank = (dated.timestamp, -self._order)
        if held is None:
            self._earliest[key] = (rank, finding)
        elif held[1].commit is not None and held[1].commit.sha == sha:
            if _plainness(finding) < _plainness(held[1]) or (
                _plainness(finding) == _plainness(held[1]) and rank < held[0]
            ):
                self._earliest[key] = (min(rank, held[0]), finding)
        elif rank < held[0]:
            self._earliest[key] = (rank, finding)
            for other in [c for c in seen if c != sha]:  # only the named commit's places
                del seen[other]

    def findings(self) -> list[Finding]:
        """One finding per secret at its introduction (or every occurrence if asked)."""
        if self.all_occurrences:
            for finding in self._every:
                finding.occurrences = self._counts[finding.secret.reveal()]
            return self._every
        result = []
        for key, (_, finding) in self._earliest.items():
            finding.occurrences = self._counts[key]
            finding.places = self._places.get(key, [])
            self._note_others(key, finding)
            result.append(finding)
        return result

    def _note_others(self, key: str, finding: Finding) -> None:
        """A note naming the commit's other places of the key (`also in this commit:
        a.env, b.ipynb (decoded)`), once."""
        sha = finding.commit.sha if finding.commit else ""
        others = [
            p for p in self._in_commit.get(key, {}).get(sha, {}) if p != _place_label(finding)
        ]
        if not others:
            return
        note = ALSO_IN + ", ".join(others)
        finding.notes = [n for n in finding.notes if not n.startswith(ALSO_IN)] + [note]

    def mark_at_head(self, findings: list[Finding]) -> None:
        """Sets `at_head`: whether HEAD's version of a file where the key was added holds it
        (left None for keys in dangling objects, which no file at HEAD stands for)."""
        findings = [f for f in findings if not f.unreachable]
        if not has_commits(self.repo):
            for finding in findings:
                finding.at_head = False
            return
        held = holding_commits(self.repo, findings, ["HEAD"])
        for finding in findings:
            finding.at_head = "HEAD" in held[id(finding)]


def holding_commits(
    repo: Path, findings: Sequence[Finding], commits: Sequence[str]
) -> dict[int, set[str]]:
    """For each finding (by `id`), those of `commits` whose files at the finding's paths
    still hold its key. What each commit holds at each path is asked in one git call,
    and each version read once for every key asked of it (a read for each key, commit and
    path took 7 s for 20 keys and 2,000 tags)."""
    if not findings or not commits:  # (no git call)
        return {id(f): set() for f in findings}
    paths = {id(f): sorted({p for _, p, _ in f.places} or {f.file}) for f in findings}
    wanted = {(commit, path) for commit in commits for f in findings for path in paths[id(f)]}
    blob_at = objects_at(repo, sorted(wanted))
    asked: dict[str, set[bytes]] = {}  # a version -> the keys asked of it
    for finding in findings:
        value = finding.secret.reveal().encode()
        for commit in commits:
            for path in paths[id(finding)]:
                if blob := blob_at.get((commit, path)):
                    asked.setdefault(blob, set()).add(value)
    with BlobReader(repo) as blobs:
        holding = {blob: blobs.holding(blob, keys) for blob, keys in asked.items()}
    held: dict[int, set[str]] = {}
    for finding in findings:
        value = finding.secret.reveal().encode()
        held[id(finding)] = {
            commit
            for commit in commits
            for path in paths[id(finding)]
            if value in holding.get(blob_at.get((commit, path), ""), ())
        }
    return held


def _decoded(finding: Finding) -> bool:
    return any(note.startswith("decoded from ") for note in finding.notes)


def _plainness(finding: Finding) -> int:
    """0: the key as it is in a file; 1: decoded; 2: in a message (no file to fix)."""
    if finding.file.startswith("(") and finding.file.endswith(")"):
        return 2
    return 1 if _decoded(finding) else 0


def _place_label(finding: Finding) -> str:
    return f"{finding.file} (decoded)" if _decoded(finding) else finding.file
