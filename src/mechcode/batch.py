"""Batch coding: ingest many PDFs and store model suggestions for every unit, in parallel.

Work per paper (:func:`code_paper`, run in a worker process or a dask worker):
extract the PDF (``mechcode.ingest.extract_pdf``, which also segments it), build
the paper's units exactly as the store will (``store.documents.unit_offsets``),
and predict them with the model (loaded once per worker process). The worker
returns the document and the predictions; the main process writes them through
the single review store (``Review.add_document`` then ``Review.add_suggestions``)
as results arrive, so documents are never all held in memory.

Resumable: a paper is *finished* when its document and a suggestion of the model
version for every sentence unit are stored. Finished papers (by content hash) are
skipped before any work is sent out; a paper interrupted between the two writes is
simply redone (``add_document`` is idempotent, suggestions are upserts).

A bad file costs one line (``error: NAME: reason``) and the rest go on; the
summary counts failures and the CLI exits non-zero when there was any.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from mechcode.ingest.cache import file_hash  # noqa: F401 (re-exported)
from mechcode.errors import MechcodeError, ModelError, StoreError
from mechcode.ingest.limits import FILE_TIMEOUT
from mechcode.parallel import EXECUTORS, run_pool

_MODELS: dict[str, Any] = {}  # model dir -> loaded backend, per process
PAPER_TIMEOUT = 2 * FILE_TIMEOUT  # extraction (its own limit) plus suggesting, per paper
DEFAULT_BACKEND = "sparse"  # trained when the review has no model yet


# ----------------------------------------------------------------------------- inputs
def iter_pdfs(inputs: Iterable[str | Path]) -> Iterator[Path]:
    """Every PDF named or found (recursively, sorted) in the given files/folders; a named
    file that is not a folder is yielded as is (a bad one is reported by the worker)."""
    seen: set[str] = set()
    for item in inputs:
        item = Path(item)
        paths = sorted(p for p in item.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file()) \
            if item.is_dir() else [item]
        for p in paths:
            key = str(p.resolve()) if p.exists() else str(p)
            if key not in seen:
                seen.add(key)
                yield p


def finished_hashes(rv, model_version: str) -> set[str]:
    """Content hashes of papers whose every sentence unit has a suggestion of ``model_version``."""
    from mechcode.store.models import finished_documents

    return finished_documents(rv.connect(), model_version)


# ----------------------------------------------------------------------------- model
def resolve_model(rv, model: str | None) -> dict[str, str]:
    """The model to use as ``{"path", "version", "backend"}``.

    ``model``: a model directory, a model version registered in the review, or a backend
    name (``sparse``, ``zeroshot`` ...) to train now on the review's labelled units; default
    the review's latest model, else a new one (see :func:`default_model`). A directory that
    is not registered yet is registered, so its suggestions are the review's default.
    """
    from mechcode.models.io import verify_dir
    from mechcode.models.registry import BACKENDS

    if model and Path(model).is_dir():
        card = verify_dir(Path(model))
        version = str(card.get("version") or Path(model).name)
        if version not in {m["version"] for m in rv.models()}:
            rv.register_model(version, card["backend"], str(Path(model).resolve()), card)
        return {"path": str(Path(model).resolve()), "version": version, "backend": card["backend"]}
    if model:
        for m in rv.models():
            if m["version"] == model:
                return {"path": m["path"], "version": m["version"], "backend": m["backend"]}
        if model in BACKENDS:
            return default_model(rv, model)
        raise ModelError(f"{model!r} is not a model directory, a model version of this review "
                         f"or a backend ({', '.join(BACKENDS)})")
    latest = rv.latest_model()
    if latest is None:
        return default_model(rv)
    return {"path": latest["path"], "version": latest["version"], "backend": latest["backend"]}


def default_model(rv, backend: str = DEFAULT_BACKEND) -> dict[str, str]:
    """Train ``backend`` on all the review's training sources (codebook, recorded seed files,
    decisions: :func:`mechcode.loop.training.training_set`) into ``REVIEW/models/VERSION`` and
    register it.

    The default is ``sparse``: it learns from the codebook definitions alone when nothing
    is labelled yet, predicts thousands of units per second on a CPU and keeps torch out of
    the workers (the reviewer loop starts from ``zeroshot`` instead; pass ``--model
    zeroshot`` for that).
    """
    from mechcode.loop.training import training_set
    from mechcode.loop.serving import train_into

    units, counts = training_set(rv)
    version, path, card = train_into(rv, units, backend, sources=counts)
    rv.register_model(version, backend, str(path), card)
    return {"path": str(path), "version": version, "backend": backend}


def _load(path: str):
    if path not in _MODELS:
        from mechcode.models.train import load_model

        _MODELS[path] = load_model(path)[0]
    return _MODELS[path]


def init_worker(single_thread: bool = True) -> None:
    """Worker-process setup: one BLAS/torch thread each when several workers share the cores."""
    if single_thread:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


# ----------------------------------------------------------------------------- worker
def paper_units(doc, paper: str | None = None) -> list:
    """The units the store will create for ``doc``, as model inputs with id ``start:end``; ``paper``
    names the paper for the model (a paper the review has not coded, see ``other_paper_weight``)."""
    from mechcode.models.base import Unit
    from mechcode.store.documents import unit_offsets

    out = []
    for i, offsets in unit_offsets(doc).items():
        p = doc.passages[i]
        for s, e in offsets:
            out.append(Unit(id=f"{p.start + s}:{p.start + e}", text=p.text[s:e], context=p.text, paper=paper))
    return out


def code_paper(path: str, model_path: str, cache_dir: str | None = None) -> dict[str, Any]:
    """Extract, segment and predict one paper (runs in a worker). Never raises: a failure is
    returned as ``{"ok": False, "error": "NAME: reason"}``."""
    t0 = time.perf_counter()
    name = Path(path).name
    try:
        from mechcode.ingest import extract_pdf

        doc = extract_pdf(Path(path), cache_dir=cache_dir)
        units = paper_units(doc, f"file:{name}")
        preds = _load(model_path).predict(units) if units else []
    except ModelError as exc:  # the model, not this paper, is at fault: stop the batch
        return {"ok": False, "fatal": True, "path": path, "error": str(exc)}
    except MechcodeError as exc:
        msg = str(exc)
        return {"ok": False, "path": path, "error": msg if name in msg else f"{name}: {msg}"}
    except Exception as exc:  # one bad file must not stop the batch
        return {"ok": False, "path": path, "error": f"{name}: {type(exc).__name__}: {exc}"}
    return {"ok": True, "path": path, "doc": doc, "predictions": preds,
            "seconds": time.perf_counter() - t0}


# ----------------------------------------------------------------------------- main process
@dataclass
class Summary:
    papers: int = 0       # coded in this run
    skipped: int = 0      # already finished before this run
    duplicates: int = 0   # same content as a paper already stored
    pages: int = 0
    units: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    model_version: str = ""

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        return (f"coded {self.papers} papers ({self.pages} pages, {self.units} units) in "
                f"{self.seconds:.1f} s = {self.pages_per_s:.1f} pages/s with model {self.model_version}; "
                f"{self.skipped} already done, {self.duplicates} duplicates, "
                f"{len(self.failures)} failed")


def store_result(rv, res: dict[str, Any], model_version: str, summary: Summary) -> None:
    """Write one worker result through the review store (document, then its suggestions)."""
    doc = res["doc"]
    doc_id, created = rv.add_document(doc, path=str(res["path"]))
    by_span = {f"{u['start']}:{u['end']}": u["id"] for u in rv.units(doc_id) if u["kind"] == "sentence"}
    rows = [{**p, "unit_id": by_span[p["id"]]} for p in res["predictions"] if p["id"] in by_span]
    if len(rows) < len(by_span):
        raise StoreError(f"{Path(res['path']).name}: {len(by_span) - len(rows)} units got no prediction")
    rv.add_suggestions(model_version, rows)
    summary.papers += 1
    summary.duplicates += 0 if created else 1
    summary.pages += int(doc.n_pages or 0)
    summary.units += len(rows)


def _todo(rv, files: Iterable[Path], version: str, summary: Summary) -> list[str]:
    done = finished_hashes(rv, version)
    todo = []
    for p in files:
        if file_hash(p) in done:
            summary.skipped += 1
        else:
            todo.append(str(p))
    return todo


def _results(todo: list[str], model_path: str, cache_dir: str | None, workers: int, executor: str,
             scheduler: str | None) -> Iterator[dict[str, Any]]:
    """Per-paper work through the one process runner (:func:`mechcode.parallel.run_pool`), in
    completion order: ``workers`` spawned processes (in this process when 1), or dask workers;
    a worker that dies or hangs costs only its own paper, reported as failed."""
    if executor == "local" and workers <= 1:
        for path in todo:
            yield code_paper(path, model_path, cache_dir)
        return
    yield from run_pool(
        todo, workers, lambda path: (code_paper, (path, model_path, cache_dir)), PAPER_TIMEOUT,
        failed=lambda path, why: {"ok": False, "path": path, "error": why}, what="coding",
        executor=executor, scheduler=scheduler, initializer=init_worker, initargs=(True,),
        mp_context=mp.get_context("spawn"))


def code_files(rv, inputs: Iterable[str | Path], workers: int = 0, model: str | None = None,
               executor: str = "local", scheduler: str | None = None, progress: bool = True,
               report: Callable[[str], None] | None = None) -> Summary:
    """Ingest and suggest every new PDF in ``inputs``; returns a :class:`Summary`."""
    from tqdm import tqdm

    if executor not in EXECUTORS:
        raise MechcodeError(f"unknown executor {executor!r}; expected {' or '.join(EXECUTORS)}")
    workers = workers or os.cpu_count() or 1
    say = report or (lambda line: tqdm.write(line, file=sys.stderr))
    if model is None and rv.latest_model() is None:
        say(f"the review has no model yet: training a {DEFAULT_BACKEND} model on its labelled units "
            "and the codebook definitions")
    spec = resolve_model(rv, model)
    summary = Summary(model_version=spec["version"])
    todo = _todo(rv, iter_pdfs(inputs), spec["version"], summary)
    t0 = time.perf_counter()
    bar = tqdm(total=len(todo), unit="paper", file=sys.stderr, disable=not progress or not todo,
               desc="coding")
    cache = str(rv.cache_dir) if executor == "local" else None  # dask workers may run elsewhere
    if executor == "local":
        workers = min(workers, max(len(todo), 1))
    results = _results(todo, spec["path"], cache, workers, executor, scheduler)
    try:
        for res in results:
            _handle(rv, res, spec["version"], summary, say)
            summary.seconds = time.perf_counter() - t0
            bar.update(1)
            bar.set_postfix(pages_s=f"{summary.pages_per_s:.1f}", failed=len(summary.failures))
    finally:
        bar.close()
        summary.seconds = time.perf_counter() - t0
    return summary


def _handle(rv, res: dict[str, Any], version: str, summary: Summary, say: Callable[[str], None]) -> None:
    if res.get("fatal"):
        raise ModelError(f"cannot use the model: {res['error']}")
    if res.get("ok"):
        try:
            store_result(rv, res, version, summary)
            return
        except MechcodeError as exc:
            res = {"path": res["path"], "error": str(exc)}
    summary.failures.append((str(res.get("path")), res["error"]))
    say(f"error: {res['error']}")
