"""Talking to git through its command line: plumbing calls, a blob reader, raw records."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence

from nexpay_scan.errors import FatalError
from nexpay_scan.sources.spawn import NULL, PIPE, Child, start

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    import subprocess
    from contextlib import AbstractContextManager
    from pathlib import Path
    from typing import IO, Any

    from nexpay_scan.paths import StrPath

SUBMODULE_MODE = "160000"
# Pin the output formats we parse, whatever the user's git config says.
_CONFIG = (
    *("-c", "core.quotepath=false", "-c", "diff.noprefix=false", "-c", "diff.relative=false"),
    *("-c", "color.ui=never"),
)


# Object ids one git command line takes at most (41 bytes each: 410 KB, a fifth of what
# Linux allows for a command line and its environment). A list longer than this goes in
# parts, or on git's standard input.
IDS_AT_ONCE = 10_000


def in_parts(ids: Sequence[str]) -> list[list[str]]:
    """`ids` cut into lists of at most IDS_AT_ONCE (one list, maybe empty, when they fit)."""
    size = IDS_AT_ONCE
    return [list(ids[at : at + size]) for at in range(0, len(ids), size)] or [[]]


def fit_on_a_line(ids: Sequence[str]) -> bool:
    """Whether `ids` fit on one git command line (at most IDS_AT_ONCE)."""
    return len(ids) <= IDS_AT_ONCE


def git_command(repo: StrPath, *args: str) -> list[str]:
    """The argv of a git call in `repo` with the output formats pinned. Replace refs are
    ignored (`--no-replace-objects` exports GIT_NO_REPLACE_OBJECTS=1 to git and whatever it
    runs): a pushed `refs/replace/<sha>` must not make git show a clean commit in place of
    the one that holds a key."""
    return ["git", "--no-replace-objects", "-C", os.fspath(repo), *_CONFIG, *args]


def run_git(repo: StrPath, *args: str, ok_codes: Sequence[int] = (0,)) -> bytes:
    """Standard output of a git call; a failure becomes a one-line FatalError."""
    return GitCall(repo, *args, ok_codes=ok_codes).output()


class GitCall:
    """A git call started at once and read later: other work (another git call, loading
    the rules) runs meanwhile. On the hook's path that halves the time spent waiting."""

    def __init__(
        self,
        repo: StrPath,
        *args: str,
        ok_codes: Sequence[int] = (0,),
        config: Sequence[str] = (),
    ) -> None:
        self._args, self._ok_codes = args, ok_codes
        self._out: bytes | None = None
        # (a hook's standard input is not git's to read)
        self._process = start_git(git_command(repo, *config, *args))

    def output(self) -> bytes:
        """Its standard output once it ends (asked again, the same); a failure becomes a
        one-line FatalError."""
        if self._out is None:
            out = self.output_within(-1)
            assert out is not None
            self._out = out
        return self._out

    def output_within(self, limit: int) -> bytes | None:
        """Its standard output, or None (and git stopped) once it runs past `limit` bytes
        (unless -1); a failure becomes a one-line FatalError."""
        out, err = self._process.communicate(limit)
        if out is None:
            return None
        if self._process.returncode not in self._ok_codes:
            raise FatalError(git_error(err, self._args, self._process.wait()))
        return out

    def cancel(self) -> None:
        """Stops it if it still runs (its output is no longer wanted)."""
        self._process.kill()
        self._process.communicate()


def start_git(argv: Sequence[str], stdin: str = NULL, stderr: str = PIPE) -> Child:
    """A git process (see `spawn`); git missing from PATH is a one-line FatalError."""
    try:
        return start(argv, stdin=stdin, stderr=stderr)
    except FileNotFoundError:
        raise FatalError("git is not installed or not on PATH") from None
    except OSError as error:
        raise _too_long(error, argv) from None


