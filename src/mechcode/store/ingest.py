"""Add PDFs to a review: extract in worker processes, write from the main process.

Files whose content is already stored are skipped before extraction (the
content hash is the SHA-256 of the file bytes), so ingesting the same folder
twice adds nothing. A bad file costs one line on stderr (``path: reason``)
and the rest goes on. Each document is written in its own transaction, so an
interruption never leaves half a document and never loses earlier ones.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from mechcode.ingest.cache import file_hash  # the document content hash
from mechcode.document import Document
from mechcode.errors import MechcodeError, StoreError
from mechcode.ingest.limits import FILE_TIMEOUT
from mechcode.parallel import run_pool



@dataclass
class IngestReport:
    """What one ingest run did."""

    files: int = 0
    added: int = 0
    skipped: int = 0  # already in the review (same content)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (path, message): few units
    pages: int = 0
    units: int = 0
    seconds: float = 0.0
    document_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        """One line for the terminal."""
        return (f"{self.files} PDF(s): {self.added} added ({self.pages} pages, {self.units} units), "
                f"{self.skipped} already in the review, {len(self.failures)} failed "
                f"in {self.seconds:.1f} s")

    def to_dict(self) -> dict:
        return {"files": self.files, "added": self.added, "skipped": self.skipped,
                "failures": [{"path": p, "reason": r} for p, r in self.failures],
                "warnings": [{"path": p, "message": m} for p, m in self.warnings], "pages": self.pages,
                "units": self.units, "seconds": round(self.seconds, 3), "document_ids": self.document_ids}


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders expanded to their ``*.pdf`` files (recursive, sorted); no duplicates."""
    out: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() == ".pdf")
        elif p.exists():
            found = [p]
        else:
            raise StoreError(f"{p}: no such file or folder")
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def _reason(path: Path, exc: BaseException) -> str:
    """The error message without a leading ``name:`` (the caller prints the path)."""
    msg = str(exc).strip() or type(exc).__name__
    for prefix in (f"{path}:", f"{path.name}:"):
        if msg.startswith(prefix):
            msg = msg[len(prefix):].strip()
    if not isinstance(exc, MechcodeError):
        msg = f"unexpected {type(exc).__name__}: {msg}"
    return msg


def extract_one(path: str, cache_dir: str | None) -> tuple[str, Document | None, str | None]:
    """Worker: ``(path, document, None)`` or ``(path, None, reason)``; never raises."""
    from mechcode.ingest import extract_pdf

    from mechcode.segment import add_sentences

    p = Path(path)
    try:
        doc = extract_pdf(p, cache_dir=cache_dir)
        if not any(passage.sentences for passage in doc.passages):
            add_sentences(doc)  # split here, in the worker, not in the writing process
        return path, doc, None
    except Exception as exc:  # a bad file must never stop the run
        return path, None, _reason(p, exc)


def extract_all(paths: list[str], cache_dir: str | None, workers: int,
                extract: Callable = extract_one) -> Iterator[tuple[str, Document | None, str | None]]:
    """Extract ``paths`` (in completion order), in ``workers`` processes when > 1.

    If a worker process dies (crash, out of memory) the files that were in
    flight are re-run one at a time in a fresh process, so the file that
    kills its process is reported as failed and the others are extracted; a
    worker stuck past the per-file time limit is killed and its file reported.
    """
    if workers <= 1 or len(paths) <= 1:
        for path in paths:
            yield extract(path, cache_dir)
        return
    _preload(extract)
    yield from run_pool(paths, workers, lambda p: (extract, (p, cache_dir)), FILE_TIMEOUT,
                        failed=lambda p, why: (p, None, _reason(Path(p), MechcodeError(why))))


def _preload(extract: Callable) -> None:
    """Import the extractor once, before forking the workers."""
    import multiprocessing

    if extract is extract_one and multiprocessing.get_start_method(allow_none=False) == "fork":
        import mechcode.ingest  # noqa: F401
        import mechcode.segment  # noqa: F401


def ingest_paths(review, paths: Iterable[str | Path], workers: int = 0, progress: bool = True,
                 extract: Callable = extract_one) -> IngestReport:
    """Add the PDFs in ``paths`` (files or folders) to ``review``; see the module docstring."""
    from tqdm import tqdm

    t0 = time.perf_counter()
    files = expand_paths(paths)
    report = IngestReport(files=len(files))
    workers = workers or os.cpu_count() or 1
    todo, hashes = [], set()
    for f in files:
        h = file_hash(f)  # None: unreadable, extraction reports why
        if h is not None and (h in hashes or review.has_document(h)):
            report.skipped += 1
        else:
            hashes.add(h)
            todo.append(str(f))
    bar = tqdm(total=len(files), initial=report.skipped, unit="pdf", desc="ingest", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    try:
        for path, doc, error in extract_all(todo, str(review.cache_dir), workers, extract):
            if error is None:
                error = _store(review, report, path, doc)
            if error is not None:
                report.failures.append((path, error))
                tqdm.write(f"{path}: {error}", file=sys.stderr)
            bar.update(1)
    finally:
        bar.close()
        report.seconds = time.perf_counter() - t0
    return report


def _store(review, report: IngestReport, path: str, doc: Document) -> str | None:
    """Write one extracted document; returns a failure reason or None."""
    try:
        doc_id, created = review.add_document(doc, path=path)
    except StoreError as exc:
        return _reason(Path(path), exc)
    if not created:
        report.skipped += 1
        return None
    report.added += 1
    pages = int(doc.n_pages or 0)
    units = review.connect().execute("SELECT COUNT(*) FROM units WHERE document_id = ?",
                                     (doc_id,)).fetchone()[0]
    report.pages += pages
    report.units += units
    report.document_ids.append(doc_id)
    warning = few_units_warning(Path(path).name, units, pages)
    if warning:
        report.warnings.append((path, warning))
        from tqdm import tqdm

        tqdm.write(f"{path}: {warning}", file=sys.stderr)
    return None


MIN_UNITS_PER_PAGE = 3


def few_units_warning(name: str, units: int, pages: int) -> str | None:
    """A one-line warning when a document yields fewer than a handful of codable units per page."""
    if pages and units < MIN_UNITS_PER_PAGE * pages:
        return (f"warning: only {units} codable unit(s) on {pages} page(s); extraction may have "
                f"gone wrong, check with: mechcode extract {name} --format text")
    return None
