"""Extract many PDFs in parallel processes, streaming results as they finish."""
from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Iterable, Iterator

from mechcode.document import Document
from mechcode.errors import MechcodeError


def _one(path: str, cache_dir) -> tuple[str, Document | Exception]:
    from mechcode.ingest.extract import extract_pdf

    try:
        return path, extract_pdf(path, cache_dir=cache_dir)
    except MechcodeError as exc:
        return path, exc
    except Exception as exc:  # never let one bad file kill the batch
        return path, MechcodeError(f"{Path(path).name}: extraction failed "
                                   f"({type(exc).__name__}: {exc})")


def extract_many(paths: Iterable, workers: int | None = None, *, cache_dir=None,
                 ) -> Iterator[tuple[Path, Document | Exception]]:
    """Yield ``(path, Document or error)`` for each PDF as soon as it is done.

    At most ``2 * workers`` files are in flight, so a large folder is streamed
    rather than held in memory.  ``workers=1`` runs in this process.
    """
    paths = [str(p) for p in paths]
    workers = workers or min(2, os.cpu_count() or 1)
    if workers <= 1:
        for p in paths:
            path, res = _one(p, cache_dir)
            yield Path(path), res
        return
    todo = iter(paths)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        running = set()
        for p in todo:
            running.add(pool.submit(_one, p, cache_dir))
            if len(running) >= 2 * workers:
                break
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                path, res = fut.result()
                yield Path(path), res
                nxt = next(todo, None)
                if nxt is not None:
                    running.add(pool.submit(_one, nxt, cache_dir))
