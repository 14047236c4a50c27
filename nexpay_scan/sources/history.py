"""Git history through `git log -p`, streamed in large blocks and searched block by block."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

from nexpay_scan.config import DEFAULT_MAX_FILE_SIZE
from nexpay_scan.decoders import starts_encoded
from nexpay_scan.findings import Commit, Finding
from nexpay_scan.prefilter import Prefilter, prefilter_for
from nexpay_scan.progress import Progress
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.changes import paired_sections, scan_change
from nexpay_scan.sources.git import (
    BlobReader,
    LongRecord,
    RawChange,
    check_objects_present,
    git_command,
    has_commits,
    marked_blocks,
    marked_records,
    parse_raw_z,
    run_git,
    streamed,
)
from nexpay_scan.sources.oversized import at_paths, excluding, oversized_paths
from nexpay_scan.sources.patch import adds_encoded_line, is_binary
from nexpay_scan.stats import Stats

BLOCK_SIZE = 1 << 20
ENCODED_HEAD_BYTES = 512  # enough for `decoders.starts_encoded` (a tar header ends at 262)
# Where each commit's record starts in `git log` output. Author names, paths and content can
# hold any bytes, so the marker carries a random nonce of this run that no repository can
# know in advance: otherwise a crafted author name could cut a record and hide a key.
MARKER = b"\x01nexpay-scan-" + os.urandom(12).hex().encode() + b"\x01"
# the fields a commit's record starts with (see parse_commit)
_HEADER_FORMAT = "%H%x00%ct%x00%an%x00%ae%x00%aI"
# How both history routes walk: the same commits, in the same order, with the same changes.
WALK_ARGS = (
    "log",
    "--raw",
    "-z",
    # A file renamed with a key in it counts as adding it again, in both history routes.
    "--no-renames",
    # A merge's own changes (conflict resolutions, "evil" merges): what is new against
    # every parent. Without it `git log -p` shows merges as empty.
    "--cc",
    "--full-history",
    "--no-abbrev",
)
# Three lines of context around each change, so a rule's Nexpay context is in the patch.
_LOG_ARGS = (
    *WALK_ARGS,
    "-p",
    # a deleted file's lines are no addition: not printed, and a huge one is not read
    "--irreversible-delete",
    "-U3",
    "--no-ext-diff",
    "--no-color",
    "--no-textconv",
    "--format=" + MARKER.decode() + _HEADER_FORMAT,
)
# A commit's record longer than this is not held: its changes are scanned blob by blob
# (see HistoryScan._scan_long), and the rest of its patch is read and passed over.
RECORD_CAP = 16 << 20


@dataclass(frozen=True)
class DatedCommit:
    """A commit and its committer time, the order in which introductions are judged."""

    commit: Commit
    timestamp: int


# The whole history: every ref, and every commit a reflog still names (a deleted branch's
# commits through HEAD's reflog, an amended or rebased commit, an older stash): such a
# commit is reported as itself (sha, author, date), not as a dangling blob.
WHOLE_HISTORY = ("--all", "--reflog")
MESSAGE_PLACE = "(commit message)"
ALSO_IN = "also in this commit: "


def log_revisions(revisions: Sequence[str]) -> list[str]:
    """What `git log` is given: the whole history by default (WHOLE_HISTORY), else the
    user's revisions, as such."""
    if not revisions:
        return list(WHOLE_HISTORY)
    return ["--end-of-options", *revisions]


def tag_place(name: str) -> str:
    """How a finding in an annotated tag's message names its place."""
    return f"(tag message {name})"


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
    args = (*_LOG_ARGS, *rev_args, "--", *pathspecs)
    with streamed(repo, *args, config=config, stdin=stdin) as output:
        yield from marked_records(output, MARKER, BLOCK_SIZE, RECORD_CAP)


def _worth_parsing(prefilter: Prefilter, text: bytes) -> bool:
    """A binary change (its content is not in the patch), a line of base64 added (see
    `_makes_encoded_file`), or patch text that could hold a key as it is or decoded (see
    `nexpay_scan.prefilter`)."""
    return (
        b"\nBinary files " in text or adds_encoded_line(text) or prefilter.suspect(text, patch=True)
    )


def _unmarked(block: bytes) -> bytes:
    """A block of records without its markers, which name the tool (a keyword)."""
    return block.replace(MARKER, b"\x01")


