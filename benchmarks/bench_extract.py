"""Benchmark the PDF extractor side by side with naive pdfplumber and PyMuPDF.

In one run: order-F1 per PDF (reference scorer, for every PDF in
../shared/pdfs with a .truth.txt, plus the generated report fixtures with
their expected text) and pages/s for mechcode, pdfplumber ``extract_text()``
and PyMuPDF ``get_text()`` (PyMuPDF only if installed: it is AGPL and a
dev-time comparison, never a dependency); the start-up cost of
``mechcode extract one-page.pdf --format text`` beside bare Python and
``import pymupdf``; and the folder throughput of
:func:`mechcode.ingest.extract_many` with workers=1 and 2 (no cache), with
CPU time, worker peak RSS and the load average.

Usage: python benchmarks/bench_extract.py [--pdf-dir DIR] [--skip-folder] [--skip-startup]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
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

    doc = extract_pdf(pdf, timeout=0)
    return doc.to_text(), doc.n_pages


def run_pdfplumber(pdf: Path) -> tuple[str, int]:
    import pdfplumber

    with pdfplumber.open(pdf) as d:
        return "\n".join((pg.extract_text() or "") for pg in d.pages), len(d.pages)


def run_pymupdf(pdf: Path) -> tuple[str, int]:
    import pymupdf

    d = pymupdf.open(pdf)
    return "\n".join(pg.get_text("text") for pg in d), len(d)


def tools() -> dict:
    out = {"mechcode": run_mechcode, "pdfplumber": run_pdfplumber}
    if importlib.util.find_spec("pymupdf") is not None:
        out["pymupdf"] = run_pymupdf
    else:
        print("(PyMuPDF not installed: its column is left out; pip install pymupdf to compare)")
    return out


def per_file(cases: list[tuple[Path, list[str] | None]], scorer, tools: dict) -> None:
    """One row per PDF: order-F1, pages/s wall clock and pages per CPU-second."""
    head = "  ".join(f"{t + ' F1':>14s} {'p/s':>5s} {'p/cpu':>5s}" for t in tools)
    print(f"{'pdf':38s} {'pages':>5s}  {head}")
    sums: dict[str, list[float]] = {t: [] for t in tools}
    speed: dict[str, list[float]] = {t: [0.0, 0.0, 0.0] for t in tools}  # pages, wall, cpu
    for pdf, truth in cases:
        cells, n = [], 0
        for name, fn in tools.items():
            try:
                t0, c0 = time.perf_counter(), time.process_time()
                text, n = fn(pdf)
                dt, dc = time.perf_counter() - t0, time.process_time() - c0
            except Exception as exc:  # a comparison tool failing on one file
                cells.append(f"{'error':>14s} {'':>5s} {'':>5s}")
                print(f"  {name} failed on {pdf.name}: {exc}", file=sys.stderr)
                continue
            for k, v in enumerate((n, dt, dc)):
                speed[name][k] += v
            f1 = "-"
            if truth is not None:
                s = scorer.score(text, truth)["orderF1"]
                sums[name].append(s)
                f1 = f"{s:.3f}"
            cells.append(f"{f1:>14s} {n / dt:5.1f} {n / max(dc, 1e-6):5.1f}")
        print(f"{pdf.name[:38]:38s} {n:5d}  " + "  ".join(cells))
    mean = []
    for name in tools:
        f, (p, w, c) = sums[name], speed[name]
        mean.append(f"{(sum(f) / len(f) if f else float('nan')):14.3f} {p / w:5.1f} "
                    f"{p / max(c, 1e-6):5.1f}")
    print(f"{'mean F1 (scored files) / all pages':38s} {'':5s}  " + "  ".join(mean))
    for name in tools:
        if sums[name]:
            print(f"  {name}: min order-F1 {min(sums[name]):.3f} over {len(sums[name])} files")


def report_cases(folder: Path, scorer) -> list[tuple[Path, list[str]]]:
    """The generated report-style fixtures (tests/_report_pdfs.py) with their expected text."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import _report_pdfs
    except ImportError:
        return []
    out = []
    for name, build in _report_pdfs.BUILDERS.items():
        pdf, expected = build(folder / f"{name}.pdf")
        out.append((pdf, scorer.toks(expected)))
    return out


