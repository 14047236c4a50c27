"""A one-way pipe of small messages between this process and a forked blob reader.

What `multiprocessing.connection` gave the readers, without loading `multiprocessing`,
`socket` and `pickle` at the start of every history scan (7 ms here): each message is its
size (8 bytes) and its `marshal` form. Messages hold only built-in types (tuples, lists,
sets, dicts, bytes, str, int); they come from a child this process forked, nothing else.
"""

from __future__ import annotations

import marshal
import os
import select

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_HEADER = 8
_READ = 1 << 20


class Channel:
    """One end of a pipe: `send` on the writing end, `recv` on the reading one."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @property
    def closed(self) -> bool:
        return self.fd < 0

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)

    def send(self, message: Any) -> None:
        """Writes `message` whole (waits while the pipe is full). OSError (EPIPE) when the
        reading end is gone."""
        body = marshal.dumps(message)
        data = memoryview(len(body).to_bytes(_HEADER, "little") + body)
        while data:
            data = data[os.write(self.fd, data) :]

    def recv(self) -> Any:
        """The next message; EOFError once the writing end is closed (or a message was cut
        short by its writer's end)."""
        size = int.from_bytes(self._exactly(_HEADER), "little")
        return marshal.loads(self._exactly(size))  # noqa: S302 - from a child we forked

    def _exactly(self, size: int) -> bytes:
        parts: list[bytes] = []
        while size:
            part = os.read(self.fd, min(size, _READ))
            if not part:
                raise EOFError
            parts.append(part)
            size -= len(part)
        return b"".join(parts)


def ready(channels: list[Channel]) -> list[Channel]:
    """Those of `channels` with a message or an end to read, once one has."""
    poller = select.poll()
    by_fd = {channel.fd: channel for channel in channels}
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    return [by_fd[fd] for fd, _ in poller.poll()]
