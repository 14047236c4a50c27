"""Blob contents by id from one `git cat-file --batch` process, asked ahead so that git
answers while the caller scans."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Iterator

from nexpay_scan.errors import FatalError
from nexpay_scan.sources.git import git_command, start_git
from nexpay_scan.sources.spawn import NULL, PIPE

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from typing import IO

    from nexpay_scan.paths import StrPath
    from nexpay_scan.sources.lfs import LfsStore

# A Git LFS pointer (see `lfs`: that module is loaded only when one is met): its first
# line, and the spec's bound on its size
POINTER_HEAD = b"version https://git-lfs.github.com/spec/v1\n"
POINTER_MOST = 1024
PIECE_BYTES = 1 << 20  # how much of a blob is held at once when it is passed over or searched
# Requests written to `git cat-file --batch` ahead of reading: 41 bytes each, well within a
# pipe's 64 KiB, so that writing them never waits for git.
AHEAD = 512

# A name's bytes that are not UTF-8 (surrogate escapes: see `git.decode_path`) go to git
# as they are on disk.
_AS_ON_DISK = "surrogateescape"
CAT_FILE_DIED = (
    "git cat-file stopped before reading every object: the object store is corrupt or "
    "unreadable (run `git fsck`)"
)


class BlobReader:
    """One `git cat-file --batch` process serving blob contents by id."""

    def __init__(self, repo: StrPath) -> None:
        self._repo = repo
        self._process = start_git(git_command(repo, "cat-file", "--batch"), stdin=PIPE, stderr=NULL)
        self._asked: deque[str] = deque()  # asked ahead, answers not read yet (in order)
        self._wanted: deque[str] = deque()  # to ask ahead once some of those are read
        self._aside: BlobReader | None = None  # for objects asked out of that order
        self._kind = b""  # the type of the object last asked
        self._lfs: LfsStore | None = None

    @property
    def lfs(self) -> LfsStore:
        """The repository's local Git LFS objects (see `lfs`)."""
        if self._lfs is None:
            from nexpay_scan.sources.lfs import LfsStore

            self._lfs = LfsStore(self._repo)
        return self._lfs

    def ask_ahead(self, shas: Iterable[str]) -> None:
        """Asks git now for these objects, which the caller then reads in this order: git
        answers while the caller scans the previous one, instead of one round trip each. An
        object asked out of that order is read through a second git process."""
        self._wanted.extend(shas)
        self._send_ahead()

    def _send_ahead(self) -> None:
        """Keeps up to AHEAD requests in git's input: few enough that git, blocked on a full
        output pipe, never leaves this process blocked on a full input pipe."""
        if len(self._asked) > AHEAD // 2 or not self._wanted:
            return
        batch = [self._wanted.popleft() for _ in range(min(AHEAD, len(self._wanted)))]
        self._asked.extend(batch)
        self._send(b"".join(sha.encode("utf-8", _AS_ON_DISK) + b"\n" for sha in batch))

    def _serving(self, sha: str) -> BlobReader:
        """The reader whose next answer is `sha`'s: this one, unless objects asked ahead come
        first."""
        if not self._asked or self._asked[0] == sha:
            return self
        if self._aside is None:
            self._aside = BlobReader(self._repo)
        return self._aside

    def read(self, sha: str) -> bytes | None:
        """The blob's bytes, or None when the object is missing. If git stops (a corrupt or
        unreadable object store), a one-line FatalError: never a silent empty read."""
        if (reader := self._serving(sha)) is not self:
            return reader.read(sha)
        size = self._ask(sha)
        return None if size is None else self._take(size)

    def read_within(self, sha: str, limit: int) -> bytes | int | None:
        """The blob's bytes if it holds at most `limit`; else its size (an int), its bytes
        passed over a piece at a time, never held; None when the object is missing."""
        if (reader := self._serving(sha)) is not self:
            return reader.read_within(sha, limit)
        size = self._ask(sha)
        if size is None:
            return None
        if size > limit:
            for _ in self._pieces(size):
                pass
            return size
        return self._take(size)

    def read_or_stream(self, sha: str, limit: int) -> bytes | Iterator[bytes] | None:
        """The blob's bytes if it holds at most `limit`; else its bytes a piece at a time
        (read them all before asking this reader for anything else: they are the next
        thing git writes); None when the object is missing."""
        if (reader := self._serving(sha)) is not self:
            return reader.read_or_stream(sha, limit)
        size = self._ask(sha)
        if size is None:
            return None
        return self._pieces(size) if size > limit else self._take(size)

    def read_file(self, name: str) -> bytes | None:
        """The content of the file `name` (`REV:path`) names, or None when it names none
        (nothing there, or a folder)."""
        if (reader := self._serving(name)) is not self:
            return reader.read_file(name)
        size = self._ask(name)
        if size is None:
            return None
        data = self._take(size)
        return data if self._kind == b"blob" else None

    def head(self, sha: str, length: int) -> bytes | None:
        """The first `length` bytes of the blob (the rest passed over), or None."""
        if (reader := self._serving(sha)) is not self:
            return reader.head(sha, length)
        size = self._ask(sha)
        if size is None:
            return None
        pieces = [piece[:length] for piece in self._pieces(size)]
        return b"".join(pieces)[:length]

    def holding(self, sha: str, values: Collection[bytes]) -> set[bytes]:
        """Which of `values` occur in the blob, read a piece at a time (never whole); for
        a Git LFS pointer, in the object's content when it is here (see `lfs`)."""
        if (reader := self._serving(sha)) is not self:
            return reader.holding(sha, values)
        size = self._ask(sha)
        found: set[bytes] = set()
        if size is None or not values:
            if size is not None:
                for _ in self._pieces(size):
                    pass
            return found
        if size < POINTER_MOST:  # (small: read whole, and maybe a pointer)
            from nexpay_scan.sources.lfs import pointer_of

            data = self._take(size)
            pointer = pointer_of(data)
            if pointer is not None:
                return self.lfs.holding(pointer, values)
            return {v for v in values if v in data}
        overlap = max(len(v) for v in values) - 1
        tail = b""
        for piece in self._pieces(size):
            window = tail + piece
            found.update(v for v in values if v not in found and v in window)
            tail = window[-overlap:] if overlap else b""
        return found

    def _ask(self, sha: str) -> int | None:
        """Sends the request; the object's size from its header, or None when missing."""
        if self._asked:  # asked ahead (and `_serving` made sure it is this one)
            self._asked.popleft()
            self._send_ahead()
        else:
            self._send(sha.encode("utf-8", _AS_ON_DISK) + b"\n")
        _, stdout = self._pipes()
        line = stdout.readline()
        # "<name asked> missing" (or "ambiguous"): the name, a path at a revision, may hold
        # spaces ("HEAD:my file.py", "HEAD:(commit message)"): told by its end, not split
        if line.endswith((b" missing\n", b" ambiguous\n")):
            return None
        header = line.split()  # "<id> <type> <size>"
        if len(header) != 3 or not header[2].isdigit():
            raise FatalError(CAT_FILE_DIED)
        self._kind = header[1]
        return int(header[2])

    def _send(self, requests: bytes) -> None:
        stdin, _ = self._pipes()
        try:
            stdin.write(requests)
            stdin.flush()
        except (BrokenPipeError, ValueError):
            raise FatalError(CAT_FILE_DIED) from None

    def _take(self, size: int) -> bytes:
        _, stdout = self._pipes()
        data = stdout.read(size)
        if len(data) != size:
            raise FatalError(CAT_FILE_DIED)
        stdout.read(1)
        return data

    def _pieces(self, size: int) -> Iterator[bytes]:
        """The object's `size` bytes in pieces of at most PIECE_BYTES, then its newline
        (every caller reads them all: the next answer follows them)."""
        _, stdout = self._pipes()
        left = size
        while left > 0:
            piece = stdout.read(min(left, PIECE_BYTES))
            if not piece:  # git stopped mid-object: never a silent short read
                raise FatalError(CAT_FILE_DIED)
            left -= len(piece)
            yield piece
        stdout.read(1)

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        assert self._process.stdin is not None and self._process.stdout is not None
        return self._process.stdin, self._process.stdout

    def close(self) -> None:
        """Ends the git process (and the second one, if it was started), even one left
        mid-answer (a scan stopped by a signal or an error): answers nobody will read could
        keep git waiting forever to write them, so it is stopped and its output closed
        before it is waited for."""
        if self._aside is not None:
            self._aside.close()
        stdin, stdout = self._pipes()
        if self._asked:
            self._process.kill()
        try:  # noqa: SIM105 - contextlib is not loaded on the hook's path
            stdin.close()
        except OSError:  # git gone: what was left to send does not matter
            pass
        stdout.close()
        self._process.wait()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
