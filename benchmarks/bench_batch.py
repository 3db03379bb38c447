#!/usr/bin/env python
"""Benchmark ``mechcode code`` (batch coding): pages/s and peak RSS (main + worker processes).

The 9 real PDFs in ../shared/pdfs are copied into a temporary folder (never into the repo)
until there are ``--files`` of them; each copy gets a unique trailing PDF comment, so every
file has its own content hash and is really extracted (no duplicate skip, no cache hit).
Each configuration codes the folder into a fresh temporary review with the same pre-trained
``sparse`` model (trained once on the codebook definitions, not timed).

Usage::

    python benchmarks/bench_batch.py [--files 100] [--workers 1,2] [--sizes 100]

``--sizes 30,100`` runs each worker count on two folder sizes to show that peak memory
stays flat as the folder grows. Prints one line per run and a side-by-side table.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MECHCODE_SHARED", ROOT.parent / "shared"))
CODEBOOK = ROOT / "corpora" / "sims2021" / "codebook.yaml"


class PeakRSS:
    """Samples the RSS of this process plus all its children every ``interval`` seconds."""

    def __init__(self, interval: float = 0.2):
        self.interval, self.peak, self.peak_main = interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            try:
                main = me.memory_info().rss
                kids = sum(c.memory_info().rss for c in me.children(recursive=True) if c.is_running())
            except psutil.Error:
                continue
            self.peak_main = max(self.peak_main, main)
            self.peak = max(self.peak, main + kids)
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def make_folder(dest: Path, n_files: int) -> int:
    """Copy the shared PDFs into ``dest`` (unique bytes per copy) until there are ``n_files``."""
    pdfs = sorted((SHARED / "pdfs").glob("*.pdf"))
    if not pdfs:
        sys.exit(f"no PDFs in {SHARED / 'pdfs'}")
    for i in range(n_files):
        src = pdfs[i % len(pdfs)]
        out = dest / f"{i:04d}_{src.name}"
        shutil.copyfile(src, out)
        with open(out, "ab") as fh:
            fh.write(f"\n%mechcode-bench-copy-{i}\n".encode())
    return n_files


def train(tmp: Path) -> Path:
    from mechcode.codebook import load_codebook
    from mechcode.models.train import train_model

    out = tmp / "model"
    train_model([], load_codebook(CODEBOOK), "sparse", out, holdout=False, version="bench-sparse")
    return out


def run(folder: Path, model: Path, workers: int, tmp: Path) -> dict:
    from mechcode.batch import code_files
    from mechcode.store.review import Review

    review_dir = tmp / f"review-{workers}-{len(list(folder.iterdir()))}"
    rv = Review.init(review_dir, CODEBOOK)
    cpu0 = _cpu()
    with PeakRSS() as mem:
        s = code_files(rv, [folder], workers=workers, model=str(model), progress=True,
                       report=lambda line: print(line, file=sys.stderr))
    cpu = _cpu() - cpu0
    rv.close()
    shutil.rmtree(review_dir, ignore_errors=True)
    return {"workers": workers, "files": len(list(folder.iterdir())), "papers": s.papers, "pages": s.pages,
            "units": s.units, "seconds": s.seconds, "pages_s": s.pages_per_s, "failed": len(s.failures),
            "peak_mb": mem.peak / 2**20, "peak_main_mb": mem.peak_main / 2**20, "cpu_s": cpu,
            "pages_cpu_s": s.pages / cpu if cpu else 0.0}


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its finished children (the workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=100, help="folder size when --sizes is not given")
    ap.add_argument("--sizes", default="", help="comma-separated folder sizes (e.g. 30,100)")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x] or [args.files]
    workers = [int(x) for x in args.workers.split(",") if x]
    print(f"cpu cores: {os.cpu_count()}; load average: {os.getloadavg()[0]:.1f}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="mechcode-bench-") as t:
        tmp = Path(t)
        model = train(tmp)
        for size in sizes:
            folder = tmp / f"pdfs-{size}"
            folder.mkdir()
            make_folder(folder, size)
            for w in workers:
                r = run(folder, model, w, tmp)
                results.append(r)
                print(f"workers={r['workers']} files={r['files']}: {r['pages']} pages, {r['units']} units in "
                      f"{r['seconds']:.1f} s = {r['pages_s']:.2f} pages/s ({r['cpu_s']:.0f} CPU s, "
                      f"{r['pages_cpu_s']:.2f} pages per CPU s); peak RSS {r['peak_mb']:.0f} MB "
                      f"(main {r['peak_main_mb']:.0f} MB); failed {r['failed']}", flush=True)
            shutil.rmtree(folder)
    print("\n| files | workers | pages | seconds | pages/s | CPU s | pages/CPU s | peak RSS MB (all) "
          "| peak RSS MB (main) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['files']} | {r['workers']} | {r['pages']} | {r['seconds']:.1f} | {r['pages_s']:.2f} "
              f"| {r['cpu_s']:.0f} | {r['pages_cpu_s']:.2f} | {r['peak_mb']:.0f} | {r['peak_main_mb']:.0f} |")
    print(f"\nload average now: {os.getloadavg()[0]:.1f} (pages/s is only meaningful on an idle machine; "
          "pages per CPU second x cores bounds it)")
    print("goal: >= 10 pages/s with 2 workers on 2 cores")


if __name__ == "__main__":
    main()
