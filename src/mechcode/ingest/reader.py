"""Read a PDF's pages with the chosen character reader (``MECHCODE_PDF_BACKEND``).

The readers (:mod:`mechcode.ingest.backend_pdfium`, :mod:`mechcode.ingest.backend_plumber`)
fill the types of :mod:`mechcode.ingest.pdf`; this module picks one and refuses files without
a text layer.
"""
from __future__ import annotations

from pathlib import Path

from mechcode.errors import BadPDF
from mechcode.ingest.pdf import BACKENDS, DEFAULT_BACKEND, MAX_BYTES, MAX_PAGES, PageData, check_file


def read_pages(path: Path, *, max_pages: int = MAX_PAGES, max_bytes: int = MAX_BYTES,
               progress=None, backend: str | None = None,
               ) -> tuple[bytes, list[PageData], dict]:
    """Return (file bytes, page data, PDF info metadata) or raise BadPDF.

    ``progress(done, total)`` is called after each page when given.
    """
    path = Path(path)
    backend = backend or DEFAULT_BACKEND
    if backend not in BACKENDS:
        raise ValueError(f"unknown PDF backend {backend!r}; use one of {BACKENDS}")
    data = check_file(path, max_bytes)
    if backend == "pdfium":
        from mechcode.ingest.backend_pdfium import read  # pypdfium2, imported when used
    else:
        from mechcode.ingest.backend_plumber import read  # pdfplumber, imported when used
    pages, info = read(data, path.name, max_pages, progress)
    if _no_text_layer(pages):
        raise BadPDF(f"{path.name}: no text layer (scanned?); run OCR first")
    return data, pages, info


def _no_text_layer(pages: list[PageData]) -> bool:
    """No characters at all, or page images with only a stamp of text on them."""
    ink = sum(1 for p in pages for c in p.chars if not c.text.isspace())
    if ink == 0:
        return True
    scanned = sum(1 for p in pages if any(
        (b.x1 - b.x0) * (b.bottom - b.top) > 0.5 * p.width * p.height for b in p.images))
    return ink < 30 * len(pages) and scanned >= 0.5 * len(pages)
