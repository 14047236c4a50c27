"""The message pipe between this process and its forked blob readers (`sources.channel`),
over real pipes and a real forked child."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from nexpay_scan.sources.channel import Channel, ready

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="readers fork on POSIX only")


def _pipe() -> tuple[Channel, Channel]:
    reading, writing = os.pipe()
    return Channel(reading), Channel(writing)


def test_a_message_bigger_than_the_pipe_arrives_whole() -> None:
    """A batch of small blobs lists thousands of ids: far more than a pipe holds, so it is
    written and read in pieces while the other side runs."""
    reading, writing = _pipe()
    ids = [os.urandom(20).hex().encode() for _ in range(20_000)]  # ~800 kB marshalled
    message = (ids, list(range(20_000)), 123)

    def send() -> None:
        writing.send(message)
        writing.send("next")

    sender = threading.Thread(target=send)
    sender.start()
    assert reading.recv() == message
    assert reading.recv() == "next"
    sender.join()
    writing.close()
    with pytest.raises(EOFError):
        reading.recv()
    reading.close()
    assert reading.closed and writing.closed


def test_a_message_cut_short_by_its_writer_ending_is_an_end() -> None:
    reading, writing = _pipe()
    os.write(writing.fd, (100).to_bytes(8, "little") + b"\x00" * 10)
    writing.close()
    with pytest.raises(EOFError):
        reading.recv()
    reading.close()


def test_sending_to_a_reader_that_is_gone_raises_oserror() -> None:
    reading, writing = _pipe()
    reading.close()
    with pytest.raises(OSError):
        writing.send(("batch", 1, set()))
    writing.close()


def test_answers_from_forked_children_are_gathered_as_they_come() -> None:
    """Two forked children answer on their own pipes; `ready` names the pipes that have
    something, and each end shows once its child has ended."""
    channels: list[Channel] = []
    pids = []
    for number in range(2):
        reading, writing = _pipe()
        pid = os.fork()
        if pid == 0:  # the child: answers, then ends without the parent's clean-up
            code = 1
            try:
                reading.close()
                writing.send(("end", {"rule": number}, {"a"}, set()))
                code = 0
            finally:
                os._exit(code)
        writing.close()
        channels.append(reading)
        pids.append(pid)
    answers = []
    waiting = list(channels)
    while waiting:
        for channel in ready(waiting):
            try:
                answers.append(channel.recv())
            except EOFError:
                waiting.remove(channel)
    for pid in pids:
        assert os.waitpid(pid, 0)[1] == 0
    for channel in channels:
        channel.close()
    answers.sort(key=lambda answer: answer[1]["rule"])
    assert answers == [("end", {"rule": 0}, {"a"}, set()), ("end", {"rule": 1}, {"a"}, set())]
