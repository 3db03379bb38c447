"""Extract many PDFs in parallel processes, streaming results as they finish.

Each file has a time limit (``MECHCODE_FILE_TIMEOUT`` seconds, default 180):
inside the extractor it is a timer signal, and a worker that does not come
back within the limit plus a grace period (stuck in C code) is killed from
outside.  A worker that dies (crash, out of memory: ``BrokenProcessPool``)
never costs the other files their results: the files that were in flight
are run again one per process, so only the file that kills its process is
reported as failed.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from mechcode.document import Document
from mechcode.errors import BadPDF, MechcodeError

FILE_TIMEOUT = float(os.environ.get("MECHCODE_FILE_TIMEOUT", "180"))
GRACE = 15.0  # seconds past the limit before a silent worker is killed from outside


class ExtractionTimeout(BadPDF):
    """One file took longer than the per-file time limit."""


@contextmanager
def time_limit(seconds: float | None, name: str):
    """Raise :class:`ExtractionTimeout` when the block runs longer than ``seconds``.

    Uses a timer signal, so it applies in a process's main thread (the CLI
    and every worker); elsewhere, with ``seconds`` 0/None, or when the caller
    already runs a timer, it is a no-op.
    """
    usable = (seconds and seconds > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0)  # never replace a caller's timer
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise ExtractionTimeout(f"{name}: extraction timed out after {seconds:g} s "
                                f"(limit: MECHCODE_FILE_TIMEOUT)")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _one(path: str, cache_dir, timeout: float | None = None) -> tuple[str, Document | Exception]:
    from mechcode.ingest.extract import extract_pdf

    try:
        return path, extract_pdf(path, cache_dir=cache_dir, timeout=timeout)
    except MechcodeError as exc:
        return path, exc
    except Exception as exc:  # never let one bad file kill the batch
        return path, MechcodeError(f"{Path(path).name}: extraction failed "
                                   f"({type(exc).__name__}: {exc})")


def extract_many(paths: Iterable, workers: int | None = None, *, cache_dir=None,
                 timeout: float | None = None, worker: Callable = _one,
                 ) -> Iterator[tuple[Path, Document | Exception]]:
    """Yield ``(path, Document or error)`` for each PDF as soon as it is done.

    At most ``workers`` files are in flight, so a large folder is streamed
    rather than held in memory.  ``workers=1`` runs in this process.
    ``timeout`` is the per-file limit in seconds (default ``FILE_TIMEOUT``).
    ``worker(path, cache_dir, timeout)`` does the work of one file.
    """
    paths = [str(p) for p in paths]
    workers = workers or min(2, os.cpu_count() or 1)
    limit = FILE_TIMEOUT if timeout is None else timeout
    if workers <= 1 or len(paths) <= 1:
        for p in paths:
            path, res = worker(p, cache_dir, limit)
            yield Path(path), res
        return
    for path, res in run_pool(paths, workers, lambda p: (worker, (p, cache_dir, limit)), limit):
        yield Path(path), res


def run_pool(items: list[str], workers: int, job: Callable, limit: float,
             failed: Callable = lambda path, why: (path, MechcodeError(why)),
             **pool_kw) -> Iterator:
    """Run ``job(item) -> (fn, args)`` for every item in worker processes; yield the results.

    A crashed pool is replaced; the items that were in flight are re-run one
    per process so only the item that crashes is reported (``failed(item,
    reason)`` builds its result).  An item silent for ``limit + GRACE`` seconds
    is killed and reported as timed out.
    """
    queue = deque(items)
    while queue:
        suspects = yield from _round(queue, workers, job, limit, failed, pool_kw)
        for item in suspects:
            yield _isolated(item, job, limit, failed, pool_kw)


def _round(queue: deque, workers: int, job: Callable, limit: float, failed: Callable,
           pool_kw: dict):
    """One pool until the queue is done or the pool breaks; returns the in-flight items then."""
    pool = ProcessPoolExecutor(max_workers=min(workers, len(queue)), **pool_kw)
    running: dict[Future, tuple[str, float]] = {}
    try:
        while queue or running:
            while queue and len(running) < workers:
                fn, args = job(queue[0])
                try:
                    fut = pool.submit(fn, *args)
                except BrokenProcessPool:
                    break
                running[fut] = (queue.popleft(), time.monotonic())
            if not running:
                return []
            done, _ = wait(running, timeout=_tick(limit), return_when=FIRST_COMPLETED)
            broken = []
            for fut in done:
                item, _ = running.pop(fut)
                try:
                    yield fut.result()
                except BrokenProcessPool:
                    broken.append(item)
                except Exception as exc:  # e.g. a result that cannot be pickled
                    yield failed(item, f"{Path(item).name}: {type(exc).__name__}: {exc}")
            late = [f for f, (_, t0) in running.items()
                    if limit and time.monotonic() - t0 > limit + GRACE]
            if late:
                for fut in late:
                    item, _ = running.pop(fut)
                    yield failed(item, _timeout_reason(item, limit))
                _kill(pool)
                queue.extendleft(reversed([item for item, _ in running.values()]))
                return broken
            if broken:
                return broken + [item for item, _ in running.values()]
        return []
    finally:  # also on interrupt: do not start queued work
        pool.shutdown(wait=True, cancel_futures=True)


def _isolated(item: str, job: Callable, limit: float, failed: Callable, pool_kw: dict):
    """Run one item in its own process; a crash or a hang is this item's failure."""
    pool = ProcessPoolExecutor(max_workers=1, **pool_kw)
    try:
        fn, args = job(item)
        return pool.submit(fn, *args).result(timeout=limit + GRACE if limit else None)
    except BrokenProcessPool:
        return failed(item, f"{Path(item).name}: the extraction process crashed on this file")
    except FutureTimeout:
        _kill(pool)
        return failed(item, _timeout_reason(item, limit))
    except Exception as exc:
        return failed(item, f"{Path(item).name}: {type(exc).__name__}: {exc}")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _tick(limit: float) -> float | None:
    return min(5.0, limit / 4) if limit else None


def _timeout_reason(item: str, limit: float) -> str:
    return f"{Path(item).name}: extraction timed out after {limit:g} s (limit: MECHCODE_FILE_TIMEOUT)"


def _kill(pool: ProcessPoolExecutor) -> None:
    """Terminate a pool's worker processes (one is stuck where no signal reaches it)."""
    for proc in list(getattr(pool, "_processes", {}).values()):
        if proc.is_alive():
            proc.kill()
