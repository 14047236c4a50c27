"""A selection's listing runs at git's pace: each stage hands on what it has as soon as it
has it, so that its blobs are read while its tree walk goes on.

A stage that reads a pipe with `read(size)` waits for `size` bytes or the pipe's end, and
a stage that feeds git a thousand lines at a time waits for a thousand: the walk, the
listing of sizes and the reading then ran one after the other. These tests hold each stage
to handing on what it has, through real pipes and a real `git cat-file`.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterator

import pytest

from nexpay_scan.sources.git import streamed
from nexpay_scan.sources.gitlog import eager_blocks, marked_blocks
from testing.git_repo import Repo

MARK = b"\x01mark\x01"
WAIT = 10.0  # seconds a stage is given before the test calls it stuck


def _records(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    records = [
        bytes(rng.choice(b"ab\x01k") for _ in range(rng.randrange(0, 3000))) for _ in range(80)
    ]
    records[7] = b"x" * 300_000  # longer than any read: held in pieces, joined once
    return [MARK + r.replace(b"mark", b"") for r in records]


def _pipe_writing(
    pieces: list[bytes], between: threading.Event | None = None, waited: list[bool] | None = None
) -> int:
    """The reading end of a pipe that a thread fills with `pieces` (then closes); with
    `between`, it waits for that event after the first piece (WAIT seconds at most), and
    notes in `waited` whether it came."""
    read_end, write_end = os.pipe()

    def write() -> None:
        with open(write_end, "wb", buffering=0) as stream:
            for number, piece in enumerate(pieces):
                stream.write(piece)
                if number == 0 and between is not None:
                    came = between.wait(WAIT)
                    if waited is not None:
                        waited.append(came)

    threading.Thread(target=write, daemon=True).start()
    return read_end


@pytest.mark.parametrize("seed", range(6))
def test_eager_blocks_hand_on_whole_records_whatever_the_pipe_gives(seed: int) -> None:
    records = _records(seed)
    data = b"".join(records)
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(data)), 400))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    with open(_pipe_writing(pieces), "rb") as stream:
        blocks = list(eager_blocks(stream, MARK, size=1 << 20))
    assert b"".join(blocks) == data
    seen = [MARK + part for block in blocks for part in block.split(MARK)[1:]]
    assert seen == records  # no record cut in two, none lost
    assert all(block.startswith(MARK) for block in blocks)
    with open(_pipe_writing(pieces), "rb") as stream:  # the same records as the 1 MB reader
        assert b"".join(marked_blocks(stream, MARK)) == data


def test_eager_blocks_hand_on_a_record_before_the_pipe_ends() -> None:
    first_seen = threading.Event()
    waited: list[bool] = []
    first = MARK + b"first record" + MARK + b"sec"
    with open(_pipe_writing([first, b"ond record"], first_seen, waited), "rb") as stream:
        blocks = eager_blocks(stream, MARK, size=1 << 20)
        block = next(blocks)  # a 1 MB read waited for the writer's end
        first_seen.set()
        assert block == MARK + b"first record"
        assert list(blocks) == [MARK + b"second record"]
    assert waited == [True]  # the first record came while the writer still waited


def test_git_answers_each_block_of_ids_before_the_next_is_listed(repo: Repo) -> None:
    repo.write("a.txt", "one\n")
    repo.write("b.txt", "two\n")
    repo.commit("two files")
    ids = [repo.git("rev-parse", f"HEAD:{name}").strip().encode() for name in ("a.txt", "b.txt")]
    answered = threading.Event()
    waited: list[bool] = []

    def blocks() -> Iterator[bytes]:
        yield ids[0] + b"\n"
        waited.append(answered.wait(WAIT))  # the next block comes once git answered
        yield ids[1] + b"\n"

    with streamed(repo.path, "cat-file", "--batch-check", stdin=blocks()) as output:
        first = output.readline()
        answered.set()
        rest = output.read()
    assert first.split()[:2] == [ids[0], b"blob"]
    assert rest.split()[:2] == [ids[1], b"blob"]
    assert waited == [True]