def _median_run(cmd: list[str], n: int = 5) -> float:
    times = []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src")] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
    return sorted(times)[n // 2]


def startup(folder: Path) -> None:
    """Wall time of one-page extraction as a command, beside bare interpreter start-ups."""
    from reportlab.pdfgen import canvas

    pdf = folder / "one-page.pdf"
    c = canvas.Canvas(str(pdf))
    c.setFont("Helvetica-Bold", 16)
    c.drawString(72, 760, "A one page document")
    c.setFont("Helvetica", 10)
    for i in range(40):
        c.drawString(72, 720 - 14 * i, f"Line {i} of the body text. It has two sentences.")
    c.save()
    exe = Path(sys.executable).with_name("mechcode")
    env_cmd = [str(exe)] if exe.exists() else [sys.executable, "-c",
                                                "from mechcode.cli import main; main()"]
    rows = [("python -c pass", [sys.executable, "-c", "pass"])]
    if importlib.util.find_spec("pymupdf") is not None:
        rows.append(("python -c 'import pymupdf'", [sys.executable, "-c", "import pymupdf"]))
    rows.append(("mechcode extract one-page.pdf --format text",
                 env_cmd + ["extract", str(pdf), "--format", "text", "-q"]))
    print(f"\nstart-up (median of 5, load average {os.getloadavg()[0]:.1f}):")
    times = {}
    for label, cmd in rows:
        times[label] = _median_run(cmd)
        print(f"  {label:45s} {times[label]:6.3f} s")
    base_label = rows[-2][0]
    print(f"  ratio: extract takes {times[rows[-1][0]] / times[base_label]:.1f}x '{base_label}'")


def folder_child(pdf_dir: Path, workers: int) -> None:
    """Run in a fresh interpreter: extract the folder, print pages, wall, CPU and peak RSS."""
    from mechcode.ingest import extract_many

    pdfs = sorted(pdf_dir.glob("*.pdf"))
    t0, c0 = time.perf_counter(), time.process_time()
    n = sum(getattr(res, "n_pages", 0) for _, res in extract_many(pdfs, workers=workers, timeout=0))
    dt = time.perf_counter() - t0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() - c0 + kids.ru_utime + kids.ru_stime
    print(n, dt, cpu, _peak_rss_kb(), kids.ru_maxrss)


def _peak_rss_kb() -> int:
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not carried over from before exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def folder_throughput(pdf_dir: Path) -> None:
    """extract_many over the folder in a fresh process (so peak RSS is the extractor's own)."""
    print("\nfolder throughput, extract_many, cache off, fresh process "
          "(CPU = main process + workers):")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    for workers in (1, 2):
        load = os.getloadavg()[0]
        out = subprocess.run([sys.executable, __file__, "--pdf-dir", str(pdf_dir),
                              "--folder-child", str(workers)], capture_output=True, text=True,
                             check=True, env=env).stdout.split()
        n, dt, cpu, me, kid = int(out[0]), float(out[1]), float(out[2]), int(out[3]), int(out[4])
        rss = f"main {me / 1024:.0f} MB" + (f", worker {kid / 1024:.0f} MB" if workers > 1 else "")
        print(f"  workers={workers}: {n} pages in {dt:6.1f} s wall = {n / dt:5.2f} pages/s; "
              f"{cpu:6.1f} CPU-s = {n / cpu:5.2f} pages per CPU-second; peak RSS {rss} "
              f"(load average {load:.1f} before, {os.getloadavg()[0]:.1f} after)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pdf-dir", type=Path, default=SHARED / "pdfs")
    ap.add_argument("--skip-folder", action="store_true", help="No folder-throughput runs.")
    ap.add_argument("--skip-startup", action="store_true", help="No start-up timing.")
    ap.add_argument("--folder-child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.folder_child:
        folder_child(args.pdf_dir, args.folder_child)
        return
    pdfs = sorted(args.pdf_dir.glob("*.pdf"))
    if not pdfs:
        sys.exit(f"no PDFs in {args.pdf_dir}")
    scorer = load_scorer(SHARED / "tools" / "extract_score.py")
    print(f"{len(pdfs)} PDFs from {args.pdf_dir}; cores: {os.cpu_count()}; "
          f"load average before: {os.getloadavg()[0]:.1f}")
    table = tools()
    cases = [(p, scorer.truth_tokens(str(p.with_suffix(".truth.txt")))
              if p.with_suffix(".truth.txt").exists() else None) for p in pdfs]
    per_file(cases, scorer, table)
    with tempfile.TemporaryDirectory() as tmp:
        reports = report_cases(Path(tmp), scorer)
        if reports:
            print("\ngenerated report-style PDFs (expected text written with the fixture):")
            per_file(reports, scorer, table)
        if not args.skip_startup:
            startup(Path(tmp))
    if not args.skip_folder:
        folder_throughput(args.pdf_dir)


if __name__ == "__main__":
    main()
