"""Extract many PDFs in parallel processes, streaming results as they finish.

Each file has a time limit (``MECHCODE_FILE_TIMEOUT`` seconds, default 180; see
:mod:`mechcode.ingest.limits`): inside the extractor it is a timer signal, and the process
runner (:func:`mechcode.parallel.run_pool`) kills a worker that does not come back within the
limit plus a grace period. A worker that dies never costs the other files their results.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable, Iterator

from mechcode.document import Document
from mechcode.errors import MechcodeError
from mechcode.ingest.extract import extract_pdf
from mechcode.ingest.limits import FILE_TIMEOUT
from mechcode.parallel import run_pool


def _one(path: str, cache_dir, timeout: float | None = None) -> tuple[str, Document | Exception]:
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
