"""Child processes for the hook's path, started with `os.posix_spawnp` and read with `os`.

`subprocess` is the right tool everywhere else, but importing it (with `threading`,
`selectors`, `signal`, `locale`, `contextlib`) costs the pre-commit hook about 7 ms on every
commit, half as much again as the rest of its scan. The hook only starts a few git calls,
reads their output and waits: `Child` does that with the calls `subprocess` itself makes.
Pipes are made close-on-exec (as `os.pipe` does), so a child gets only its own three
streams. Where `os.posix_spawnp` is missing (Windows), `start` gives a `PopenChild`: the same
calls over `subprocess`.
"""

from __future__ import annotations

import os

from nexpay_scan.signals import signals

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import IO

PIPE, NULL = "pipe", "null"  # what each of a child's streams is: a pipe to us, or nothing
_READ_BYTES = 1 << 16
# Python ignores SIGPIPE and a child would inherit that: as `subprocess` does, a child gets
# the default actions back (git then ends quietly when its reader has gone)
_DEFAULTED = tuple(
    getattr(signals, name) for name in ("SIGPIPE", "SIGXFSZ") if hasattr(signals, name)
)


def start(
    argv: Sequence[str], *, stdin: str = NULL, stdout: str = PIPE, stderr: str = PIPE
) -> Child:
    """`argv` started (see `Child`); FileNotFoundError when its program is not on PATH."""
    kind = Child if hasattr(os, "posix_spawnp") else PopenChild
    return kind(argv, stdin=stdin, stdout=stdout, stderr=stderr)


class Child:
    """A started program (`argv[0]` looked up on PATH) whose streams are each a pipe to
    this process (`stdin`, `stdout`, `stderr`, as files) or the null device. Wait for it
    (`wait`, `communicate`), or stop it (`kill`): a child is never left unreaped."""

    def __init__(
        self, argv: Sequence[str], *, stdin: str = NULL, stdout: str = PIPE, stderr: str = PIPE
    ) -> None:
        self.returncode: int | None = None
        self.stdin: IO[bytes] | None = None
        self.stdout: IO[bytes] | None = None
        self.stderr: IO[bytes] | None = None
        ours: list[tuple[int, str]] = []  # (our end, its mode) of each pipe
        theirs: list[int] = []  # the child's ends: closed here once it has started
        actions: list[tuple[int, int, int]] = []
        try:
            for target, kind in ((0, stdin), (1, stdout), (2, stderr)):
                if kind == PIPE:
                    read_end, write_end = os.pipe()
                    mine, child = (write_end, read_end) if target == 0 else (read_end, write_end)
                    ours.append((mine, "wb" if target == 0 else "rb"))
                else:
                    child = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
                    ours.append((-1, ""))
                theirs.append(child)
                child = _above_standard(child, theirs)
                actions.append((os.POSIX_SPAWN_DUP2, child, target))
            self.pid = os.posix_spawnp(
                argv[0], list(argv), os.environ, file_actions=actions, setsigdef=_DEFAULTED
            )
        except BaseException:
            for fd, _ in ours:
                if fd >= 0:
                    os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        files = [open(fd, mode) if fd >= 0 else None for fd, mode in ours]  # noqa: SIM115
        self.stdin, self.stdout, self.stderr = files

    def poll(self) -> int | None:
        """Its exit code if it has ended, else None."""
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        """Its exit code once it has ended (a signal's as its negative number)."""
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        """Stops it at once, if it still runs."""
        if self.poll() is None:
            os.kill(self.pid, signals.SIGKILL)

    def communicate(self, limit: int = -1) -> tuple[bytes | None, bytes]:
        """Its standard output and error, read to their ends together (neither pipe fills up
        while the other is read), once it has ended; past `limit` bytes of output (when not
        -1), it is stopped and its output is None. Asked again: what was left unread."""
        if self.stdin is not None and not self.stdin.closed:
            self.stdin.close()
        open_ = [s for s in (self.stdout, self.stderr) if s is not None and not s.closed]
        pending = {s.fileno(): s for s in open_}
        read: dict[int, list[bytes]] = {fd: [] for fd in pending}
        out = self.stdout.fileno() if self.stdout in open_ else -1
        err = self.stderr.fileno() if self.stderr in open_ else -1
        held = 0
        import select  # (a small C module)

        poller = select.poll()
        for fd in pending:
            poller.register(fd, select.POLLIN)
        try:
            while pending:
                for fd, _ in poller.poll():
                    data = os.read(fd, _READ_BYTES)
                    if data:
                        read[fd].append(data)
                        held += len(data) if fd == out else 0
                    if not data or held > limit >= 0:
                        poller.unregister(fd)
                        pending.pop(fd).close()
                    if held > limit >= 0:
                        self.kill()
        finally:
            for stream in pending.values():
                stream.close()
        self.wait()
        stderr = b"".join(read.get(err, ()))
        if held > limit >= 0:
            return None, stderr
        return b"".join(read.get(out, ())), stderr


class PopenChild(Child):
    """`Child` over `subprocess.Popen`, where `os.posix_spawnp` is missing."""

    def __init__(
        self, argv: Sequence[str], *, stdin: str = NULL, stdout: str = PIPE, stderr: str = PIPE
    ) -> None:
        import subprocess

        def stream(kind: str) -> int:
            return subprocess.PIPE if kind == PIPE else subprocess.DEVNULL

        self._popen = subprocess.Popen(
            list(argv), stdin=stream(stdin), stdout=stream(stdout), stderr=stream(stderr)
        )
        self.pid, self.returncode = self._popen.pid, None
        self.stdin, self.stdout, self.stderr = (
            self._popen.stdin,
            self._popen.stdout,
            self._popen.stderr,
        )

    def poll(self) -> int | None:
        self.returncode = self._popen.poll()
        return self.returncode

    def wait(self) -> int:
        self.returncode = self._popen.wait()
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            self._popen.kill()

    def communicate(self, limit: int = -1) -> tuple[bytes | None, bytes]:
        head = b""
        if limit >= 0 and self.stdout is not None and not self.stdout.closed:
            head = self.stdout.read(limit + 1)
            if len(head) > limit:
                self.kill()
                self._popen.communicate()
                self.wait()
                return None, b""
        out, err = self._popen.communicate()
        self.wait()
        return head + (out or b""), err or b""


def _above_standard(fd: int, opened: list[int]) -> int:
    """`fd`, or a copy of it numbered above 2: a child end that already is 0, 1 or 2 (this
    process's own was closed) would stay close-on-exec if duplicated onto itself."""
    while fd < 3:
        fd = os.dup(fd)
        opened.append(fd)
    return fd
