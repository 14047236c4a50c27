"""Where repositories are scanned: in this process, on a local pool of processes, or on a
Dask distributed cluster (one task per repository). Either way each result comes back as
soon as its repository is done, and only a bounded number of repositories is in flight."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from nexpay_scan.errors import FatalError
from nexpay_scan.org.task import scan_repository

Task = dict[str, Any]
Result = dict[str, Any]


def run_tasks(tasks: Iterable[Task], workers: int, scheduler: str | None) -> Iterator[Result]:
    """Each task's result, in the order they finish."""
    if scheduler:
        return _on_dask(tasks, scheduler, workers)
    if workers <= 1:
        return (scan_repository(task) for task in tasks)
    return _on_pool(tasks, workers)


def _on_pool(tasks: Iterable[Task], workers: int) -> Iterator[Result]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    # forkserver: the workers start from a clean process, not a copy of this one's threads
    context = multiprocessing.get_context("forkserver")
    pending = iter(tasks)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        running: set[Future[Result]] = set()
        try:
            while True:
                while len(running) < workers * 2:
                    task = next(pending, None)
                    if task is None:
                        break
                    running.add(pool.submit(scan_repository, task))
                if not running:
                    return
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in running:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)


def _on_dask(tasks: Iterable[Task], scheduler: str, workers: int) -> Iterator[Result]:
    """One Dask task per repository, at most a few per worker thread in flight, so the
    results waiting here stay few however many repositories there are."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise FatalError("--scheduler needs Dask: pip install 'nexpay-scan[dask]'") from None
    try:
        client = Client(scheduler, timeout="30s", set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as error:
        raise FatalError(f"--scheduler {scheduler}: cannot connect ({error})") from None
    try:
        threads = sum(client.nthreads().values()) or workers  # type: ignore[no-untyped-call]
        pending = iter(tasks)
        first = [
            client.submit(scan_repository, task, pure=False, key=_key(task))
            for task in _take(pending, threads * 2)
        ]
        if not first:
            return
        queue = as_completed(first, loop=client.loop)  # type: ignore[no-untyped-call]
        for future in queue:
            result: Result = future.result()
            future.release()
            for task in _take(pending, 1):
                added = client.submit(scan_repository, task, pure=False, key=_key(task))
                queue.add(added)  # type: ignore[no-untyped-call]
            yield result
    finally:
        client.close()  # type: ignore[no-untyped-call]


def _take(tasks: Iterator[Task], count: int) -> list[Task]:
    taken = []
    for _ in range(count):
        task = next(tasks, None)
        if task is None:
            break
        taken.append(task)
    return taken


def _key(task: Task) -> str:
    """A Dask key that names the repository without its credentials (keys are shown on
    the dashboard): the URL's digest."""
    import hashlib
    import os

    digest = hashlib.sha256(task["url"].encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"nexpay-scan-repo-{digest}-{os.urandom(4).hex()}"