def git_error(stderr: bytes, args: Sequence[str], code: int = 1) -> str:
    """The one line a failed git call is reported as."""
    lines = [ln for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    message = next((ln for ln in lines if ln.startswith("fatal:")), lines[0] if lines else "")
    message = message.removeprefix("fatal: ").strip() or f"failed (exit {code})"
    if "unknown revision" in message or "bad revision" in message:
        message += " (check the revision or range; fetch it first if it is remote)"
    return f"git {args[0]}: {message}"


_PIPE_BYTES = [1 << 20]  # becomes -1 (the system's default size) where a system refuses


def piped(argv: list[str], **options: Any) -> subprocess.Popen[bytes]:
    """`subprocess.Popen` with 1 MiB pipes (Linux allows that much unprivileged): a git
    writing hundreds of MB then wakes its reader a sixteenth as often, which saves about a
    tenth of a full-history scan. Where the size cannot be set, the default pipes serve."""
    import subprocess  # (not on the hook's path: see `spawn`)

    try:
        return subprocess.Popen(argv, pipesize=_PIPE_BYTES[0], **options)
    except PermissionError:
        if _PIPE_BYTES[0] == -1:
            raise
        _PIPE_BYTES[0] = -1
        return subprocess.Popen(argv, pipesize=-1, **options)
    except OSError as error:
        raise _too_long(error, argv) from None


def _too_long(error: OSError, argv: Sequence[str]) -> OSError | FatalError:
    """A one-line error for a git command longer than the system allows (E2BIG: more
    revisions than a command line holds); any other error as it is."""
    if error.errno != 7:  # (errno.E2BIG on Linux and macOS)
        return error
    return FatalError(
        f"a git command is longer than this system allows ({len(argv):,} arguments): "
        "too many refs or revisions at once"
    )


def unlinked_file() -> IO[bytes]:
    """A new temporary file with no name, gone once closed or once the process ends: made
    with Linux's O_TMPFILE in $TMPDIR or /tmp (`tempfile.TemporaryFile` does the same, but
    importing `tempfile` loads `shutil`, `random` and more: 4 ms of a range scan's start);
    elsewhere, or when that fails, by `tempfile`."""
    no_name = getattr(os, "O_TMPFILE", 0)
    if no_name:
        folder = os.environ.get("TMPDIR") or "/tmp"
        try:
            # (O_EXCL: it can never be given a name; as tempfile opens it)
            handle = os.open(folder, os.O_RDWR | no_name | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError:  # (no such folder, or a file system without it: as tempfile)
            pass
        else:
            return open(handle, "w+b")
    import tempfile

    return tempfile.TemporaryFile()


class SpooledGit:
    """A git call started at once, its standard output going to an unlinked temporary
    file: read once it has ended (`output`), while other work runs meanwhile and no pipe
    holds git up. `close` stops it if it still runs; the files go with their handles."""

    def __init__(self, repo: StrPath, *args: str, config: Sequence[str] = ()) -> None:
        import subprocess  # (not on the hook's path)

        self.args = args
        self._out = unlinked_file()
        self._err = unlinked_file()
        self._process = piped(
            git_command(repo, *config, *args),
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=self._err,
        )

    def output(self) -> IO[bytes]:
        """The file holding what git wrote, at its start, once git has ended; a failure
        (git's, or a full disk) becomes a one-line FatalError."""
        code = self._process.wait()
        if code != 0:
            self._err.seek(0)
            raise FatalError(git_error(self._err.read(), self.args, code))
        self._out.seek(0)
        return self._out

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._out.close()
        self._err.close()


def streamed(
    repo: StrPath, *args: str, config: Sequence[str] = (), stdin: Iterable[str] = ()
) -> AbstractContextManager[IO[bytes]]:
    """The standard output of a git call, to read as it comes; `stdin` lines are fed to it
    meanwhile (from a thread: they may come from a generator). When the reading ends, a
    failure of git becomes a one-line FatalError."""
    import contextlib  # (not on the hook's path)

    return contextlib.contextmanager(_streamed)(repo, *args, config=config, stdin=stdin)


def _streamed(
    repo: StrPath, *args: str, config: Sequence[str], stdin: Iterable[str]
) -> Iterator[IO[bytes]]:
    import subprocess
    import threading

    process = piped(
        git_command(repo, *config, *args),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin and process.stdout is not None and process.stderr is not None
    threading.Thread(target=_feed_lines, args=(process.stdin, stdin), daemon=True).start()
    try:
        yield process.stdout
    except BaseException:  # the reader stopped (an error, a signal): git need not finish
        process.kill()
        raise
    finally:
        process.stdout.close()
        error = process.stderr.read()
        process.stderr.close()
        code = process.wait()
    if code != 0:
        raise FatalError(git_error(error, args, code))


def _feed_lines(stream: IO[bytes], lines: Iterable[str]) -> None:
    """Writes `lines` a thousand at a time: they may come from a generator that waits on
    another process, whose output git then reads as it comes. Bytes of a name that are not
    UTF-8 (surrogate escapes: see `decode_path`) go as they are."""
    try:
        pending: list[str] = []
        for line in lines:
            pending.append(line)
            if len(pending) >= 1024:
                stream.write(("\n".join(pending) + "\n").encode("utf-8", "surrogateescape"))
                stream.flush()
                pending = []
        stream.write("".join(f"{line}\n" for line in pending).encode("utf-8", "surrogateescape"))
        stream.close()
    except (BrokenPipeError, ValueError):
        pass


def repo_root(path: StrPath) -> Path:
    """The top folder of the work tree (or the git dir of a bare repository) holding `path`."""
    from pathlib import Path  # not on the hook's path (see work_tree_root)

    return Path(repo_top(path))


def repo_top(path: StrPath) -> str:
    """`repo_root` as a string: `files` needs no `pathlib` (its import, with `urllib.parse`
    and `ipaddress`, took 4-6 ms before the walk)."""
    if not os.path.exists(path):
        raise FatalError(f"{os.fspath(path)}: no such folder")
    check_explicit_repo(path)
    # one call: "true" or "false", the git dir, where the shallow file would be (kept
    # for `shallow_edges`), then the top of the work tree (git stops at it, exit 128, in
    # a bare repository); a path holding a newline is asked alone
    answer = run_git(
        path,
        "rev-parse",
        "--is-bare-repository",
        "--absolute-git-dir",
        "--git-path",
        "shallow",
        "--show-toplevel",
        ok_codes=(0, 128),
    )
    bare, _, rest = answer.partition(b"\n")
    lines = rest.split(b"\n")
    root = None
    if bare == b"false" and len(lines) == 4 and lines[2]:
        root = os.fsdecode(lines[2])
    elif bare == b"true" and len(lines) == 3 and lines[0]:
        root = os.fsdecode(lines[0])
    if root is not None:
        _SHALLOW_FILE[root] = os.path.join(path, os.fsdecode(lines[1]))
        _GIT_DIR[root] = os.fsdecode(lines[0])
        return root
    if bare == b"false" and len(lines) > 4:  # (a path holding a newline)
        out = run_git(path, "rev-parse", "--show-toplevel", ok_codes=(0, 128))
        if out.strip():
            return os.fsdecode(out.removesuffix(b"\n"))
    if bare == b"true" and len(lines) > 3:
        answer = run_git(path, "rev-parse", "--absolute-git-dir")
        return os.fsdecode(answer.removesuffix(b"\n"))
    raise FatalError(
        f"{os.fspath(path)}: not a git repository (run inside one, or pass --repo PATH)"
    )


def work_tree_root(path: StrPath) -> str:
    """The top folder of the work tree holding `path`; a bare repository is an error."""
    try:
        out = run_git(path, "rev-parse", "--show-toplevel").removesuffix(b"\n")
    except FatalError:
        out = b""
    if out:
        return os.fsdecode(out)
    root = repo_root(path)  # says why not: no such folder, or not a repository
    raise FatalError(f"{root}: a bare repository has no staged changes (use `history`)")


def commit_named(repo: StrPath, revision: str) -> str:
    """The commit id `revision` names, or "" when it names none (or is not in the clone)."""
    found = run_git(
        repo,
        "rev-parse",
        "-q",
        "--verify",
        "--end-of-options",
        f"{revision}^{{commit}}",
        ok_codes=(0, 1, 128),
    )
    return found.decode().strip()


def has_commits(repo: StrPath) -> bool:
    """False in a repository whose current branch has no commit yet."""
    return run_git(repo, "rev-parse", "--verify", "-q", "HEAD", ok_codes=(0, 1)).strip() != b""


def empty_tree(repo: StrPath) -> str:
    """The id of the empty tree in this repository's hash format."""
    return run_git(repo, "hash-object", "-t", "tree", os.devnull).decode().strip()


_SHALLOW_FILE: dict[str, str] = {}  # a repository's root -> its shallow file (as `repo_root` found)
_GIT_DIR: dict[str, str] = {}  # a repository's root -> its git dir (as `repo_root` found)


def known_git_dir(root: StrPath) -> str | None:
    """The git dir of the repository at `root` if `repo_root` found it, else None."""
    return _GIT_DIR.get(os.fspath(root))


def shallow_edges(repo: StrPath) -> set[str]:
    """The commits where a shallow clone's history is cut (empty for a full clone)."""
    listed = _SHALLOW_FILE.get(os.fspath(repo), "")
    if not listed:
        listed = run_git(repo, "rev-parse", "--git-path", "shallow").decode().strip()
        listed = os.path.join(repo, listed)  # relative to `repo` unless absolute
    if not os.path.isfile(listed):
        return set()
    with open(listed) as stream:
        return set(stream.read().split())


def name_at(repo: StrPath, commit: str, path: str) -> str | None:
    """How to ask `git cat-file --batch` for `path` in `commit`'s tree: `commit:path`, or,
    for a path holding a newline (a batch reads one name a line), its blob's id, found by
    `ls-tree` (None when the tree has no blob there)."""
    if "\n" not in path:
        return f"{commit}:{path}"
    listed = run_git(
        repo, "--literal-pathspecs", "ls-tree", "-z", "--full-tree", commit, "--", path
    )
    for entry in listed.split(b"\0"):
        meta, _, name = entry.partition(b"\t")
        fields = meta.split()
        if len(fields) == 3 and fields[1] == b"blob" and decode_path(name) == path:
            return fields[2].decode()
    return None


def objects_named(repo: StrPath, names: Sequence[str]) -> list[tuple[str, str]]:
    """(object id, type) of each of `names` as `git cat-file --batch-check` resolves it
    (any revision: `REV^{commit}`, `REV^{}`, `REV:path`), or ("", "missing") for one git
    has not, that is ambiguous, or that holds a newline (a batch reads one name a line).
    One git call, however many names."""
    sent = [name for name in names if "\n" not in name]
    answers: list[str] = []
    if sent:
        with streamed(
            repo, "cat-file", "--batch-check=%(objectname) %(objecttype)", stdin=sent
        ) as output:
            answers = output.read().decode("utf-8", "surrogateescape").split("\n")
    answered = iter(answers)
    found: list[tuple[str, str]] = []
    for name in names:
        line = next(answered, "") if "\n" not in name else ""
        sha, _, kind = line.rpartition(" ")
        missing = not line or kind in ("missing", "ambiguous") or " " in sha
        found.append(("", "missing") if missing else (sha, kind))
    return found


def objects_at(repo: StrPath, wanted: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The object at each (commit, path) of `wanted` that has one, in one git call (a
    path holding a newline, which a batch cannot be asked, by `ls-tree`)."""
    names = {pair: name_at(repo, *pair) for pair in wanted}
    asked = [(pair, name) for pair, name in names.items() if name]
    found = objects_named(repo, [name for _, name in asked])
    return {pair: sha for (pair, _), (sha, _) in zip(asked, found, strict=True) if sha}


def decode_path(raw: bytes) -> str:
    """A path from git as text; undecodable bytes survive as surrogate escapes."""
    return os.fsdecode(raw)


def missing_objects_error(count: int, promisor: str | None = None) -> FatalError:
    """The error for objects that are not in the repository (or cannot be read): never a
    clean result. `promisor`: the remote a partial clone fetches its missing objects from."""
    objects = "1 object is" if count == 1 else f"{count} objects are"
    if promisor is None:
        return FatalError(
            f"{objects} missing or unreadable (a partial clone, or a corrupt repository: "
            "see `git fsck`); nothing was scanned in them"
        )
    # `git fetch --refetch` alone applies the clone's filter again: drop the filter first
    return FatalError(
        f"{objects} missing (a partial clone of {promisor!r}): fetch them with `git config "
        f"--unset remote.{promisor}.partialclonefilter && git fetch --refetch {promisor}`, "
        "or clone without --filter"
    )


def promisor_remote(repo: StrPath) -> str | None:
    """The remote a partial clone (`git clone --filter`) fetches missing objects from;
    None in a complete repository."""
    listed = run_git(
        repo,
        "config",
        "--get-regexp",
        r"^(extensions\.partialclone|remote\..*\.promisor)$",
        ok_codes=(0, 1),
    )
    for line in listed.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(" ")
        if name == "extensions.partialclone" and value.strip():
            return value.strip()
        if name.startswith("remote.") and value.strip().lower() in ("true", "yes", "on", "1"):
            return name[len("remote.") : -len(".promisor")]
    return None


def check_objects_present(repo: StrPath, rev_args: Sequence[str]) -> None:
    """In a partial clone, a FatalError unless every object `rev_args` reaches is here.
    `--missing=print` lists what is missing without fetching it: git would otherwise fetch
    each blob from the promisor remote, one at a time, while the scan waits (and the blob
    engine, which reads only what is stored, would pass over them)."""
    promisor = promisor_remote(repo)
    if promisor is None:
        return
    listed = run_git(
        repo, "rev-list", "--objects", "--no-object-names", "--missing=print", *rev_args, "--"
    )
    missing = sum(1 for line in listed.splitlines() if line.startswith(b"?"))
    if missing:
        raise missing_objects_error(missing, promisor)


def check_explicit_repo(path: StrPath) -> None:
    """With GIT_DIR in the environment git ignores where `-C` points: a `--repo PATH` naming
    another repository would be silently ignored, so that is a one-line error. `--repo .`
    (the default) means the repository git finds here, GIT_DIR's when it is set; so does a
    PATH whose repository is GIT_DIR's (the index a hook was given, GIT_INDEX_FILE, holds)."""
    named = os.environ.get("GIT_DIR")
    if not named or os.fspath(path) in ("", "."):
        return
    import subprocess  # (only under GIT_DIR)

    environ = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}
    found = subprocess.run(
        git_command(path, "rev-parse", "--absolute-git-dir"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=environ,
        check=False,
    ).stdout.rstrip(b"\n")
    own = os.path.realpath(os.fsdecode(found)) if found else None
    if own != os.path.realpath(os.path.join(path, named)):
        raise FatalError(
            f"--repo {os.fspath(path)} is not the repository GIT_DIR={named} names, and git "
            "obeys GIT_DIR: unset GIT_DIR (and GIT_WORK_TREE), or leave out --repo"
        )
