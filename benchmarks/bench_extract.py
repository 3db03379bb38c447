"""Benchmark the PDF extractor against naive pdfplumber and PyMuPDF.

For every PDF in ../shared/pdfs: order-F1 (reference scorer, where a
.truth.txt exists) and pages/s for mechcode, pdfplumber ``extract_text()`` and
PyMuPDF ``get_text()`` (dev-only comparison, AGPL), then means; and the folder
throughput of :func:`mechcode.ingest.extract_many` with workers=1 and 2 (no
cache).

Usage: python benchmarks/bench_extract.py [--pdf-dir DIR] [--skip-folder]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MECHCODE_SHARED", ROOT.parent / "shared"))
sys.path.insert(0, str(ROOT / "src"))


def load_scorer(path: Path):
    spec = importlib.util.spec_from_file_location("extract_score", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_mechcode(pdf: Path) -> tuple[str, int]:
    from mechcode.ingest import extract_pdf

    doc = extract_pdf(pdf)
    return doc.to_text(), doc.n_pages


def run_pdfplumber(pdf: Path) -> tuple[str, int]:
    import pdfplumber

    with pdfplumber.open(pdf) as d:
        return "\n".join((pg.extract_text() or "") for pg in d.pages), len(d.pages)


def run_pymupdf(pdf: Path) -> tuple[str, int]:
    import pymupdf

    d = pymupdf.open(pdf)
    return "\n".join(pg.get_text("text") for pg in d), len(d)


TOOLS = {"mechcode": run_mechcode, "pdfplumber": run_pdfplumber, "pymupdf": run_pymupdf}


def per_file(pdfs: list[Path], scorer) -> None:
    """One row per PDF: order-F1, pages/s wall clock and pages per CPU-second."""
    head = "  ".join(f"{t + ' F1':>14s} {'p/s':>5s} {'p/cpu':>5s}" for t in TOOLS)
    print(f"{'pdf':38s} {'pages':>5s}  {head}")
    sums: dict[str, list[float]] = {t: [] for t in TOOLS}
    speed: dict[str, list[float]] = {t: [0.0, 0.0, 0.0] for t in TOOLS}  # pages, wall, cpu
    for pdf in pdfs:
        truth = pdf.with_suffix(".truth.txt")
        cells = []
        n = 0
        for name, fn in TOOLS.items():
            try:
                t0, c0 = time.perf_counter(), time.process_time()
                text, n = fn(pdf)
                dt, dc = time.perf_counter() - t0, time.process_time() - c0
            except Exception as exc:  # a comparison tool missing or failing
                cells.append(f"{'error':>14s} {'':>5s} {'':>5s}")
                print(f"  {name} failed on {pdf.name}: {exc}", file=sys.stderr)
                continue
            for k, v in enumerate((n, dt, dc)):
                speed[name][k] += v
            f1 = "-"
            if truth.exists():
                s = scorer.score(text, scorer.truth_tokens(str(truth)))["orderF1"]
                sums[name].append(s)
                f1 = f"{s:.3f}"
            cells.append(f"{f1:>14s} {n / dt:5.1f} {n / max(dc, 1e-6):5.1f}")
        print(f"{pdf.name[:38]:38s} {n:5d}  " + "  ".join(cells))
    mean = []
    for name in TOOLS:
        f = sums[name]
        p, w, c = speed[name]
        mean.append(f"{(sum(f) / len(f) if f else float('nan')):14.3f} {p / w:5.1f} "
                    f"{p / max(c, 1e-6):5.1f}")
    print(f"{'mean F1 (truth files) / all pages':38s} {'':5s}  " + "  ".join(mean))


def folder(pdfs: list[Path]) -> None:
    from mechcode.ingest import extract_many

    import resource

    print("\nfolder throughput, extract_many, cache off (CPU = this process + workers):")
    for workers in (1, 2):
        t0, c0 = time.perf_counter(), time.process_time()
        k0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        n = 0
        for _, res in extract_many(pdfs, workers=workers):
            n += getattr(res, "n_pages", 0)
        dt = time.perf_counter() - t0
        k1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = time.process_time() - c0 + (k1.ru_utime - k0.ru_utime) + (k1.ru_stime - k0.ru_stime)
        print(f"  workers={workers}: {n} pages in {dt:6.1f} s wall = {n / dt:5.2f} pages/s; "
              f"{cpu:6.1f} CPU-s = {n / cpu:5.2f} pages per CPU-second "
              f"(load average now {os.getloadavg()[0]:.1f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pdf-dir", type=Path, default=SHARED / "pdfs")
    ap.add_argument("--skip-folder", action="store_true", help="Only the per-file table.")
    args = ap.parse_args()
    pdfs = sorted(args.pdf_dir.glob("*.pdf"))
    if not pdfs:
        sys.exit(f"no PDFs in {args.pdf_dir}")
    scorer = load_scorer(SHARED / "tools" / "extract_score.py")
    from mechcode.segment import get_nlp

    get_nlp()  # one-off sentence-splitter load (spaCy import) kept out of the per-file times
    print(f"{len(pdfs)} PDFs from {args.pdf_dir}; cores: {os.cpu_count()}; "
          f"load average before: {os.getloadavg()[0]:.1f}")
    per_file(pdfs, scorer)
    if not args.skip_folder:
        folder(pdfs)


if __name__ == "__main__":
    main()
