"""History written straight into a repository's object store with `git fast-import`:
thousands of commits, or one commit touching 50,000 files, in about a second."""

from __future__ import annotations

import subprocess
from pathlib import Path


def fast_import(path: Path, stream: bytes) -> None:
    """Feeds `stream` (git's fast-import format) to the repository at `path`."""
    done = subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"],
        input=stream,
        check=False,
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def data(content: bytes) -> bytes:
    """A `data` command holding `content`."""
    return b"data %d\n" % len(content) + content + b"\n"


def commit_header(ref: bytes, when: int, message: bytes = b"change") -> bytes:
    """The start of a commit on `ref` by Ada Author at `when` (seconds since 1970), up to its
    message; `from` and the file changes follow."""
    who = b"Ada Author <ada@example.com> %d +0000\n" % when
    return b"commit " + ref + b"\n" + b"author " + who + b"committer " + who + data(message)


def wide_commit(path: Path, files: int, key_path: str, key_line: bytes) -> None:
    """Adds one commit on main touching `files` files `d<N // 1000>/f<N>.env`, all holding
    the same harmless line except `key_path`, which holds `key_line`. Main must exist."""
    parent = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "main"], capture_output=True, check=True
    ).stdout.strip()
    stream = [
        b"blob\nmark :1\n" + data(b"nothing to see\n"),
        b"blob\nmark :2\n" + data(key_line),
        commit_header(b"refs/heads/main", 1704300000, b"vendor everything"),
        b"from " + parent + b"\n",
    ]
    for number in range(files):
        name = f"d{number // 1000}/f{number}.env"
        stream.append(f"M 100644 :{2 if name == key_path else 1} {name}\n".encode())
    fast_import(path, b"".join(stream))
