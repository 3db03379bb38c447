"""extract_many: per-file time limit, and a crashed or stuck worker costs only its own file."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

import mechcode.ingest.batch as batch
import mechcode.parallel as parallel
from mechcode.document import Document
from mechcode.errors import MechcodeError
from mechcode.ingest import extract_many, extract_pdf
from mechcode.ingest.limits import ExtractionTimeout


def _pdf(path: Path, pages: int = 2) -> Path:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    for k in range(pages):
        c.setFont("Helvetica-Bold", 16)
        c.drawString(72, 760, f"Document {path.stem} page {k + 1}")
        c.setFont("Helvetica", 10)
        for i in range(30):
            c.drawString(72, 720 - 14 * i, f"Line {i} of a plain paragraph. It has two sentences.")
        c.showPage()
    c.save()
    return path


def flaky_worker(path: str, cache_dir, timeout):
    """Real extraction, except that 'crash' files kill the process and 'hang' files block."""
    name = Path(path).name
    if "crash" in name:
        os._exit(3)
    if "hang" in name:  # stuck where no timer signal reaches (like a loop in C code)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(60)
    return batch._one(path, cache_dir, timeout)


def test_a_slow_file_times_out_with_one_clear_error(tmp_path):
    pdf = _pdf(tmp_path / "slow.pdf", pages=40)
    with pytest.raises(ExtractionTimeout, match=r"slow.pdf: extraction timed out after 0.01 s"):
        extract_pdf(pdf, timeout=0.01)
    assert isinstance(extract_pdf(pdf, timeout=0), Document)  # 0 = no limit


def test_crashing_worker_never_loses_the_other_files(tmp_path):
    good = [_pdf(tmp_path / f"ok{i}.pdf") for i in range(4)]
    crash = tmp_path / "crash.pdf"
    crash.write_bytes(good[0].read_bytes())
    got = {p.name: r for p, r in extract_many([good[0], crash] + good[1:], workers=2,
                                                worker=flaky_worker)}
    assert set(got) == {"crash.pdf", "ok0.pdf", "ok1.pdf", "ok2.pdf", "ok3.pdf"}
    for i in range(4):
        assert isinstance(got[f"ok{i}.pdf"], Document)
        assert got[f"ok{i}.pdf"].n_pages == 2 and "Line 29 of a plain" in got[f"ok{i}.pdf"].text
    assert isinstance(got["crash.pdf"], MechcodeError)
    assert str(got["crash.pdf"]) == "crash.pdf: the extraction process crashed on this file"


def test_stuck_worker_is_killed_and_the_others_finish(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "GRACE", 0.5)
    good = [_pdf(tmp_path / f"ok{i}.pdf") for i in range(3)]
    hang = tmp_path / "hang.pdf"
    hang.write_bytes(good[0].read_bytes())
    t0 = time.monotonic()
    got = {p.name: r for p, r in extract_many([hang] + good, workers=2, timeout=2,
                                                worker=flaky_worker)}
    assert time.monotonic() - t0 < 30
    assert all(isinstance(got[f"ok{i}.pdf"], Document) for i in range(3))
    assert str(got["hang.pdf"]) == "hang.pdf: extraction timed out after 2 s (limit: MECHCODE_FILE_TIMEOUT)"
