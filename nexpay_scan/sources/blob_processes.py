"""Blob readers as forked processes (see `blobs`): the search is Python and holds the GIL,
so reader threads would share one core. Each process is forked with the scanner and its
compiled rules, runs its own `git cat-file --batch`, takes batches (ids and sizes) down one
pipe and answers up another; this process lists the blobs and gathers the answers.
"""

from __future__ import annotations

import contextlib
import gc
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable

from nexpay_scan.errors import FatalError
from nexpay_scan.progress import Progress
from nexpay_scan.scan import Scanner
from nexpay_scan.sources.blobs import (
    END,
    Batch,
    BlobSearch,
    list_into,
    read_batches,
)
from nexpay_scan.sources.channel import Channel, ready
from nexpay_scan.sources.reader_loads import ReaderLoads, ReadersGone

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn


def can_fork() -> bool:
    """Readers are forked processes on Linux only (other systems make fork unsafe or
    unavailable), and only while this process runs one thread: a thread running across a
    fork may hold a lock (an import's, a logger's) that the child then waits on forever."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


class _Reader:
    """A forked reader process: its id, the pipe its batches go down (None once closed),
    the pipe its answers come up."""

    def __init__(self, pid: int, batches: Channel, answers: Channel) -> None:
        self.pid, self.batches, self.answers = pid, batches, answers
        self.gone = False

    def send(self, batch: Batch) -> None:
        try:
            self.batches.send((batch.ids, batch.sizes, batch.total))
        except OSError:  # it ended (an error, which its answer names): the listing stops
            raise ReadersGone from None

    def stop(self) -> None:
        """Ends it if it still runs, and waits for it: no process is left behind."""
        if not self.batches.closed:
            self.batches.close()
        if not self.gone:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.reap()

    def reap(self) -> None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        self.gone = True


class _Answers:
    """What the reader processes send back, gathered by one thread of this process: after
    each batch its size and the ids with a hit (the reader's place in `loads` is freed);
    at the end the patterns that timed out (or one line saying why the reader failed: the
    dealing stops)."""

    def __init__(
        self, scanner: Scanner, first: Callable[[], None], progress: Progress, loads: ReaderLoads
    ) -> None:
        self.scanner, self.first, self.progress, self.loads = scanner, first, progress, loads
        self.found: set[bytes] = set()
        self.errors: list[str] = []
        self.ended = 0
        self.done = threading.Event()

    def collect(self, answers: dict[Channel, int]) -> None:
        """Reads every reader's answers (each channel's reader numbered as in `loads`)
        until each has closed its end; then `done` is set. A reader ends only once its
        batches have ended, unless it failed: then no more batches are dealt."""
        try:
            waiting = list(answers)
            while waiting:
                for channel in ready(waiting):
                    try:
                        self.take(channel.recv(), answers[channel])
                    except EOFError:
                        waiting.remove(channel)
                        self.loads.stop()
                    except BaseException as error:  # on_first failing: named, as one line
                        self.errors.append(str(error) or type(error).__name__)
        finally:
            self.done.set()

    def take(self, answer: tuple[Any, ...], number: int) -> None:
        kind = answer[0]
        if kind == "batch":
            self.loads.answered(number)
            self.progress.advance(answer[1])
            if answer[2]:
                self.found.update(answer[2])
                self.first()
        elif kind == "end":
            detector = self.scanner.detector
            detector.timeouts.update(answer[1])
            detector.stopped.update(answer[2])
            detector.guard.stopped.update(answer[3])
            self.ended += 1
        else:
            self.errors.append(answer[1])
            self.loads.stop()


def in_processes(search: BlobSearch) -> set[bytes]:
    """`blobs_with_candidates` with `workers` readers, each with its own `git cat-file
    --batch`: forked reader processes, and for a listing of the whole store this
    process's main thread too (so that Ctrl-C stops its search at once). A thread of
    this process lists the blobs and deals the batches, another gathers the processes'
    answers: light work when the listing is git's, so this process is one reader more,
    not one process more in memory; a selection's listing comes from its tree walk,
    parsed here, and this process leaves the reading to `workers` processes. However it
    ends (an error, Ctrl-C, SIGTERM), every reader is ended and waited for before this
    returns."""
    scanner, workers = search.scanner, search.workers
    sys.stdout.flush()  # a forked reader would otherwise hold a copy of what is buffered
    sys.stderr.flush()
    scanner.warm_up()
    # the objects made so far are left out of garbage collection: a collection in a
    # reader would otherwise write to each of them, and copy every page they are on
    gc.freeze()
    reads_too = search.listing.ids is None
    readers: list[_Reader] = []
    # the readers, numbered as dealt to: this process's own first if it reads too
    loads = ReaderLoads(workers)
    answers = _Answers(scanner, search.first, search.progress, loads)
    own = _OwnShare(search.first, search.progress, loads)
    collector = threading.Thread(target=answers.collect, args=({},), daemon=True)
    dealer = threading.Thread(daemon=True)
    try:
        for _ in range(workers - 1 if reads_too else workers):
            readers.append(_fork_reader(search, readers))
        first_forked = 1 if reads_too else 0
        collector = threading.Thread(
            target=answers.collect,
            args=({r.answers: first_forked + n for n, r in enumerate(readers)},),
            daemon=True,
        )
        collector.start()
        search.started()
        deal: list[Callable[[Batch], None]] = [r.send for r in readers]
        if reads_too:
            deal.insert(0, own.take)
        dealer = threading.Thread(
            target=own.deal,
            args=(lambda: list_into(search, deal, loads),),
            daemon=True,
        )
        dealer.start()
        if reads_too:
            read_batches(search, own.next_batch, own.searched, own.abort)
        own.dealt.wait()
        for reader in readers:  # the end of its batches: it answers, then ends
            reader.batches.close()
        answers.done.wait()
    finally:
        gc.unfreeze()
        own.abort()  # the dealer stops at its next batch (no reader takes it now)
        for reader in readers:
            reader.stop()
        # Every writing end is closed now: the collector sees the end, and the dealer
        # (a batch it was sending fails). (Not `join`: a join a signal interrupted leaves
        # `is_alive` saying False while the thread still runs.)
        if dealer.ident is not None:
            own.dealt.wait()
        if collector.ident is not None:
            answers.done.wait()
        for reader in readers:
            reader.answers.close()
    errors = own.errors + answers.errors
    if errors:
        raise FatalError(errors[0])
    if answers.ended < len(readers):
        raise FatalError("a blob reader ended without a result")
    return answers.found | own.found


class _OwnShare:
    """This process's share of the batches (reader 0 of `loads`): dealt through a short
    queue by the lister's thread (`deal`), read by the main thread (`next_batch`,
    `searched`); `abort` ends both sides at once."""

    def __init__(self, first: Callable[[], None], progress: Progress, loads: ReaderLoads) -> None:
        self.first, self.progress, self.loads = first, progress, loads
        self.found: set[bytes] = set()
        self.errors: list[str] = []
        # (never more than the batches `loads` lets a reader hold, and END)
        self.batches: queue.Queue[Batch | None] = queue.Queue(maxsize=loads.depth + 1)
        self.stopping = threading.Event()
        self.dealt = threading.Event()

    def deal(self, listing: Callable[[], None]) -> None:
        """Runs the listing (on the lister's thread); then the end of this share."""
        try:
            with contextlib.suppress(ReadersGone):
                listing()
        except FatalError as error:
            self.errors.append(str(error))
        except BaseException as error:  # named, as one line
            self.errors.append(str(error) or type(error).__name__)
        finally:
            self._put(END)
            self.dealt.set()

    def take(self, batch: Batch) -> None:
        """A batch for this process; refused (the listing stops) once it is aborting."""
        if not self._put(batch):
            raise ReadersGone

    def _put(self, item: Batch | None) -> bool:
        while not self.stopping.is_set():
            with contextlib.suppress(queue.Full):
                self.batches.put(item, timeout=0.05)
                return True
        return False

    def next_batch(self) -> Batch | None:
        batch = self.batches.get()
        return END if self.stopping.is_set() else batch

    def searched(self, batch: Batch, hits: set[bytes]) -> None:
        self.loads.answered(0)
        self.progress.advance(batch.total)
        if hits:
            self.found.update(hits)
            self.first()

    def abort(self) -> None:
        """No batch is dealt or read any more; a reader waiting for one is woken."""
        self.stopping.set()
        self.loads.stop()
        with contextlib.suppress(queue.Full):
            self.batches.put_nowait(END)


def _fork_reader(search: BlobSearch, others: list[_Reader]) -> _Reader:
    """Starts one reader process (see `_reader_life`). Ctrl-C and SIGTERM are held back
    across the fork, so that neither lands in the child before it is a reader."""
    batches_in, batches_out = os.pipe()
    answers_in, answers_out = os.pipe()
    held = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        pid = os.fork()
        if pid == 0:  # never returns
            _reader_life(search, others, batches_in, batches_out, answers_in, answers_out)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
    os.close(batches_in)
    os.close(answers_out)
    return _Reader(pid, Channel(batches_out), Channel(answers_in))


def _reader_life(
    search: BlobSearch,
    others: list[_Reader],
    batches_in: int,
    batches_out: int,
    answers_in: int,
    answers_out: int,
) -> NoReturn:
    """A reader process's whole life: read and search the batches that come until the
    parent closes the pipe, answering after each; then send the patterns that timed out
    here, or one line saying why it failed; end without running any of the parent's
    clean-up. Ctrl-C and SIGTERM end it at once (the parent cleans up; its git, in the same
    process group or reading a closed pipe, ends too)."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
        for other in others:  # the parent's ends of its siblings' pipes: theirs to close
            os.close(other.batches.fileno())
            os.close(other.answers.fileno())
        os.close(batches_out)  # else the end of the batches would never show here
        os.close(answers_in)
        batches, answers = Channel(batches_in), Channel(answers_out)
        search.scanner.detector.timeouts.clear()  # the parent counts its own
        code = _read_and_answer(search, batches, answers)
    finally:
        os._exit(code)


def _read_and_answer(search: BlobSearch, batches: Channel, answers: Channel) -> int:
    def next_batch() -> Batch | None:
        try:
            ids, sizes, total = batches.recv()
        except EOFError:
            return END
        batch = Batch()
        batch.ids, batch.sizes, batch.total = ids, sizes, total
        return batch

    def searched(batch: Batch, hits: set[bytes]) -> None:
        answers.send(("batch", batch.total, hits))

    try:
        read_batches(search, next_batch, searched)
        detector = search.scanner.detector
        # (as built-in types: what a Channel carries)
        timeouts = dict(detector.timeouts)
        answers.send(("end", timeouts, set(detector.stopped), set(detector.guard.stopped)))
        return 0
    except FatalError as error:
        answers.send(("error", str(error)))
    except BaseException as error:  # reported by the parent, as one line
        answers.send(("error", f"internal error in a blob reader ({type(error).__name__})"))
    return 1
