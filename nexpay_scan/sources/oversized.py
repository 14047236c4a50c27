"""Blobs over the size limit in a history selection, kept away from `git log -p`.

Git reads a blob whole to diff it, even one it then calls binary, so a commit adding a
500 MB file makes `git log -p` alone take 700 MB. The paths that ever hold such a blob in
the selection are left out of the patch stream (a pathspec exclusion) and their changes
are listed without content (`--raw`): each new blob is then read by size, scanned whole
when under the limit, and a window at a time (`windows`) when over it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nexpay_scan.sources.git import decode_path, streamed


def oversized_paths(
    repo: Path, rev_args: Sequence[str], stdin: Sequence[str], limit: int
) -> list[str]:
    """The paths at which a blob over `limit` bytes appears in the selection `rev_args`
    (with `--stdin`, `stdin` names its commits); usually none: then this costs one object
    walk that reads no blob."""
    filtered = _output(
        repo,
        stdin,
        "rev-list",
        "--objects",
        f"--filter=blob:limit={limit + 1}",
        "--filter-print-omitted",
        *rev_args,
        "--",
    )
    big = {line[1:] for line in filtered.split(b"\n") if line.startswith(b"~")}
    if not big:
        return []
    listed = _output(repo, stdin, "rev-list", "--objects", *rev_args, "--")
    paths: set[str] = set()
    for line in listed.split(b"\n"):
        sha, _, path = line.partition(b" ")
        if sha in big and path:
            paths.add(decode_path(path))
    return sorted(paths)


def excluding(paths: Sequence[str]) -> list[str]:
    """Pathspecs for everything but `paths` (each taken literally: no glob in a name)."""
    if not paths:
        return []
    return [".", *(f":(exclude,literal,top){path}" for path in paths)]


def at_paths(paths: Sequence[str]) -> list[str]:
    """Pathspecs for just `paths`, each taken literally."""
    return [f":(literal,top){path}" for path in paths]


def _output(repo: Path, stdin: Sequence[str], *args: str) -> bytes:
    """A git call's whole output (its input lines fed meanwhile); a failure is one line."""
    with streamed(repo, *args, stdin=stdin) as output:
        return output.read()