def _makes_encoded_file(change: RawChange, section: bytes, blobs: BlobReader) -> bool:
    """A change adding base64 lines to content that starts encoded: a wholly base64 file,
    whose keys show only decoded. The blob route decodes the same contents (see
    `decoders.starts_encoded`), so both routes find the same keys."""
    if not change.adds_content or not adds_encoded_line(section):
        return False
    return starts_encoded(blobs.head(change.new_sha, ENCODED_HEAD_BYTES) or b"")


def parse_commit(chunk: bytes) -> tuple[DatedCommit, bytes]:
    """A commit's header fields and the rest of its record (raw records and patch)."""
    fields = chunk[len(MARKER) :].split(b"\0", 5)
    sha, timestamp, author, email, date = (f.decode("utf-8", "replace") for f in fields[:5])
    commit = Commit(sha=sha, author=author, email=email, date=date)
    rest = fields[5] if len(fields) > 5 else b""
    return DatedCommit(commit, int(timestamp)), rest.lstrip(b"\0\n")


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
        to add a blob with a finding, which may be encoded)."""
        self._prefilter = prefilter
        if not stdin:  # (the blob route's own commits: checked with its whole range)
            check_objects_present(self.repo, rev_args)
        words = prefilter_for(self.scanner.detector.keywords)
        progress = self.progress
        if progress.enabled and not stdin:
            progress.start(self.count_commits(rev_args), "commits")
        limit = self.scanner.settings.max_file_size
        # paths where a blob over the limit appears stay out of `git log -p`, which would
        # read such a blob whole: their changes are scanned from the blobs, by size
        big = oversized_paths(self.repo, rev_args, stdin, limit)
        messages = None if stdin else _Background(_messages_read, self.repo, rev_args, self.scanner)
        with BlobReader(self.repo) as blobs:
            for block in stream_log(self.repo, rev_args, stdin, limit, excluding(big)):
                if isinstance(block, LongRecord):
                    self.stats.commits_scanned += 1
                    progress.advance(1)
                    self._scan_long(block, blobs)
                    continue
                commits = block.count(MARKER)
                self.stats.commits_scanned += commits
                progress.advance(commits)
                if not self._prefilter or _worth_parsing(words, _unmarked(block)):
                    self._scan_block(block, blobs)
            if big:
                self._scan_oversized(rev_args, stdin, big, blobs)
        if messages is not None:
            listed = self._scan_messages_read(messages.result())
            if self.tags_of_range:
                self.scan_tags(_tags_pointing_at(self.repo, listed, rev_args))
        progress.finish()
        return self.findings()

    def scan_messages(self, rev_args: Sequence[str]) -> set[str]:
        """Scans the messages of the commits `git log rev_args` lists (a finding's place is
        MESSAGE_PLACE, its line the message's); returns their ids."""
        return self._scan_messages_read(_messages_read(self.repo, rev_args, self.scanner))

    def _scan_messages_read(self, read: tuple[set[str], list[bytes]]) -> set[str]:
        listed, suspects = read
        for chunk in suspects:
            dated, message = parse_commit(MARKER + chunk)
            self._scan_text(message, MESSAGE_PLACE, dated)
        return listed

    def scan_tags(self, tags: Sequence[tuple[str, str]]) -> None:
        """Scans the messages of the annotated tags among `tags` ((name, object id)): a
        finding's place is `tag_place(name)`, its commit the tagger and the tag's date."""
        wanted = [(name, sha) for name, sha in tags if sha not in self._tags_done]
        if not wanted:
            return
        kinds = _object_types(self.repo, [sha for _, sha in wanted])
        with BlobReader(self.repo) as reader:
            for (name, sha), kind in zip(wanted, kinds, strict=True):
                if kind != "tag":
                    continue
                self._tags_done.add(sha)
                dated, message = _parsed_tag(sha, reader.read(sha) or b"")
                self._scan_text(message, tag_place(name), dated)

    def _scan_text(self, text: bytes, place: str, dated: DatedCommit) -> None:
        for finding in self.scanner.scan(text, place, commit=dated.commit, stats=self.stats):
            self._record(finding, dated)

    def count_commits(self, rev_args: Sequence[str]) -> int:
        """How many commits `git log rev_args` lists."""
        return int(run_git(self.repo, "rev-list", "--count", *rev_args, "--") or b"0")

    def run_blobs(self, rev_args: Sequence[str], workers: int) -> list[Finding]:
        """The same findings as `run`, by the blob route (see `sources.blobs`), plus
        findings in blobs no single-parent commit adds (dangling or merge-only)."""
        from nexpay_scan.sources.blobs import (
            TreeWalk,
            blobs_with_candidates,
            name_oversized,
            unattributed_findings,
        )

        check_objects_present(self.repo, rev_args)
        counter = subprocess.Popen(  # counted while the blobs stream, on its own
            git_command(self.repo, "rev-list", "--count", *rev_args, "--"),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        walks: list[TreeWalk] = []

        def walk() -> None:  # the walk counts the commits too: the counter can stop
            walks.append(TreeWalk(self.repo, rev_args))
            counter.kill()

        messages = _Background(_messages_read, self.repo, rev_args, self.scanner)
        try:
            self.progress.start(0, "bytes")
            oversized: list[tuple[bytes, int]] = []
            hits = blobs_with_candidates(
                self.repo,
                self.scanner,
                workers,
                on_first=walk,
                oversized=oversized,
                stats=self.stats,
                progress=self.progress,
            )
            extra: list[Finding] = []
            if hits:
                introductions = walks[0].introductions(hits)
                if introductions.commits:
                    self.run(
                        ["--no-walk=unsorted", "--stdin"], introductions.commits, prefilter=False
                    )
                self.stats.commits_scanned = introductions.walked
                extra = unattributed_findings(
                    self.repo, self.scanner, introductions.unattributed, rev_args, self.stats
                )
        finally:
            for tree_walk in walks:
                tree_walk.close()
            counted, _ = counter.communicate()
        if not walks:
            self.stats.commits_scanned = int(counted.strip() or b"0")
        name_oversized(self.repo, self.scanner, oversized, rev_args, self.stats)
        commits = self._scan_messages_read(messages.result())
        self.scan_tags(_tags_pointing_at(self.repo, commits, rev_args))
        return self.findings() + extra

    def _scan_block(self, block: bytes, blobs: BlobReader) -> None:
        prefilter = prefilter_for(self.scanner.detector.keywords)
        for chunk in block.split(MARKER)[1:]:
            if not self._prefilter or _worth_parsing(prefilter, chunk):
                dated, rest = parse_commit(MARKER + chunk)
                self._scan_commit(dated, rest, blobs)

    def _scan_commit(self, dated: DatedCommit, rest: bytes, blobs: BlobReader) -> None:
        raw, _, patch = rest.partition(b"\0\0")
        prefilter = prefilter_for(self.scanner.detector.keywords)
        for change, section in paired_sections(list(parse_raw_z(raw.split(b"\0"))), patch):
            if (
                not self._prefilter
                or is_binary(section)
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
        patch after them is passed over unread. New blobs over the size limit are named as
        skipped without being read."""
        dated, rest = parse_commit(record.head)
        for change in _streamed_changes(rest, record.rest()):
            for finding in scan_change(
                change, None, blobs, self.scanner, dated.commit, stats=self.stats
            ):
                self._record(finding, dated)

    def _scan_oversized(
        self, rev_args: Sequence[str], stdin: Sequence[str], paths: list[str], blobs: BlobReader
    ) -> None:
        """The changes at `paths` (see `oversized_paths`), listed without content: each new
        blob scanned whole when under the limit, named as skipped, unread, when over it."""
        raw_args = [a for a in _LOG_ARGS if a not in ("-p", "-U3")]
        args = (*raw_args, *rev_args, "--", *at_paths(paths))
        with streamed(self.repo, *args, stdin=stdin) as output:
            listing = output.read()  # a line per change: small, whatever the blobs hold
        for chunk in listing.split(MARKER)[1:]:
            dated, rest = parse_commit(MARKER + chunk)
            for change in parse_raw_z(rest.rstrip(b"\0\n").split(b"\0")):
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
        with BlobReader(self.repo) as blobs:
            for finding in findings:
                paths = {path for _, path, _ in finding.places} or {finding.file}
                value = finding.secret.reveal().encode()
                finding.at_head = any(
                    value in blobs.holding(f"HEAD:{path}", (value,))
                    for path in sorted(paths)
                    if "\n" not in path
                )


def _messages_read(
    repo: Path, rev_args: Sequence[str], scanner: Scanner
) -> tuple[set[str], list[bytes]]:
    """The ids of the commits `git log rev_args` lists, and the records (header fields,
    then the message) of those whose message could hold a key (see `Prefilter`)."""
    words = prefilter_for(scanner.detector.keywords)
    listed: set[str] = set()
    suspects: list[bytes] = []
    log = ("log", "--no-color", f"--format={MARKER.decode()}{_HEADER_FORMAT}%x00%B")
    with streamed(repo, *log, *rev_args, "--") as output:
        for block in marked_blocks(output, MARKER, BLOCK_SIZE):
            chunks = block.split(MARKER)[1:]
            listed.update(c[:64].split(b"\0", 1)[0].decode("ascii", "replace") for c in chunks)
            if words.suspect(_unmarked(block)):
                suspects += [chunk for chunk in chunks if words.suspect(chunk)]
    return listed, suspects


class _Background:
    """A call run on a thread beside the scan (it mostly waits on git); `result` waits for
    it and raises what it raised."""

    def __init__(self, call: Callable[..., tuple[set[str], list[bytes]]], *args: Any) -> None:
        self._value: tuple[set[str], list[bytes]] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call, args), daemon=True)
        self._thread.start()

    def _run(
        self, call: Callable[..., tuple[set[str], list[bytes]]], args: tuple[Any, ...]
    ) -> None:
        try:
            self._value = call(*args)
        except BaseException as error:
            self._error = error

    def result(self) -> tuple[set[str], list[bytes]]:
        """What the call returned, once it ends."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


def _decoded(finding: Finding) -> bool:
    return any(note.startswith("decoded from ") for note in finding.notes)


def _plainness(finding: Finding) -> int:
    """0: the key as it is in a file; 1: decoded; 2: in a message (no file to fix)."""
    if finding.file.startswith("(") and finding.file.endswith(")"):
        return 2
    return 1 if _decoded(finding) else 0


def _place_label(finding: Finding) -> str:
    return f"{finding.file} (decoded)" if _decoded(finding) else finding.file


def _tags_pointing_at(
    repo: Path, commits: set[str], rev_args: Sequence[str]
) -> list[tuple[str, str]]:
    """(name, tag object) of the annotated tags whose target is one of `commits`; for the
    whole history, every annotated tag."""
    listed = run_git(
        repo,
        "for-each-ref",
        "--format=%(objecttype) %(objectname) %(*objectname) %(refname:short)",
        "refs/tags",
    ).decode("utf-8", "surrogateescape")
    whole = list(rev_args) == list(WHOLE_HISTORY)
    tags = []
    for line in listed.splitlines():
        kind, sha, target, name = [*line.split(" ", 3), "", "", ""][:4]
        if kind == "tag" and (whole or target in commits):
            tags.append((name, sha))
    return tags


def _object_types(repo: Path, shas: Sequence[str]) -> list[str]:
    with streamed(repo, "cat-file", "--batch-check=%(objecttype)", stdin=shas) as output:
        answered = output.read().decode("ascii", "replace").split("\n")
    return [line.split(" ")[-1] if line else "missing" for line in answered[: len(shas)]]


def _parsed_tag(sha: str, raw: bytes) -> tuple[DatedCommit, bytes]:
    """The tagger (as a DatedCommit of the tag object) and the message of a tag object."""
    head, _, message = raw.partition(b"\n\n")
    tagger = next((h for h in head.split(b"\n") if h.startswith(b"tagger ")), None)
    name, email, stamp = "", "", 0
    if tagger is not None:
        who, _, when = tagger[len(b"tagger ") :].rpartition(b"> ")
        name_part, _, email_part = who.partition(b" <")
        name, email = name_part.decode("utf-8", "replace"), email_part.decode("utf-8", "replace")
        with contextlib.suppress(ValueError, IndexError):
            stamp = int(when.split()[0])
    from datetime import datetime, timezone

    date = datetime.fromtimestamp(stamp, timezone.utc).isoformat() if stamp else ""
    return DatedCommit(Commit(sha=sha, author=name, email=email, date=date), stamp), message


def _streamed_changes(first: bytes, rest: Iterator[bytes]) -> Iterator[RawChange]:
    """The raw records of a commit (`first`, then the pieces of `rest`), parsed as they
    come, a few at a time: a commit of a million files is never held. The log's raw records
    are all `:meta NUL path NUL` (renames are off); an empty field ends them, the patch
    follows. The rest of `rest` is left unread (LongRecord.finish passes over it)."""
    pending = b""
    for piece in chain((first,), rest):
        pending += piece
        fields = pending.split(b"\0")
        whole = fields[:-1]  # the last may be cut
        metas = range(0, len(whole), 2)
        end = next((n for n in metas if not whole[n].startswith(b":")), None)
        taken = len(whole) - len(whole) % 2 if end is None else end
        yield from parse_raw_z(whole[:taken])
        if end is not None:
            return
        pending = b"\0".join(fields[taken:])
