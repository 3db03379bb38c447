"""One way to run work in worker processes: :func:`run_pool`.

Used by PDF extraction (``extract_many``, ``ingest``) and batch coding (``mechcode code``).
Each item gets a time limit; a worker that does not come back within the limit plus
``GRACE`` seconds (stuck in C code) is killed from outside. A worker that dies (crash, out
of memory: ``BrokenProcessPool``) never costs the other items their results: the items that
were in flight are run again one per process, so only the item that kills its process is
reported as failed (``failed(item, reason)`` builds its result). Results are yielded in
completion order, with at most ``workers`` items in flight.

``executor="dask"`` runs the same jobs on dask.distributed workers (the ``mechcode[dask]``
extra): a local cluster of ``workers`` processes, or the scheduler at ``scheduler``. The
contract is the same: one item in flight per worker, a job that raises or whose worker dies
(dask retries it on another worker first) is that item's failure, and an item silent past its
limit plus ``GRACE`` is reported as timed out and cancelled. Dask cannot kill a worker stuck in
C code from here: it stays busy until dask's nanny restarts it.
"""
from __future__ import annotations

import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, Iterator

from mechcode.errors import MechcodeError

GRACE = 15.0  # seconds past the limit before a silent worker is killed from outside


EXECUTORS = ("local", "dask")


def run_pool(items: list[str], workers: int, job: Callable, limit: float,
             failed: Callable = lambda path, why: (path, MechcodeError(why)),
             what: str = "extraction", executor: str = "local", scheduler: str | None = None,
             **pool_kw) -> Iterator:
    """Run ``job(item) -> (fn, args)`` for every item in worker processes; yield the results.

    A crashed pool is replaced; the items that were in flight are re-run one
    per process so only the item that crashes is reported (``failed(item,
    reason)`` builds its result).  An item silent for ``limit + GRACE`` seconds
    is killed and reported as timed out.  ``what`` names the work in those reasons
    ("extraction", "coding"); ``pool_kw`` go to :class:`ProcessPoolExecutor`
    (``mp_context``, ``initializer`` ...). ``executor="dask"``: the same on
    dask.distributed workers (``scheduler``: an address, else a local cluster;
    ``initializer(*initargs)`` runs once on every worker, ``mp_context`` is dask's own).
    """
    if executor not in EXECUTORS:
        raise MechcodeError(f"unknown executor {executor!r}; expected {' or '.join(EXECUTORS)}")
    if executor == "dask":
        yield from _run_dask(items, workers, job, limit, failed, what, scheduler, pool_kw)
        return
    queue = deque(items)
    while queue:
        suspects = yield from _round(queue, workers, job, limit, failed, what, pool_kw)
        for item in suspects:
            yield _isolated(item, job, limit, failed, what, pool_kw)


def _round(queue: deque, workers: int, job: Callable, limit: float, failed: Callable,
           what: str, pool_kw: dict):
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
            done, _ = wait(running, timeout=tick(limit), return_when=FIRST_COMPLETED)
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
                    yield failed(item, timeout_reason(item, limit, what))
                _kill(pool)
                queue.extendleft(reversed([item for item, _ in running.values()]))
                return broken
            if broken:
                return broken + [item for item, _ in running.values()]
        return []
    finally:  # also on interrupt: do not start queued work
        pool.shutdown(wait=True, cancel_futures=True)


def _isolated(item: str, job: Callable, limit: float, failed: Callable, what: str, pool_kw: dict):
    """Run one item in its own process; a crash or a hang is this item's failure."""
    pool = ProcessPoolExecutor(max_workers=1, **pool_kw)
    try:
        fn, args = job(item)
        return pool.submit(fn, *args).result(timeout=limit + GRACE if limit else None)
    except BrokenProcessPool:
        return failed(item, f"{Path(item).name}: the {what} process crashed on this file")
    except FutureTimeout:
        _kill(pool)
        return failed(item, timeout_reason(item, limit, what))
    except Exception as exc:
        return failed(item, f"{Path(item).name}: {type(exc).__name__}: {exc}")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def tick(limit: float) -> float | None:
    """How long to wait for the next result before checking the time limits again."""
    return min(5.0, limit / 4) if limit else None


def timeout_reason(item: str, limit: float, what: str) -> str:
    return f"{Path(item).name}: {what} timed out after {limit:g} s (limit: MECHCODE_FILE_TIMEOUT)"


def _kill(pool: ProcessPoolExecutor) -> None:
    """Terminate a pool's worker processes (one is stuck where no signal reaches it)."""
    for proc in list(getattr(pool, "_processes", {}).values()):
        if proc.is_alive():
            proc.kill()


# -- the same contract on dask.distributed ---------------------------------------------------------

def _dask_client(scheduler: str | None, workers: int):
    """(client, local cluster or None); a clear error without dask or without its scheduler."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise MechcodeError("--executor dask needs dask: pip install 'mechcode[dask]'") from exc
    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as exc:
            raise MechcodeError(f"cannot reach the dask scheduler at {scheduler} ({exc})") from exc
    cluster = LocalCluster(n_workers=max(1, workers), processes=True, threads_per_worker=1,
                           host="127.0.0.1", dashboard_address=None)
    return Client(cluster), cluster


def _run_dask(items: list[str], workers: int, job: Callable, limit: float, failed: Callable,
              what: str, scheduler: str | None, pool_kw: dict) -> Iterator:
    """:func:`run_pool` on dask workers: one item in flight per worker, results in completion order."""
    client, cluster = _dask_client(scheduler, workers)  # first: a clear error without dask
    from distributed import wait as dask_wait

    try:
        if pool_kw.get("initializer"):
            client.run(pool_kw["initializer"], *pool_kw.get("initargs", ()))
        slots = max(1, len(client.scheduler_info().get("workers", {})))
        queue, running = deque(items), {}
        while queue or running:
            while queue and len(running) < slots:
                fn, args = job(queue[0])
                running[client.submit(fn, *args, pure=False)] = (queue.popleft(), time.monotonic())
            try:
                done = dask_wait(list(running), timeout=tick(limit), return_when="FIRST_COMPLETED").done
            except TimeoutError:
                done = set()
            for fut in done:
                yield _dask_result(fut, running.pop(fut)[0], failed)
            for fut in [f for f, (_, t0) in running.items() if limit and time.monotonic() - t0 > limit + GRACE]:
                item, _ = running.pop(fut)
                fut.cancel()
                yield failed(item, timeout_reason(item, limit, what))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _dask_result(fut, item: str, failed: Callable):
    """A finished dask future's result, or ``failed`` when the job raised or its worker died."""
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 - the item's failure, the run goes on
        return failed(item, f"{Path(item).name}: dask worker failure ({type(exc).__name__}: {exc})")
    finally:
        fut.release()
